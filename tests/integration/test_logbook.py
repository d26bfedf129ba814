"""Tests for the PORTOS logbook descriptions of portos_event."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from homeassistant.components.logbook.const import DOMAIN as LOGBOOK_DOMAIN
from homeassistant.components.logbook.models import async_event_to_row
from homeassistant.components.logbook.processor import EventProcessor
from homeassistant.core import Event, HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.portos import logbook as portos_logbook
from custom_components.portos.const import (
    ATTR_ACTION,
    ATTR_CREATED_AT,
    ATTR_DEVICE,
    ATTR_DEVICE_ID,
    ATTR_EVENT,
    ATTR_RESOURCE,
    ATTR_RESOURCE_ID,
    ATTR_RESOURCES,
    ATTR_USER,
    ATTR_VERSION,
    DOMAIN,
    EVENT_PORTOS,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from homeassistant.helpers import device_registry as dr
    from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

pytestmark = pytest.mark.usefixtures("enable_custom_integrations")

SHOP_ID = "12345"


def _data(**overrides: Any) -> dict[str, Any]:
    """Return portos_event data as the coordinator fires it for a ticket close by admin on P01."""
    return {
        ATTR_DEVICE_ID: None,
        ATTR_EVENT: "portos.resources.changed",
        ATTR_RESOURCE: "tickets",
        ATTR_ACTION: "closed",
        ATTR_RESOURCE_ID: "t-1",
        ATTR_VERSION: 3,
        ATTR_USER: "admin",
        ATTR_DEVICE: "P01",
        ATTR_CREATED_AT: "2026-11-28T10:00:00+00:00",
        ATTR_RESOURCES: [{"id": "t-1", "name": "Table 4", "_v": 3}],
    } | overrides


@pytest.fixture
def shop_device(hass: HomeAssistant, device_registry: dr.DeviceRegistry) -> dr.DeviceEntry:
    """Register the shop's device as the integration does."""
    entry = MockConfigEntry(domain=DOMAIN, unique_id=SHOP_ID, title=f"PORTOS {SHOP_ID}")
    entry.add_to_hass(hass)
    return device_registry.async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, SHOP_ID)},
        manufacturer="NineDigit",
        model="PORTOS",
        name="Bistro",
    )


async def _humanify(hass: HomeAssistant, events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run portos_event data through the logbook's own processor, as the logbook UI would."""
    hass.config.components.add("recorder")
    hass.config.components.add(DOMAIN)
    assert await async_setup_component(hass, LOGBOOK_DOMAIN, {})
    await hass.async_block_till_done()
    processor = EventProcessor(hass, (EVENT_PORTOS,))
    return processor.humanify(async_event_to_row(Event(EVENT_PORTOS, data)) for data in events)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({}, "Ticket 'Table 4' closed by admin on P01"),
        ({ATTR_ACTION: "created", ATTR_USER: "jana"}, "Ticket 'Table 4' created by jana on P01"),
        ({ATTR_ACTION: "updated", ATTR_DEVICE: None}, "Ticket 'Table 4' updated by admin"),
        ({ATTR_ACTION: "deleted", ATTR_USER: None}, "Ticket 'Table 4' deleted on P01"),
        ({ATTR_RESOURCES: []}, "Ticket t-1 closed by admin on P01"),
        ({ATTR_RESOURCES: [{"id": "t-1", "name": ""}]}, "Ticket t-1 closed by admin on P01"),
        ({ATTR_RESOURCES: ["odd"], ATTR_RESOURCE_ID: 42}, "Ticket 42 closed by admin on P01"),
        ({ATTR_RESOURCES: None, ATTR_RESOURCE_ID: None}, "Ticket closed by admin on P01"),
        ({ATTR_RESOURCES: None, ATTR_RESOURCE_ID: True}, "Ticket closed by admin on P01"),
        ({ATTR_RESOURCES: None, ATTR_RESOURCE_ID: ""}, "Ticket closed by admin on P01"),
        (
            {
                ATTR_EVENT: "portos.licence.activated",
                ATTR_RESOURCE: "license",
                ATTR_ACTION: "activated",
                ATTR_RESOURCE_ID: SHOP_ID,
                ATTR_USER: None,
                ATTR_DEVICE: None,
                ATTR_RESOURCES: [{"shopId": 12345, "remainingDays": 365}],
            },
            "License activated",
        ),
        (
            {
                ATTR_RESOURCE: "devices",
                ATTR_ACTION: "updated",
                ATTR_RESOURCE_ID: "d-7",
                ATTR_RESOURCES: [{"id": "d-7", "name": "P02"}],
            },
            "Devices record 'P02' updated by admin on P01",
        ),
        (
            {ATTR_RESOURCE: "customers", ATTR_ACTION: "deleted", ATTR_RESOURCES: []},
            "Customers record t-1 deleted by admin on P01",
        ),
        (
            {ATTR_RESOURCE: "customers", ATTR_RESOURCE_ID: None, ATTR_RESOURCES: []},
            "Customers record closed by admin on P01",
        ),
        # Rows written by another version, or damaged, still read as a sentence.
        (
            {ATTR_RESOURCE: None, ATTR_ACTION: 7, ATTR_USER: 1},
            "Resource record 'Table 4' changed on P01",
        ),
    ],
)
def test_describe_message(overrides: dict[str, Any], message: str) -> None:
    """Each kind of portos_event reads as one plain sentence."""
    assert portos_logbook.describe_message(_data(**overrides)) == message


