"""The ticket tracker: versions, out-of-order delivery, resync journal and the daily count."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

import custom_components.portos  # noqa: F401  (the package must import on its own)
from custom_components.portos.api import ResourceAction, Ticket
from custom_components.portos.api.tickets import TicketChange, TicketTracker, VersionLog

CREATED = ResourceAction.CREATED
UPDATED = ResourceAction.UPDATED
DELETED = ResourceAction.DELETED
DAY = date(2026, 11, 28)


class Clock:
    """A settable local date."""

    def __init__(self) -> None:
        """Start on DAY."""
        self.today = DAY

    def __call__(self) -> date:
        """Return the current date."""
        return self.today


@pytest.fixture
def clock() -> Clock:
    """Return a clock the test moves by hand."""
    return Clock()


@pytest.fixture
def tracker(clock: Clock) -> TicketTracker:
    """Return a tracker synced to an empty shop."""
    tracker = TicketTracker(clock)
    synced_at_start = tracker.synced
    tracker.resync(DAY, {}, {})
    assert (synced_at_start, tracker.synced) == (False, True)
    return tracker


def test_lifecycle_in_order(tracker: TicketTracker) -> None:
    """Create, update, close: one open ticket, then none and one closed today."""
    assert tracker.apply(CREATED, "t1", 1, closed=False) is TicketChange.CREATED
    assert tracker.open_count == 1
    assert tracker.apply(UPDATED, "t1", 2, closed=False) is TicketChange.UPDATED
    assert tracker.open_tickets == {"t1": 2}
    assert tracker.apply(UPDATED, "t1", 3, closed=True) is TicketChange.CLOSED
    assert tracker.open_count == 0
    assert tracker.closed_today == 1
    assert tracker.apply(DELETED, "t1", 4, closed=True) is TicketChange.DELETED
    assert tracker.closed_today == 1
    assert tracker.remembered == 1


def test_duplicates_and_stale_change_nothing(tracker: TicketTracker) -> None:
    """A repeated or older version is ignored, before and after the close."""
    tracker.apply(CREATED, "t1", 1, closed=False)
    assert tracker.apply(CREATED, "t1", 1, closed=False) is None
    tracker.apply(UPDATED, "t1", 3, closed=False)
    assert tracker.apply(UPDATED, "t1", 2, closed=False) is None
    assert tracker.apply(UPDATED, "t1", 4, closed=True) is TicketChange.CLOSED
    assert tracker.apply(UPDATED, "t1", 4, closed=True) is None
    assert tracker.apply(UPDATED, "t1", 3, closed=False) is None
    assert tracker.open_count == 0
    assert tracker.closed_today == 1


def test_out_of_order_close_before_update(tracker: TicketTracker) -> None:
    """A late update of a ticket already closed does not reopen it."""
    tracker.apply(CREATED, "t1", 1, closed=False)
    assert tracker.apply(UPDATED, "t1", 3, closed=True) is TicketChange.CLOSED
    assert tracker.apply(UPDATED, "t1", 2, closed=False) is None
    assert tracker.open_count == 0


def test_out_of_order_update_before_create(tracker: TicketTracker) -> None:
    """An update for an unseen ticket counts it open; the late create is stale."""
    assert tracker.apply(UPDATED, "t1", 2, closed=False) is TicketChange.UPDATED
    assert tracker.apply(CREATED, "t1", 1, closed=False) is None
    assert tracker.open_count == 1


def test_delete_of_open_ticket(tracker: TicketTracker) -> None:
    """Deleting an open ticket removes it without counting a close; a late update is stale."""
    tracker.apply(CREATED, "t1", 1, closed=False)
    assert tracker.apply(DELETED, "t1", 2, closed=False) is TicketChange.DELETED
    assert tracker.open_count == 0
    assert tracker.closed_today == 0
    assert tracker.apply(UPDATED, "t1", 1, closed=False) is None
    assert tracker.apply(DELETED, "t1", 2, closed=False) is None


def test_close_counts_on_its_own_day(tracker: TicketTracker, clock: Clock) -> None:
    """A close of a known open ticket counts today only when it is dated today (or undated)."""
    for ticket_id in ("t1", "t2", "t3"):
        tracker.apply(CREATED, ticket_id, 1, closed=False)
    # Delivered late, across midnight: the close belongs to yesterday's count, not today's.
    clock.today += timedelta(days=1)
    yesterday = DAY
    assert tracker.apply(UPDATED, "t1", 2, closed=True, closed_on=yesterday) is TicketChange.CLOSED
    assert tracker.closed_today == 0
    assert tracker.apply(UPDATED, "t2", 2, closed=True, closed_on=clock.today)
    assert tracker.apply(UPDATED, "t3", 2, closed=True)
    assert tracker.closed_today == 2
    assert tracker.open_count == 0


def test_close_of_unknown_ticket_is_not_counted(tracker: TicketTracker) -> None:
    """A close for a ticket never seen open is reported but left to the REST count."""
    assert tracker.apply(UPDATED, "t9", 5, closed=True) is TicketChange.CLOSED
    assert tracker.closed_today == 0
    assert tracker.apply(UPDATED, "t9", 5, closed=True) is None


def test_update_of_closed_ticket_is_an_update(tracker: TicketTracker) -> None:
    """A newer change to a closed ticket is one update, never a second close."""
    tracker.apply(CREATED, "t1", 1, closed=False)
    tracker.apply(UPDATED, "t1", 2, closed=True)
    assert tracker.apply(UPDATED, "t1", 3, closed=True) is TicketChange.UPDATED
    assert tracker.closed_today == 1


def test_created_closed(tracker: TicketTracker) -> None:
    """A ticket created already closed (a quick sale) is one close, never open.

    It counts as closed today when its close date is today, and only then; its duplicate is stale.
    """
    assert tracker.apply(CREATED, "t1", 1, closed=True) is TicketChange.CLOSED
    assert tracker.apply(CREATED, "t2", 1, closed=True, closed_on=DAY) is TicketChange.CLOSED
    yesterday = DAY - timedelta(days=1)
    assert tracker.apply(CREATED, "t3", 1, closed=True, closed_on=yesterday) is TicketChange.CLOSED
    assert tracker.open_count == 0
    assert tracker.closed_today == 1
    assert tracker.apply(CREATED, "t2", 1, closed=True, closed_on=DAY) is None
    # A snapshot that already lists it: its late create is still one close, not counted twice.
    tracker.resync(DAY, {}, {"t4": None})
    assert tracker.apply(CREATED, "t4", 1, closed=True, closed_on=DAY) is TicketChange.CLOSED
    assert tracker.closed_today == 1


def test_reopened_with_newer_version(tracker: TicketTracker) -> None:
    """A newer version that says open wins over the remembered close (the server decides)."""
    tracker.apply(CREATED, "t1", 1, closed=False)
    tracker.apply(UPDATED, "t1", 2, closed=True)
    assert tracker.closed_today == 1
    assert tracker.apply(UPDATED, "t1", 3, closed=False) is TicketChange.UPDATED
    assert tracker.open_count == 1
    assert tracker.remembered == 0
    # REST would no longer list it as closed either.
    assert tracker.closed_today == 0


def test_without_versions(tracker: TicketTracker) -> None:
    """Without `_v` only the sure cases are judged: a repeated create, anything after a delete."""
    assert tracker.apply(CREATED, "t1", None, closed=False) is TicketChange.CREATED
    assert tracker.apply(CREATED, "t1", None, closed=False) is None
    assert tracker.apply(UPDATED, "t1", None, closed=False) is TicketChange.UPDATED
    assert tracker.apply(UPDATED, "t1", 5, closed=False) is TicketChange.UPDATED
    assert tracker.apply(UPDATED, "t1", None, closed=True) is TicketChange.CLOSED
    assert tracker.closed_today == 1
    # Closed, version unknown: another change is not surely new, a delete is.
    assert tracker.apply(UPDATED, "t1", 7, closed=True) is None
    assert tracker.apply(DELETED, "t1", None, closed=True) is TicketChange.DELETED
    assert tracker.apply(DELETED, "t1", None, closed=True) is None
    assert tracker.apply(UPDATED, "t1", 9, closed=False) is None


def test_resync_replaces_state(tracker: TicketTracker, clock: Clock) -> None:
    """A REST snapshot replaces the open set and the closed ids and forgets what it lists."""
    tracker.apply(CREATED, "t1", 1, closed=False)
    tracker.apply(UPDATED, "t1", 2, closed=True)
    tracker.resync(DAY, {"t1": 4, "t2": 1}, {f"c{n}": 2 for n in range(7)})
    assert tracker.open_tickets == {"t1": 4, "t2": 1}
    assert tracker.closed_today == 7
    assert tracker.remembered == 0
    # A stale push after the snapshot changes nothing; a newer one applies.
    assert tracker.apply(UPDATED, "t1", 3, closed=True) is None
    assert tracker.apply(UPDATED, "t1", 5, closed=True) is TicketChange.CLOSED
    assert tracker.closed_today == 8
    # Midnight between two resyncs: the snapshot's day is the new one.
    clock.today += timedelta(days=1)
    assert tracker.resync(clock.today, {}, {"d1": 2, "d2": 2})
    assert tracker.closed_today == 2
    assert not tracker.roll_day()


def test_resync_across_midnight(tracker: TicketTracker, clock: Clock) -> None:
    """A closed list asked for yesterday is not today's count; the open list still applies."""
    tracker.apply(CREATED, "t1", 1, closed=False)
    clock.today += timedelta(days=1)
    assert not tracker.resync(DAY, {"t1": 1, "t2": 1}, {"c1": 2, "c2": 2})
    assert tracker.closed_today == 0
    assert tracker.open_count == 2
    assert not tracker.roll_day()
    # A close pushed today still counts on top of the empty day.
    assert tracker.apply(UPDATED, "t2", 2, closed=True, closed_on=clock.today)
    assert tracker.closed_today == 1


