"""Typed models of what the PORTOS server sends, and the tolerant parsers that build them.

Unknown fields are ignored. A missing or ill-typed field raises PortosParseError and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import Any

from .exceptions import PortosParseError
from .money import TicketMoney, list_field, ticket_money

EVENT_RESOURCES_CHANGED = "portos.resources.changed"
EVENT_LICENSE_ACTIVATED = "portos.licence.activated"

TICKETS = "tickets"


class ResourceAction(IntEnum):
    """The numeric action of a resource-changed notification."""

    CREATED = 1
    UPDATED = 2
    DELETED = 3

    @property
    def wire_name(self) -> str:
        """Return the name a subscription request uses for this action."""
        return self.name.lower()


class HealthStatus(StrEnum):
    """Overall or per-entry health, compared case-insensitively."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"


# --- field readers -------------------------------------------------------------------------------


def id_text(value: object) -> str | None:
    """Return an object id as text (PORTOS ids are strings; an integer one is accepted)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) else None


def _mapping(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise PortosParseError(f"{what}: expected an object, got {type(value).__name__}")
    return value


def _str(data: Mapping[str, Any], key: str, what: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise PortosParseError(f"{what}.{key}: expected a string, got {type(value).__name__}")
    return value


def _opt_str(data: Mapping[str, Any], key: str, what: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise PortosParseError(
            f"{what}.{key}: expected a string or null, got {type(value).__name__}"
        )
    return value


def _int(data: Mapping[str, Any], key: str, what: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PortosParseError(f"{what}.{key}: expected an integer, got {type(value).__name__}")
    return value


def _opt_int(data: Mapping[str, Any], key: str, what: str) -> int | None:
    if data.get(key) is None:
        return None
    return _int(data, key, what)


def _bool(data: Mapping[str, Any], key: str, what: str) -> bool:
    value = data.get(key)
    if not isinstance(value, bool):
        raise PortosParseError(f"{what}.{key}: expected a boolean, got {type(value).__name__}")
    return value


def parse_datetime(value: object, what: str) -> datetime:
    """Parse an ISO 8601 timestamp (a trailing Z allowed) into an aware datetime.

    PORTOS writes UTC; a timestamp without a zone is taken as UTC.
    """
    if not isinstance(value, str):
        raise PortosParseError(f"{what}: expected an ISO 8601 string, got {type(value).__name__}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as err:
        raise PortosParseError(f"{what}: not an ISO 8601 timestamp: {value[:40]!r}") from err
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _opt_datetime(data: Mapping[str, Any], key: str, what: str) -> datetime | None:
    value = data.get(key)
    if value is None:
        return None
    return parse_datetime(value, f"{what}.{key}")


# --- auth ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuthResult:
    """A login or refresh reply. repr hides the tokens so they never reach a log."""

    token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    user_name: str | None
    device_name: str | None
    device_env: str | None

    @classmethod
    def from_dict(cls, data: object) -> AuthResult:
        """Parse `{"tokenId", "refreshToken", "user": {..., "device": {...}}}`."""
        obj = _mapping(data, "auth")
        user = obj.get("user")
        user_name = device_name = device_env = None
        if isinstance(user, Mapping):
            user_name = _opt_str(user, "userName", "auth.user")
            device = user.get("device")
            if isinstance(device, Mapping):
                device_name = _opt_str(device, "name", "auth.user.device")
                device_env = _opt_str(device, "envName", "auth.user.device")
        return cls(
            token=_str(obj, "tokenId", "auth"),
            refresh_token=_str(obj, "refreshToken", "auth"),
            user_name=user_name,
            device_name=device_name,
            device_env=device_env,
        )


# --- license and health --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LicenseFeature:
    """One licensed feature."""

    product_sku: str | None
    name: str | None
    expiration_time: datetime | None


@dataclass(frozen=True, slots=True)
class License:
    """The shop's PORTOS license (`GET /license`, or the license-activated payload)."""

    shop_id: int
    activation_time: datetime | None
    expiration_time: datetime | None
    remaining_days: int
    is_expired: bool
    features: tuple[LicenseFeature, ...] = ()

    @classmethod
    def from_dict(cls, data: object) -> License:
        """Parse a license object."""
        obj = _mapping(data, "license")
        features = tuple(
            LicenseFeature(
                product_sku=_opt_str(item, "productSku", "license.features[]"),
                name=_opt_str(item, "name", "license.features[]"),
                expiration_time=_opt_datetime(item, "expirationTime", "license.features[]"),
            )
            for item in (
                _mapping(raw, "license.features[]")
                for raw in list_field(obj, "features", "license")
            )
        )
        return cls(
            shop_id=_int(obj, "shopId", "license"),
            activation_time=_opt_datetime(obj, "activationTime", "license"),
            expiration_time=_opt_datetime(obj, "expirationTime", "license"),
            remaining_days=_int(obj, "remainingDays", "license"),
            is_expired=_bool(obj, "isExpired", "license"),
            features=features,
        )

    def summary(self) -> dict[str, Any]:
        """Return the compact form events carry, in the server's own field names."""
        expiration = self.expiration_time
        return {
            "shopId": self.shop_id,
            "expirationTime": None if expiration is None else expiration.isoformat(),
            "remainingDays": self.remaining_days,
            "isExpired": self.is_expired,
        }


