"""Tests for the PORTOS event entities, end to end: a till acts on the simulator, HA sees it."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import TYPE_CHECKING, Any

from homeassistant.components.event import (
    ATTR_EVENT_TYPE,
    ATTR_EVENT_TYPES,
    DATA_COMPONENT as EVENT_COMPONENT,
)
from homeassistant.const import STATE_UNKNOWN, Platform
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_capture_events, snapshot_platform

from custom_components.portos import event as portos_event
from custom_components.portos.api import PortosEvent
from custom_components.portos.const import (
    ATTR_ACTION,
    ATTR_CREATED_AT,
    ATTR_CURRENCY,
    ATTR_DEVICE,
    ATTR_DEVICE_ID,
    ATTR_EVENT,
    ATTR_RESOURCE,
    ATTR_RESOURCE_ID,
    ATTR_RESOURCES,
    ATTR_TOTAL,
    ATTR_USER,
    ATTR_VERSION,
    CONF_EVENT_DETAIL,
    CONF_RESOURCES,
    EVENT_DETAIL_FULL,
    EVENT_DETAIL_SUMMARY,
    EVENT_PORTOS,
)
from tests.integration.const import EVENT_KEYS, GOULASH, MORNING, SHOP_ID
from tests.integration.portos_helpers import (
    entity_id,
    resource_changed,
    shop_device,
    translation,
    wait_for,
    wait_hub,
)

if TYPE_CHECKING:
    from homeassistant.core import Event, HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry
    from syrupy.assertion import SnapshotAssertion

    from tests.till import Till

ATTRIBUTE_KEYS = (ATTR_EVENT_TYPE, ATTR_RESOURCE_ID, ATTR_VERSION, ATTR_USER, ATTR_DEVICE, "name")


@pytest.fixture
def platforms() -> list[Platform]:
    """Set up only the event platform."""
    return [Platform.EVENT]


@pytest.fixture
def event_detail() -> str:
    """Return the entry's event_detail option (overridden per test)."""
    return EVENT_DETAIL_SUMMARY


@pytest.fixture
def portos_options(event_detail: str) -> dict[str, Any]:
    """Return the entry's options with this test's event_detail."""
    return {CONF_RESOURCES: ["tickets"], CONF_EVENT_DETAIL: event_detail}


class BusEvents:
    """The portos_events fired on the bus, with a way to wait for the next ones."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Start recording."""
        self.hass = hass
        self.events = async_capture_events(hass, EVENT_PORTOS)

    async def wait_for(self, count: int) -> Event[dict[str, Any]]:
        """Wait until `count` events have been fired in all; return the last one."""
        await wait_for(self.hass, lambda: len(self.events) >= count)
        assert len(self.events) == count, [event.data[ATTR_ACTION] for event in self.events]
        return self.events[-1]


@pytest.fixture
def bus(hass: HomeAssistant) -> BusEvents:
    """Record portos_events from now on."""
    return BusEvents(hass)


def _assert_bus_event(
    event: Event[dict[str, Any]], device_id: str, action: str, ticket: dict[str, Any]
) -> None:
    """Check every key of a ticket's portos_event against what the till did."""
    data = event.data
    assert set(data) == EVENT_KEYS
    assert data[ATTR_DEVICE_ID] == device_id
    assert data[ATTR_EVENT] == "portos.resources.changed"
    assert data[ATTR_RESOURCE] == "tickets"
    assert data[ATTR_ACTION] == action
    assert data[ATTR_RESOURCE_ID] == ticket["id"]
    assert data[ATTR_VERSION] == ticket["_v"]
    assert data[ATTR_USER] == "admin"
    assert data[ATTR_DEVICE] == "P01"
    created_at = dt_util.parse_datetime(data[ATTR_CREATED_AT])
    assert created_at is not None
    assert created_at.tzinfo is not None
    assert len(data[ATTR_RESOURCES]) == 1
    summary = data[ATTR_RESOURCES][0]
    assert summary["id"] == ticket["id"]
    assert summary["name"] == ticket["name"]
    assert summary["version"] == ticket["_v"]


