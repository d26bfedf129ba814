"""Device triggers for PORTOS: ticket, license and other resource changes on the shop's device."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from homeassistant.components.device_automation import DEVICE_TRIGGER_BASE_SCHEMA
from homeassistant.components.device_automation.exceptions import InvalidDeviceAutomationConfig
from homeassistant.components.homeassistant.triggers import event as event_trigger
from homeassistant.const import (
    CONF_DEVICE_ID,
    CONF_DOMAIN,
    CONF_EVENT,
    CONF_EVENT_DATA,
    CONF_PLATFORM,
    CONF_TYPE,
)
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import config_validation as cv, device_registry as dr
import voluptuous as vol

from .api import ACTION_ACTIVATED, LICENSE_RESOURCE, TICKETS
from .const import (
    ACTION_CLOSED,
    ACTION_CREATED,
    ACTION_DELETED,
    ACTION_UPDATED,
    ATTR_ACTION,
    ATTR_DEVICE_ID,
    ATTR_RESOURCE,
    CONF_RESOURCES,
    DEFAULT_RESOURCES,
    DOMAIN,
    EVENT_PORTOS,
)

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry
    from homeassistant.helpers.trigger import TriggerActionType, TriggerInfo
    from homeassistant.helpers.typing import ConfigType

CONF_SUBTYPE: Final = "subtype"

TRIGGER_TICKET_CREATED: Final = "ticket_created"
TRIGGER_TICKET_UPDATED: Final = "ticket_updated"
TRIGGER_TICKET_CLOSED: Final = "ticket_closed"
TRIGGER_TICKET_DELETED: Final = "ticket_deleted"
TRIGGER_LICENSE_ACTIVATED: Final = "license_activated"
TRIGGER_RESOURCE_CREATED: Final = "resource_created"
TRIGGER_RESOURCE_UPDATED: Final = "resource_updated"
TRIGGER_RESOURCE_DELETED: Final = "resource_deleted"

# Trigger type -> the (resource, action) of the portos_event it fires on.
FIXED_TRIGGERS: Final[dict[str, tuple[str, str]]] = {
    TRIGGER_TICKET_CREATED: (TICKETS, ACTION_CREATED),
    TRIGGER_TICKET_UPDATED: (TICKETS, ACTION_UPDATED),
    TRIGGER_TICKET_CLOSED: (TICKETS, ACTION_CLOSED),
    TRIGGER_TICKET_DELETED: (TICKETS, ACTION_DELETED),
    TRIGGER_LICENSE_ACTIVATED: (LICENSE_RESOURCE, ACTION_ACTIVATED),
}
# Trigger type -> action, for the other resources; the resource is the trigger's subtype.
RESOURCE_TRIGGERS: Final[dict[str, str]] = {
    TRIGGER_RESOURCE_CREATED: ACTION_CREATED,
    TRIGGER_RESOURCE_UPDATED: ACTION_UPDATED,
    TRIGGER_RESOURCE_DELETED: ACTION_DELETED,
}

TRIGGER_SCHEMA: Final = DEVICE_TRIGGER_BASE_SCHEMA.extend(
    {
        vol.Required(CONF_TYPE): vol.In([*FIXED_TRIGGERS, *RESOURCE_TRIGGERS]),
        vol.Optional(CONF_SUBTYPE): cv.string,
    }
)


@callback
def _async_get_entry(hass: HomeAssistant, device_id: str) -> ConfigEntry:
    """Return the PORTOS config entry behind a device, or raise if it is not a PORTOS device."""
    if device := dr.async_get(hass).async_get(device_id):
        for entry_id in device.config_entries:
            entry = hass.config_entries.async_get_entry(entry_id)
            if entry is not None and entry.domain == DOMAIN:
                return entry
    raise InvalidDeviceAutomationConfig(
        translation_domain=DOMAIN,
        translation_key="device_not_portos",
        translation_placeholders={"device_id": device_id},
    )


def _subscribed_resources(entry: ConfigEntry) -> list[str]:
    """Return the resources the entry subscribes to, in the order the options list them."""
    resources = entry.options.get(CONF_RESOURCES, DEFAULT_RESOURCES)
    return [str(resource) for resource in resources]


def _event_filter(config: ConfigType) -> tuple[str, str]:
    """Return the (resource, action) of the portos_event a validated trigger fires on."""
    trigger_type: str = config[CONF_TYPE]
    if trigger_type in FIXED_TRIGGERS:
        return FIXED_TRIGGERS[trigger_type]
    return config[CONF_SUBTYPE], RESOURCE_TRIGGERS[trigger_type]


async def async_get_triggers(hass: HomeAssistant, device_id: str) -> list[dict[str, Any]]:
    """List the triggers of a PORTOS shop device, as its entry's subscriptions allow."""
    entry = _async_get_entry(hass, device_id)
    base = {
        CONF_PLATFORM: "device",
        CONF_DOMAIN: DOMAIN,
        CONF_DEVICE_ID: device_id,
    }
    resources = _subscribed_resources(entry)
    triggers: list[dict[str, Any]] = []
    if TICKETS in resources:
        triggers.extend(
            base | {CONF_TYPE: trigger_type}
            for trigger_type, (resource, _) in FIXED_TRIGGERS.items()
            if resource == TICKETS
        )
    triggers.append(base | {CONF_TYPE: TRIGGER_LICENSE_ACTIVATED})
    triggers.extend(
        base | {CONF_TYPE: trigger_type, CONF_SUBTYPE: resource}
        for resource in resources
        if resource != TICKETS
        for trigger_type in RESOURCE_TRIGGERS
    )
    return triggers