def _health_status(data: Mapping[str, Any], what: str) -> HealthStatus:
    raw = _str(data, "status", what)
    try:
        return HealthStatus(raw.lower())
    except ValueError as err:
        raise PortosParseError(f"{what}.status: unknown health status {raw[:40]!r}") from err


@dataclass(frozen=True, slots=True)
class HealthEntry:
    """One named check of the health report."""

    status: HealthStatus
    description: str | None


@dataclass(frozen=True, slots=True)
class Health:
    """The server's health report (`GET /api/v2/health`)."""

    status: HealthStatus
    total_duration: str | None
    entries: Mapping[str, HealthEntry]

    @classmethod
    def from_dict(cls, data: object) -> Health:
        """Parse a health report."""
        obj = _mapping(data, "health")
        raw_entries = obj.get("entries") or {}
        entries = {
            str(name): HealthEntry(
                status=_health_status(_mapping(entry, f"health.entries.{name}"), "health.entry"),
                description=_opt_str(entry, "description", "health.entry"),
            )
            for name, entry in _mapping(raw_entries, "health.entries").items()
        }
        return cls(
            status=_health_status(obj, "health"),
            total_duration=_opt_str(obj, "totalDuration", "health"),
            entries=entries,
        )


# --- tickets -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ticket:
    """The ticket fields the integration uses. Open ⇔ closeDate and closeInfo are both null.

    `money` holds the ticket's figures (see TicketMoney), computed once from the parsed object,
    when first asked for. It is None when they could not be read, and `money_error` then says
    why: the ticket still counts as open or closed, only its money is unknown. `raw` is the
    object as received; a Ticket built by hand without it has neither.
    """

    id: str
    name: str | None
    version: int | None
    open_date: datetime | None
    close_date: datetime | None
    closed: bool
    origin_device_name: str | None
    raw: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)
    _money: TicketMoney | PortosParseError | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @property
    def money(self) -> TicketMoney | None:
        """Return the ticket's money figures; None when they could not be read."""
        result = self._money_result()
        return result if isinstance(result, TicketMoney) else None

    @property
    def money_error(self) -> PortosParseError | None:
        """Return why the ticket's money could not be read; None when it could."""
        result = self._money_result()
        return result if isinstance(result, PortosParseError) else None

    def _money_result(self) -> TicketMoney | PortosParseError | None:
        """Compute the money once, from the object the ticket was parsed from."""
        if self._money is None and self.raw is not None:
            try:
                result: TicketMoney | PortosParseError = ticket_money(self.raw, closed=self.closed)
            except PortosParseError as err:
                result = err
            # Frozen for its fields; this cache is not one of them.
            object.__setattr__(self, "_money", result)
        return self._money

    @classmethod
    def from_dict(cls, data: object) -> Ticket:
        """Parse a ticket object; an integer id is accepted and kept as text."""
        obj = _mapping(data, "ticket")
        raw_id = id_text(obj.get("id"))
        if raw_id is None:
            raise PortosParseError("ticket.id: expected a string or an integer")
        close_date = _opt_datetime(obj, "closeDate", "ticket")
        return cls(
            id=raw_id,
            name=_opt_str(obj, "name", "ticket"),
            version=_opt_int(obj, "_v", "ticket"),
            open_date=_opt_datetime(obj, "openDate", "ticket"),
            close_date=close_date,
            closed=close_date is not None or obj.get("closeInfo") is not None,
            origin_device_name=_opt_str(obj, "originDeviceName", "ticket"),
            raw=obj,
        )


# --- notifications -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UserIdentity:
    """Who acted: `{u: user, d: device, f: feature or null}`."""

    user: str | None
    device: str | None
    feature: str | None

    @classmethod
    def from_dict(cls, data: object, what: str) -> UserIdentity:
        """Parse a user identity."""
        obj = _mapping(data, what)
        return cls(
            user=_opt_str(obj, "u", what),
            device=_opt_str(obj, "d", what),
            feature=_opt_str(obj, "f", what),
        )


@dataclass(frozen=True, slots=True)
class NotificationSender:
    """Who sent the notification: `{c: connection id, u: identity}`."""

    connection_id: str | None
    user: UserIdentity | None


