"""The live runtime against the simulator: snapshot, pushes, resync, license, bus events."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
import json
import logging
import re
from typing import TYPE_CHECKING, Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import (
    EVENT_STATE_CHANGED,
    EVENT_STATE_REPORTED,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
)
from homeassistant.core import callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.portos.api import Health, Notification, PortosClient, Ticket
from custom_components.portos.const import (
    CONF_EVENT_DETAIL,
    CONF_RESOURCES,
    DOMAIN,
    EVENT_DETAIL_FULL,
    EVENT_DETAIL_SUMMARY,
    EVENT_PORTOS,
    SCAN_INTERVAL,
    SCAN_INTERVAL_HUB_DOWN,
)
from tests.integration.const import BEFORE_MIDNIGHT, EVENT_KEYS, LANGUAGES, SHOP_ID
from tests.integration.portos_helpers import (
    counts,
    emit_and_settle,
    entity_id,
    force_resync,
    resource_changed,
    state,
    state_of,
    translation,
    wait_for,
    wait_hub,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from freezegun.api import FrozenDateTimeFactory
    from homeassistant.core import Event, HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    from custom_components.portos.api import PortosEvent
    from simulator.server import Simulator
    from tests.common import SimulatorFactory
    from tests.till import Till

pytestmark = pytest.mark.usefixtures("socket_enabled")


def server_open(simulator: Simulator) -> int:
    """Return how many tickets the simulator holds open."""
    return sum(1 for t in simulator.state.tickets.values() if t.get("closeDate") is None)


async def test_end_to_end_ticket_lifecycle(
    hass: HomeAssistant, init_portos: MockConfigEntry, simulator: Simulator, till: Till
) -> None:
    """Create, update, close and delete at the till: sensors, bus events and listeners follow."""
    coordinator = init_portos.runtime_data
    events = async_capture_events(hass, EVENT_PORTOS)
    heard: list[PortosEvent] = []
    remove = coordinator.async_add_event_listener(heard.append)
    assert counts(hass) == ("0", "0")

    ticket = await till.create_ticket("Table 7")
    await wait_for(hass, lambda: len(events) == 1)
    assert counts(hass) == ("1", "0")
    data = events[0].data
    assert set(data) == EVENT_KEYS
    assert data["device_id"] == coordinator.device_id
    assert data["device_id"] is not None
    assert data["event"] == "portos.resources.changed"
    assert data["resource"] == "tickets"
    assert data["action"] == "created"
    assert data["resource_id"] == ticket["id"]
    assert data["version"] == 1
    assert data["user"] == "admin"
    assert data["device"] == "P01"
    assert datetime.fromisoformat(data["created_at"]).tzinfo is not None
    assert data["resources"] == [
        {
            "id": ticket["id"],
            "name": "Table 7",
            "version": 1,
            "open_date": ticket["openDate"],
            "close_date": None,
        }
    ]

    await till.update_ticket(ticket["id"], name="Table 8")
    await wait_for(hass, lambda: len(events) == 2)
    assert events[1].data["action"] == "updated"
    assert events[1].data["version"] == 2
    assert events[1].data["resources"][0]["name"] == "Table 8"

    other = await till.create_ticket("Bar")
    await wait_for(hass, lambda: len(events) == 3)
    assert counts(hass) == ("2", "0")

    closed = await till.close_ticket(ticket["id"])
    await wait_for(hass, lambda: len(events) == 4)
    assert events[3].data["action"] == "closed"
    assert events[3].data["resources"][0]["close_date"] == closed["closeDate"]
    assert counts(hass) == ("1", "1")

    await till.delete_ticket(other["id"])
    await wait_for(hass, lambda: len(events) == 5)
    assert events[4].data["action"] == "deleted"
    assert counts(hass) == ("0", "1")
    assert server_open(simulator) == 0

    # Listeners got the same events, in the same order, after the bus.
    assert [e.action for e in heard] == ["created", "updated", "created", "closed", "deleted"]
    assert heard[0].created_at.isoformat() == data["created_at"]
    remove()
    remove()  # removing twice is harmless
    await till.create_ticket("After")
    await wait_for(hass, lambda: len(events) == 6)
    assert len(heard) == 5
    assert coordinator.counters.accepted == 6


async def test_stale_duplicate_out_of_order(
    hass: HomeAssistant, init_portos: MockConfigEntry, till: Till
) -> None:
    """Repeated, older and late notifications change nothing and fire nothing."""
    coordinator = init_portos.runtime_data
    events = async_capture_events(hass, EVENT_PORTOS)
    ticket = await till.create_ticket("Table 1")
    await wait_for(hass, lambda: len(events) == 1)
    updated = await till.update_ticket(ticket["id"], name="Table 1b")
    await wait_for(hass, lambda: len(events) == 2)

    await emit_and_settle(hass, till, resource_changed(ticket, 1), init_portos)  # duplicate
    await emit_and_settle(hass, till, resource_changed(updated, 2), init_portos)  # duplicate
    await emit_and_settle(hass, till, resource_changed(ticket, 2, version=1), init_portos)
    # No version in `i`: the ticket's own `_v` tells it is a duplicate.
    unversioned = resource_changed(updated, 2)
    unversioned["p"]["i"]["v"] = None
    await emit_and_settle(hass, till, unversioned, init_portos)
    assert len(events) == 2
    assert counts(hass) == ("1", "0")
    assert coordinator.counters.stale == 4

    # Out of order: the close (v3) arrives before an update (v2) of the same new ticket.
    late = {**ticket, "id": "late-1", "_v": 1}
    now = dt_util.utcnow().isoformat()
    closed = {**late, "_v": 3, "closeDate": now, "closeInfo": {"x": 1}}
    await emit_and_settle(hass, till, resource_changed(late, 1), init_portos)
    await emit_and_settle(hass, till, resource_changed(closed, 2), init_portos)
    await emit_and_settle(hass, till, resource_changed({**late, "_v": 2}, 2), init_portos)
    assert [e.data["action"] for e in events[2:]] == ["created", "closed"]
    assert counts(hass) == ("1", "1")
    assert coordinator.counters.stale == 5

    # Without the ticket object a change can only be taken as open (no close is invented).
    bare = resource_changed({"id": "bare-1", "_v": 1}, 1)
    bare["p"]["r"] = []
    await emit_and_settle(hass, till, bare, init_portos)
    assert events[-1].data["action"] == "created"
    assert events[-1].data["resources"] == []
    assert counts(hass) == ("2", "1")


async def test_unknown_and_malformed_notifications(
    hass: HomeAssistant,
    init_portos: MockConfigEntry,
    till: Till,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Unknown events and bad payloads are counted, logged once, and break nothing."""
    coordinator = init_portos.runtime_data
    hub = init_portos.runtime_data.hub
    events = async_capture_events(hass, EVENT_PORTOS)
    unknown = {"e": "portos.something.new", "s": None, "r": None, "ca": "2026-11-28T10:00:00Z"}
    bad_ticket = resource_changed({"id": "t-bad", "_v": 1, "closeDate": 5}, 1)
    with caplog.at_level(logging.DEBUG, logger="custom_components.portos"):
        for _ in range(2):
            await emit_and_settle(hass, till, unknown, init_portos)
            await emit_and_settle(hass, till, bad_ticket, init_portos)
            await emit_and_settle(
                hass, till, '{"type":1,"target":"OnEvent","arguments":[5]}\x1e', init_portos
            )
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    # The hub parses, counts and logs them, once per kind of problem; none reaches an event.
    assert sum("portos.something.new" in w for w in warnings) == 1
    assert sum("malformed" in w.lower() for w in warnings) == 1
    assert len(warnings) == 2
    assert hub.stats.unknown_events == 2
    assert hub.stats.malformed == 4
    assert coordinator.counters.accepted == 0
    assert events == []
    # Still alive: a real change goes through.
    await till.create_ticket("Table 1")
    await wait_for(hass, lambda: len(events) == 1)
    assert counts(hass) == ("1", "0")