async def async_validate_trigger_config(hass: HomeAssistant, config: ConfigType) -> ConfigType:
    """Validate a trigger against what the device's entry actually subscribes to."""
    config = TRIGGER_SCHEMA(config)
    entry = _async_get_entry(hass, config[CONF_DEVICE_ID])
    trigger_type: str = config[CONF_TYPE]
    subtype: str | None = config.get(CONF_SUBTYPE)

    # A fixed trigger names its resource itself; a resource trigger names it in its subtype,
    # and tickets have their own triggers (a close is told apart there, not here).
    if (trigger_type in FIXED_TRIGGERS) == (subtype is not None) or subtype == TICKETS:
        raise InvalidDeviceAutomationConfig(
            translation_domain=DOMAIN,
            translation_key="invalid_trigger_subtype",
            translation_placeholders={"trigger": trigger_type, "subtype": subtype or ""},
        )
    resource, _ = _event_filter(config)
    if resource != LICENSE_RESOURCE and resource not in _subscribed_resources(entry):
        raise InvalidDeviceAutomationConfig(
            translation_domain=DOMAIN,
            translation_key="resource_not_subscribed",
            translation_placeholders={"trigger": trigger_type, "resource": resource},
        )
    return config


async def async_attach_trigger(
    hass: HomeAssistant,
    config: ConfigType,
    action: TriggerActionType,
    trigger_info: TriggerInfo,
) -> CALLBACK_TYPE:
    """Attach a trigger: an event trigger on portos_event for this device, resource and action."""
    resource, resource_action = _event_filter(config)
    event_config = event_trigger.TRIGGER_SCHEMA(
        {
            CONF_PLATFORM: CONF_EVENT,
            event_trigger.CONF_EVENT_TYPE: EVENT_PORTOS,
            CONF_EVENT_DATA: {
                ATTR_DEVICE_ID: config[CONF_DEVICE_ID],
                ATTR_RESOURCE: resource,
                ATTR_ACTION: resource_action,
            },
        }
    )
    return await event_trigger.async_attach_trigger(
        hass, event_config, action, trigger_info, platform_type="device"
    )
