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
import socket
import subprocess
import sys
from typing import TYPE_CHECKING, Final

import aiohttp
from homeassistant.const import (
    CONF_PASSWORD,
    CONF_URL,
    CONF_USERNAME,
    CONF_VERIFY_SSL,
    STATE_UNAVAILABLE,
)
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.portos.api import DEFAULT_DEVICE_NAME
from custom_components.portos.const import CONF_DEVICE_NAME, DOMAIN
from tests.integration.portos_helpers import wait_for, wait_hub
from tests.till import Till

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from homeassistant.core import HomeAssistant

pytestmark = pytest.mark.usefixtures("socket_enabled")

_LOGGER = logging.getLogger(__name__)
ROOT: Final = Path(__file__).parents[2]
SHOP_ID: Final = 12345
# The goal: live and exact within 10 s of the server answering again.
RECOVERY_GOAL: Final = 10.0


def _free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class ServerProcess:
    """`python -m simulator` on a fixed port, that can be killed and started again."""

    def __init__(self, port: int, state_file: Path | None) -> None:
        """Remember how to start it; nothing runs yet."""
        self.url = f"http://127.0.0.1:{port}"
        self._args = [sys.executable, "-m", "simulator", "--port", str(port)]
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


def _state(hass: HomeAssistant, key: str) -> str:
    """Return the state of one of the shop's sensors."""
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{SHOP_ID}_{key}")
    assert entity_id is not None
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """Return a plain HTTP session for the till and the readiness checks."""
    async with aiohttp.ClientSession() as http:
        yield http


@pytest.mark.parametrize(
    ("down_for", "keeps_state"),
    [(3.0, True), (3.0, False), (30.0, True), (30.0, False)],
    ids=["3s-state-file", "3s-wiped", "30s-state-file", "30s-wiped"],
)
async def test_back_live_and_exact_soon_after_the_server_answers(
    hass: HomeAssistant,
    session: aiohttp.ClientSession,
    tmp_path: Path,
    down_for: float,
    keeps_state: bool,
) -> None:
    """Kill the server, keep it down, restart it: entities live with the server's counts."""
    server = ServerProcess(_free_port(), tmp_path / "portos.jsonl" if keeps_state else None)
    await server.start(session)
    try:
        till = Till(session, server.url)
        entry = MockConfigEntry(
            domain=DOMAIN,
            title=f"PORTOS {SHOP_ID}",
            unique_id=str(SHOP_ID),
            data={
                CONF_URL: server.url,
                CONF_USERNAME: "admin",
                CONF_PASSWORD: "portos",
                CONF_DEVICE_NAME: DEFAULT_DEVICE_NAME,
                CONF_VERIFY_SSL: True,
            },
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await wait_hub(hass, entry, connected=True)
        paid = await till.create_ticket("Table 1")
        await till.close_ticket(paid["id"])
        for name in ("Table 2", "Table 3"):
            await till.create_ticket(name)
        await wait_for(hass, lambda: _state(hass, "open_tickets") == "2")

        server.kill()
        await wait_for(hass, lambda: _state(hass, "open_tickets") == STATE_UNAVAILABLE)
        await asyncio.sleep(down_for)
        await server.start(session)
        answered = asyncio.get_running_loop().time()
        # The server's own word, as a till after the restart sees it.
        till = Till(session, server.url)
        await till.create_ticket("After the restart")
        expected = ("3", "1") if keeps_state else ("1", "0")

        def live_and_exact() -> bool:
            return (_state(hass, "open_tickets"), _state(hass, "tickets_closed_today")) == (
                expected
            )

        await wait_for(hass, live_and_exact, timeout=RECOVERY_GOAL)
        _LOGGER.info(
            "Down %.0f s (%s): live and exact %.2f s after the server answered",
            down_for,
            "state file" if keeps_state else "wiped",
            asyncio.get_running_loop().time() - answered,
        )
        assert entry.runtime_data.hub.connected
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        server.kill()