async def test_a_malformed_neighbour_does_not_drop_the_ticket(
    hass: HomeAssistant, init_portos: MockConfigEntry, till: Till
) -> None:
    """Only the changed ticket's object is parsed: a bad other object in `r` is not its problem."""
    hub = init_portos.runtime_data.hub
    events = async_capture_events(hass, EVENT_PORTOS)
    ticket = {"id": "t-good", "name": "Table 1", "_v": 1, "closeDate": None}
    notification = resource_changed(ticket, 1)
    notification["p"]["r"] = [{"id": "t-other", "_v": "two", "closeDate": 5}, ticket]
    await emit_and_settle(hass, till, notification, init_portos)
    assert [e.data["resource_id"] for e in events] == ["t-good"]
    assert counts(hass) == ("1", "0")
    assert hub.stats.malformed == 0
    # Without an object of its id, the first one is the ticket (as before).
    fallback = resource_changed({"id": "t-unlisted", "_v": 1}, 1)
    fallback["p"]["r"] = [{"id": "t-first", "_v": 1}, {"id": "t-bad", "closeDate": 5}]
    await emit_and_settle(hass, till, fallback, init_portos)
    assert hub.stats.malformed == 0
    assert events[-1].data["resource_id"] == "t-unlisted"
    assert counts(hass) == ("2", "0")
    # When the first object is the malformed one, the notification is still refused.
    fallback["p"]["i"]["i"] = "t-unlisted-2"
    fallback["p"]["r"] = [{"id": "t-bad", "closeDate": 5}, {"id": "t-first", "_v": 1}]
    await emit_and_settle(hass, till, fallback, init_portos)
    assert hub.stats.malformed == 1
    assert counts(hass) == ("2", "0")
    # A numeric id matches the notification's id (which arrives as text).
    numeric = resource_changed({"id": 77, "_v": 1}, 1)
    numeric["p"]["r"] = [{"id": True}, {"id": 77, "_v": 1}]
    await emit_and_settle(hass, till, numeric, init_portos)
    assert events[-1].data["resource_id"] == "77"
    assert counts(hass) == ("3", "0")