def test_a_close_counts_once_whoever_reports_it(tracker: TicketTracker) -> None:
    """A close both in the REST snapshot and pushed, in either order, is one closed ticket."""
    tracker.apply(CREATED, "t1", 1, closed=False)
    tracker.apply(CREATED, "t2", 1, closed=False)
    assert tracker.apply(UPDATED, "t1", 2, closed=True, closed_on=DAY) is TicketChange.CLOSED
    # The snapshot was read after that close: it lists t1 among today's closed tickets.
    tracker.resync(DAY, {"t2": 1}, {"t1": 2})
    assert tracker.closed_today == 1
    # The open list was read before t2's close and the closed list after it: t2 is in both, and
    # the replay of its close removes it from the open ones without counting it again.
    tracker.begin_resync()
    assert tracker.apply(UPDATED, "t2", 2, closed=True, closed_on=DAY) is TicketChange.CLOSED
    tracker.finish_resync(DAY, {"t2": 1}, {"t1": 2, "t2": 2})
    assert (tracker.open_count, tracker.closed_today) == (0, 2)


def test_replay_keeps_a_close_the_snapshot_missed(tracker: TicketTracker) -> None:
    """A close applied live during a resync, in neither REST reply, is kept by its replay."""
    tracker.apply(CREATED, "t1", 1, closed=False)
    tracker.apply(CREATED, "t2", 1, closed=False)
    tracker.begin_resync()
    # Live, while the resync's requests are in flight.
    assert tracker.apply(UPDATED, "t1", 2, closed=True, closed_on=DAY) is TicketChange.CLOSED
    tracker.apply(DELETED, "t2", 2, closed=False)
    # Twice more, and once dated another day: replays that add nothing.
    tracker.apply(UPDATED, "t1", 2, closed=True, closed_on=DAY)
    tracker.apply(UPDATED, "t1", 2, closed=True, closed_on=DAY - timedelta(days=1))
    # The closed list was read before the close, the open list after it.
    tracker.finish_resync(DAY, {}, {})
    assert tracker.closed_today == 1
    assert tracker.open_count == 0
    # The journal is replayed once: a later resync starts from the server's word alone.
    tracker.begin_resync()
    tracker.finish_resync(DAY, {}, {})
    assert tracker.closed_today == 0


