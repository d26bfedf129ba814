"""Fixtures for the client and hub tests: one HTTP session, the till, and recording hubs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from tests.api.hub_support import HubHarness, hub_tasks, own_threads
from tests.till import Till

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from simulator.server import Simulator
    from tests.api.hub_support import HarnessFactory


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """Yield an aiohttp session for the client, the hub and the till."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session
        # Like Home Assistant's shared session, it is the caller's: nothing of ours closes it.
        assert not client_session.closed


@pytest.fixture
def till(simulator: Simulator, session: aiohttp.ClientSession) -> Till:
    """Return the P01 till of the default simulator."""
    return Till(session, simulator.url)


@pytest.fixture
async def harness(session: aiohttp.ClientSession) -> AsyncIterator[HarnessFactory]:
    """Return a factory of hub harnesses; every hub is stopped, and nothing of it left, after."""
    made: list[HubHarness] = []
    threads = own_threads()

    async def factory(url: str, **kwargs: Any) -> HubHarness:
        made.append(HubHarness(session, url, **kwargs))
        return made[-1]

    yield factory
    for item in made:
        await item.hub.stop()
    assert hub_tasks() == []
    assert own_threads() <= threads