@pytest.mark.parametrize("detail", [EVENT_DETAIL_FULL, EVENT_DETAIL_SUMMARY])
async def test_other_resources_and_detail(
    hass: HomeAssistant, portos_entry: MockConfigEntry, till: Till, detail: str
) -> None:
    """Chosen resources fire events with full or summary objects; others, and tickets, do not."""
    portos_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        portos_entry, options={CONF_RESOURCES: ["devices"], CONF_EVENT_DETAIL: detail}
    )
    assert await hass.config_entries.async_setup(portos_entry.entry_id)
    await wait_hub(hass, portos_entry, connected=True)
    coordinator = portos_entry.runtime_data
    events = async_capture_events(hass, EVENT_PORTOS)

    device = {"id": 7, "name": "P02", "_v": 4, "envName": "CashRegister"}
    notification = resource_changed(device, 2, resource="devices")
    notification["p"]["u"] = None
    await emit_and_settle(hass, till, notification, portos_entry)
    await emit_and_settle(hass, till, notification, portos_entry)  # duplicate
    await emit_and_settle(hass, till, resource_changed(device, 3, resource="users"), portos_entry)
    # Tickets are still counted (the hub always subscribes to them) but fire no event.
    await till.create_ticket("Table 1")
    await wait_for(hass, lambda: counts(hass) == ("1", "0"))

    assert len(events) == 1
    data = events[0].data
    assert data["resource"] == "devices"
    assert data["action"] == "updated"
    assert data["resource_id"] == "7"
    assert data["version"] == 4
    assert data["user"] is None
    assert data["device"] is None
    if detail == EVENT_DETAIL_FULL:
        assert data["resources"] == [device]
    else:
        assert data["resources"] == [{"id": 7, "name": "P02", "version": 4}]
    assert coordinator.counters.stale == 1
    assert coordinator.counters.unsubscribed == 2

    # The license event is always subscribed, in the same detail.
    shop_license = await till.activate_license()
    await wait_for(hass, lambda: len(events) == 2)
    (sent,) = events[1].data["resources"]
    assert sent["shopId"] == shop_license["shopId"]
    assert sent["remainingDays"] == shop_license["remainingDays"]
    if detail == EVENT_DETAIL_FULL:
        # The server's object as it was sent, every field of it.
        assert sent == shop_license
    else:
        assert "features" not in sent