# Table 4 paid 23.40 EUR, 20 by card and the rest in cash, as the simulator's till closes it.
TABLE_4_PAID = {
    "id": "6740a2d0c0ffee0000000004",
    "name": "Table 4",
    "originDeviceName": "P01",
    "openDate": "2026-11-27T18:05:00.000Z",
    "closeDate": "2026-11-27T18:29:30.000Z",
    "closeInfo": {"deviceName": "P01", "receiptNumber": 1, "userName": "admin"},
    "items": [GOULASH],
    "discountRate": 0,
    "payments": [
        {"amount": 20.0, "paymentType": {"number": 2, "name": "Card", "category": "Card"}},
        {"amount": 3.4, "paymentType": {"number": 1, "name": "Cash", "category": "Cash"}},
    ],
    "roundingAmount": 0.0,
    "currencyLabel": "EUR",
    "_v": 3,
}


@pytest.mark.freeze_time(MORNING)
@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_entities(
    hass: HomeAssistant,
    *,
    snapshot: SnapshotAssertion,
    entity_registry: er.EntityRegistry,
    init_portos: MockConfigEntry,
    till: Till,
    bus: BusEvents,
) -> None:
    """The event entities after a paid table and a renewed license, as `.ambr` snapshots.

    A change to an entity's shape (name, event types, attributes, registry entry) fails here.
    To accept an intended change: `pytest tests/integration/test_event.py --snapshot-update`,
    then read the diff of tests/integration/snapshots/test_event.ambr before committing it.
    """
    await till.emit(resource_changed(TABLE_4_PAID, 2))
    await bus.wait_for(1)
    await till.activate_license()
    await bus.wait_for(2)

    await snapshot_platform(hass, entity_registry, snapshot, init_portos.entry_id)
    device = shop_device(hass)
    entries = er.async_entries_for_config_entry(entity_registry, init_portos.entry_id)
    assert {entry.device_id for entry in entries} == {device.id}


@pytest.mark.usefixtures("init_portos")
async def test_ticket_lifecycle(
    hass: HomeAssistant,
    till: Till,
    bus: BusEvents,
) -> None:
    """Create, update, close, delete on P01: one event each, with the right type and data."""
    device_id = shop_device(hass).id
    tickets_id = entity_id(hass, "event", "tickets")

    async def expect(action: str, ticket: dict[str, Any]) -> None:
        """Wait for the next portos_event; check it and what the tickets entity shows."""
        event = await bus.wait_for(len(expected) + 1)
        expected.append((action, ticket))
        _assert_bus_event(event, device_id, action, ticket)
        state = hass.states.get(tickets_id)
        assert state is not None
        assert dt_util.parse_datetime(state.state) is not None
        assert {key: state.attributes[key] for key in ATTRIBUTE_KEYS} == {
            ATTR_EVENT_TYPE: action,
            ATTR_RESOURCE_ID: ticket["id"],
            ATTR_VERSION: ticket["_v"],
            ATTR_USER: "admin",
            ATTR_DEVICE: "P01",
            "name": ticket["name"],
        }

    expected: list[tuple[str, dict[str, Any]]] = []
    table = await till.create_ticket("Table 4")
    await expect("created", table)
    await expect("updated", await till.update_ticket(table["id"], name="Table 5"))
    await expect("closed", await till.close_ticket(table["id"]))
    bar = await till.create_ticket("Bar 1")
    await expect("created", bar)
    await till.delete_ticket(bar["id"])
    await expect("deleted", bar | {"_v": bar["_v"] + 1})

    # A close is one `closed` event (its _v bump is not also reported as an update).
    await hass.async_block_till_done()
    assert [event.data[ATTR_ACTION] for event in bus.events] == [
        "created",
        "updated",
        "closed",
        "created",
        "deleted",
    ]
    # Ticket events are not license events.
    license_state = hass.states.get(entity_id(hass, "event", "license"))
    assert license_state is not None
    assert license_state.state == STATE_UNKNOWN


