"""Tests for the PORTOS device triggers: listing, validation, and automations that run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components.automation.const import DOMAIN as AUTOMATION_DOMAIN
from homeassistant.components.device_automation import DeviceAutomationType
from homeassistant.components.device_automation.exceptions import InvalidDeviceAutomationConfig
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_DEVICE_ID, CONF_DOMAIN, CONF_PLATFORM, CONF_TYPE
from homeassistant.helpers.translation import async_get_translations
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_get_device_automations,
    async_mock_service,
)

from custom_components.portos import device_trigger
from custom_components.portos.api.const import RESOURCE_NAMES
from custom_components.portos.const import (
    ATTR_ACTION,
    ATTR_DEVICE_ID,
    ATTR_RESOURCE,
    ATTR_RESOURCE_ID,
    CONF_EVENT_DETAIL,
    CONF_RESOURCES,
    DOMAIN,
    EVENT_DETAIL_SUMMARY,
    EVENT_PORTOS,
)
from tests.integration.const import SHOP_ID
from tests.integration.portos_helpers import (
    portos_config_entry,
    resource_changed,
    shop_device,
    translation,
    wait_for,
)

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant, ServiceCall
    from homeassistant.helpers import device_registry as dr

    from tests.till import Till

pytestmark = pytest.mark.usefixtures("enable_custom_integrations")

CONF_SUBTYPE = device_trigger.CONF_SUBTYPE
TICKET_TRIGGERS = ["ticket_created", "ticket_updated", "ticket_closed", "ticket_deleted"]
RESOURCE_TRIGGERS = ["resource_created", "resource_updated", "resource_deleted"]


@pytest.fixture
def resources() -> list[str] | None:
    """Return the resources the entry subscribes to (overridden per test)."""
    return ["tickets", "devices", "customers"]


@pytest.fixture
def portos_device(
    hass: HomeAssistant, device_registry: dr.DeviceRegistry, resources: list[str] | None
) -> dr.DeviceEntry:
    """Register a PORTOS shop device whose entry counts as loaded, as after setup."""
    # Nothing listens at the address: these tests never set the entry up.
    entry = portos_config_entry(
        "http://127.0.0.1:3000", options={} if resources is None else {CONF_RESOURCES: resources}
    )
    entry.add_to_hass(hass)
    # Device automations validate against an integration only once its entry is loaded; the
    # triggers themselves only read the bus, so no server is needed here.
    entry.mock_state(hass, ConfigEntryState.LOADED)
    hass.config.components.add(DOMAIN)
    return device_registry.async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, SHOP_ID)},
        manufacturer="Nine Digit, s.r.o.",
        model="PORTOS",
        name=f"PORTOS {SHOP_ID}",
    )


@pytest.fixture
def other_device(hass: HomeAssistant, device_registry: dr.DeviceRegistry) -> dr.DeviceEntry:
    """Register a device of another integration."""
    entry = MockConfigEntry(domain="other")
    entry.add_to_hass(hass)
    return device_registry.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={("other", "1")}, name="Other"
    )


def _trigger(device_id: str, trigger_type: str, subtype: str | None = None) -> dict[str, Any]:
    """Return a device trigger config as the automation editor writes it."""
    config = {
        CONF_PLATFORM: "device",
        CONF_DOMAIN: DOMAIN,
        CONF_DEVICE_ID: device_id,
        CONF_TYPE: trigger_type,
    }
    if subtype is not None:
        config[CONF_SUBTYPE] = subtype
    return config


def _listed(device_id: str, trigger_type: str, subtype: str | None = None) -> dict[str, Any]:
    """Return a trigger as async_get_device_automations lists it."""
    return _trigger(device_id, trigger_type, subtype) | {"metadata": {}}


async def _setup_automation(hass: HomeAssistant, triggers: list[dict[str, Any]]) -> None:
    """Set up one automation per trigger, each calling test.automation with its trigger data."""
    assert await async_setup_component(
        hass,
        AUTOMATION_DOMAIN,
        {
            AUTOMATION_DOMAIN: [
                {
                    "alias": f"portos {index}",
                    "triggers": trigger,
                    "actions": {
                        "action": "test.automation",
                        "data": {
                            "index": index,
                            "platform": "{{ trigger.platform }}",
                            "resource_id": "{{ trigger.event.data.resource_id }}",
                        },
                    },
                }
                for index, trigger in enumerate(triggers)
            ]
        },
    )
    await hass.async_block_till_done()


def _fire(hass: HomeAssistant, device_id: str, resource: str, action: str, rid: str) -> None:
    """Fire a portos_event as the coordinator does (only the keys triggers filter on matter)."""
    hass.bus.async_fire(
        EVENT_PORTOS,
        {
            ATTR_DEVICE_ID: device_id,
            ATTR_RESOURCE: resource,
            ATTR_ACTION: action,
            ATTR_RESOURCE_ID: rid,
        },
    )


async def test_get_triggers(hass: HomeAssistant, portos_device: dr.DeviceEntry) -> None:
    """Tickets, the license, and each other subscribed resource get their triggers."""
    triggers = await async_get_device_automations(
        hass, DeviceAutomationType.TRIGGER, portos_device.id
    )

    expected = [_listed(portos_device.id, trigger) for trigger in TICKET_TRIGGERS]
    expected.append(_listed(portos_device.id, "license_activated"))
    expected.extend(
        _listed(portos_device.id, trigger, resource)
        for resource in ("devices", "customers")
        for trigger in RESOURCE_TRIGGERS
    )
    assert triggers == expected


@pytest.mark.parametrize("resources", [None])
async def test_get_triggers_default_options(
    hass: HomeAssistant, portos_device: dr.DeviceEntry
) -> None:
    """An entry without options subscribes to tickets only: ticket and license triggers."""
    triggers = await async_get_device_automations(
        hass, DeviceAutomationType.TRIGGER, portos_device.id
    )

    assert [trigger[CONF_TYPE] for trigger in triggers] == [*TICKET_TRIGGERS, "license_activated"]
    assert all(CONF_SUBTYPE not in trigger for trigger in triggers)


@pytest.mark.parametrize("resources", [["orders"]])
async def test_get_triggers_without_tickets(
    hass: HomeAssistant, portos_device: dr.DeviceEntry
) -> None:
    """Without a tickets subscription no ticket trigger is offered (it could never fire)."""
    triggers = await async_get_device_automations(
        hass, DeviceAutomationType.TRIGGER, portos_device.id
    )

    assert triggers == [
        _listed(portos_device.id, "license_activated"),
        *(_listed(portos_device.id, trigger, "orders") for trigger in RESOURCE_TRIGGERS),
    ]


async def test_get_triggers_of_other_devices(
    hass: HomeAssistant, other_device: dr.DeviceEntry
) -> None:
    """Asked directly about a device that is not a PORTOS shop, the platform refuses."""
    with pytest.raises(InvalidDeviceAutomationConfig) as err:
        await device_trigger.async_get_triggers(hass, other_device.id)
    assert err.value.translation_key == "device_not_portos"
    assert err.value.translation_placeholders == {"device_id": other_device.id}

    with pytest.raises(InvalidDeviceAutomationConfig) as err:
        await device_trigger.async_get_triggers(hass, "no-such-device")
    assert err.value.translation_key == "device_not_portos"


@pytest.mark.parametrize(
    ("trigger_type", "subtype"),
    [
        *((trigger, None) for trigger in TICKET_TRIGGERS),
        ("license_activated", None),
        ("resource_created", "devices"),
        ("resource_updated", "customers"),
        ("resource_deleted", "devices"),
    ],
)
async def test_validate_valid(
    hass: HomeAssistant, portos_device: dr.DeviceEntry, trigger_type: str, subtype: str | None
) -> None:
    """Every trigger the device lists validates and comes back unchanged."""
    config = _trigger(portos_device.id, trigger_type, subtype)

    assert await device_trigger.async_validate_trigger_config(hass, config) == config


@pytest.mark.parametrize(
    ("trigger_type", "subtype", "key", "placeholders"),
    [
        (
            "ticket_closed",
            "devices",
            "invalid_trigger_subtype",
            {"trigger": "ticket_closed", "subtype": "devices"},
        ),
        (
            "license_activated",
            "devices",
            "invalid_trigger_subtype",
            {"trigger": "license_activated", "subtype": "devices"},
        ),
        (
            "resource_created",
            None,
            "invalid_trigger_subtype",
            {"trigger": "resource_created", "subtype": ""},
        ),
        (
            "resource_updated",
            "tickets",
            "invalid_trigger_subtype",
            {"trigger": "resource_updated", "subtype": "tickets"},
        ),
        (
            "resource_deleted",
            "orders",
            "resource_not_subscribed",
            {"trigger": "resource_deleted", "resource": "orders"},
        ),
    ],
)
async def test_validate_invalid(
    hass: HomeAssistant,
    portos_device: dr.DeviceEntry,
    *,
    trigger_type: str,
    subtype: str | None,
    key: str,
    placeholders: dict[str, str],
) -> None:
    """A subtype where none belongs, none where one must, or an unsubscribed one is refused."""
    config = _trigger(portos_device.id, trigger_type, subtype)

    with pytest.raises(InvalidDeviceAutomationConfig) as err:
        await device_trigger.async_validate_trigger_config(hass, config)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == key
    assert err.value.translation_placeholders == placeholders


@pytest.mark.parametrize("resources", [["orders"]])
async def test_validate_ticket_trigger_without_tickets(
    hass: HomeAssistant, portos_device: dr.DeviceEntry
) -> None:
    """A ticket trigger on an entry that no longer subscribes to tickets is refused."""
    with pytest.raises(InvalidDeviceAutomationConfig) as err:
        await device_trigger.async_validate_trigger_config(
            hass, _trigger(portos_device.id, "ticket_created")
        )
    assert err.value.translation_key == "resource_not_subscribed"
    assert err.value.translation_placeholders == {
        "trigger": "ticket_created",
        "resource": "tickets",
    }


async def test_validate_unknown_type(hass: HomeAssistant, portos_device: dr.DeviceEntry) -> None:
    """An unknown trigger type fails the schema."""
    with pytest.raises(Exception, match="value must be one of"):
        await device_trigger.async_validate_trigger_config(
            hass, _trigger(portos_device.id, "ticket_paid")
        )


async def test_validate_other_device(hass: HomeAssistant, other_device: dr.DeviceEntry) -> None:
    """A PORTOS trigger pointing at another integration's device is refused."""
    with pytest.raises(InvalidDeviceAutomationConfig) as err:
        await device_trigger.async_validate_trigger_config(
            hass, _trigger(other_device.id, "ticket_created")
        )
    assert err.value.translation_key == "device_not_portos"