async def test_ticket_created_closed_counts_when_closed_today(
    hass: HomeAssistant, init_portos: MockConfigEntry, till: Till
) -> None:
    """A ticket whose first notification shows it closed (a quick sale) is a `closed` event.

    It counts in closed today if its close date is today.
    """
    events = async_capture_events(hass, EVENT_PORTOS)
    now = dt_util.utcnow()
    quick_sale = {
        "id": "quick-1",
        "name": "Quick sale",
        "_v": 1,
        "openDate": now.isoformat(),
        "closeDate": now.isoformat(),
        "closeInfo": {"deviceName": "P01"},
    }
    earlier = (now - timedelta(days=2)).isoformat()
    late = {**quick_sale, "id": "old-1", "closeDate": earlier, "openDate": earlier}
    await emit_and_settle(hass, till, resource_changed(quick_sale, 1), init_portos)
    await emit_and_settle(hass, till, resource_changed(late, 1), init_portos)
    assert counts(hass) == ("0", "1")
    assert [(e.data["resource_id"], e.data["action"]) for e in events] == [
        ("quick-1", "closed"),
        ("old-1", "closed"),
    ]


async def test_a_late_close_from_another_day_is_not_counted_today(
    hass: HomeAssistant, init_portos: MockConfigEntry, till: Till
) -> None:
    """A close of an open ticket pushed with an earlier day's close date fires, but counts not."""
    events = async_capture_events(hass, EVENT_PORTOS)
    ticket = await till.create_ticket("Table 1")
    await wait_for(hass, lambda: counts(hass) == ("1", "0"))
    earlier = (dt_util.utcnow() - timedelta(days=2)).isoformat()
    closed = {**ticket, "_v": 2, "closeDate": earlier, "closeInfo": {"deviceName": "P01"}}
    await emit_and_settle(hass, till, resource_changed(closed, 2), init_portos)
    assert events[-1].data["action"] == "closed"
    assert counts(hass) == ("0", "0")


async def test_hub_drop_and_resync(
    hass: HomeAssistant, init_portos: MockConfigEntry, simulator: Simulator, till: Till
) -> None:
    """Changes made while the hub is down are counted once it is back (REST resync)."""
    coordinator = init_portos.runtime_data
    kept = await till.create_ticket("Kept")
    doomed = await till.create_ticket("Doomed")
    await wait_for(hass, lambda: counts(hass) == ("2", "0"))
    resyncs = coordinator.counters.resyncs

    await till.pause_hub()
    await till.drop_hub()
    await wait_hub(hass, init_portos, connected=False)
    assert state_of(hass, "binary_sensor", "hub_connected") == STATE_OFF
    # REST still answers, so the entities stay available with what they knew.
    assert counts(hass) == ("2", "0")

    await till.close_ticket(kept["id"])
    await till.delete_ticket(doomed["id"])
    for name in ("A", "B", "C"):
        await till.create_ticket(name)
    assert server_open(simulator) == 3

    await till.resume_hub()
    await wait_hub(hass, init_portos, connected=True)
    assert state_of(hass, "binary_sensor", "hub_connected") == STATE_ON
    assert counts(hass) == ("3", "1")
    assert coordinator.counters.resyncs > resyncs


async def test_polls_catch_up_while_the_hub_stays_down(
    hass: HomeAssistant, init_portos: MockConfigEntry, till: Till
) -> None:
    """A hub that cannot reconnect (REST still fine): each poll brings the counts up to date."""
    coordinator = init_portos.runtime_data
    resyncs = coordinator.counters.resyncs
    await till.pause_hub()
    await till.drop_hub()
    await wait_hub(hass, init_portos, connected=False)
    # The resync that the loss itself starts.
    await wait_for(hass, lambda: coordinator.counters.resyncs > resyncs)

    ticket = await till.create_ticket("Walk-in")
    await till.close_ticket(ticket["id"])
    await till.create_ticket("Table 2")
    await coordinator.async_refresh()
    assert counts(hass) == ("1", "1")
    assert not init_portos.runtime_data.hub.connected
    await till.resume_hub()
    await wait_hub(hass, init_portos, connected=True)


