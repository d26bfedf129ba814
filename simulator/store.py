"""The ticket store: CRUD with resource versions, and NData list queries."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
import itertools
import os
import time
from typing import Any

from .money import CURRENCY, settle, to_json_number
from .problems import ERROR_VERSION_MISMATCH, ProblemError, not_found, validation

MAX_TAKE = 100
# Fields a client may set with POST or PUT; the rest belongs to the server.
WRITABLE_FIELDS = (
    "externalId",
    "name",
    "note",
    "customer",
    "employee",
    "items",
    "discountRate",
    "currencyLabel",
)
_OPERATORS = ("eq", "gt", "gte", "lt", "lte")


def json_copy(value: Any) -> Any:  # noqa: ANN401 - any JSON value
    """Return a deep copy of a JSON value (dicts, lists and scalars), faster than deepcopy."""
    if isinstance(value, dict):
        return {key: json_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_copy(item) for item in value]
    return value


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def isoformat(moment: datetime) -> str:
    """Format a moment as PORTOS does: UTC, milliseconds, a trailing Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_moment(text: str) -> datetime:
    """Parse an ISO 8601 timestamp; a naive one is taken as UTC."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change: a user name on a device."""

    user: str
    device: str


class _ObjectIds:
    """Makes 24-hex ids shaped like the MongoDB ObjectIds PORTOS uses."""

    def __init__(self) -> None:
        self._prefix = os.urandom(5).hex()
        self._counter = itertools.count(int.from_bytes(os.urandom(2)))

    def __call__(self) -> str:
        return (
            f"{int(time.time()) & 0xFFFFFFFF:08x}{self._prefix}{next(self._counter) & 0xFFFFFF:06x}"
        )


# --- NData filters -------------------------------------------------------------------------------


def _parse_bool(text: str) -> bool:
    """Parse true/false as NData writes them."""
    lowered = text.lower()
    if lowered not in ("true", "false"):
        raise ValueError(text)
    return lowered == "true"


@dataclass(frozen=True, slots=True)
class _Field:
    """A filterable ticket field: how to read it and how to parse a filter argument."""

    read: Callable[[Mapping[str, Any]], Any]
    parse: Callable[[str], Any]
    ordered: bool


def _date_field(key: str) -> _Field:
    def read(ticket: Mapping[str, Any]) -> datetime | None:
        value = ticket.get(key)
        return None if value is None else parse_moment(value)

    return _Field(read, parse_moment, ordered=True)


_FILTERS: dict[str, _Field] = {
    "isclosed": _Field(lambda t: t.get("closeDate") is not None, _parse_bool, ordered=False),
    "opendate": _date_field("openDate"),
    "closedate": _date_field("closeDate"),
    "devicename": _Field(lambda t: t.get("originDeviceName"), str, ordered=False),
}


def _compare(value: Any, operator: str, argument: Any) -> bool:  # noqa: ANN401 - field values
    """Apply one NData operator; null only ever equals null."""
    if operator == "eq":
        return bool(value == argument)
    if value is None or argument is None:
        return False
    if operator == "gt":
        return bool(value > argument)
    if operator == "gte":
        return bool(value >= argument)
    if operator == "lt":
        return bool(value < argument)
    return bool(value <= argument)


def parse_filter(name: str, text: str) -> Callable[[Mapping[str, Any]], bool]:
    """Turn `Name=op:arg;op:arg` (a bare value meaning eq) into a ticket predicate."""
    field = _FILTERS[name.lower()]
    conditions: list[tuple[str, Any]] = []
    for part in text.split(";"):
        operator, sep, raw = part.partition(":")
        if not sep or operator.lower() not in _OPERATORS:
            # A bare value is equality; dates contain colons, so re-read the whole part.
            operator, raw = "eq", part
        operator = operator.lower()
        if operator != "eq" and not field.ordered:
            raise validation(name, f"Operator {operator!r} is not supported on {name}.")
        try:
            argument = None if raw.lower() == "null" else field.parse(raw)
        except ValueError as err:
            raise validation(name, f"{raw!r} is not a valid value for {name}.") from err
        conditions.append((operator, argument))

    def predicate(ticket: Mapping[str, Any]) -> bool:
        value = field.read(ticket)
        return all(_compare(value, op, arg) for op, arg in conditions)

    return predicate


def _int_param(query: Mapping[str, str], key: str, default: int) -> int:
    """Read a non-negative integer query parameter."""
    raw = query.get(key)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise validation(key, f"{key} must be a non-negative integer.")
    return value


_SORTABLE = {
    key.lower(): key for key in ("id", "name", "openDate", "closeDate", "originDeviceName", "_v")
}


def _sorted(tickets: list[dict[str, Any]], spec: str) -> list[dict[str, Any]]:
    """Sort stably by one `$sort` term (`field` or `field:desc`), nulls last either way."""
    name, _, direction = spec.partition(":")
    field = _SORTABLE.get(name.lower())
    if field is None:
        raise validation("$sort", f"Sorting by {name!r} is not supported.")
    if direction.lower() not in ("", "asc", "desc"):
        raise validation("$sort", f"Unknown sort direction {direction!r}.")
    present = [t for t in tickets if t.get(field) is not None]
    absent = [t for t in tickets if t.get(field) is None]
    present.sort(key=lambda t: t[field], reverse=direction.lower() == "desc")
    return present + absent


