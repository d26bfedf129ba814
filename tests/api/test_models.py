"""Pure tests of the PORTOS model parsers: every parse error path, tolerance, hidden tokens."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from custom_components.portos.api.exceptions import PortosParseError
from custom_components.portos.api.models import (
    EVENT_LICENSE_ACTIVATED,
    EVENT_RESOURCES_CHANGED,
    AuthResult,
    Health,
    HealthStatus,
    License,
    Notification,
    ResourceAction,
    ResourceChangedPayload,
    Subscription,
    SubscriptionResource,
    Ticket,
    UserIdentity,
    parse_datetime,
)

SECRET_TOKEN = "eyJhbGciOi.secret-access-token.sig"
SECRET_REFRESH = "secret-refresh-token-value"


def _license(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "shopId": 12345,
        "activationTime": "2026-01-01T00:00:00Z",
        "expirationTime": "2027-01-01T00:00:00Z",
        "verificationTime": "2026-11-28T00:00:00Z",
        "verificationInterval": "1.00:00:00",
        "features": [
            {
                "productSku": "POS",
                "name": "Point of sale",
                "rawValue": "x",
                "activationTime": "2026-01-01T00:00:00Z",
                "expirationTime": "2027-01-01T00:00:00Z",
            }
        ],
        "remainingDays": 34,
        "isExpired": False,
        "somethingNew": {"ignored": True},
    }
    data.update(overrides)
    return data


def _payload(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "u": {"u": "admin", "d": "P01", "f": None},
        "n": "tickets",
        "a": 1,
        "i": {"i": "t-1", "n": "tickets", "v": 1},
        "r": [{"id": "t-1", "name": "Table 1", "_v": 1}],
    }
    data.update(overrides)
    return data


def _notification(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "e": EVENT_RESOURCES_CHANGED,
        "s": {"c": "conn-1", "u": {"u": "SYSTEM", "d": "SYSTEM", "f": None}},
        "r": None,
        "ca": "2026-11-28T10:00:00.123Z",
        "ea": None,
        "p": _payload(),
    }
    data.update(overrides)
    return data


# --- auth ----------------------------------------------------------------------------------------


def test_auth_result_full_reply() -> None:
    auth = AuthResult.from_dict(
        {
            "tokenId": SECRET_TOKEN,
            "refreshToken": SECRET_REFRESH,
            "user": {
                "id": 1,
                "name": "Admin",
                "userName": "admin",
                "rights": ["all"],
                "device": {"name": "HomeAssistant", "envName": "Tool", "settings": {}},
            },
            "extra": 1,
        }
    )
    assert auth.token == SECRET_TOKEN
    assert auth.refresh_token == SECRET_REFRESH
    assert (auth.user_name, auth.device_name, auth.device_env) == ("admin", "HomeAssistant", "Tool")


def test_auth_result_repr_hides_tokens() -> None:
    auth = AuthResult.from_dict({"tokenId": SECRET_TOKEN, "refreshToken": SECRET_REFRESH})
    text = f"{auth!r} {auth!s}"
    assert SECRET_TOKEN not in text
    assert SECRET_REFRESH not in text
    assert "user_name=None" in text


@pytest.mark.parametrize(
    "user",
    [None, "not an object", {"userName": "admin"}, {"userName": "admin", "device": "odd"}],
    ids=["no-user", "user-not-object", "no-device", "device-not-object"],
)
def test_auth_result_tolerates_missing_user_parts(user: object) -> None:
    auth = AuthResult.from_dict({"tokenId": "t", "refreshToken": "r", "user": user})
    assert auth.device_env is None
    assert auth.device_name is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "auth: expected an object, got list"),
        ({"refreshToken": "r"}, "auth.tokenId: expected a string, got NoneType"),
        ({"tokenId": "t", "refreshToken": 5}, "auth.refreshToken: expected a string, got int"),
        (
            {"tokenId": "t", "refreshToken": "r", "user": {"userName": 7}},
            "auth.user.userName: expected a string or null, got int",
        ),
        (
            {"tokenId": "t", "refreshToken": "r", "user": {"device": {"envName": []}}},
            "auth.user.device.envName: expected a string or null, got list",
        ),
    ],
)
def test_auth_result_parse_errors(data: object, message: str) -> None:
    with pytest.raises(PortosParseError) as err:
        AuthResult.from_dict(data)
    assert str(err.value) == message


def test_auth_parse_error_does_not_echo_the_token() -> None:
    with pytest.raises(PortosParseError) as err:
        AuthResult.from_dict({"tokenId": SECRET_TOKEN, "refreshToken": {"x": SECRET_REFRESH}})
    assert SECRET_TOKEN not in str(err.value)
    assert SECRET_REFRESH not in str(err.value)


# --- license -------------------------------------------------------------------------------------


def test_license_full() -> None:
    shop_license = License.from_dict(_license())
    assert shop_license.shop_id == 12345
    assert shop_license.remaining_days == 34
    assert shop_license.is_expired is False
    assert shop_license.activation_time == datetime(2026, 1, 1, tzinfo=UTC)
    assert shop_license.expiration_time == datetime(2027, 1, 1, tzinfo=UTC)
    assert len(shop_license.features) == 1
    feature = shop_license.features[0]
    assert (feature.product_sku, feature.name) == ("POS", "Point of sale")
    assert feature.expiration_time == datetime(2027, 1, 1, tzinfo=UTC)


def test_license_minimal() -> None:
    shop_license = License.from_dict(
        {"shopId": 1, "remainingDays": 0, "isExpired": True, "features": None}
    )
    assert shop_license.features == ()
    assert shop_license.activation_time is None
    assert shop_license.expiration_time is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"shopId": "12345"}, "license.shopId: expected an integer, got str"),
        ({"shopId": True}, "license.shopId: expected an integer, got bool"),
        ({"remainingDays": 1.5}, "license.remainingDays: expected an integer, got float"),
        ({"isExpired": "false"}, "license.isExpired: expected a boolean, got str"),
        ({"features": {}}, "license.features: expected a list, got dict"),
        ({"features": ["POS"]}, "license.features[]: expected an object, got str"),
        (
            {"features": [{"productSku": 1}]},
            "license.features[].productSku: expected a string or null, got int",
        ),
        ({"expirationTime": 5}, "license.expirationTime: expected an ISO 8601 string, got int"),
        (
            {"activationTime": "yesterday"},
            "license.activationTime: not an ISO 8601 timestamp: 'yesterday'",
        ),
    ],
)
def test_license_parse_errors(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(PortosParseError) as err:
        License.from_dict(_license(**overrides))
    assert str(err.value) == message


def test_license_not_an_object() -> None:
    with pytest.raises(PortosParseError, match="license: expected an object, got NoneType"):
        License.from_dict(None)


def test_parse_datetime_takes_naive_values_as_utc_and_truncates_bad_text() -> None:
    assert parse_datetime("2026-11-28T10:00:00", "x") == datetime(2026, 11, 28, 10, tzinfo=UTC)
    assert parse_datetime("2026-11-28T11:00:00+01:00", "x") == datetime(
        2026, 11, 28, 10, tzinfo=UTC
    )
    with pytest.raises(PortosParseError) as err:
        parse_datetime("x" * 100, "when")
    assert str(err.value) == f"when: not an ISO 8601 timestamp: {'x' * 40!r}"


# --- health --------------------------------------------------------------------------------------


def test_health_full_and_case_insensitive() -> None:
    health = Health.from_dict(
        {
            "status": "Degraded",
            "totalDuration": "00:00:00.01",
            "entries": {
                "diskstorage": {"status": "HEALTHY", "description": None, "duration": "0"},
                "license": {
                    "status": "unhealthy",
                    "description": "License expired",
                    "data": {"remaningDays": 0},
                },
            },
        }
    )
    assert health.status is HealthStatus.DEGRADED
    assert health.total_duration == "00:00:00.01"
    assert health.entries["diskstorage"].status is HealthStatus.HEALTHY
    assert health.entries["diskstorage"].description is None
    assert health.entries["license"].status is HealthStatus.UNHEALTHY
    assert health.entries["license"].description == "License expired"


@pytest.mark.parametrize("entries", [None, {}], ids=["null", "empty"])
def test_health_without_entries(entries: object) -> None:
    health = Health.from_dict({"status": "Healthy", "entries": entries})
    assert health.entries == {}
    assert health.total_duration is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("Healthy", "health: expected an object, got str"),
        ({}, "health.status: expected a string, got NoneType"),
        ({"status": "Fine"}, "health.status: unknown health status 'Fine'"),
        (
            {"status": "Healthy", "entries": ["disk"]},
            "health.entries: expected an object, got list",
        ),
        (
            {"status": "Healthy", "entries": {"disk": "ok"}},
            "health.entries.disk: expected an object, got str",
        ),
        (
            {"status": "Healthy", "entries": {"disk": {"status": "meh"}}},
            "health.entry.status: unknown health status 'meh'",
        ),
        (
            {"status": "Healthy", "entries": {"disk": {"status": "Healthy", "description": 1}}},
            "health.entry.description: expected a string or null, got int",
        ),
        (
            {"status": "Healthy", "totalDuration": 0.01},
            "health.totalDuration: expected a string or null, got float",
        ),
    ],
)
def test_health_parse_errors(data: object, message: str) -> None:
    with pytest.raises(PortosParseError) as err:
        Health.from_dict(data)
    assert str(err.value) == message


# --- tickets -------------------------------------------------------------------------------------


def test_ticket_open() -> None:
    ticket = Ticket.from_dict(
        {
            "id": "t-1",
            "name": "Table 1",
            "_v": 3,
            "openDate": "2026-11-28T10:00:00Z",
            "closeDate": None,
            "closeInfo": None,
            "originDeviceName": "P01",
            "items": [{"unitPrice": 1.5}],
        }
    )
    assert ticket.id == "t-1"
    assert ticket.name == "Table 1"
    assert ticket.version == 3
    assert ticket.open_date == datetime(2026, 11, 28, 10, tzinfo=UTC)
    assert ticket.close_date is None
    assert ticket.closed is False
    assert ticket.origin_device_name == "P01"


def test_ticket_closed_by_close_date_or_close_info() -> None:
    by_date = Ticket.from_dict({"id": 7, "closeDate": "2026-11-28T11:00:00Z"})
    assert by_date.id == "7"
    assert by_date.closed is True
    assert by_date.version is None
    by_info = Ticket.from_dict({"id": "t", "closeInfo": {"deviceName": "P01"}})
    assert by_info.closed is True
    assert by_info.close_date is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (["t"], "ticket: expected an object, got list"),
        ({}, "ticket.id: expected a string or an integer"),
        ({"id": True}, "ticket.id: expected a string or an integer"),
        ({"id": 1.5}, "ticket.id: expected a string or an integer"),
        ({"id": "t", "_v": "1"}, "ticket._v: expected an integer, got str"),
        ({"id": "t", "name": 5}, "ticket.name: expected a string or null, got int"),
        ({"id": "t", "openDate": "now"}, "ticket.openDate: not an ISO 8601 timestamp: 'now'"),
    ],
)
def test_ticket_parse_errors(data: object, message: str) -> None:
    with pytest.raises(PortosParseError) as err:
        Ticket.from_dict(data)
    assert str(err.value) == message


# --- notifications -------------------------------------------------------------------------------


def test_resource_changed_notification() -> None:
    notification = Notification.from_dict(_notification())
    assert notification.event == EVENT_RESOURCES_CHANGED
    assert notification.sender is not None
    assert notification.sender.connection_id == "conn-1"
    assert notification.sender.user == UserIdentity(user="SYSTEM", device="SYSTEM", feature=None)
    assert notification.reference is None
    assert notification.created_at == datetime(2026, 11, 28, 10, 0, 0, 123000, tzinfo=UTC)
    assert notification.expires_at is None
    payload = notification.payload
    assert isinstance(payload, ResourceChangedPayload)
    assert payload.action is ResourceAction.CREATED
    assert payload.resource == "tickets"
    assert payload.user == UserIdentity(user="admin", device="P01", feature=None)
    assert (payload.info.id, payload.info.name, payload.info.version) == ("t-1", "tickets", 1)
    assert payload.resources == ({"id": "t-1", "name": "Table 1", "_v": 1},)


def test_resource_changed_payload_tolerances() -> None:
    payload = ResourceChangedPayload.from_dict(
        _payload(a=3, u=None, i={"i": 42}, r=None, extra="ignored")
    )
    assert payload.action is ResourceAction.DELETED
    assert payload.user is None
    assert payload.info.id == "42"
    assert payload.info.name == "tickets"  # falls back to the payload's resource name
    assert payload.info.version is None
    assert payload.resources == ()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"a": 9}, "payload.a: unknown action 9"),
        ({"a": "1"}, "payload.a: expected an integer, got str"),
        ({"i": None}, "payload.i: expected an object, got NoneType"),
        ({"i": {"i": None}}, "payload.i.i: expected a string or an integer"),
        ({"i": {"i": False}}, "payload.i.i: expected a string or an integer"),
        ({"i": {"i": "x", "v": "2"}}, "payload.i.v: expected an integer, got str"),
        ({"i": {"i": "x", "n": 3}}, "payload.i.n: expected a string or null, got int"),
        ({"n": None}, "payload.n: expected a string, got NoneType"),
        ({"u": "admin"}, "payload.u: expected an object, got str"),
        ({"u": {"u": 1}}, "payload.u.u: expected a string or null, got int"),
        ({"r": {"id": 1}}, "payload.r: expected a list, got dict"),
        ({"r": [1]}, "payload.r[]: expected an object, got int"),
    ],
)
def test_resource_changed_payload_parse_errors(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(PortosParseError) as err:
        Notification.from_dict(_notification(p=_payload(**overrides)))
    assert str(err.value) == message


def test_license_activated_notification() -> None:
    notification = Notification.from_dict(
        _notification(e=EVENT_LICENSE_ACTIVATED, s=None, r="ref-1", p=_license())
    )
    assert notification.sender is None
    assert notification.reference == "ref-1"
    assert isinstance(notification.payload, License)
    assert notification.payload.shop_id == 12345
    # The server's object stays available as sent, and stays out of repr and equality.
    assert notification.raw_payload == _license()
    assert "raw_payload" not in repr(notification)


def test_unknown_event_keeps_raw_payload() -> None:
    raw = {"anything": [1, 2, 3]}
    notification = Notification.from_dict(
        _notification(e="portos.something.new", p=raw, ea="2026-11-29T10:00:00Z", extra=1)
    )
    assert notification.payload == raw
    assert notification.expires_at == datetime(2026, 11, 29, 10, tzinfo=UTC)


def test_sender_without_user() -> None:
    notification = Notification.from_dict(_notification(s={"c": None}))
    assert notification.sender is not None
    assert notification.sender.connection_id is None
    assert notification.sender.user is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("frame", "notification: expected an object, got str"),
        (_notification(e=None), "notification.e: expected a string, got NoneType"),
        (_notification(s=[]), "notification.s: expected an object, got list"),
        (_notification(s={"c": 1}), "notification.s.c: expected a string or null, got int"),
        (_notification(s={"u": 1}), "sender.u: expected an object, got int"),
        (_notification(r=1), "notification.r: expected a string or null, got int"),
        (_notification(ca=None), "notification.ca: expected an ISO 8601 string, got NoneType"),
        (_notification(ea="never"), "notification.ea: not an ISO 8601 timestamp: 'never'"),
        (
            _notification(e=EVENT_LICENSE_ACTIVATED, p=None),
            "license: expected an object, got NoneType",
        ),
    ],
)
def test_notification_parse_errors(data: object, message: str) -> None:
    with pytest.raises(PortosParseError) as err:
        Notification.from_dict(data)
    assert str(err.value) == message


# --- subscriptions and enums ---------------------------------------------------------------------


def test_subscription_to_wire() -> None:
    assert Subscription(EVENT_LICENSE_ACTIVATED).to_wire() == {"e": EVENT_LICENSE_ACTIVATED}
    subscription = Subscription(
        EVENT_RESOURCES_CHANGED,
        (
            SubscriptionResource("tickets", ("created", "updated", "deleted")),
            SubscriptionResource("devices"),
        ),
    )
    assert subscription.to_wire() == {
        "e": EVENT_RESOURCES_CHANGED,
        "r": [{"n": "tickets", "a": ["created", "updated", "deleted"]}, {"n": "devices"}],
    }


def test_resource_action_wire_names() -> None:
    assert [action.wire_name for action in ResourceAction] == ["created", "updated", "deleted"]