async def test_server_down_makes_entities_unavailable(
    hass: HomeAssistant, init_portos: MockConfigEntry, simulator: Simulator, till: Till
) -> None:
    """A stopped server: entities unavailable, the hub sensor available and off; then recovery."""
    await simulator.stop()
    await wait_hub(hass, init_portos, connected=False)
    await wait_for(hass, lambda: state_of(hass, "sensor", "open_tickets") == STATE_UNAVAILABLE)
    assert state_of(hass, "sensor", "license_status") == STATE_UNAVAILABLE
    assert state_of(hass, "binary_sensor", "hub_connected") == STATE_OFF
    assert not init_portos.runtime_data.last_update_success

    # The same port again: a server restart. State kept, one more ticket.
    await simulator.start()
    await till.create_ticket("While away")
    await wait_hub(hass, init_portos, connected=True)
    await wait_for(hass, lambda: state_of(hass, "sensor", "open_tickets") == "1")
    assert state_of(hass, "binary_sensor", "hub_connected") == STATE_ON


async def test_a_push_writes_only_the_entities_it_changes(
    hass: HomeAssistant, init_portos: MockConfigEntry, till: Till
) -> None:
    """A renamed table changes no figure: only the event entity writes its state again."""
    events = async_capture_events(hass, EVENT_PORTOS)
    ticket = await till.create_ticket("Table 1")
    await wait_for(hass, lambda: len(events) == 1)
    written: list[str] = []

    @callback
    def ours(data: Mapping[str, Any]) -> bool:
        return str(data["entity_id"]).startswith(("sensor.", "event."))

    @callback
    def record(event: Event[Any]) -> None:
        written.append(event.data["entity_id"])

    for event_type in (EVENT_STATE_REPORTED, EVENT_STATE_CHANGED):
        hass.bus.async_listen(event_type, record, event_filter=ours)
    await till.update_ticket(ticket["id"], name="Table 1 (window)")
    await wait_for(hass, lambda: len(events) == 2)
    await hass.async_block_till_done()
    assert written == [entity_id(hass, "event", "tickets")]


async def test_a_burst_of_pushes_is_published_once(
    hass: HomeAssistant, init_portos: MockConfigEntry, till: Till
) -> None:
    """Ten tickets in one WebSocket message: ten bus events, one write of the open count."""
    events = async_capture_events(hass, EVENT_PORTOS)
    open_tickets = entity_id(hass, "sensor", "open_tickets")
    written: list[str | None] = []

    @callback
    def record(event: Event[Any]) -> None:
        if event.data["entity_id"] == open_tickets:
            written.append(event.data["new_state"].state)

    hass.bus.async_listen(EVENT_STATE_CHANGED, record)
    frame = "".join(
        json.dumps(
            {
                "type": 1,
                "target": "OnEvent",
                "arguments": [resource_changed({"id": f"burst-{n}", "_v": 1}, 1)],
            }
        )
        + "\x1e"
        for n in range(10)
    )
    await till.emit_raw(frame)
    await wait_for(hass, lambda: len(events) == 10)
    await hass.async_block_till_done()
    assert written == ["10"]


async def test_an_event_sees_the_state_it_changed(
    hass: HomeAssistant, init_portos: MockConfigEntry, till: Till
) -> None:
    """A listener of portos_event reads the sensors already updated by that change."""
    seen: list[tuple[str, str]] = []

    @callback
    def read_counts(event: Event[Any]) -> None:
        seen.append((event.data["action"], state_of(hass, "sensor", "tickets_closed_today")))

    hass.bus.async_listen(EVENT_PORTOS, read_counts)
    ticket = await till.create_ticket("Table 1")
    await till.close_ticket(ticket["id"])
    await wait_for(hass, lambda: len(seen) == 2)
    assert seen == [("created", "0"), ("closed", "1")]


async def test_a_push_applied_as_the_entry_stops_fires_nothing_after(
    hass: HomeAssistant, init_portos: MockConfigEntry
) -> None:
    """A push handled in the same moment the entry stops is not published or fired later."""
    coordinator = init_portos.runtime_data
    events = async_capture_events(hass, EVENT_PORTOS)
    coordinator._async_handle_notification(
        Notification.from_dict(resource_changed({"id": "late-1", "_v": 1}, 1))
    )
    await coordinator.async_stop()
    await hass.async_block_till_done()
    assert events == []
    assert coordinator.counters.accepted == 1
    assert await hass.config_entries.async_unload(init_portos.entry_id)