@pytest.mark.usefixtures("init_portos")
async def test_ticket_states_follow_each_event(
    hass: HomeAssistant, till: Till, bus: BusEvents
) -> None:
    """The tickets entity's event type changes with each action, its state time moving on."""
    tickets_id = entity_id(hass, "event", "tickets")
    ticket = await till.create_ticket("Bar 1")
    observed: list[tuple[str, str]] = []

    async def observe(count: int) -> None:
        await bus.wait_for(count)
        state = hass.states.get(tickets_id)
        assert state is not None
        observed.append((state.state, state.attributes[ATTR_EVENT_TYPE]))

    await observe(1)
    await till.close_ticket(ticket["id"])
    await observe(2)

    assert [event_type for _, event_type in observed] == ["created", "closed"]
    first, second = (datetime.fromisoformat(when) for when, _ in observed)
    assert second > first


@pytest.mark.parametrize("event_detail", [EVENT_DETAIL_FULL])
@pytest.mark.usefixtures("init_portos")
async def test_full_detail(hass: HomeAssistant, till: Till, bus: BusEvents) -> None:
    """With full detail the bus carries the whole ticket; the entity stays compact."""
    ticket = await till.create_ticket("Terrace 2")

    event = await bus.wait_for(1)
    assert event.data[ATTR_RESOURCES] == [ticket]
    state = hass.states.get(entity_id(hass, "event", "tickets"))
    assert state is not None
    assert {key: value for key, value in state.attributes.items() if key != "friendly_name"} == {
        ATTR_EVENT_TYPES: ["created", "updated", "closed", "deleted"],
        ATTR_EVENT_TYPE: "created",
        ATTR_RESOURCE_ID: ticket["id"],
        ATTR_VERSION: ticket["_v"],
        ATTR_USER: "admin",
        ATTR_DEVICE: "P01",
        ATTR_TOTAL: 0.0,
        ATTR_CURRENCY: "EUR",
        "name": "Terrace 2",
    }


@pytest.mark.usefixtures("init_portos")
async def test_license_activation(
    hass: HomeAssistant,
    till: Till,
    bus: BusEvents,
) -> None:
    """Activating the license fires `activated` on the license entity and on the bus."""
    shop_license = await till.activate_license()

    event = await bus.wait_for(1)
    data = event.data
    assert set(data) == EVENT_KEYS
    assert data[ATTR_DEVICE_ID] == shop_device(hass).id
    assert data[ATTR_EVENT] == "portos.licence.activated"
    assert data[ATTR_RESOURCE] == "license"
    assert data[ATTR_ACTION] == "activated"
    assert data[ATTR_RESOURCE_ID] == SHOP_ID
    assert data[ATTR_VERSION] is None
    assert data[ATTR_USER] is None
    assert data[ATTR_DEVICE] is None
    assert dt_util.parse_datetime(data[ATTR_CREATED_AT]) is not None
    (summary,) = data[ATTR_RESOURCES]
    assert summary["shopId"] == shop_license["shopId"]
    assert summary["remainingDays"] == shop_license["remainingDays"]

    state = hass.states.get(entity_id(hass, "event", "license"))
    assert state is not None
    assert state.attributes[ATTR_EVENT_TYPE] == "activated"
    assert state.attributes[ATTR_RESOURCE_ID] == SHOP_ID
    assert state.attributes["remaining_days"] == shop_license["remainingDays"]
    expiration = dt_util.parse_datetime(state.attributes["expiration_time"])
    expected = dt_util.parse_datetime(shop_license["expirationTime"])
    assert expiration is not None
    assert expected is not None
    assert expiration.replace(tzinfo=None) == expected.replace(tzinfo=None)
    tickets_state = hass.states.get(entity_id(hass, "event", "tickets"))
    assert tickets_state is not None
    assert tickets_state.state == STATE_UNKNOWN