def test_replay_of_a_close_the_snapshot_shows_reopened(tracker: TicketTracker) -> None:
    """A stale close replayed onto a snapshot that lists the ticket open again adds nothing."""
    tracker.apply(CREATED, "t1", 1, closed=False)
    tracker.begin_resync()
    tracker.apply(UPDATED, "t1", 2, closed=True, closed_on=DAY)
    tracker.finish_resync(DAY, {"t1": 3}, {})
    assert (tracker.open_count, tracker.closed_today) == (1, 0)


def test_a_cancelled_resync_replays_nothing(tracker: TicketTracker) -> None:
    """Notifications during a resync that failed were applied live; nothing is kept for later."""
    tracker.apply(CREATED, "t1", 1, closed=False)
    tracker.begin_resync()
    tracker.apply(UPDATED, "t1", 2, closed=True, closed_on=DAY)
    tracker.cancel_resync()
    assert tracker.closed_today == 1
    # A later snapshot that missed the close is not corrected by a journal that was dropped.
    tracker.finish_resync(DAY, {}, {})
    assert tracker.closed_today == 0


def test_midnight_reset(tracker: TicketTracker, clock: Clock) -> None:
    """The closed count starts from zero on a new local day; open tickets stay."""
    tracker.apply(CREATED, "t1", 1, closed=False)
    tracker.apply(CREATED, "t2", 1, closed=False)
    tracker.apply(UPDATED, "t1", 2, closed=True)
    assert tracker.closed_today == 1
    assert not tracker.roll_day()
    clock.today += timedelta(days=1)
    assert tracker.closed_today == 0
    assert not tracker.roll_day()
    tracker.apply(UPDATED, "t2", 2, closed=True)
    assert tracker.closed_today == 1
    clock.today += timedelta(days=1)
    assert tracker.roll_day()
    assert tracker.closed_today == 0


