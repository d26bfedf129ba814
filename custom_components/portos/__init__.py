"""The PORTOS integration: a point-of-sale server's tickets, license and health, pushed live."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.const import (
    CONF_PASSWORD,
    CONF_URL,
    CONF_USERNAME,
    CONF_VERIFY_SSL,
    Platform,
)
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .api import (
    DEFAULT_DEVICE_NAME,
    PortosAuthenticationError,
    PortosClient,
    PortosError,
    PortosWrongDeviceTypeError,
)
from .const import CONF_DEVICE_NAME, DOMAIN
from .coordinator import (
    PortosConfigEntry,
    PortosCoordinator,
    PortosRuntimeData,
    async_logout_quietly,
)
from .entity import portos_device_info

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

PLATFORMS: list[Platform] = [Platform.BINARY_SENSOR, Platform.EVENT, Platform.SENSOR]


async def async_setup_entry(hass: HomeAssistant, entry: PortosConfigEntry) -> bool:
    """Log in, take the REST snapshot, set up the entities and run the hub."""
    client = PortosClient(
        async_get_clientsession(hass, entry.data.get(CONF_VERIFY_SSL, True)),
        entry.data[CONF_URL],
        entry.data[CONF_USERNAME],
        entry.data[CONF_PASSWORD],
        entry.data.get(CONF_DEVICE_NAME, DEFAULT_DEVICE_NAME),
    )
    try:
        await client.login()
    except PortosWrongDeviceTypeError as err:
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN,
            translation_key="wrong_device_type",
            translation_placeholders={"device_name": err.device_name, "env_name": err.env_name},
        ) from err
    except PortosAuthenticationError as err:
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="invalid_auth"
        ) from err
    except PortosError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="cannot_connect",
            translation_placeholders={"error": str(err)},
        ) from err

    coordinator = PortosCoordinator(hass, entry, client)
    try:
        await coordinator.async_config_entry_first_refresh()
    except (ConfigEntryNotReady, ConfigEntryAuthFailed):
        # Each retry logs in again: end this session so the server does not collect them.
        await async_logout_quietly(client)
        raise
    entry.runtime_data = PortosRuntimeData(
        client=client, hub=coordinator.hub, coordinator=coordinator
    )

    coordinator.async_register_device(portos_device_info(coordinator))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    await coordinator.async_start()
    return True


async def async_unload_entry(hass: HomeAssistant, entry: PortosConfigEntry) -> bool:
    """Unload the entities; the hub, timers and session stop through the entry's unload hooks."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
