"""The PORTOS integration: a point-of-sale server's tickets, license and health, pushed live."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.const import Platform

from .coordinator import PortosConfigEntry, PortosCoordinator

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

PLATFORMS: list[Platform] = [Platform.BINARY_SENSOR, Platform.EVENT, Platform.SENSOR]


async def async_setup_entry(hass: HomeAssistant, entry: PortosConfigEntry) -> bool:
    """Log in, start the hub, read the first snapshot and set up the entities."""
    coordinator = PortosCoordinator(hass, entry)
    await coordinator.async_config_entry_first_refresh()
    entry.runtime_data = coordinator
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: PortosConfigEntry) -> bool:
    """Unload the entities; the hub, timers and session stop through the entry's unload hooks."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