def test_gone_memory_is_bounded(clock: Clock) -> None:
    """Only the most recent closed or deleted tickets are remembered."""
    tracker = TicketTracker(clock, gone_memory=2)
    tracker.resync(DAY, {"a": 1, "b": 1, "c": 1}, {})
    for ticket_id in ("a", "b", "c"):
        tracker.apply(DELETED, ticket_id, 2, closed=False)
    assert tracker.remembered == 2
    # "a" was forgotten: its stale update can no longer be recognised.
    assert tracker.apply(UPDATED, "a", 1, closed=False) is TicketChange.UPDATED
    assert tracker.apply(UPDATED, "b", 1, closed=False) is None


def test_version_log() -> None:
    """Newer versions are accepted once; unknown versions always; the log is bounded."""
    log = VersionLog(size=2)
    assert log.accept("devices/1", 1)
    assert not log.accept("devices/1", 1)
    assert not log.accept("devices/1", 0)
    assert log.accept("devices/1", 2)
    assert log.accept("devices/1", None)
    assert log.accept("devices/2", 1)
    assert log.accept("devices/3", 1)
    # devices/1 was the least recently changed and is forgotten.
    assert log.accept("devices/1", 1)


def test_snapshot_closed_tickets_know_their_versions(tracker: TicketTracker) -> None:
    """Tickets a snapshot listed as closed today: later changes update, older ones are history."""
    tracker.resync(DAY, {}, {"x": 3, "y": 3, "z": 3})
    assert tracker.closed_today == 3
    # A later change to a ticket closed before the snapshot (e.g. its receipt): not a close.
    assert tracker.apply(UPDATED, "x", 4, closed=True, closed_on=DAY) is TicketChange.UPDATED
    # An open-state change older than the close must not reopen it.
    assert tracker.apply(UPDATED, "y", 2, closed=False) is None
    assert tracker.open_count == 0
    # The close's own push, arriving after the snapshot read it: one close, counted once.
    assert tracker.apply(UPDATED, "z", 3, closed=True, closed_on=DAY) is TicketChange.CLOSED
    assert tracker.apply(UPDATED, "z", 3, closed=True, closed_on=DAY) is None
    assert tracker.closed_today == 3


