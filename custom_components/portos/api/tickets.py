"""Open-ticket and closed-today bookkeeping from hub notifications and REST snapshots.

Counts stay exact from push alone because every ticket change carries the ticket's new `_v`: a
notification whose version is not newer than the one already seen is stale (a duplicate, or one
that arrived out of order) and changes nothing. Tickets that were closed or deleted are remembered
(bounded) so that a late, older update cannot bring them back. Tickets closed today are a set of
ids, so a close that both a REST snapshot and a push report is counted once, in whatever order.
Notifications that arrive while a snapshot is being read are journaled and replayed onto it.

The money follows the same ids: what each open ticket is worth and what each ticket closed today
took (by payment type), summed as they change, so the figures are exactly as right as the counts.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from .models import ResourceAction
from .ticket_math import average_price

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import date

    from .models import Ticket

# Enough for a busy shop's day of closed tickets; older ones can no longer arrive out of order.
GONE_MEMORY: Final = 10_000


class TicketChange(StrEnum):
    """What an accepted ticket notification did, as events name it."""

    CREATED = "created"
    UPDATED = "updated"
    CLOSED = "closed"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class _Notice:
    """One ticket notification as the tracker applies (and journals) it."""

    action: ResourceAction
    ticket_id: str
    version: int | None
    closed: bool
    closed_on: date | None
    ticket: Ticket | None


_ZERO: Final = Decimal(0)
_OPEN_VALUE: Final = "open"


class _Ledger:
    """Amounts by ticket id, each split by a key, with their sums kept up to date (Decimal)."""

    def __init__(self) -> None:
        """Start empty."""
        self._parts: dict[str, Mapping[str, Decimal]] = {}
        self._by_key: dict[str, Decimal] = {}
        self._tickets_by_key: dict[str, int] = {}
        self.total = _ZERO

    def __len__(self) -> int:
        """Return how many tickets have an amount."""
        return len(self._parts)

    def __contains__(self, ticket_id: object) -> bool:
        """Tell whether a ticket has an amount."""
        return ticket_id in self._parts

    @property
    def by_key(self) -> dict[str, Decimal]:
        """Return the sums by key (a copy), for every key some ticket has."""
        return dict(self._by_key)

    def put(self, ticket_id: str, parts: Mapping[str, Decimal]) -> None:
        """Set a ticket's amounts, replacing what it had."""
        self.discard(ticket_id)
        self._parts[ticket_id] = parts
        for key, amount in parts.items():
            self._by_key[key] = self._by_key.get(key, _ZERO) + amount
            self._tickets_by_key[key] = self._tickets_by_key.get(key, 0) + 1
            self.total += amount

    def discard(self, ticket_id: str) -> None:
        """Remove a ticket's amounts, if it has any."""
        parts = self._parts.pop(ticket_id, None)
        if parts is None:
            return
        for key, amount in parts.items():
            self.total -= amount
            self._tickets_by_key[key] -= 1
            if self._tickets_by_key[key]:
                self._by_key[key] -= amount
            else:
                del self._tickets_by_key[key]
                del self._by_key[key]

    def clear(self) -> None:
        """Remove every amount."""
        self._parts.clear()
        self._by_key.clear()
        self._tickets_by_key.clear()
        self.total = _ZERO


class VersionLog:
    """The newest version seen per id, bounded, for resources whose counts are not tracked."""

    def __init__(self, size: int = GONE_MEMORY) -> None:
        """Remember at most `size` ids, forgetting the least recently changed first."""
        self._size = size
        self._versions: OrderedDict[str, int] = OrderedDict()

    def accept(self, key: str, version: int | None) -> bool:
        """Record a version and tell whether it is newer than any seen for the key."""
        if version is None:
            return True
        last = self._versions.get(key)
        if last is not None and version <= last:
            return False
        self._versions[key] = version
        self._versions.move_to_end(key)
        while len(self._versions) > self._size:
            self._versions.popitem(last=False)
        return True