@dataclass(frozen=True, slots=True)
class ResourceInfo:
    """The changed resource: `{i: id, n: resource name, v: version or null}`."""

    id: str
    name: str
    version: int | None


@dataclass(frozen=True, slots=True)
class ResourceChangedPayload:
    """The payload of `portos.resources.changed`; `ticket` is the changed ticket, parsed."""

    user: UserIdentity | None
    resource: str
    action: ResourceAction
    info: ResourceInfo
    resources: tuple[Mapping[str, Any], ...]
    ticket: Ticket | None = None

    @classmethod
    def from_dict(cls, data: object) -> ResourceChangedPayload:
        """Parse a resource-changed payload."""
        obj = _mapping(data, "payload")
        raw_action = _int(obj, "a", "payload")
        try:
            action = ResourceAction(raw_action)
        except ValueError as err:
            raise PortosParseError(f"payload.a: unknown action {raw_action}") from err
        info = _mapping(obj.get("i"), "payload.i")
        raw_id = id_text(info.get("i"))
        if raw_id is None:
            raise PortosParseError("payload.i.i: expected a string or an integer")
        resource = _str(obj, "n", "payload")
        user = obj.get("u")
        resources = tuple(_mapping(item, "payload.r[]") for item in list_field(obj, "r", "payload"))
        return cls(
            user=None if user is None else UserIdentity.from_dict(user, "payload.u"),
            resource=resource,
            action=action,
            info=ResourceInfo(
                id=raw_id,
                name=_opt_str(info, "n", "payload.i") or resource,
                version=_opt_int(info, "v", "payload.i"),
            ),
            resources=resources,
            ticket=_changed_ticket(raw_id, resources) if resource == TICKETS else None,
        )


def _changed_ticket(ticket_id: str, objects: tuple[Mapping[str, Any], ...]) -> Ticket | None:
    """Return the changed ticket: the object with the changed id, else the first one.

    Only that object is parsed: a malformed neighbour must not drop the change itself.
    """
    if not objects:
        return None
    obj = next((o for o in objects if id_text(o.get("id")) == ticket_id), objects[0])
    return Ticket.from_dict(obj)


def resource_summary(resource: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    """Return the compact form of a changed object that events carry by default."""
    summary = {"id": obj.get("id"), "name": obj.get("name"), "version": obj.get("_v")}
    if resource == TICKETS:
        summary["open_date"] = obj.get("openDate")
        summary["close_date"] = obj.get("closeDate")
    return summary


@dataclass(frozen=True, slots=True)
class Notification:
    """One `OnEvent` notification. `payload` is parsed for the known events, raw otherwise.

    `raw_payload` is `p` exactly as received, for consumers that pass the server's object on.
    """

    event: str
    sender: NotificationSender | None
    reference: str | None
    created_at: datetime
    expires_at: datetime | None
    payload: ResourceChangedPayload | License | Any
    raw_payload: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: object) -> Notification:
        """Parse a notification; unknown events keep their payload as it came."""
        obj = _mapping(data, "notification")
        event = _str(obj, "e", "notification")
        sender = None
        raw_sender = obj.get("s")
        if raw_sender is not None:
            sender_obj = _mapping(raw_sender, "notification.s")
            raw_user = sender_obj.get("u")
            sender = NotificationSender(
                connection_id=_opt_str(sender_obj, "c", "notification.s"),
                user=None if raw_user is None else UserIdentity.from_dict(raw_user, "sender.u"),
            )
        payload: ResourceChangedPayload | License | Any = obj.get("p")
        if event == EVENT_RESOURCES_CHANGED:
            payload = ResourceChangedPayload.from_dict(payload)
        elif event == EVENT_LICENSE_ACTIVATED:
            payload = License.from_dict(payload)
        return cls(
            event=event,
            sender=sender,
            reference=_opt_str(obj, "r", "notification"),
            created_at=parse_datetime(obj.get("ca"), "notification.ca"),
            expires_at=_opt_datetime(obj, "ea", "notification"),
            payload=payload,
            raw_payload=obj.get("p"),
        )


# --- subscriptions -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubscriptionResource:
    """One resource of a subscription; no actions means all actions."""

    name: str
    actions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Subscription:
    """A `Subscribe`/`Unsubscribe` request; no resources means all resources."""

    event: str
    resources: tuple[SubscriptionResource, ...] = ()

    def to_wire(self) -> dict[str, Any]:
        """Return the request object the hub expects."""
        wire: dict[str, Any] = {"e": self.event}
        if self.resources:
            wire["r"] = [
                {"n": res.name, "a": list(res.actions)} if res.actions else {"n": res.name}
                for res in self.resources
            ]
        return wire
