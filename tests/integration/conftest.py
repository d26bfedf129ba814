"""Fixtures shared by the Home Assistant integration tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aiohttp
from homeassistant.const import CONF_PASSWORD, CONF_URL, CONF_USERNAME, CONF_VERIFY_SSL
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.portos.api import DEFAULT_DEVICE_NAME
from custom_components.portos.const import (
    CONF_DEVICE_NAME,
    CONF_EVENT_DETAIL,
    CONF_RESOURCES,
    DOMAIN,
    EVENT_DETAIL_SUMMARY,
)
from tests.integration.portos_helpers import wait_hub
from tests.till import Till

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from homeassistant.core import HomeAssistant

    from simulator.server import Simulator


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/portos in every integration test."""


# --- a PORTOS entry on the simulator (runtime tests) ---------------------------------------------


@pytest.fixture
def portos_entry(simulator: Simulator) -> MockConfigEntry:
    """Return a config entry for the simulator's shop, not yet added to Home Assistant."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"PORTOS {simulator.config.shop_id}",
        unique_id=str(simulator.config.shop_id),
        data={
            CONF_URL: simulator.url,
            CONF_USERNAME: simulator.config.user,
            CONF_PASSWORD: simulator.config.password,
            CONF_DEVICE_NAME: DEFAULT_DEVICE_NAME,
            CONF_VERIFY_SSL: True,
        },
        options={CONF_RESOURCES: ["tickets"], CONF_EVENT_DETAIL: EVENT_DETAIL_SUMMARY},
    )


@pytest.fixture
async def init_portos(hass: HomeAssistant, portos_entry: MockConfigEntry) -> MockConfigEntry:
    """Set the entry up and wait until the hub is connected and the REST resync is done."""
    portos_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(portos_entry.entry_id)
    await wait_hub(hass, portos_entry, connected=True)
    return portos_entry


@pytest.fixture
async def till(simulator: Simulator) -> AsyncIterator[Till]:
    """Return the P01 till on the simulator, with its own HTTP session."""
    async with aiohttp.ClientSession() as session:
        yield Till(session, simulator.url)
