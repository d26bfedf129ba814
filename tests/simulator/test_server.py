"""The Simulator object: start, stop, restart on the same port, and its properties."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import aiohttp
import pytest

from simulator.config import SimulatorConfig
from simulator.server import Simulator
from simulator.store import Actor

if TYPE_CHECKING:
    from tests.common import SimulatorFactory


async def test_defaults_and_properties() -> None:
    """A simulator not yet started reports the configured port and URL."""
    simulator = Simulator()
    assert simulator.config == SimulatorConfig()
    assert simulator.port == 3000
    assert simulator.url == "http://127.0.0.1:3000"
    assert not simulator.running
    await simulator.stop()


async def test_free_port_and_context_manager(socket_enabled: None) -> None:
    """Port 0 picks a free port; the context manager starts and stops."""
    async with Simulator(SimulatorConfig(port=0)) as simulator:
        assert simulator.running
        assert simulator.port > 0
        assert simulator.url == f"http://127.0.0.1:{simulator.port}"
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{simulator.url}/api/v2/health") as response,
        ):
            assert response.status == 200
    assert not simulator.running


async def test_start_twice_is_an_error(simulator_factory: SimulatorFactory) -> None:
    """Starting a running simulator raises."""
    simulator = await simulator_factory()
    with pytest.raises(RuntimeError, match="already running"):
        await simulator.start()


async def test_busy_port(simulator_factory: SimulatorFactory) -> None:
    """A second simulator on a taken port fails with OSError and cleans up."""
    first = await simulator_factory()
    second = Simulator(SimulatorConfig(port=first.port))
    with pytest.raises(OSError, match="address already in use"):
        await second.start()
    assert not second.running


async def test_restart_keeps_state_and_port(simulator_factory: SimulatorFactory) -> None:
    """stop() then start() serves the same state on the same port, and the port is free between."""
    simulator = await simulator_factory()
    simulator.state.store.create({"name": "Kept"}, Actor("admin", "P01"))
    port = simulator.port
    await simulator.stop()
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
    await simulator.start()
    assert simulator.port == port
    assert [t["name"] for t in simulator.state.tickets.values()] == ["Kept"]