async def test_humanify_names_the_shop_device(
    hass: HomeAssistant, shop_device: dr.DeviceEntry, device_registry: dr.DeviceRegistry
) -> None:
    """The entry is named after the shop's device (the user's name for it first)."""
    first, second = await _humanify(
        hass,
        [_data(**{ATTR_DEVICE_ID: shop_device.id}), _data(**{ATTR_DEVICE_ID: "gone"})],
    )

    assert first["name"] == "Bistro"
    assert first["message"] == "Ticket 'Table 4' closed by admin on P01"
    assert first["domain"] == DOMAIN
    # A device removed since the event was recorded falls back to the product's name.
    assert second["name"] == "PORTOS"

    device_registry.async_update_device(shop_device.id, name_by_user="Bistro till room")
    (renamed,) = await _humanify(hass, [_data(**{ATTR_DEVICE_ID: shop_device.id})])
    assert renamed["name"] == "Bistro till room"


async def test_humanify_without_device_id(hass: HomeAssistant) -> None:
    """An event with no device id (or an odd one) is still described."""
    first, second = await _humanify(
        hass, [_data(**{ATTR_DEVICE_ID: None}), _data(**{ATTR_DEVICE_ID: 5})]
    )

    assert first["name"] == second["name"] == "PORTOS"
    assert first["message"] == "Ticket 'Table 4' closed by admin on P01"


class TestRecordedLogbook:
    """The logbook as the UI reads it: from the recorder's database, over the REST API."""

    @pytest.fixture
    def mock_recorder_before_hass(self, async_setup_recorder_instance: None) -> None:
        """Prepare the recorder before hass exists (an autouse fixture needs hass early)."""

    @pytest.mark.usefixtures("recorder_mock")
    async def test_logbook_api_lists_recorded_events(
        self,
        hass: HomeAssistant,
        hass_client: ClientSessionGenerator,
        shop_device: dr.DeviceEntry,
    ) -> None:
        """Through the recorder and the logbook's REST API, a fired portos_event reads in words."""
        hass.config.components.add(DOMAIN)
        assert await async_setup_component(hass, LOGBOOK_DOMAIN, {})
        await hass.async_block_till_done()
        start = dt_util.utcnow() - timedelta(seconds=1)

        hass.bus.async_fire(EVENT_PORTOS, _data(**{ATTR_DEVICE_ID: shop_device.id}))
        hass.bus.async_fire(
            EVENT_PORTOS,
            _data(
                **{
                    ATTR_DEVICE_ID: shop_device.id,
                    ATTR_ACTION: "created",
                    ATTR_RESOURCE_ID: "t-2",
                    ATTR_RESOURCES: [{"id": "t-2", "name": "Bar 1"}],
                }
            ),
        )
        await async_wait_recording_done(hass)

        client = await hass_client()
        response = await client.get(f"/api/logbook/{start.isoformat()}")
        assert response.status == HTTPStatus.OK
        entries = [entry for entry in await response.json() if entry.get("domain") == DOMAIN]
        assert [(entry["name"], entry["message"]) for entry in entries] == [
            ("Bistro", "Ticket 'Table 4' closed by admin on P01"),
            ("Bistro", "Ticket 'Bar 1' created by admin on P01"),
        ]