async def test_availability_follows_rest_while_the_hub_is_down(
    hass: HomeAssistant, init_portos: MockConfigEntry, simulator: Simulator, till: Till
) -> None:
    """Without the hub REST is read every 30 s: a server that answers makes the entities live."""
    coordinator = init_portos.runtime_data
    assert coordinator.update_interval == SCAN_INTERVAL
    await simulator.stop()
    await wait_hub(hass, init_portos, connected=False)
    await wait_for(hass, lambda: state_of(hass, "sensor", "open_tickets") == STATE_UNAVAILABLE)
    assert coordinator.update_interval == SCAN_INTERVAL_HUB_DOWN

    # The server is back, but its hub refuses connections (e.g. a proxy without WebSockets).
    simulator.state.hub.paused = True
    await simulator.start()
    await till.create_ticket("While away")
    async_fire_time_changed(hass, dt_util.utcnow() + SCAN_INTERVAL_HUB_DOWN + timedelta(seconds=1))
    await wait_for(hass, lambda: state_of(hass, "sensor", "open_tickets") == "1")
    assert state_of(hass, "binary_sensor", "hub_connected") == STATE_OFF
    assert not coordinator.hub.connected

    await till.resume_hub()
    await wait_hub(hass, init_portos, connected=True)
    assert coordinator.update_interval == SCAN_INTERVAL


async def test_a_push_during_setup_before_the_first_snapshot(
    hass: HomeAssistant, portos_entry: MockConfigEntry, till: Till
) -> None:
    """The hub is live before the first REST read: a change then is counted once, not lost."""
    events = async_capture_events(hass, EVENT_PORTOS)
    original = PortosClient.get_health
    pushed: list[str] = []

    async def push_then_read(client: PortosClient) -> Health:
        if not pushed:
            pushed.append((await till.create_ticket("Early"))["id"])
            await wait_for(hass, lambda: len(events) == 1)
        return await original(client)

    portos_entry.add_to_hass(hass)
    with patch.object(PortosClient, "get_health", push_then_read):
        assert await hass.config_entries.async_setup(portos_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [e.data["resource_id"] for e in events] == pushed
    assert counts(hass) == ("1", "0")
    assert portos_entry.runtime_data.counters.resyncs == 1


async def test_health_poll(hass: HomeAssistant, init_portos: MockConfigEntry, till: Till) -> None:
    """Health is polled at SCAN_INTERVAL; a push does not push the poll back."""
    coordinator = init_portos.runtime_data
    timer = coordinator._unsub_refresh
    assert timer is not None
    await till.create_ticket("Table 1")
    await wait_for(hass, lambda: counts(hass) == ("1", "0"))
    assert coordinator._unsub_refresh is timer

    await till.set_health("Degraded")
    async_fire_time_changed(hass, dt_util.utcnow() + SCAN_INTERVAL + timedelta(seconds=1))
    await wait_for(hass, lambda: state_of(hass, "sensor", "health_status") == "degraded")


async def test_license_expiring_repair_and_activation(
    hass: HomeAssistant, init_portos: MockConfigEntry, till: Till
) -> None:
    """Three days left: expiring and a repair issue; activation renews, fires and clears it."""
    issues = ir.async_get(hass)
    issue_id = f"license_{SHOP_ID}"
    assert issues.async_get_issue(DOMAIN, issue_id) is None
    await till.set_license_days(3)
    # The poll itself (time travel would also fire the simulator's hub timeouts on this loop).
    await init_portos.runtime_data.async_refresh()
    await wait_for(hass, lambda: state_of(hass, "sensor", "license_status") == "expiring")
    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.WARNING
    assert issue.translation_key == "license_expiring"
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["days"] == "3"
    assert not issue.is_fixable

    events = async_capture_events(hass, EVENT_PORTOS)
    shop_license = await till.activate_license()
    await wait_for(hass, lambda: len(events) == 1)
    data = events[0].data
    assert data["event"] == "portos.licence.activated"
    assert data["resource"] == "license"
    assert data["action"] == "activated"
    assert data["resource_id"] == SHOP_ID
    assert data["user"] is None
    assert data["resources"][0]["remainingDays"] == shop_license["remainingDays"]
    assert state_of(hass, "sensor", "license_status") == "valid"
    expiration = datetime.fromisoformat(state_of(hass, "sensor", "license_expiration"))
    assert abs(expiration - datetime.fromisoformat(shop_license["expirationTime"])) < timedelta(
        seconds=1
    )
    assert issues.async_get_issue(DOMAIN, issue_id) is None


async def test_license_expired(
    hass: HomeAssistant, simulator_factory: SimulatorFactory, portos_entry: MockConfigEntry
) -> None:
    """An expired license: the entry loads, shows it, raises an error issue; counts unknown."""
    simulator = await simulator_factory(license_days=0)
    portos_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        portos_entry, data={**portos_entry.data, "url": simulator.url}
    )
    assert await hass.config_entries.async_setup(portos_entry.entry_id)
    await wait_hub(hass, portos_entry, connected=True)
    assert portos_entry.state is ConfigEntryState.LOADED
    assert state_of(hass, "sensor", "license_status") == "expired"
    assert state_of(hass, "sensor", "open_tickets") == STATE_UNKNOWN
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"license_{SHOP_ID}")
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_key == "license_expired"

    # Renewed elsewhere: the next poll sees it, resyncs the tickets and withdraws the issue.
    simulator.state.shop_license.activate()
    await portos_entry.runtime_data.async_refresh()
    await wait_for(hass, lambda: state_of(hass, "sensor", "open_tickets") == "0")
    assert state_of(hass, "sensor", "license_status") == "valid"
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"license_{SHOP_ID}") is None