def test_unseen_close_counts_by_its_date(tracker: TicketTracker) -> None:
    """A close of a ticket never seen open counts today only when it is dated today."""
    tracker.resync(DAY, {}, {})
    assert tracker.apply(UPDATED, "u1", 5, closed=True, closed_on=DAY) is TicketChange.CLOSED
    earlier = DAY - timedelta(days=1)
    assert tracker.apply(UPDATED, "u2", 5, closed=True, closed_on=earlier) is TicketChange.CLOSED
    assert tracker.apply(UPDATED, "u3", 5, closed=True) is TicketChange.CLOSED
    assert tracker.closed_today == 1


# --- money ------------------------------------------------------------------------------------


def priced(
    ticket_id: str,
    version: int,
    gross: str,
    *,
    closed: bool = False,
    payments: list[tuple[str, str]] | None = None,
) -> Ticket:
    """Return a ticket of one item worth `gross` (0 % VAT), closed with payments when asked."""
    obj: dict[str, Any] = {
        "id": ticket_id,
        "_v": version,
        "currencyLabel": "EUR",
        "items": [
            {
                "plu": {"vatInfo": {"rate": 0}, "isDiscountAllowed": True},
                "unitPrice": {"amount": gross},
                "quantity": {"amount": 1},
            }
        ],
        "closeDate": f"{DAY.isoformat()}T12:00:00Z" if closed else None,
        "payments": [
            {"amount": amount, "paymentType": {"category": category}}
            for category, amount in payments or []
        ],
    }
    return Ticket.from_dict(obj)


def test_money_follows_the_tickets(tracker: TicketTracker) -> None:
    """Open tickets are valued as they change; a close moves the ticket to today's takings."""
    tracker.apply(CREATED, "t1", 1, closed=False, ticket=priced("t1", 1, "4.50"))
    tracker.apply(CREATED, "t2", 1, closed=False, ticket=priced("t2", 1, "3.00"))
    assert tracker.open_value == Decimal("7.50")
    assert tracker.currency == "EUR"
    tracker.apply(UPDATED, "t1", 2, closed=False, ticket=priced("t1", 2, "9.00"))
    assert tracker.open_value == Decimal("12.00")
    paid = priced("t1", 3, "9.00", closed=True, payments=[("cash", "5.00"), ("card", "4.00")])
    assert tracker.apply(UPDATED, "t1", 3, closed=True, closed_on=DAY, ticket=paid)
    assert tracker.open_value == Decimal("3.00")
    assert tracker.sales_today == Decimal("9.00")
    assert tracker.sales_by_payment_type == {"cash": Decimal("5.00"), "card": Decimal("4.00")}
    assert tracker.valued_closed_today == 1
    assert tracker.average_today == Decimal("9.00")
    # A stale or duplicated close changes nothing; a delete drops the open ticket's value.
    assert tracker.apply(UPDATED, "t1", 3, closed=True, closed_on=DAY, ticket=paid) is None
    tracker.apply(DELETED, "t2", 2, closed=False, ticket=priced("t2", 2, "3.00"))
    assert (tracker.open_value, tracker.sales_today) == (Decimal(0), Decimal("9.00"))


def test_takings_are_counted_once_and_follow_the_latest_version(tracker: TicketTracker) -> None:
    """A close listed by a snapshot and pushed too is one take; a later change replaces it."""
    first = priced("t1", 2, "6.00", closed=True, payments=[("cash", "6.00")])
    tracker.resync(DAY, {}, {"t1": 2}, {"t1": first})
    assert tracker.apply(UPDATED, "t1", 2, closed=True, closed_on=DAY, ticket=first)
    assert tracker.sales_today == Decimal("6.00")
    corrected = priced("t1", 3, "6.00", closed=True, payments=[("card", "6.00")])
    assert tracker.apply(UPDATED, "t1", 3, closed=True, closed_on=DAY, ticket=corrected)
    assert tracker.sales_by_payment_type == {"card": Decimal("6.00")}
    # Reopened by the server: no longer a take, an open ticket again.
    tracker.apply(UPDATED, "t1", 4, closed=False, ticket=priced("t1", 4, "6.00"))
    assert (tracker.sales_today, tracker.open_value) == (Decimal(0), Decimal("6.00"))
    assert tracker.sales_by_payment_type == {}


