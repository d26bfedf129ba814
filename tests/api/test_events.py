"""The event router: which notifications are news, and what each one hands on."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import custom_components.portos  # noqa: F401  (the package must import on its own)
from custom_components.portos.api import (
    Dropped,
    EventRouter,
    Notification,
    ResourceChangedPayload,
    TicketTracker,
)

DAY = date(2026, 12, 1)


def _notification(resource: str, version: int, obj: dict[str, Any]) -> Notification:
    """Return a resource-changed notification (action 2) of one changed object."""
    return Notification.from_dict(
        {
            "e": "portos.resources.changed",
            "ca": f"{DAY.isoformat()}T12:00:00Z",
            "p": {
                "u": {"u": "admin", "d": "P01", "f": None},
                "n": resource,
                "a": 2,
                "i": {"i": obj["id"], "n": resource, "v": version},
                "r": [obj],
            },
        }
    )


def _ticket(version: int) -> dict[str, Any]:
    """Return an open ticket of one 4.50 line (0 % VAT)."""
    return {
        "id": "t1",
        "_v": version,
        "currencyLabel": "EUR",
        "items": [{"plu": {"vatInfo": {"rate": 0}}, "unitPrice": 4.5, "quantity": {"amount": 1}}],
    }


def _router(resources: tuple[str, ...]) -> EventRouter:
    """Return a router on a synced tracker, for the chosen resources."""
    tracker = TicketTracker(lambda: DAY)
    tracker.resync(DAY, {"t1": 1}, {})
    return EventRouter(tracker, resources, full_detail=False, local_date=lambda _moment: DAY)


def test_an_accepted_ticket_change_hands_on_its_ticket() -> None:
    """The event carries the total; the outcome carries the parsed ticket, for its money."""
    router = _router(("tickets",))
    notification = _notification("tickets", 2, _ticket(2))
    routed = router.route(notification)
    assert routed.event is not None
    assert (routed.event.action, routed.event.total) == ("updated", Decimal("4.50"))
    assert routed.tickets_changed
    assert isinstance(notification.payload, ResourceChangedPayload)
    assert routed.ticket is notification.payload.ticket
    assert routed.ticket is not None
    # The same version again is stale: no event, no ticket, nothing changed.
    stale = router.route(notification)
    assert (stale.dropped, stale.tickets_changed, stale.ticket) == (Dropped.STALE, False, None)


def test_a_ticket_change_moves_the_counts_without_an_event_when_not_chosen() -> None:
    """Tickets are counted whatever was chosen; only chosen resources fire events."""
    router = _router(("customers",))
    routed = router.route(_notification("tickets", 2, _ticket(2)))
    assert (routed.event, routed.dropped) == (None, Dropped.UNSUBSCRIBED)
    assert routed.tickets_changed
    assert routed.ticket is not None
    assert router.tracker.open_value == Decimal("4.50")


def test_other_resources_carry_no_ticket() -> None:
    """A chosen resource's change is an event of its own, with no ticket to value."""
    router = _router(("tickets", "customers"))
    routed = router.route(_notification("customers", 3, {"id": "c1", "name": "Jana"}))
    assert routed.event is not None
    assert (routed.event.resource, routed.event.action) == ("customers", "updated")
    assert (routed.tickets_changed, routed.ticket) == (False, None)