class TicketTracker:
    """Open tickets by id and version, and the ids of the tickets closed on the current day."""

    def __init__(self, today: Callable[[], date], gone_memory: int = GONE_MEMORY) -> None:
        """Start unsynced; `today` returns the local date that the closed count belongs to."""
        self._today = today
        self._gone_memory = gone_memory
        self._open: dict[str, int | None] = {}
        # Closed or deleted tickets: last version, and whether the ticket was deleted.
        self._gone: OrderedDict[str, tuple[int | None, bool]] = OrderedDict()
        # Tickets closed today, with the version they were closed (or listed closed) at.
        self._closed: dict[str, int | None] = {}
        # What the open tickets are worth and what today's closed ones took, where readable.
        self._open_values = _Ledger()
        self._takings = _Ledger()
        self.currency: str | None = None
        self._day = today()
        # Notifications applied while a resync's requests are in flight, replayed onto its snapshot.
        self._journal: list[_Notice] | None = None
        self.synced = False

    @property
    def open_count(self) -> int:
        """Return the number of open tickets."""
        return len(self._open)

    @property
    def closed_today(self) -> int:
        """Return the number of tickets closed today (zero once the day has changed)."""
        self.roll_day()
        return len(self._closed)

    @property
    def open_tickets(self) -> Mapping[str, int | None]:
        """Return a copy of the open tickets' versions by id."""
        return dict(self._open)

    @property
    def remembered(self) -> int:
        """Return how many closed or deleted tickets are remembered against late notifications."""
        return len(self._gone)

    @property
    def open_value(self) -> Decimal:
        """Return what the open tickets whose money could be read are worth."""
        return self._open_values.total

    @property
    def sales_today(self) -> Decimal:
        """Return what today's closed tickets whose money could be read took."""
        self.roll_day()
        return self._takings.total

    @property
    def sales_by_payment_type(self) -> dict[str, Decimal]:
        """Return today's takings by payment-type key."""
        self.roll_day()
        return self._takings.by_key

    @property
    def valued_closed_today(self) -> int:
        """Return how many of today's closed tickets have a readable take."""
        self.roll_day()
        return len(self._takings)

    @property
    def average_today(self) -> Decimal | None:
        """Return what today's closed tickets with a readable take took on average (None: none)."""
        valued = self.valued_closed_today
        return average_price(self._takings.total, valued) if valued else None

    @property
    def unvalued(self) -> int:
        """Return how many open or today's closed tickets have no readable money (not summed)."""
        self.roll_day()
        return len(self._open) - len(self._open_values) + len(self._closed) - len(self._takings)

    def roll_day(self) -> bool:
        """Reset the closed count when the local day has changed; tell whether it did."""
        today = self._today()
        if today == self._day:
            return False
        self._day = today
        self._closed.clear()
        self._takings.clear()
        return True

    def begin_resync(self) -> None:
        """Start journaling notifications: a REST snapshot is being read."""
        self._journal = []

    def cancel_resync(self) -> None:
        """Stop journaling: the snapshot could not be read."""
        self._journal = None

    def finish_resync(
        self,
        day: date,
        open_tickets: Mapping[str, int | None],
        closed_on_day: Mapping[str, int | None],
        tickets: Mapping[str, Ticket] | None = None,
    ) -> bool:
        """Replace the state with the snapshot, then replay what was pushed while it was read.

        See resync() for the arguments and the result.
        """
        journal, self._journal = self._journal or [], None
        current = self.resync(day, open_tickets, closed_on_day, tickets)
        for notice in journal:
            self._replay(notice)
        return current

    def resync(
        self,
        day: date,
        open_tickets: Mapping[str, int | None],
        closed_on_day: Mapping[str, int | None],
        tickets: Mapping[str, Ticket] | None = None,
    ) -> bool:
        """Replace the state with a REST snapshot (the server's word beats anything pushed).

        `closed_on_day` maps the tickets closed since the local midnight that began `day` to their
        versions: a later change to one of them is then an update, not a second close. When the
        day has changed since that list was asked for, it is yesterday's: today starts empty
        instead, and False tells the caller to resync again. `tickets` holds the listed tickets
        by id, for their money.
        """
        today = self._today()
        self._day = today
        self._open = dict(open_tickets)
        tickets = tickets or {}
        self._open_values.clear()
        for ticket_id in self._open:
            self._gone.pop(ticket_id, None)
            self._value_open(ticket_id, tickets.get(ticket_id))
        current = day == today
        self._closed = dict(closed_on_day) if current else {}
        self._takings.clear()
        for ticket_id in self._closed:
            self._value_closed(ticket_id, tickets.get(ticket_id))
        self.synced = True
        return current

    def _replay(self, notice: _Notice) -> None:
        """Apply a notification that arrived while a resync was in flight, onto its snapshot.

        Its live apply has remembered its version already, so it may be stale now although the
        snapshot was read before it: a close dated today still belongs in today's closes then
        (kept by id, so this never counts it twice), unless the snapshot shows it open again.
        """
        change = self._apply(notice)
        if (
            change is None
            and notice.closed
            and notice.action is not ResourceAction.DELETED
            and notice.ticket_id not in self._open
            and notice.closed_on == self._day
        ):
            self._count_closed(notice.ticket_id, notice.version, notice.ticket)

    def apply(
        self,
        action: ResourceAction,
        ticket_id: str,
        version: int | None,
        *,
        closed: bool,
        closed_on: date | None = None,
        ticket: Ticket | None = None,
    ) -> TicketChange | None:
        """Apply one ticket notification; return what it did, or None when it changes nothing.

        `closed_on` is the local date of the ticket's closeDate, where it has one; `ticket` is the
        changed ticket, whose money is read only when the change is accepted. While a resync is
        in flight the notification is also journaled, to be replayed onto its snapshot.
        """
        notice = _Notice(action, ticket_id, version, closed, closed_on, ticket)
        if self._journal is not None:
            self._journal.append(notice)
        return self._apply(notice)

    def _apply(self, notice: _Notice) -> TicketChange | None:
        """Apply one notification (see apply())."""
        action, ticket_id, version = notice.action, notice.ticket_id, notice.version
        closed, closed_on, ticket = notice.closed, notice.closed_on, notice.ticket
        self.roll_day()
        if self._is_stale(action, ticket_id, version, closed=closed):
            return None
        was_open = ticket_id in self._open
        was_closed = ticket_id in self._gone and not self._gone[ticket_id][1]
        if action is ResourceAction.DELETED:
            self._forget(ticket_id, version, deleted=True)
            return TicketChange.DELETED
        if not closed:
            self._gone.pop(ticket_id, None)
            self._open[ticket_id] = version
            self._value_open(ticket_id, ticket)
            # Reopened (the server decides): it no longer counts as closed, as in REST.
            self._closed.pop(ticket_id, None)
            self._takings.discard(ticket_id)
            return (
                TicketChange.CREATED if action is ResourceAction.CREATED else TicketChange.UPDATED
            )
        self._forget(ticket_id, version, deleted=False)
        if action is ResourceAction.CREATED:
            # Created already closed (a quick sale): its only appearance is its close, so it is
            # one `closed` event. Kept by id, so a snapshot that listed it too counts it once.
            if closed_on == self._day:
                self._count_closed(ticket_id, version, ticket)
            return TicketChange.CLOSED
        if was_closed or _later(version, self._closed.get(ticket_id, version)):
            # A later change to an already closed ticket (e.g. its receipt details), remembered
            # from a push or listed by a snapshot: the close itself was reported, so an update.
            if ticket_id in self._closed:
                self._value_closed(ticket_id, ticket)
            return TicketChange.UPDATED
        # Counted by id, so a ticket that a snapshot listed as closed today is never counted twice;
        # a close delivered late across midnight belongs to its own day, not today. An undated
        # close counts only for a ticket known open (an unknown one cannot be placed in a day).
        if closed_on == self._day or (was_open and closed_on is None):
            self._count_closed(ticket_id, version, ticket)
        return TicketChange.CLOSED

    def _is_stale(
        self, action: ResourceAction, ticket_id: str, version: int | None, *, closed: bool
    ) -> bool:
        """Tell whether a notification is a duplicate or older than what is known."""
        if ticket_id in self._open:
            last = self._open[ticket_id]
            if version is None or last is None:
                # Without versions only a repeated create can be recognised as a duplicate.
                return action is ResourceAction.CREATED and not closed
            return version <= last
        if ticket_id in self._gone:
            last, deleted = self._gone[ticket_id]
            if version is None or last is None:
                # Without versions, only the delete of a closed ticket is surely new.
                return deleted or action is not ResourceAction.DELETED
            return version <= last
        # Listed closed by a snapshot only: a change older than that close is history.
        closed_at = self._closed.get(ticket_id)
        return version is not None and closed_at is not None and version < closed_at

    def _count_closed(self, ticket_id: str, version: int | None, ticket: Ticket | None) -> None:
        """Count a ticket as closed today, once; its take joins today's unless known already."""
        self._closed.setdefault(ticket_id, version)
        # Only tickets closed today have a take, so a newly counted one has none yet.
        if ticket_id not in self._takings:
            self._value_closed(ticket_id, ticket)

    def _value_open(self, ticket_id: str, ticket: Ticket | None) -> None:
        """Keep what an open ticket is worth (nothing when its money cannot be read)."""
        money = None if ticket is None else ticket.money
        if money is None or money.open_value is None:
            self._open_values.discard(ticket_id)
            return
        self.currency = money.currency or self.currency
        self._open_values.put(ticket_id, {_OPEN_VALUE: money.open_value})

    def _value_closed(self, ticket_id: str, ticket: Ticket | None) -> None:
        """Keep what a ticket closed today took, by payment type (its last readable take wins)."""
        money = None if ticket is None else ticket.money
        if money is None or money.take is None:
            return
        self.currency = money.currency or self.currency
        self._takings.put(ticket_id, money.by_payment_type)

    def _forget(self, ticket_id: str, version: int | None, *, deleted: bool) -> None:
        """Drop a ticket from the open set, remembering its last version."""
        self._open.pop(ticket_id, None)
        self._open_values.discard(ticket_id)
        self._gone[ticket_id] = (version, deleted)
        self._gone.move_to_end(ticket_id)
        while len(self._gone) > self._gone_memory:
            self._gone.popitem(last=False)


def _later(version: int | None, closed_at: int | None) -> bool:
    """Tell whether a change is newer than the version a ticket was closed at (unknown: no)."""
    return version is not None and closed_at is not None and version > closed_at
