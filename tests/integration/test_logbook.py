"""The logbook as a person reads it: one line per PORTOS change, none when nothing happened.

Home Assistant's logbook lists every state change of an event entity (the frontend writes it as
"<entity> detected an event", whatever the new state is, "unavailable" included) and, separately,
every bus event an integration's logbook platform describes. A describer cannot skip a row, and
all PORTOS changes share one bus event type, so describing `portos_event` would put a second line
beside each ticket change. The event entities carry the change instead, and stay available while
the server is away, so an outage adds no line of theirs.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from homeassistant.components.logbook.const import DOMAIN as LOGBOOK_DOMAIN
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

import custom_components.portos  # noqa: F401 - imported at module level, as HA tests need
from custom_components.portos.const import DOMAIN
from tests.integration.portos_helpers import (
    entity_id,
    setup_portos,
    state_of,
    wait_for,
    wait_hub,
)

if TYPE_CHECKING:
    from datetime import datetime

    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry
    from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

    from simulator.server import Simulator
    from tests.till import Till


@pytest.fixture
def mock_recorder_before_hass(async_setup_recorder_instance: None) -> None:
    """Prepare the recorder before hass exists (the logbook reads what it recorded)."""


@pytest.fixture
async def portos(
    hass: HomeAssistant, recorder_mock: Any, portos_entry: MockConfigEntry
) -> MockConfigEntry:
    """Set up the logbook, then the PORTOS entry on the simulator with its hub connected."""
    assert await async_setup_component(hass, LOGBOOK_DOMAIN, {})
    await setup_portos(hass, portos_entry)
    return portos_entry


async def _logbook(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, since: datetime
) -> list[dict[str, Any]]:
    """Return the logbook since `since`, as the logbook's REST API serves it to the UI."""
    await async_wait_recording_done(hass)
    client = await hass_client()
    response = await client.get(f"/api/logbook/{since.isoformat()}")
    assert response.status == HTTPStatus.OK
    entries: list[dict[str, Any]] = await response.json()
    return entries


def _portos_lines(hass: HomeAssistant, entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Return (entity id or domain, state or message) of every line about the PORTOS shop."""
    registry = er.async_get(hass)
    lines = []
    for entry in entries:
        logged = entry.get("entity_id")
        if logged and (found := registry.async_get(logged)) and found.platform == DOMAIN:
            lines.append((logged, entry.get("state") or entry.get("message") or ""))
        elif entry.get("domain") == DOMAIN:
            lines.append((DOMAIN, entry.get("message") or ""))
    return lines


def _is_event_line(line: tuple[str, str]) -> bool:
    """Tell a line that reads as an event (an event entity's, or a described bus event)."""
    return line[0].startswith("event.") or line[0] == DOMAIN


async def test_one_line_per_ticket_change(
    hass: HomeAssistant, portos: MockConfigEntry, till: Till, hass_client: ClientSessionGenerator
) -> None:
    """Opening and closing a ticket, then renewing the license, are three lines, no more."""
    await async_wait_recording_done(hass)
    since = dt_util.utcnow()
    tickets = entity_id(hass, "event", "tickets")
    license_events = entity_id(hass, "event", "license")
    hub = portos.runtime_data.hub

    ticket = await till.create_ticket("Table 4")
    await wait_for(hass, lambda: hub.stats.notifications >= 1)
    await till.close_ticket(ticket["id"])
    await wait_for(hass, lambda: hub.stats.notifications >= 2)
    await till.activate_license()
    await wait_for(hass, lambda: hub.stats.notifications >= 3)
    await hass.async_block_till_done()

    lines = _portos_lines(hass, await _logbook(hass, hass_client, since))

    events = [line for line in lines if _is_event_line(line)]
    assert [logged for logged, _ in events] == [tickets, tickets, license_events], lines
    # Each is the event entity's new state: the time of a change that happened.
    assert all(dt_util.parse_datetime(state) for _, state in events)
    # Besides them at most readings that did change (the renewed license's expiry).
    assert all(line[0].startswith("sensor.") for line in lines if not _is_event_line(line))


async def test_no_line_when_the_server_goes_away_and_comes_back(
    hass: HomeAssistant,
    portos: MockConfigEntry,
    simulator: Simulator,
    till: Till,
    hass_client: ClientSessionGenerator,
) -> None:
    """An outage shows on the readings, not as events: the event entities keep their last event."""
    hub = portos.runtime_data.hub
    await till.create_ticket("Table 4")
    await wait_for(hass, lambda: hub.stats.notifications >= 1)
    await hass.async_block_till_done()
    tickets_before = hass.states.get(entity_id(hass, "event", "tickets"))
    assert tickets_before is not None
    # It shows an event (else "unknown" before and after would pass for a kept state).
    assert dt_util.parse_datetime(tickets_before.state) is not None
    await async_wait_recording_done(hass)
    since = dt_util.utcnow()

    await simulator.stop()
    await wait_hub(hass, portos, connected=False)
    await wait_for(hass, lambda: state_of(hass, "sensor", "license_status") == STATE_UNAVAILABLE)
    assert state_of(hass, "event", "tickets") == tickets_before.state
    await simulator.start()
    await wait_hub(hass, portos, connected=True)
    await wait_for(hass, lambda: state_of(hass, "sensor", "license_status") == "valid")

    lines = _portos_lines(hass, await _logbook(hass, hass_client, since))

    # The readings did go away and come back (so the logbook saw the outage) ...
    license_status = entity_id(hass, "sensor", "license_status")
    assert (license_status, STATE_UNAVAILABLE) in lines
    assert (license_status, "valid") in lines
    # ... but nothing reads as an event.
    assert not [line for line in lines if _is_event_line(line)], lines
    tickets_after = hass.states.get(entity_id(hass, "event", "tickets"))
    assert tickets_after is not None
    assert tickets_after.state == tickets_before.state
    assert tickets_after.attributes == tickets_before.attributes
