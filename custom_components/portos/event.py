"""Event entities for PORTOS: what happens to tickets, and license activations."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, override

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback

from .api import ACTION_ACTIVATED, LICENSE_RESOURCE, TICKETS
from .const import (
    ACTION_CLOSED,
    ACTION_CREATED,
    ACTION_DELETED,
    ACTION_UPDATED,
    ATTR_CURRENCY,
    ATTR_DEVICE,
    ATTR_RESOURCE_ID,
    ATTR_TOTAL,
    ATTR_USER,
    ATTR_VERSION,
    LOGGER,
)
from .entity import PortosEntity

if TYPE_CHECKING:
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .api import PortosEvent
    from .coordinator import PortosConfigEntry

PARALLEL_UPDATES = 0

ATTR_NAME: Final = "name"
ATTR_EXPIRATION_TIME: Final = "expiration_time"
ATTR_REMAINING_DAYS: Final = "remaining_days"


def _first(event: PortosEvent) -> Mapping[str, Any]:
    """Return the changed object the event carries (summary or full), or an empty one."""
    if event.resources and isinstance(first := event.resources[0], Mapping):
        return first
    return {}


def ticket_attributes(event: PortosEvent) -> dict[str, Any]:
    """Return which ticket changed, to which version, who did it on which till, and its total.

    The total is what a closed ticket took, else what the ticket is worth (None if unreadable).
    """
    attributes: dict[str, Any] = {
        ATTR_RESOURCE_ID: event.resource_id,
        ATTR_VERSION: event.version,
        ATTR_USER: event.user,
        ATTR_DEVICE: event.device,
        ATTR_TOTAL: None if event.total is None else float(event.total),
        ATTR_CURRENCY: event.currency,
    }
    name = _first(event).get("name")
    if isinstance(name, str) and name:
        attributes[ATTR_NAME] = name
    return attributes


def license_attributes(event: PortosEvent) -> dict[str, Any]:
    """Return the shop and the new license's expiry (the license event names no user)."""
    shop_license = _first(event)
    return {
        ATTR_RESOURCE_ID: event.resource_id,
        ATTR_EXPIRATION_TIME: shop_license.get("expirationTime"),
        ATTR_REMAINING_DAYS: shop_license.get("remainingDays"),
    }


@dataclass(frozen=True, kw_only=True)
class PortosEventEntityDescription(EventEntityDescription):
    """Describes a PORTOS event entity: the resource feeding it and the attributes it shows."""

    resource: str
    attributes_fn: Callable[[PortosEvent], dict[str, Any]]


EVENT_DESCRIPTIONS: Final[tuple[PortosEventEntityDescription, ...]] = (
    PortosEventEntityDescription(
        key="tickets",
        translation_key="tickets",
        resource=TICKETS,
        event_types=[ACTION_CREATED, ACTION_UPDATED, ACTION_CLOSED, ACTION_DELETED],
        attributes_fn=ticket_attributes,
    ),
    PortosEventEntityDescription(
        key="license",
        translation_key="license",
        resource=LICENSE_RESOURCE,
        event_types=[ACTION_ACTIVATED],
        attributes_fn=license_attributes,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,  # noqa: ARG001
    entry: PortosConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the PORTOS event entities."""
    coordinator = entry.runtime_data
    async_add_entities(
        PortosEventEntity(coordinator, description) for description in EVENT_DESCRIPTIONS
    )


class PortosEventEntity(PortosEntity, EventEntity):
    """An event entity fed by the coordinator's PORTOS events for one resource."""

    entity_description: PortosEventEntityDescription

    @property
    @override
    def available(self) -> bool:
        """Stay available: the state is the last event, still true while the server is away.

        Home Assistant's logbook writes every state change of an event entity as "detected an
        event", "unavailable" included, so following the server's availability would log two
        events that never happened for each outage. *Live updates* tells whether events can come.
        """
        return True

    @override
    async def async_added_to_hass(self) -> None:
        """Listen to the coordinator's PORTOS events while the entity exists."""
        await super().async_added_to_hass()
        self.async_on_remove(self.coordinator.async_add_event_listener(self._async_handle_event))

    @callback
    def _async_handle_event(self, event: PortosEvent) -> None:
        """Record an event of this entity's resource (the coordinator already classified it)."""
        if event.resource != self.entity_description.resource:
            return
        if event.action not in self.event_types:
            LOGGER.debug("Ignoring %s action %r: not an event type", event.resource, event.action)
            return
        self._trigger_event(event.action, self.entity_description.attributes_fn(event))
        self.async_write_ha_state()