async def test_last_event_survives_a_reload(
    hass: HomeAssistant,
    init_portos: MockConfigEntry,
    till: Till,
    bus: BusEvents,
) -> None:
    """After a reload (e.g. an options change) the entity shows the last event it had."""
    await till.create_ticket("Window 3")
    await bus.wait_for(1)
    tickets_id = entity_id(hass, "event", "tickets")
    before = hass.states.get(tickets_id)
    assert before is not None
    # An event to keep (else "unknown" before and after would pass for a kept state).
    assert (before.attributes[ATTR_EVENT_TYPE], before.attributes["name"]) == (
        "created",
        "Window 3",
    )

    assert await hass.config_entries.async_reload(init_portos.entry_id)
    await wait_hub(hass, init_portos, connected=True)

    after = hass.states.get(tickets_id)
    assert after is not None
    assert after.state == before.state
    assert after.attributes == before.attributes


@pytest.mark.usefixtures("init_portos")
async def test_events_it_cannot_show_are_ignored(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """Another resource's event, or an action the entity has no type for, changes nothing."""
    tickets_id = entity_id(hass, "event", "tickets")
    entity = hass.data[EVENT_COMPONENT].get_entity(tickets_id)
    assert isinstance(entity, portos_event.PortosEventEntity)

    def event(resource: str, action: str) -> PortosEvent:
        return PortosEvent(
            event="portos.resources.changed",
            resource=resource,
            action=action,
            resource_id="x",
            version=1,
            user=None,
            device=None,
            created_at=dt_util.utcnow(),
            resources=[],
        )

    caplog.set_level("DEBUG", logger="custom_components.portos")
    entity._async_handle_event(event("devices", "created"))
    entity._async_handle_event(event("tickets", "activated"))
    await hass.async_block_till_done()

    state = hass.states.get(tickets_id)
    assert state is not None
    assert state.state == STATE_UNKNOWN
    assert "Ignoring tickets action 'activated'" in caplog.text


def test_attributes_of_odd_events() -> None:
    """Events without objects (or with odd ones) still give the entity compact attributes."""
    bare = PortosEvent(
        event="portos.licence.activated",
        resource="license",
        action="activated",
        resource_id=SHOP_ID,
        version=None,
        user=None,
        device=None,
        created_at=dt_util.utcnow(),
        resources=[],
    )
    assert portos_event.license_attributes(bare) == {
        ATTR_RESOURCE_ID: SHOP_ID,
        "expiration_time": None,
        "remaining_days": None,
    }
    assert portos_event.ticket_attributes(bare) == {
        ATTR_RESOURCE_ID: SHOP_ID,
        ATTR_VERSION: None,
        ATTR_USER: None,
        ATTR_DEVICE: None,
        ATTR_TOTAL: None,
        ATTR_CURRENCY: None,
    }
    nameless = dataclasses.replace(bare, resources=[{"id": "t", "name": ""}])
    assert "name" not in portos_event.ticket_attributes(nameless)


@pytest.mark.parametrize("language", ["en", "sk"])
def test_entity_texts(language: str) -> None:
    """Each event entity has a name, a text per event type and per attribute it shows."""
    texts = translation(language)["entity"]["event"]
    sample = PortosEvent(
        event="portos.resources.changed",
        resource="tickets",
        action="created",
        resource_id="t",
        version=1,
        user="admin",
        device="P01",
        created_at=dt_util.utcnow(),
        resources=[{"id": "t", "name": "Table 4"}],
    )
    assert set(texts) == {description.key for description in portos_event.EVENT_DESCRIPTIONS}
    for description in portos_event.EVENT_DESCRIPTIONS:
        entity_texts = texts[description.translation_key]
        assert entity_texts["name"]
        attributes = entity_texts["state_attributes"]
        assert set(attributes["event_type"]["state"]) == set(description.event_types or [])
        assert set(attributes) == {ATTR_EVENT_TYPE, *description.attributes_fn(sample)}
