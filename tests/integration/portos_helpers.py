"""Waiting helpers for the runtime tests: the hub delivers on its own schedule."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    from custom_components.portos.coordinator import PortosCoordinator

TIMEOUT = 15.0


async def wait_for(
    hass: HomeAssistant, predicate: Callable[[], bool], timeout: float = TIMEOUT
) -> None:
    """Wait until `predicate()` holds, letting the loop (and the hub's threads) run."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)
            await hass.async_block_till_done(wait_background_tasks=True)


async def wait_hub(hass: HomeAssistant, entry: MockConfigEntry, *, connected: bool) -> None:
    """Wait until the entry's hub is (dis)connected and any resync it started is over."""
    coordinator = entry.runtime_data
    await wait_for(hass, lambda: coordinator.data.hub_connected is connected)
    await hass.async_block_till_done(wait_background_tasks=True)


def force_resync(coordinator: PortosCoordinator) -> None:
    """Make the next refresh read the tickets again, as if the hub had just reconnected."""
    coordinator._synced_connection = -1
