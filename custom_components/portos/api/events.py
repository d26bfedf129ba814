"""What a PORTOS notification means for a shop: a classified event, or why it changes nothing.

The hub delivers parsed notifications; the router decides, with the ticket tracker's help, which
of them are news (a ticket created, updated, closed or deleted, a record of another chosen
resource changed, the license activated) and which are stale, duplicated or not asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from .models import (
    EVENT_LICENSE_ACTIVATED,
    EVENT_RESOURCES_CHANGED,
    TICKETS,
    License,
    ResourceChangedPayload,
    resource_summary,
)
from .tickets import VersionLog

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from datetime import date, datetime
    from decimal import Decimal

    from .models import Notification, Ticket
    from .tickets import TicketTracker

# The resource name events use for the license (its hub event names no resource of its own).
LICENSE_RESOURCE: Final = "license"
ACTION_ACTIVATED: Final = "activated"


class Dropped(StrEnum):
    """Why an accepted-by-the-hub notification is no event."""

    STALE = "stale"
    UNSUBSCRIBED = "unsubscribed"
    UNKNOWN_EVENT = "unknown_event"


@dataclass(frozen=True, slots=True)
class PortosEvent:
    """One PORTOS change, classified: what the bus event, event entities and triggers get.

    `action` is created, updated, closed (tickets only), deleted, or activated (the license);
    `resources` holds the changed objects in summary form or as the server sent them. For a
    ticket, `total` is what it took once closed, else what it is worth, in `currency` (None when
    its money cannot be read, and for other resources).
    """

    event: str
    resource: str
    action: str
    resource_id: str | None
    version: int | None
    user: str | None
    device: str | None
    created_at: datetime
    resources: list[dict[str, Any]]
    total: Decimal | None = None
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class Routed:
    """The outcome of one notification: its event, or why there is none, and what it changed.

    `ticket` is the changed ticket of an accepted ticket change, when the notification carried it.
    """

    event: PortosEvent | None = None
    dropped: Dropped | None = None
    tickets_changed: bool = False
    ticket: Ticket | None = None
    license: License | None = None


class EventRouter:
    """Classifies notifications for one shop; ticket notifications always move its tracker."""

    def __init__(
        self,
        tracker: TicketTracker,
        resources: Iterable[str],
        *,
        full_detail: bool,
        local_date: Callable[[datetime], date],
    ) -> None:
        """Route for the chosen resources; `local_date` gives the shop day of a moment."""
        self.tracker = tracker
        # In the order they were chosen (subscriptions list them so).
        self.resources = tuple(dict.fromkeys(resources))
        self._full_detail = full_detail
        self._local_date = local_date
        self._versions = VersionLog()

    def route(self, notification: Notification) -> Routed:
        """Classify one notification (updating the ticket tracker on the way)."""
        payload = notification.payload
        if notification.event == EVENT_RESOURCES_CHANGED and isinstance(
            payload, ResourceChangedPayload
        ):
            return self._resources_changed(notification, payload)
        if notification.event == EVENT_LICENSE_ACTIVATED and isinstance(payload, License):
            return self._license_activated(notification, payload)
        return Routed(dropped=Dropped.UNKNOWN_EVENT)

    def _resources_changed(
        self, notification: Notification, payload: ResourceChangedPayload
    ) -> Routed:
        """Classify a resource change; a ticket change also moves the counts."""
        resource = payload.resource
        version = payload.info.version
        tickets_changed = False
        ticket = payload.ticket
        if resource == TICKETS:
            if version is None and ticket is not None:
                version = ticket.version
            close_date = None if ticket is None else ticket.close_date
            change = self.tracker.apply(
                payload.action,
                payload.info.id,
                version,
                closed=ticket is not None and ticket.closed,
                closed_on=None if close_date is None else self._local_date(close_date),
                ticket=ticket,
            )
            if change is None:
                return Routed(dropped=Dropped.STALE)
            action = str(change)
            tickets_changed = True
        elif resource not in self.resources:
            return Routed(dropped=Dropped.UNSUBSCRIBED)
        elif not self._versions.accept(f"{resource}/{payload.info.id}", version):
            return Routed(dropped=Dropped.STALE)
        else:
            action = payload.action.wire_name
        if resource not in self.resources:
            # Tickets are always subscribed for the counts, but only chosen resources fire events.
            return Routed(dropped=Dropped.UNSUBSCRIBED, tickets_changed=True, ticket=ticket)
        user = payload.user
        money = None if ticket is None else ticket.money
        event = PortosEvent(
            event=notification.event,
            resource=resource,
            action=action,
            resource_id=payload.info.id,
            version=version,
            user=None if user is None else user.user,
            device=None if user is None else user.device,
            created_at=notification.created_at,
            resources=[
                dict(obj) if self._full_detail else resource_summary(resource, obj)
                for obj in payload.resources
            ],
            total=None if money is None else money.take if money.closed else money.open_value,
            currency=None if money is None else money.currency,
        )
        return Routed(event=event, tickets_changed=tickets_changed, ticket=ticket)

    def _license_activated(self, notification: Notification, shop_license: License) -> Routed:
        """A new license: the event, and the license itself for the entities."""
        event = PortosEvent(
            event=notification.event,
            resource=LICENSE_RESOURCE,
            action=ACTION_ACTIVATED,
            resource_id=str(shop_license.shop_id),
            version=None,
            user=None,
            device=None,
            created_at=notification.created_at,
            # The parser accepted `p` as this license, so it is the server's object as sent.
            resources=[
                dict(notification.raw_payload) if self._full_detail else shop_license.summary()
            ],
        )
        return Routed(event=event, license=shop_license)
