"""Fixtures of the Home Assistant integration tests, composed by name as Home Assistant's are.

`portos_entry` is a config entry for the `simulator` (its options from `portos_options`),
`init_portos` sets it up and waits for the live hub, `till` is the P01 cash register on the same
simulator, and entries set up only the platforms `platforms` names (all unless overridden).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from unittest.mock import AsyncMock, PropertyMock, patch

import aiohttp
import pytest

from custom_components.portos import PLATFORMS
from custom_components.portos.const import CONF_EVENT_DETAIL, CONF_RESOURCES, EVENT_DETAIL_SUMMARY
from tests.integration.portos_helpers import portos_config_entry, setup_portos
from tests.till import Till

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Generator

    from homeassistant.const import Platform
    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    from simulator.server import Simulator


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/portos in every integration test."""


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Create every entity enabled, those disabled by default included (a snapshot sees all)."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        return_value=True,
        new_callable=PropertyMock,
    ):
        yield


@pytest.fixture
def mock_setup_entry() -> Generator[AsyncMock]:
    """Keep created or reloaded entries from starting the runtime (the flow is under test)."""
    with patch("custom_components.portos.async_setup_entry", return_value=True) as mock:
        yield mock


@pytest.fixture
def portos_options() -> dict[str, Any]:
    """Return the entry's options (a test or module overrides this fixture to change them)."""
    return {CONF_RESOURCES: ["tickets"], CONF_EVENT_DETAIL: EVENT_DETAIL_SUMMARY}


@pytest.fixture
def portos_entry(simulator: Simulator, portos_options: dict[str, Any]) -> MockConfigEntry:
    """Return a config entry for the simulator's shop, not yet added to Home Assistant."""
    return portos_config_entry(
        simulator.url,
        shop_id=str(simulator.config.shop_id),
        username=simulator.config.user,
        password=simulator.config.password,
        options=portos_options,
    )


@pytest.fixture
def platforms() -> list[Platform]:
    """Return the platforms an entry sets up (a platform's test module sets up only its own)."""
    return PLATFORMS


@pytest.fixture(autouse=True)
def only_platforms(platforms: list[Platform]) -> Generator[None]:
    """Set up, reload and unload entries with `platforms` only, for the whole test."""
    with patch("custom_components.portos.PLATFORMS", platforms):
        yield


@pytest.fixture
async def init_portos(hass: HomeAssistant, portos_entry: MockConfigEntry) -> MockConfigEntry:
    """Set the entry up and wait until the hub is connected and the REST resync is done."""
    await setup_portos(hass, portos_entry)
    return portos_entry


@pytest.fixture
async def till(simulator: Simulator) -> AsyncIterator[Till]:
    """Return the P01 till on the simulator, with its own HTTP session."""
    async with aiohttp.ClientSession() as session:
        yield Till(session, simulator.url)
