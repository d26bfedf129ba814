"""Outages of a real PORTOS process: killed, kept down, restarted; the integration is back soon.

The simulator runs as its own process here, so that it can be killed (SIGKILL, no goodbye) as a
shop's server PC is switched off. With `--state-file` it comes back with its tickets, as a real
PORTOS keeps its database; without, it comes back empty. Either way it has forgotten every token.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
import logging
from pathlib import Path
import subprocess
import sys
from typing import TYPE_CHECKING, Final

import aiohttp
from homeassistant.const import STATE_UNAVAILABLE
import pytest

from tests.common import free_port
from tests.integration.portos_helpers import (
    counts,
    portos_config_entry,
    setup_portos,
    state_of,
    wait_for,
)
from tests.till import Till

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from homeassistant.core import HomeAssistant

pytestmark = pytest.mark.usefixtures("socket_enabled")

_LOGGER = logging.getLogger(__name__)
ROOT: Final = Path(__file__).parents[2]
# Two shops, each on its own server process: one keeps a state file, one is wiped by a restart.
KEPT: Final = "111"
WIPED: Final = "222"
# The goal: live and exact within 10 s of the server answering again.
RECOVERY_GOAL: Final = 10.0


class ServerProcess:
    """`python -m simulator` on a fixed port, that can be killed and started again."""

    def __init__(self, shop_id: str, state_file: Path | None) -> None:
        """Remember how to start it; nothing runs yet."""
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self._args = [sys.executable, "-m", "simulator", "--port", str(port), "--shop-id", shop_id]
        if state_file is not None:
            self._args += ["--state-file", str(state_file)]
        self._process: subprocess.Popen[bytes] | None = None

    async def start(self, session: aiohttp.ClientSession) -> None:
        """Start the process and wait until its REST API answers."""
        self._process = subprocess.Popen(  # noqa: ASYNC220, S603 - our own module, a child that lives on
            self._args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        async with asyncio.timeout(30):
            while True:
                with suppress(aiohttp.ClientError):
                    async with session.get(f"{self.url}/api/v2/health") as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.05)

    def kill(self) -> None:
        """Kill it without warning (SIGKILL) and reap it."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """Return a plain HTTP session for the tills and the readiness checks."""
    async with aiohttp.ClientSession() as http:
        yield http


@pytest.fixture
async def servers(
    session: aiohttp.ClientSession, tmp_path: Path
) -> AsyncIterator[dict[str, ServerProcess]]:
    """Start both shops' servers; kill them after the test."""
    processes = {
        KEPT: ServerProcess(KEPT, tmp_path / "portos.jsonl"),
        WIPED: ServerProcess(WIPED, None),
    }
    try:
        await asyncio.gather(*(server.start(session) for server in processes.values()))
        yield processes
    finally:
        for server in processes.values():
            server.kill()


@pytest.mark.parametrize("down_for", [3.0, 30.0], ids=["3s", "30s"])
async def test_back_live_and_exact_soon_after_the_server_answers(
    hass: HomeAssistant,
    session: aiohttp.ClientSession,
    servers: dict[str, ServerProcess],
    down_for: float,
) -> None:
    """Kill both servers, keep them down, restart them: entities live with each one's counts.

    The shop with a state file comes back with its tickets; the wiped one comes back empty.
    Both outages run side by side, so the test waits out the outage once.
    """
    entries = {}
    for shop_id, server in servers.items():
        entries[shop_id] = portos_config_entry(server.url, shop_id=shop_id)
        await setup_portos(hass, entries[shop_id])
        till = Till(session, server.url)
        paid = await till.create_ticket("Table 1")
        await till.close_ticket(paid["id"])
        for name in ("Table 2", "Table 3"):
            await till.create_ticket(name)
    await wait_for(hass, lambda: all(counts(hass, shop) == ("2", "1") for shop in servers))

    for server in servers.values():
        server.kill()
    await wait_for(
        hass,
        lambda: all(
            state_of(hass, "sensor", "open_tickets", shop) == STATE_UNAVAILABLE for shop in servers
        ),
    )
    await asyncio.sleep(down_for)
    await asyncio.gather(*(server.start(session) for server in servers.values()))
    answered = asyncio.get_running_loop().time()
    # The servers' own word, as a till after the restart sees it.
    for server in servers.values():
        await Till(session, server.url).create_ticket("After the restart")
    expected = {KEPT: ("3", "1"), WIPED: ("1", "0")}

    await wait_for(
        hass,
        lambda: {shop: counts(hass, shop) for shop in servers} == expected,
        timeout=RECOVERY_GOAL,
    )
    _LOGGER.info(
        "Down %.0f s: both shops live and exact %.2f s after their servers answered",
        down_for,
        asyncio.get_running_loop().time() - answered,
    )
    for entry in entries.values():
        assert entry.runtime_data.hub.connected
        assert await hass.config_entries.async_unload(entry.entry_id)