async def test_error_messages_are_translated(
    hass: HomeAssistant, portos_device: dr.DeviceEntry
) -> None:
    """The refusals read as English from en.json, placeholders filled in (HA drops the last dot)."""
    await async_get_translations(hass, "en", "exceptions", {DOMAIN})

    with pytest.raises(InvalidDeviceAutomationConfig) as err:
        await device_trigger.async_validate_trigger_config(
            hass, _trigger(portos_device.id, "resource_created", "orders")
        )
    assert str(err.value) == (
        "The PORTOS trigger resource_created needs the resource orders, which this PORTOS "
        "entry does not subscribe to. Add it in the integration's options"
    )


async def test_automation_runs_on_matching_events_only(
    hass: HomeAssistant, portos_device: dr.DeviceEntry, other_device: dr.DeviceEntry
) -> None:
    """Each automation runs for its own device, resource and action, and for nothing else."""
    calls: list[ServiceCall] = async_mock_service(hass, "test", "automation")
    device_id = portos_device.id
    await _setup_automation(
        hass,
        [
            _trigger(device_id, "ticket_closed"),
            _trigger(device_id, "ticket_updated"),
            _trigger(device_id, "license_activated"),
            _trigger(device_id, "resource_created", "devices"),
        ],
    )

    _fire(hass, device_id, "tickets", "closed", "t-1")
    await hass.async_block_till_done()
    assert [call.data for call in calls] == [
        {"index": 0, "platform": "device", "resource_id": "t-1"}
    ]

    calls.clear()
    # Same action on another device, another resource, or another action: nothing runs.
    _fire(hass, other_device.id, "tickets", "closed", "t-2")
    _fire(hass, device_id, "devices", "closed", "t-3")
    _fire(hass, device_id, "tickets", "deleted", "t-4")
    await hass.async_block_till_done()
    assert calls == []

    _fire(hass, device_id, "tickets", "updated", "t-5")
    _fire(hass, device_id, "license", "activated", SHOP_ID)
    _fire(hass, device_id, "devices", "created", "d-1")
    _fire(hass, device_id, "customers", "created", "c-1")
    await hass.async_block_till_done()
    assert [(call.data["index"], call.data["resource_id"]) for call in calls] == [
        (1, "t-5"),
        (2, int(SHOP_ID)),
        (3, "d-1"),
    ]


