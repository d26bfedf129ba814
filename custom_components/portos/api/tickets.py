"""Open-ticket and closed-today bookkeeping from hub notifications and REST snapshots.

Counts stay exact from push alone because every ticket change carries the ticket's new `_v`: a
notification whose version is not newer than the one already seen is stale (a duplicate, or one
that arrived out of order) and changes nothing. Tickets that were closed or deleted are remembered
(bounded) so that a late, older update cannot bring them back. Tickets closed today are a set of
ids, so a close that both a REST snapshot and a push report is counted once, in whatever order.
Notifications that arrive while a snapshot is being read are journaled and replayed onto it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from .models import ResourceAction

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import date

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

    def roll_day(self) -> bool:
        """Reset the closed count when the local day has changed; tell whether it did."""
        today = self._today()
        if today == self._day:
            return False
        self._day = today
        self._closed.clear()
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
    ) -> bool:
        """Replace the state with the snapshot, then replay what was pushed while it was read.

        See resync() for the arguments and the result.
        """
        journal, self._journal = self._journal or [], None
        current = self.resync(day, open_tickets, closed_on_day)
        for notice in journal:
            self._replay(notice)
        return current

    def resync(
        self,
        day: date,
        open_tickets: Mapping[str, int | None],
        closed_on_day: Mapping[str, int | None],
    ) -> bool:
        """Replace the state with a REST snapshot (the server's word beats anything pushed).

        `closed_on_day` maps the tickets closed since the local midnight that began `day` to their
        versions: a later change to one of them is then an update, not a second close. When the
        day has changed since that list was asked for, it is yesterday's: today starts empty
        instead, and False tells the caller to resync again.
        """
        today = self._today()
        self._day = today
        self._open = dict(open_tickets)
        for ticket_id in self._open:
            self._gone.pop(ticket_id, None)
        current = day == today
        self._closed = dict(closed_on_day) if current else {}
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
            self._closed.setdefault(notice.ticket_id, notice.version)

    def apply(
        self,
        action: ResourceAction,
        ticket_id: str,
        version: int | None,
        *,
        closed: bool,
        closed_on: date | None = None,
    ) -> TicketChange | None:
        """Apply one ticket notification; return what it did, or None when it changes nothing.

        `closed_on` is the local date of the ticket's closeDate, where it has one. While a
        resync is in flight the notification is also journaled, to be replayed onto its snapshot.
        """
        notice = _Notice(action, ticket_id, version, closed, closed_on)
        if self._journal is not None:
            self._journal.append(notice)
        return self._apply(notice)

    def _apply(self, notice: _Notice) -> TicketChange | None:
        """Apply one notification (see apply())."""
        action, ticket_id, version = notice.action, notice.ticket_id, notice.version
        closed, closed_on = notice.closed, notice.closed_on
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
            # Reopened (the server decides): it no longer counts as closed, as in REST.
            self._closed.pop(ticket_id, None)
            return (
                TicketChange.CREATED if action is ResourceAction.CREATED else TicketChange.UPDATED
            )
        self._forget(ticket_id, version, deleted=False)
        if action is ResourceAction.CREATED:
            # Created already closed (a quick sale): its only appearance is its close, so it is
            # one `closed` event. Kept by id, so a snapshot that listed it too counts it once.
            if closed_on == self._day:
                self._closed.setdefault(ticket_id, version)
            return TicketChange.CLOSED
        if was_closed or _later(version, self._closed.get(ticket_id, version)):
            # A later change to an already closed ticket (e.g. its receipt details), remembered
            # from a push or listed by a snapshot: the close itself was reported, so an update.
            return TicketChange.UPDATED
        # Counted by id, so a ticket that a snapshot listed as closed today is never counted twice;
        # a close delivered late across midnight belongs to its own day, not today. An undated
        # close counts only for a ticket known open (an unknown one cannot be placed in a day).
        if closed_on == self._day or (was_open and closed_on is None):
            self._closed.setdefault(ticket_id, version)
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

    def _forget(self, ticket_id: str, version: int | None, *, deleted: bool) -> None:
        """Drop a ticket from the open set, remembering its last version."""
        self._open.pop(ticket_id, None)
        self._gone[ticket_id] = (version, deleted)
        self._gone.move_to_end(ticket_id)
        while len(self._gone) > self._gone_memory:
            self._gone.popitem(last=False)


def _later(version: int | None, closed_at: int | None) -> bool:
    """Tell whether a change is newer than the version a ticket was closed at (unknown: no)."""
    return version is not None and closed_at is not None and version > closed_at