async def test_hub_rejects_credentials_starts_reauth(
    hass: HomeAssistant,
    init_portos: MockConfigEntry,
    simulator: Simulator,
    till: Till,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """When the hub cannot get a token the server accepts, a reauth flow starts."""
    simulator.state.config.password = "changed-in-backoffice"
    await till.expire_tokens()
    await till.drop_hub()
    coordinator = init_portos.runtime_data

    def reauth_flows() -> int:
        return sum(
            flow["context"]["source"] == SOURCE_REAUTH
            for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        )

    # Both the REST resync and the hub (after a second, fresh login) notice; one flow results.
    await wait_for(hass, lambda: reauth_flows() == 1)
    await wait_for(hass, lambda: "hub rejected the credentials" in caplog.text)
    assert reauth_flows() == 1
    assert not coordinator.last_update_success


@pytest.mark.freeze_time(BEFORE_MIDNIGHT)
async def test_midnight_reset(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, init_portos: MockConfigEntry, till: Till
) -> None:
    """The closed-today count starts from zero at local midnight; open tickets stay."""
    ticket = await till.create_ticket("Table 1")
    await till.create_ticket("Table 2")
    await till.close_ticket(ticket["id"])
    await wait_for(hass, lambda: counts(hass) == ("1", "1"))
    closed = state(hass, "sensor", "tickets_closed_today")
    yesterday = dt_util.start_of_local_day()
    assert closed.attributes["last_reset"] == yesterday.isoformat()

    freezer.tick(timedelta(seconds=2))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    midnight = dt_util.start_of_local_day()
    assert midnight == yesterday + timedelta(days=1) == dt_util.now()
    assert counts(hass) == ("1", "0")
    closed = state(hass, "sensor", "tickets_closed_today")
    assert closed.attributes["last_reset"] == midnight.isoformat()


@pytest.mark.freeze_time(BEFORE_MIDNIGHT)
async def test_a_resync_across_midnight_counts_nothing_from_yesterday(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, init_portos: MockConfigEntry, till: Till
) -> None:
    """Closed tickets listed for yesterday do not land on today; the next poll asks again."""
    coordinator = init_portos.runtime_data
    ticket = await till.create_ticket("Table 1")
    await till.create_ticket("Table 2")
    await till.close_ticket(ticket["id"])
    await wait_for(hass, lambda: counts(hass) == ("1", "1"))
    original = PortosClient.get_open_tickets

    async def list_after_midnight(client: PortosClient) -> list[Ticket]:
        # The closed list was read yesterday; local midnight passes before the open list is.
        freezer.tick(timedelta(seconds=2))
        return await original(client)

    force_resync(coordinator)
    with patch.object(PortosClient, "get_open_tickets", list_after_midnight):
        await coordinator.async_refresh()
    assert dt_util.now() == dt_util.start_of_local_day()
    assert counts(hass) == ("1", "0")
    assert coordinator.resync_due
    async_fire_time_changed(hass)  # the midnight timer, due since the tick
    await coordinator.async_refresh()
    assert counts(hass) == ("1", "0")
    assert not coordinator.resync_due


async def test_pushes_during_a_resync_are_kept(
    hass: HomeAssistant, init_portos: MockConfigEntry, simulator: Simulator, till: Till
) -> None:
    """Changes pushed after the REST list was read, but before it was applied, still count."""
    coordinator = init_portos.runtime_data
    hub = init_portos.runtime_data.hub
    table = await till.create_ticket("Table 1")
    await wait_for(hass, lambda: counts(hass) == ("1", "0"))
    original = PortosClient.get_open_tickets

    async def list_then_race(client: PortosClient) -> list[Ticket]:
        tickets = await original(client)
        before = hub.stats.notifications
        await till.close_ticket(table["id"])
        await till.create_ticket("Table 2")
        # Both pushes are handled while the resync still holds the older list.
        async with asyncio.timeout(10):
            while hub.stats.notifications < before + 2:  # noqa: ASYNC110 - another's counter
                await asyncio.sleep(0.02)
        return tickets

    force_resync(coordinator)
    with patch.object(PortosClient, "get_open_tickets", list_then_race):
        await coordinator.async_refresh()
    assert coordinator.last_update_success
    assert counts(hass) == ("1", "1")
    assert server_open(simulator) == 1


async def test_a_close_between_the_resync_requests_counts(
    hass: HomeAssistant, init_portos: MockConfigEntry, simulator: Simulator, till: Till
) -> None:
    """A close after the closed list was read, before the open list is: the server's counts."""
    coordinator = init_portos.runtime_data
    hub = init_portos.runtime_data.hub
    table = await till.create_ticket("Table 1")
    await till.create_ticket("Table 2")
    await wait_for(hass, lambda: counts(hass) == ("2", "0"))
    original = PortosClient.get_open_tickets

    async def race_then_list(client: PortosClient) -> list[Ticket]:
        # The closed tickets have been read; the close is pushed and handled before the open
        # list is, so it is in neither reply.
        before = hub.stats.notifications
        await till.close_ticket(table["id"])
        async with asyncio.timeout(10):
            while hub.stats.notifications < before + 1:  # noqa: ASYNC110 - another's counter
                await asyncio.sleep(0.02)
        return await original(client)

    force_resync(coordinator)
    with patch.object(PortosClient, "get_open_tickets", race_then_list):
        await coordinator.async_refresh()
    assert coordinator.last_update_success
    assert counts(hass) == ("1", "1")
    # A plain resync agrees, and counts that close once, not twice.
    force_resync(coordinator)
    await coordinator.async_refresh()
    assert counts(hass) == ("1", "1")
    assert server_open(simulator) == 1


def test_runtime_texts_mirror_in_slovak() -> None:
    """The runtime's sections have the same keys and placeholders in English and Slovak."""
    en, sk = (translation(language) for language in LANGUAGES)

    def shape(node: object, path: str = "") -> set[str]:
        if isinstance(node, dict):
            return {p for key, value in node.items() for p in shape(value, f"{path}/{key}")}
        return {path, *(f"{path}:{{{name}}}" for name in re.findall(r"{(\w+)}", str(node)))}

    for section in (
        ("entity", "sensor"),
        ("entity", "binary_sensor"),
        ("exceptions",),
        ("issues",),
    ):
        en_part, sk_part = en, sk
        for key in section:
            en_part, sk_part = en_part[key], sk_part[key]
        assert shape(en_part) == shape(sk_part), section
        assert shape(en_part)
    states = en["entity"]["sensor"]["license_status"]["state"]
    assert set(states) == {"valid", "expiring", "expired"}
    assert set(en["entity"]["sensor"]["health_status"]["state"]) == {
        "healthy",
        "degraded",
        "unhealthy",
    }
    assert {"license_expiring", "license_expired"} <= set(en["issues"])
    assert {"invalid_auth", "wrong_device_type", "cannot_connect", "update_failed"} <= set(
        en["exceptions"]
    )
