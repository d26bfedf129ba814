"""`--state-file`: the shop's database on disk, an append-only journal that survives a kill -9.

A real PORTOS keeps its tickets, their versions, the receipt numbers and the license in a database
across restarts; the simulator keeps them in one JSON-lines file. Every change appends one line
with a single `write` before the request is answered or the hub notified, so a process that is
killed (even with SIGKILL) loses nothing it has acknowledged: what `write` handed to the kernel
is kept. There is no fsync per change (5,000 changes a second must stay cheap), so a power cut can
lose the last moments; a compaction is fsynced. Opening the file reads it, drops a torn or
unreadable line (logged), and compacts it to one line per live record; a journal that grows far
beyond the live state is compacted again while running.

Sessions and tokens are not kept: a restarted server has a new signing key and forgets every
session, as a restarted PORTOS would make clients log in again.

Lines: `{"kind": "ticket", "ticket": {...}}`, `{"kind": "deleted", "id": "..."}`,
`{"kind": "license", "license": {...}}`, `{"kind": "receipt", "last": n}`; the first line of a
compacted file is `{"kind": "header", "format": 1}`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import json
import logging
import os
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path

_LOGGER = logging.getLogger(__name__)

FORMAT: Final = 1
# Compact while running once the journal holds this many lines more than the live state needs,
# and more than COMPACT_FACTOR times as many: the cost of a compaction is spread over the changes.
COMPACT_SLACK: Final = 10_000
COMPACT_FACTOR: Final = 4

Record = dict[str, Any]


@dataclass(slots=True)
class Stored:
    """What a state file held: tickets by id, the license record, the last receipt number."""

    tickets: dict[str, dict[str, Any]] = field(default_factory=dict)
    license: dict[str, Any] | None = None
    last_receipt: int = 0

    def apply(self, record: object) -> bool:
        """Apply one journal line; False when it is not a record this simulator writes."""
        if not isinstance(record, dict):
            return False
        kind = record.get("kind")
        if kind == "ticket" and isinstance(record.get("ticket"), dict):
            ticket = record["ticket"]
            if isinstance(ticket.get("id"), str):
                self.tickets[ticket["id"]] = ticket
                return True
        elif kind == "deleted" and isinstance(record.get("id"), str):
            self.tickets.pop(record["id"], None)
            return True
        elif kind == "license" and isinstance(record.get("license"), dict):
            self.license = record["license"]
            return True
        elif kind == "receipt" and isinstance(record.get("last"), int):
            self.last_receipt = record["last"]
            return True
        return kind == "header"


def ticket_record(ticket: dict[str, Any]) -> Record:
    """Return the line that stores a ticket as it is now."""
    return {"kind": "ticket", "ticket": ticket}


def deleted_record(ticket_id: str) -> Record:
    """Return the line that removes a ticket."""
    return {"kind": "deleted", "id": ticket_id}


def license_record(data: dict[str, Any]) -> Record:
    """Return the line that stores the license."""
    return {"kind": "license", "license": data}


def receipt_record(last: int) -> Record:
    """Return the line that stores the last receipt number given."""
    return {"kind": "receipt", "last": last}


class Journal:
    """The append-only state file: read and compacted when opened, appended to on each change."""

    def __init__(self, path: Path) -> None:
        """Remember the path; nothing is read or written until load()."""
        self.path = path
        self._fd: int | None = None
        self._lines = 0
        self._live: Callable[[], Iterable[Record]] | None = None

    def load(self, live: Callable[[], Iterable[Record]]) -> Stored:
        """Read the file (missing: an empty shop), then compact it to `live()`'s records.

        `live` returns the records of the whole current state; it is called after the caller has
        restored what this returns, here and whenever the journal is compacted while running.
        """
        stored = Stored()
        skipped = 0
        try:
            with self.path.open("rb") as file:
                for line in file:
                    try:
                        record = json.loads(line)
                    except ValueError:
                        record = None
                    if not stored.apply(record):
                        skipped += 1
        except FileNotFoundError:
            _LOGGER.info("State file %s does not exist yet; starting an empty shop", self.path)
        if skipped:
            _LOGGER.warning(
                "Skipped %d unreadable line(s) of the state file %s", skipped, self.path
            )
        self._live = live
        return stored

    def compact(self) -> None:
        """Rewrite the file as the live state's records only, durably, and append after them."""
        if self._live is None:
            raise RuntimeError("The journal has not been loaded")
        self.close()
        records = [{"kind": "header", "format": FORMAT}, *self._live()]
        temporary = self.path.with_name(self.path.name + ".tmp")
        with temporary.open("wb") as file:
            file.write(b"".join(_line(record) for record in records))
            file.flush()
            os.fsync(file.fileno())
        temporary.replace(self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        self._lines = len(records)

    def append(self, *records: Record) -> None:
        """Append records with one write (so a kill leaves all of them or a torn last line)."""
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        data = b"".join(_line(record) for record in records)
        while data:
            data = data[os.write(self._fd, data) :]
        self._lines += len(records)

    def maybe_compact(self, live_records: int) -> None:
        """Compact when the journal has outgrown the live state."""
        if self._lines > max(COMPACT_FACTOR * live_records, live_records + COMPACT_SLACK):
            self.compact()

    def close(self) -> None:
        """Close the file; the next append opens it again."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _line(record: Record) -> bytes:
    """Serialise one record as a line."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