def test_average_ticket_is_rounded_half_up_to_the_cent(tracker: TicketTracker) -> None:
    """Today's average take is a price: to the cent, half away from zero (D1), none without one."""
    assert tracker.average_today is None
    for number, amount in enumerate(("0.01", "0.04"), start=1):
        paid = priced(f"t{number}", 1, amount, closed=True, payments=[("card", amount)])
        tracker.apply(CREATED, f"t{number}", 1, closed=True, closed_on=DAY, ticket=paid)
    # 0.05 / 2 = 0.025: half up gives 0.03 where half to even would give 0.02.
    assert tracker.average_today == Decimal("0.03")


def test_unreadable_money_is_counted_not_summed(tracker: TicketTracker) -> None:
    """A ticket whose money cannot be read still counts; the figures leave it out and say so."""
    bad = Ticket.from_dict({"id": "t1", "_v": 1, "items": [{"plu": None}]})
    assert bad.money is None
    tracker.apply(CREATED, "t1", 1, closed=False, ticket=bad)
    tracker.apply(CREATED, "t2", 1, closed=False, ticket=priced("t2", 1, "2.00"))
    assert (tracker.open_count, tracker.open_value, tracker.unvalued) == (2, Decimal("2.00"), 1)
    tracker.apply(UPDATED, "t1", 2, closed=True, closed_on=DAY)
    assert (tracker.closed_today, tracker.valued_closed_today, tracker.unvalued) == (1, 0, 1)


def test_takings_restart_at_midnight(tracker: TicketTracker, clock: Clock) -> None:
    """Today's takings start from zero on a new local day; open tickets keep their value."""
    tracker.apply(CREATED, "t1", 1, closed=False, ticket=priced("t1", 1, "5.00"))
    paid = priced("t2", 1, "7.00", closed=True, payments=[("cash", "7.00")])
    tracker.apply(CREATED, "t2", 1, closed=True, closed_on=DAY, ticket=paid)
    assert tracker.sales_today == Decimal("7.00")
    clock.today += timedelta(days=1)
    assert (tracker.sales_today, tracker.valued_closed_today) == (Decimal(0), 0)
    assert tracker.open_value == Decimal("5.00")


def test_a_resync_replaces_the_figures(tracker: TicketTracker) -> None:
    """The snapshot's tickets are the figures; a close pushed while it was read is replayed."""
    tracker.apply(CREATED, "t9", 1, closed=False, ticket=priced("t9", 1, "99.00"))
    tracker.begin_resync()
    paid = priced("t2", 2, "4.00", closed=True, payments=[("card", "4.00")])
    tracker.apply(UPDATED, "t2", 2, closed=True, closed_on=DAY, ticket=paid)
    snapshot = {"t1": priced("t1", 1, "3.00"), "t2": priced("t2", 1, "4.00")}
    tracker.finish_resync(DAY, {"t1": 1, "t2": 1}, {}, snapshot)
    assert tracker.open_value == Decimal("3.00")
    assert tracker.sales_today == Decimal("4.00")
    assert tracker.sales_by_payment_type == {"card": Decimal("4.00")}


def test_a_later_change_to_a_ticket_closed_another_day_takes_nothing_today(
    tracker: TicketTracker,
) -> None:
    """A ticket closed yesterday and changed today (its receipt) adds nothing to today's sales."""
    yesterday = DAY - timedelta(days=1)
    tracker.apply(CREATED, "t1", 1, closed=False, ticket=priced("t1", 1, "5.00"))
    paid = priced("t1", 2, "5.00", closed=True, payments=[("cash", "5.00")])
    assert tracker.apply(UPDATED, "t1", 2, closed=True, closed_on=yesterday, ticket=paid)
    later = priced("t1", 3, "5.00", closed=True, payments=[("cash", "5.00")])
    change = tracker.apply(UPDATED, "t1", 3, closed=True, closed_on=yesterday, ticket=later)
    assert change is TicketChange.UPDATED
    assert (tracker.closed_today, tracker.sales_today) == (0, Decimal(0))
