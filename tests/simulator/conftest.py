"""Fixtures for the simulator tests: an HTTP session, a till, a Tool token and hub clients."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from tests.simulator.hubclient import HubClient, HubFactory, login
from tests.till import Till

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from simulator.server import Simulator


@pytest.fixture
async def http(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """Return a plain aiohttp session, closed after the test."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def till(http: aiohttp.ClientSession, simulator: Simulator) -> Till:
    """Return the P01 till on the default simulator."""
    return Till(http, simulator.url)


@pytest.fixture
async def token(http: aiohttp.ClientSession, simulator: Simulator) -> str:
    """Return an access token of a HomeAssistant (Tool) login."""
    return str((await login(http, simulator.url))["tokenId"])


@pytest.fixture
async def hub_factory(
    http: aiohttp.ClientSession, simulator: Simulator, token: str
) -> AsyncIterator[HubFactory]:
    """Return a factory of connected, handshaken hub clients (options as HubClient takes)."""
    clients: list[HubClient] = []

    async def factory(**options: Any) -> HubClient:
        client = HubClient(http, simulator.url, options.pop("token", token), **options)
        clients.append(client)
        await client.connect()
        return client

    yield factory
    for client in clients:
        await client.close()
