"""Describe PORTOS bus events (portos_event) in the logbook."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.components.logbook.const import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr

from .api import LICENSE_RESOURCE, TICKETS
from .const import (
    ATTR_ACTION,
    ATTR_DEVICE,
    ATTR_DEVICE_ID,
    ATTR_RESOURCE,
    ATTR_RESOURCE_ID,
    ATTR_RESOURCES,
    ATTR_USER,
    DOMAIN,
    EVENT_PORTOS,
    MODEL,
)


def _text(value: object) -> str | None:
    """Return a non-empty string value, or None for anything else (old rows may be odd)."""
    return value if isinstance(value, str) and value else None


def _resource_label(data: Mapping[str, Any]) -> str | None:
    """Return how to name the changed object: its quoted name when known, else its id."""
    resources = data.get(ATTR_RESOURCES)
    if (
        isinstance(resources, list)
        and resources
        and isinstance(resources[0], Mapping)
        and (name := _text(resources[0].get("name")))
    ):
        return f"'{name}'"
    resource_id = data.get(ATTR_RESOURCE_ID)
    if isinstance(resource_id, (str, int)) and not isinstance(resource_id, bool):
        return str(resource_id) or None
    return None


def describe_message(data: Mapping[str, Any]) -> str:
    """Return the logbook message for a portos_event's data, e.g. "Ticket 'Table 4' closed"."""
    resource = _text(data.get(ATTR_RESOURCE)) or "resource"
    action = _text(data.get(ATTR_ACTION)) or "changed"
    label = _resource_label(data)
    if resource == LICENSE_RESOURCE:
        message = f"License {action}"
    elif resource == TICKETS:
        message = f"Ticket {label} {action}" if label else f"Ticket {action}"
    else:
        kind = f"{resource.capitalize()} record"
        message = f"{kind} {label} {action}" if label else f"{kind} {action}"
    if user := _text(data.get(ATTR_USER)):
        message += f" by {user}"
    if device := _text(data.get(ATTR_DEVICE)):
        message += f" on {device}"
    return message


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, str]]], None],
) -> None:
    """Teach the logbook to describe portos_event."""
    device_registry = dr.async_get(hass)

    @callback
    def async_describe_portos_event(event: Event) -> dict[str, str]:
        """Describe one portos_event, named after the shop's device."""
        data = event.data
        name = MODEL
        if (device_id := _text(data.get(ATTR_DEVICE_ID))) and (
            device := device_registry.async_get(device_id)
        ):
            name = device.name_by_user or device.name or MODEL
        return {LOGBOOK_ENTRY_NAME: name, LOGBOOK_ENTRY_MESSAGE: describe_message(data)}

    async_describe_event(DOMAIN, EVENT_PORTOS, async_describe_portos_event)
