"""Shared fixtures: a PORTOS simulator on 127.0.0.1 with a free port, stopped after the test."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pytest

from simulator.config import SimulatorConfig
from simulator.server import Simulator

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from tests.common import SimulatorFactory


def pytest_configure(config: pytest.Config) -> None:
    """Quiet the SQL echo that the HA harness switches on for every recorder test."""
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)


@pytest.fixture
async def simulator_factory(socket_enabled: None) -> AsyncIterator[SimulatorFactory]:
    """Return a factory: `await factory(**config_overrides)` is a started simulator."""
    started: list[Simulator] = []

    async def factory(**overrides: Any) -> Simulator:
        config = SimulatorConfig(**{"port": 0, **overrides, "host": "127.0.0.1"})
        simulator = Simulator(config)
        await simulator.start()
        started.append(simulator)
        return simulator

    yield factory
    for simulator in reversed(started):
        await simulator.stop()


@pytest.fixture
async def simulator(simulator_factory: SimulatorFactory) -> Simulator:
    """Return a started simulator with the default configuration on a free port."""
    return await simulator_factory()