async def test_automation_with_invalid_trigger_is_not_set_up(
    hass: HomeAssistant, portos_device: dr.DeviceEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """An automation on an unsubscribed resource fails validation, logged in words."""
    calls: list[ServiceCall] = async_mock_service(hass, "test", "automation")
    await _setup_automation(hass, [_trigger(portos_device.id, "resource_created", "orders")])

    _fire(hass, portos_device.id, "orders", "created", "o-1")
    await hass.async_block_till_done()

    assert calls == []
    assert "needs the resource orders" in caplog.text


# --- end to end: the simulator's till acts, the shop's device triggers run ----------------------


@pytest.fixture
def portos_options() -> dict[str, Any]:
    """Return the entry's options: also subscribing to devices (a resource trigger)."""
    return {CONF_RESOURCES: ["tickets", "devices"], CONF_EVENT_DETAIL: EVENT_DETAIL_SUMMARY}


def _notification(action: int, version: int, resource: str = "devices") -> dict[str, Any]:
    """Return a resource change as the PORTOS hub sends it (P02 edited by admin on P01)."""
    return resource_changed({"id": "d-2", "name": "P02", "_v": version}, action, None, resource)


@pytest.mark.usefixtures("init_portos")
async def test_every_listed_trigger_runs_end_to_end(hass: HomeAssistant, till: Till) -> None:
    """Automations built on each trigger the shop's device lists run when P01 does the thing."""
    device = shop_device(hass)
    listed = await async_get_device_automations(hass, DeviceAutomationType.TRIGGER, device.id)
    # The device's entities add their own (e.g. the hub_connected binary sensor's) besides ours.
    triggers = [trigger for trigger in listed if trigger[CONF_DOMAIN] == DOMAIN]
    names = [(trigger[CONF_TYPE], trigger.get(CONF_SUBTYPE)) for trigger in triggers]
    assert names == [
        *((trigger, None) for trigger in TICKET_TRIGGERS),
        ("license_activated", None),
        *((trigger, "devices") for trigger in RESOURCE_TRIGGERS),
    ]
    calls: list[ServiceCall] = async_mock_service(hass, "test", "automation")
    await _setup_automation(
        hass, [{k: v for k, v in trigger.items() if k != "metadata"} for trigger in triggers]
    )

    table = await till.create_ticket("Table 4")
    await till.update_ticket(table["id"], name="Table 5")
    await till.close_ticket(table["id"])
    bar = await till.create_ticket("Bar 1")
    await till.delete_ticket(bar["id"])
    await till.activate_license()
    # Not subscribed: the coordinator drops it, so no automation may run for it (it is sent first,
    # on the same connection, so it has been handled once the later ones have).
    await till.emit(_notification(1, 1, "orders"))
    for action, version in ((1, 1), (2, 2), (3, 3)):
        await till.emit(_notification(action, version))
    await wait_for(hass, lambda: len(calls) >= 9)

    ran = sorted(
        (names[call.data["index"]], call.data["resource_id"], call.data["platform"])
        for call in calls
    )
    assert ran == sorted(
        [
            (("ticket_created", None), table["id"], "device"),
            (("ticket_created", None), bar["id"], "device"),
            (("ticket_updated", None), table["id"], "device"),
            (("ticket_closed", None), table["id"], "device"),
            (("ticket_deleted", None), bar["id"], "device"),
            (("license_activated", None), int(SHOP_ID), "device"),
            (("resource_created", "devices"), "d-2", "device"),
            (("resource_updated", "devices"), "d-2", "device"),
            (("resource_deleted", "devices"), "d-2", "device"),
        ]
    )


# --- texts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "sk"])
def test_trigger_texts(language: str) -> None:
    """Every trigger type, every other resource and every refusal has a text in each language."""
    texts = translation(language)
    automation_texts = texts["device_automation"]
    assert set(automation_texts["trigger_type"]) == {
        *device_trigger.FIXED_TRIGGERS,
        *device_trigger.RESOURCE_TRIGGERS,
    }
    assert set(automation_texts["trigger_subtype"]) == set(RESOURCE_NAMES) - {"tickets"}
    for trigger_type in device_trigger.RESOURCE_TRIGGERS:
        assert "{subtype}" in automation_texts["trigger_type"][trigger_type]
    messages = texts["exceptions"]
    assert "{device_id}" in messages["device_not_portos"]["message"]
    for placeholder in ("{trigger}", "{subtype}"):
        assert placeholder in messages["invalid_trigger_subtype"]["message"]
    for placeholder in ("{trigger}", "{resource}"):
        assert placeholder in messages["resource_not_subscribed"]["message"]