class TicketStore:
    """Tickets by id. Every change bumps `_v`; closed tickets are read-only."""

    def __init__(self) -> None:
        """Start empty."""
        self.tickets: dict[str, dict[str, Any]] = {}
        self._new_id = _ObjectIds()
        # The last receipt number given: receipts are numbered on, across restarts too.
        self.last_receipt = 0

    def get(self, ticket_id: str) -> dict[str, Any]:
        """Return a ticket, or raise a 404 problem."""
        ticket = self.tickets.get(ticket_id)
        if ticket is None:
            raise not_found(f"Ticket {ticket_id!r} was not found.")
        return ticket

    @staticmethod
    def _check_body(body: object, *, require_name: bool) -> Mapping[str, Any]:
        """Validate a POST/PUT body."""
        if not isinstance(body, Mapping):
            raise validation("body", "The request body must be a JSON object.")
        name = body.get("name")
        if (require_name or "name" in body) and (not isinstance(name, str) or not name.strip()):
            raise validation("Name", "The Name field is required.")
        if "items" in body and not isinstance(body["items"], list):
            raise validation("Items", "Items must be a list.")
        return body

    def create(self, body: object, actor: Actor, ticket_id: str | None = None) -> dict[str, Any]:
        """Create an open ticket from a body with at least a name."""
        data = self._check_body(body, require_name=True)
        ticket: dict[str, Any] = {
            "id": ticket_id or self._new_id(),
            "externalId": None,
            "name": None,
            "note": None,
            "originDeviceName": actor.device,
            "openDate": isoformat(utcnow()),
            "closeDate": None,
            "closeInfo": None,
            "customer": None,
            "employee": {"userName": actor.user},
            "items": [],
            "discountRate": 0,
            "payments": [],
            "roundingAmount": 0,
            "currencyLabel": CURRENCY,
            "_v": 1,
        }
        ticket.update({key: json_copy(data[key]) for key in WRITABLE_FIELDS if key in data})
        self.tickets[ticket["id"]] = ticket
        return ticket

    def _writable(self, ticket_id: str, body: Mapping[str, Any] | None) -> dict[str, Any]:
        """Return an open ticket whose version matches the body's `_v`, if it gives one."""
        ticket = self.get(ticket_id)
        if ticket["closeDate"] is not None:
            raise validation("CloseDate", "The ticket is closed and can no longer be changed.")
        if body is not None and body.get("_v") is not None and body["_v"] != ticket["_v"]:
            raise ProblemError(
                400,
                f"Version {body['_v']} does not match the ticket's version {ticket['_v']}.",
                error_code=ERROR_VERSION_MISMATCH,
            )
        return ticket

    def update(self, ticket_id: str, body: object) -> dict[str, Any]:
        """Change an open ticket's writable fields."""
        data = self._check_body(body, require_name=False)
        ticket = self._writable(ticket_id, data)
        ticket.update({key: json_copy(data[key]) for key in WRITABLE_FIELDS if key in data})
        ticket["_v"] += 1
        return ticket

    def close(self, ticket_id: str, actor: Actor, payments: object = None) -> dict[str, Any]:
        """Close (pay) an open ticket: closeDate, closeInfo, payments and roundingAmount are set.

        `payments` is the close body's list (see money.settle); None pays it all in cash.
        """
        ticket = self._writable(ticket_id, None)
        recorded, rounding = settle(ticket, payments)
        self.last_receipt += 1
        number = self.last_receipt
        ticket["payments"] = recorded
        ticket["roundingAmount"] = to_json_number(rounding)
        ticket["closeDate"] = isoformat(utcnow())
        ticket["closeInfo"] = {
            "deviceName": actor.device,
            "fiscalName": "FiscalPrinter1",
            "receiptNumber": number,
            "receiptId": f"O-{number:08d}",
            "userName": actor.user,
        }
        ticket["_v"] += 1
        return ticket

    def delete(self, ticket_id: str) -> dict[str, Any]:
        """Delete an open ticket; return its last state (with the bumped version)."""
        ticket = self._writable(ticket_id, None)
        del self.tickets[ticket_id]
        ticket["_v"] += 1
        return ticket

    def query(self, query: Mapping[str, str]) -> dict[str, Any]:
        """Answer a list request: filters, `$sort`, `$skip`, `$take` and `$count`."""
        predicates = []
        for name, value in query.items():
            if name.startswith("$"):
                continue
            if name.lower() not in _FILTERS:
                raise validation(name, f"Filtering by {name!r} is not supported.")
            predicates.append(parse_filter(name, value))
        matching = [t for t in self.tickets.values() if all(p(t) for p in predicates)]
        total = len(matching)
        if query.get("$count", "").lower() == "true":
            return {"items": [], "count": total, "totalCount": total}
        for spec in reversed([s for s in query.get("$sort", "").split(",") if s.strip()]):
            matching = _sorted(matching, spec.strip())
        skip = _int_param(query, "$skip", 0)
        take = min(_int_param(query, "$take", MAX_TAKE), MAX_TAKE)
        page = matching[skip : skip + take]
        return {"items": page, "count": len(page), "totalCount": total}
