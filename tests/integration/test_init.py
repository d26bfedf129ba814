"""Setting up and unloading a PORTOS entry against the simulator: states, errors, cleanup."""

from __future__ import annotations

from typing import TYPE_CHECKING
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import CONF_PASSWORD, CONF_URL, EVENT_HOMEASSISTANT_STOP
from homeassistant.helpers import entity_registry as er
import pytest

from custom_components.portos.api import (
    Health,
    PortosAuthenticationError,
    PortosClient,
    PortosServerError,
)
from custom_components.portos.const import (
    CONF_DEVICE_NAME,
    DOMAIN,
)
from tests.common import free_port
from tests.integration.const import SHOP_ID
from tests.integration.portos_helpers import shop_device, wait_for

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    from simulator.server import Simulator

pytestmark = pytest.mark.usefixtures("socket_enabled")


def entry_state(entry: MockConfigEntry) -> ConfigEntryState:
    """Return an entry's state (read through a call, so type checkers do not narrow it)."""
    return entry.state


def _ready_connections(simulator: Simulator) -> int:
    """Return how many hub connections the simulator holds."""
    return sum(1 for conn in simulator.state.hub.connections.values() if conn.ready)


async def test_setup_and_unload(
    hass: HomeAssistant, init_portos: MockConfigEntry, simulator: Simulator
) -> None:
    """Setup logs in, snapshots, registers one device and runs the hub; unload stops it all."""
    entry = init_portos
    assert entry.state is ConfigEntryState.LOADED
    runtime = entry.runtime_data
    assert runtime.hub.connected
    assert _ready_connections(simulator) == 1
    sessions = len(simulator.state.auth.sessions)

    device = shop_device(hass)
    assert device.manufacturer == "Nine Digit, s.r.o."
    assert device.model == "PORTOS"
    assert device.name == f"PORTOS {SHOP_ID}"
    assert device.configuration_url == simulator.url
    assert runtime.device_id == device.id
    entities = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    assert {e.unique_id for e in entities} >= {
        f"{SHOP_ID}_{key}"
        for key in (
            "open_tickets",
            "tickets_closed_today",
            "license_status",
            "license_expiration",
            "health_status",
            "hub_connected",
        )
    }

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry_state(entry) is ConfigEntryState.NOT_LOADED
    assert not runtime.hub.connected
    # The session was ended on the server (logout) and the hub connection closed.
    assert len(simulator.state.auth.sessions) == sessions - 1
    await wait_for(hass, lambda: _ready_connections(simulator) == 0)
    for entity in entities:
        state = hass.states.get(entity.entity_id)
        assert state is None or state.state == "unavailable"


async def test_not_ready_when_unreachable(
    hass: HomeAssistant, portos_entry: MockConfigEntry
) -> None:
    """A server nobody listens on makes the entry retry later."""
    entry = portos_entry
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry, data={**entry.data, CONF_URL: f"http://127.0.0.1:{free_port()}"}
    )
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.reason is not None
    assert "Cannot connect to the PORTOS server" in entry.reason


async def test_auth_failed_starts_reauth(
    hass: HomeAssistant, portos_entry: MockConfigEntry
) -> None:
    """Rejected credentials fail the setup and start a reauth flow."""
    portos_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        portos_entry, data={**portos_entry.data, CONF_PASSWORD: "Wr0ng-Pa55word"}
    )
    assert not await hass.config_entries.async_setup(portos_entry.entry_id)
    assert portos_entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert flows[0]["context"]["entry_id"] == portos_entry.entry_id


async def test_till_device_fails_auth(hass: HomeAssistant, portos_entry: MockConfigEntry) -> None:
    """Stored credentials on a till device are refused like bad credentials."""
    portos_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        portos_entry, data={**portos_entry.data, CONF_DEVICE_NAME: "P01"}
    )
    assert not await hass.config_entries.async_setup(portos_entry.entry_id)
    assert portos_entry.state is ConfigEntryState.SETUP_ERROR
    assert portos_entry.reason is not None
    assert "P01" in portos_entry.reason


async def test_home_assistant_stop_stops_the_hub(
    hass: HomeAssistant, init_portos: MockConfigEntry
) -> None:
    """Home Assistant does not unload entries when it stops, so the hub stops on the stop event."""
    hub = init_portos.runtime_data.hub
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    assert not hub.connected
    # Unloading afterwards finds everything already stopped.
    assert await hass.config_entries.async_unload(init_portos.entry_id)


@pytest.mark.parametrize(
    ("error", "state"),
    [
        (PortosServerError("health check failed"), ConfigEntryState.SETUP_RETRY),
        (PortosAuthenticationError("token refused"), ConfigEntryState.SETUP_ERROR),
    ],
    ids=["server_error", "auth_error"],
)
async def test_snapshot_failure_ends_the_session(
    hass: HomeAssistant,
    portos_entry: MockConfigEntry,
    simulator: Simulator,
    error: Exception,
    state: ConfigEntryState,
) -> None:
    """When the REST snapshot fails after the login, the server session is ended."""
    portos_entry.add_to_hass(hass)
    sessions = len(simulator.state.auth.sessions)
    with patch.object(PortosClient, "get_health", side_effect=error):
        assert not await hass.config_entries.async_setup(portos_entry.entry_id)
    assert portos_entry.state is state
    assert len(simulator.state.auth.sessions) == sessions


async def test_snapshot_failure_with_server_gone(
    hass: HomeAssistant, portos_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """A server that vanishes between login and snapshot means retry (the logout fails quietly)."""
    portos_entry.add_to_hass(hass)
    original = PortosClient.get_health

    async def stop_then_get_health(client: PortosClient) -> Health:
        await simulator.stop()
        return await original(client)

    with patch.object(PortosClient, "get_health", stop_then_get_health):
        assert not await hass.config_entries.async_setup(portos_entry.entry_id)
    assert portos_entry.state is ConfigEntryState.SETUP_RETRY
