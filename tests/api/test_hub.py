"""PortosHub against the simulator on 127.0.0.1: delivery, filters, bad input, tokens, secrets."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
import json
import logging
from pathlib import Path
import subprocess
import sys
import threading
from typing import TYPE_CHECKING, Any

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
import pytest
from yarl import URL

from custom_components.portos.api import hub as hub_module
from custom_components.portos.api.exceptions import (
    PortosAuthenticationError,
    PortosConnectionError,
    PortosParseError,
    PortosServerError,
)
from custom_components.portos.api.hub import HubStats, PortosHub, jittered
from custom_components.portos.api.hub_connection import _connection_id, describe
from custom_components.portos.api.hub_protocol import (
    HANDSHAKE_REQUEST,
    PING_RECORD,
    BadRecordError,
    Close,
    Completion,
    Invocation,
    Ping,
    decode_record,
    encode_invocation,
    parse_handshake,
)
from custom_components.portos.api.models import (
    EVENT_LICENSE_ACTIVATED,
    EVENT_RESOURCES_CHANGED,
    License,
    ResourceAction,
    Subscription,
    SubscriptionResource,
)
from tests.api.hub_support import (
    ALL_TICKETS,
    HUB_LOGGER,
    HubHarness,
    assert_no_secret_logged,
    changed,
    connects_reach,
    hub_records,
    hub_tasks,
    own_threads,
    retry_pauses,
)
from tests.common import until

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from simulator.server import Simulator
    from tests.api.hub_support import HarnessFactory
    from tests.till import Till

LICENSE = Subscription(EVENT_LICENSE_ACTIVATED)
CREATED_AT = "2026-11-28T10:00:00Z"
API = Path(__file__).resolve().parents[2] / "custom_components" / "portos" / "api"


async def test_delivers_every_ticket_change_on_the_loop_thread(
    simulator: Simulator, harness: HarnessFactory, till: Till
) -> None:
    """Create, update, close and delete arrive in order, each callback on the loop's thread."""
    item = await harness(simulator.url)
    await item.hub.subscribe(ALL_TICKETS)
    await item.start()
    assert item.hub.connected
    assert item.hub.subscriptions == (ALL_TICKETS,)

    ticket = await till.create_ticket("Table 1")
    await till.update_ticket(ticket["id"], note="two espressos")
    await till.delete_ticket(ticket["id"])
    other = await till.create_ticket("Table 2")
    await till.close_ticket(other["id"])
    await until(lambda: len(item.notifications) == 5)

    actions = [changed(n).action for n in item.notifications]
    assert actions == [
        ResourceAction.CREATED,
        ResourceAction.UPDATED,
        ResourceAction.DELETED,
        ResourceAction.CREATED,
        ResourceAction.UPDATED,
    ]
    assert [changed(n).info.version for n in item.notifications] == [1, 2, 3, 1, 2]
    user = changed(item.notifications[0]).user
    assert user is not None
    assert user.device == "P01"
    assert item.callback_threads == {threading.get_ident()}
    assert item.changes == [True]
    stats = item.hub.stats
    assert (stats.connects, stats.disconnects, stats.notifications) == (1, 0, 5)
    # When the last message came, on the wall clock, as a reader of diagnostics wants it.
    assert stats.last_message_at is not None
    assert stats.last_message_at.tzinfo is UTC
    assert abs(datetime.now(UTC) - stats.last_message_at) < timedelta(minutes=1)
    # stats is a snapshot: changing it changes nothing in the hub.
    stats.connects = 99
    assert item.hub.stats.connects == 1


async def test_subscription_filters(
    simulator: Simulator, harness: HarnessFactory, till: Till
) -> None:
    """Resource and action filters, the license event and unsubscribe all hold."""
    item = await harness(simulator.url)
    deletes_only = Subscription(
        EVENT_RESOURCES_CHANGED, (SubscriptionResource("tickets", ("deleted",)),)
    )
    devices = Subscription(EVENT_RESOURCES_CHANGED, (SubscriptionResource("devices"),))
    await item.hub.subscribe(devices)
    await item.start()
    await item.hub.subscribe(deletes_only)  # sent on the live connection
    await item.hub.subscribe(LICENSE)

    first = await till.create_ticket("Table 1")
    await till.update_ticket(first["id"], note="x")
    await till.delete_ticket(first["id"])
    await till.activate_license()
    # The license notification is sent after the ticket ones on the same connection.
    await until(lambda: any(n.event == EVENT_LICENSE_ACTIVATED for n in item.notifications))
    assert [n.event for n in item.notifications] == [
        EVENT_RESOURCES_CHANGED,
        EVENT_LICENSE_ACTIVATED,
    ]
    assert changed(item.notifications[0]).action == ResourceAction.DELETED
    assert isinstance(item.notifications[1].payload, License)

    await item.hub.unsubscribe(deletes_only)
    assert item.hub.subscriptions == (devices, LICENSE)
    second = await till.create_ticket("Table 2")
    await till.delete_ticket(second["id"])
    await till.activate_license()
    await until(lambda: len(item.notifications) == 3)
    assert item.notifications[2].event == EVENT_LICENSE_ACTIVATED


async def test_subscribe_is_idempotent_and_unsubscribe_of_unknown_is_harmless(
    simulator: Simulator, harness: HarnessFactory, till: Till
) -> None:
    """The same subscription twice is sent once: one change gives one notification."""
    item = await harness(simulator.url)
    await item.hub.unsubscribe(LICENSE)  # never subscribed, not connected: nothing happens
    await item.hub.subscribe(ALL_TICKETS)
    await item.hub.subscribe(ALL_TICKETS)
    await item.start()
    await item.hub.subscribe(ALL_TICKETS)
    await item.hub.unsubscribe(LICENSE)
    await till.create_ticket("Table 1")
    await till.activate_license()  # not subscribed: nothing arrives for it
    await till.create_ticket("Table 2")
    await until(lambda: len(item.notifications) == 2)
    assert [name for _, name, _ in item.events()] == ["Table 1", "Table 2"]
    assert simulator.state.hub.stats.invocations == 1


async def test_malformed_frames_and_notifications_are_counted_and_survived(
    simulator: Simulator,
    harness: HarnessFactory,
    till: Till,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Bad records and bad notifications are logged once, counted, reported; the hub goes on."""
    caplog.set_level(logging.DEBUG, logger=HUB_LOGGER)
    item = await harness(simulator.url)
    await item.hub.subscribe(ALL_TICKETS)
    await item.start()

    bad_frames = [
        "garbage\x1e",  # not JSON
        "[1, 2]\x1e",  # not an object
        '{"type": 99}\x1e',  # no such message type
        '{"type": -1}\x1e',  # a type signalrcore has no message for
        '{"type": 2, "invocationId": "1", "item": 1}\x1e',  # a stream item we never asked for
        '{"type": 1, "target": "OnEvent"}\x1e',  # no arguments
        'nope\x1e{"type": 6}\x1e',  # one bad record and a good ping in one frame
    ]
    for frame in bad_frames:
        await till.emit_raw(frame)
    await till.emit_raw("{}\x1e\x1e \x1e")  # empty records are skipped silently
    await till.emit_raw('{"type": 1, "target": "Shutdown", "arguments": []}\x1e')
    await till.emit_raw('{"type": 1, "target": "OnEvent", "arguments": []}\x1e')
    await till.emit_raw('{"type": 1, "target": "OnEvent", "arguments": "x"}\x1e')
    # Completions nobody waits for (one with an error) are not bad input: debug only.
    await till.emit_raw('{"type": 3, "invocationId": "stray", "error": "boom"}\x1e')
    await till.emit_raw('{"type": 3, "invocationId": "stray", "result": null}\x1e')
    await till.emit({"e": EVENT_RESOURCES_CHANGED, "ca": CREATED_AT})  # no payload
    await till.emit({"e": "portos.unknown.event", "ca": CREATED_AT, "p": {"x": 1}})
    await till.create_ticket("After the noise")
    await until(lambda: len(item.notifications) == 2)

    stats = item.hub.stats
    assert stats.malformed == len(bad_frames) + 3
    assert stats.unknown_events == 2  # the Shutdown method and the unknown event
    assert stats.notifications == 2
    assert (stats.connects, stats.disconnects) == (1, 0)
    assert item.hub.connected
    unknown, good = item.notifications
    assert unknown.event == "portos.unknown.event"
    assert unknown.payload == {"x": 1}
    assert changed(good).resources[0]["name"] == "After the noise"
    assert len(item.errors) == stats.malformed
    assert all(isinstance(err, PortosParseError) for err in item.errors)
    assert item.callback_threads == {threading.get_ident()}

    warnings = [r.getMessage() for r in hub_records(caplog) if r.levelno == logging.WARNING]
    # One warning per kind of bad input; repeats go to debug.
    assert len([w for w in warnings if "malformed hub message" in w]) == 1
    assert len([w for w in warnings if "malformed notification" in w]) == 1
    assert len([w for w in warnings if "unknown hub method" in w]) == 1
    assert len([w for w in warnings if "unknown event" in w]) == 1
    debug = [r.getMessage() for r in hub_records(caplog) if r.levelno == logging.DEBUG]
    assert any("malformed hub message" in d for d in debug)
    assert any("nobody waits for (error: boom)" in d for d in debug)
    assert any("nobody waits for (error: none)" in d for d in debug)


async def test_records_that_crashed_signalrcore_are_counted_and_the_connection_kept(
    simulator: Simulator, harness: HarnessFactory, till: Till
) -> None:
    """Records that pass JSON parsing but would make signalrcore raise are malformed input.

    Each of them, given to signalrcore's own reader, raised in its thread and dropped the
    connection (uncounted): json.loads raises RecursionError, not ValueError, on deep nesting;
    a completion's error must be a string (it takes len()); ids and targets must be hashable.
    """
    item = await harness(simulator.url)
    await item.hub.subscribe(ALL_TICKETS)
    await item.start()
    frames = [
        "[" * 100_000,  # RecursionError in json.loads
        '{"type": 3, "invocationId": "zz", "error": 5}',  # len(5)
        '{"type": 3, "invocationId": ["zz"]}',  # unhashable id
        '{"type": 1, "target": ["OnEvent"], "arguments": [{}]}',  # unhashable target
        '{"type": 1, "target": "OnEvent", "arguments": [{}], "invocationId": 7}',
        '{"type": 1, "target": "OnEvent", "arguments": [{}], "headers": []}',
        '{"type": 1, "target": "OnEvent", "arguments": [{}], "message_type": 1}',  # kwarg clash
        '{"type": true, "target": "OnEvent", "arguments": [{}]}',  # a bool is no type
        '{"target": "OnEvent", "arguments": [{}]}',  # no type at all
        '{"type": 7, "error": 5}',
        '{"type": 7, "allowReconnect": "yes"}',
    ]

    def delivered(count: int) -> Callable[[], bool]:
        return lambda: len(item.notifications) == count

    for number, frame in enumerate(frames, start=1):
        await till.emit_raw(frame + "\x1e")
        await till.create_ticket(f"After frame {number}")
        await until(delivered(number), what=frame[:60])
        stats = item.hub.stats
        assert stats.malformed == number, frame[:60]
        assert (stats.connects, stats.disconnects) == (1, 0), frame[:60]
        assert item.hub.connected
    assert [name for _, name, _ in item.events()] == [
        f"After frame {number}" for number in range(1, len(frames) + 1)
    ]
    assert all(isinstance(err, PortosParseError) for err in item.errors)


async def test_rejected_subscriptions_are_reported_and_the_hub_stays_connected(
    simulator: Simulator, harness: HarnessFactory, till: Till
) -> None:
    """A Subscribe the server refuses (at connect or later) is an on_error, not a reconnect."""
    item = await harness(simulator.url)
    no_event = Subscription("")
    bad_action = Subscription(
        EVENT_RESOURCES_CHANGED, (SubscriptionResource("tickets", ("closed",)),)
    )
    await item.hub.subscribe(no_event)
    await item.hub.subscribe(ALL_TICKETS)
    await item.start()
    await item.hub.subscribe(bad_action)
    assert [type(err) for err in item.errors] == [PortosServerError, PortosServerError]
    assert "event name" in str(item.errors[0])
    assert "actions among created, updated, deleted" in str(item.errors[1])
    stats = item.hub.stats
    assert (stats.errors, stats.connects, stats.disconnects) == (2, 1, 0)
    await till.create_ticket("Still subscribed")
    await until(lambda: len(item.notifications) == 1)


async def test_callback_errors_are_logged_and_do_not_stop_delivery(
    simulator: Simulator,
    session: aiohttp.ClientSession,
    till: Till,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A raising user callback is logged; the next notification still arrives."""
    client = HubHarness(session, simulator.url).client
    seen: list[str] = []

    def on_notification(notification: Any) -> None:
        seen.append(notification.payload.resources[0]["name"])
        if len(seen) == 1:
            raise RuntimeError("integration bug")

    hub = PortosHub(session, client.hub_url, client.get_token, on_notification=on_notification)
    await hub.subscribe(ALL_TICKETS)
    await hub.start()
    await hub.start()  # a second start() is a no-op
    try:
        assert await hub.wait_connected(15)
        await till.create_ticket("First")
        await till.create_ticket("Second")
        await until(lambda: len(seen) == 2)
        assert "Error in a PORTOS hub callback" in caplog.text
        assert hub.stats.notifications == 2
    finally:
        await hub.stop()
        await hub.stop()  # a second stop() is a no-op
    assert not hub.connected
    assert hub.stats.disconnects == 1


async def test_no_callback_after_stop(
    simulator: Simulator, harness: HarnessFactory, till: Till
) -> None:
    """stop() in the middle of a burst: no notification or change is delivered after it."""
    item = await harness(simulator.url)
    await item.hub.subscribe(ALL_TICKETS)
    await item.start()
    load = asyncio.create_task(till.load(10_000, rate=0))
    await until(lambda: len(item.notifications) >= 100)
    await item.hub.stop()
    delivered = len(item.notifications)
    await load
    await asyncio.sleep(0.2)
    assert len(item.notifications) == delivered < 10_000
    assert item.changes == [True]
    assert item.hub.stats.disconnects == 1


async def test_rejected_token_asks_for_a_fresh_one_at_once_then_reports_auth_error(
    simulator: Simulator,
    harness: HarnessFactory,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 401 gets a fresh token without a backoff step; a fresh one refused too is reported.

    Then the hub waits at least the long auth backoff before it asks for a login again.
    """
    caplog.set_level(logging.DEBUG, logger=HUB_LOGGER)
    monkeypatch.setattr(hub_module, "_AUTH_FAILURE_BACKOFF", 0.2)
    calls: list[bool] = []

    async def bad_token(force_new: bool) -> str:
        calls.append(force_new)
        return "not-a-valid-token"

    item = await harness(simulator.url, token_provider=bad_token)
    await item.hub.start()
    await until(lambda: len(item.errors) >= 2)
    assert calls[:3] == [False, True, True]
    assert all(isinstance(err, PortosAuthenticationError) for err in item.errors)
    assert not item.hub.connected
    assert item.changes == []
    assert "401 on negotiate" in (item.hub.stats.last_error or "")
    # No backoff between the first 401 and the fresh token; the long pause after the report.
    assert retry_pauses(caplog)[0] == 0.2
    assert len(retry_pauses(caplog)) == len(item.errors)


async def test_token_provider_failures_are_retried(
    simulator: Simulator, harness: HarnessFactory
) -> None:
    """A failing or crashing token provider never kills the loop; a good token connects."""
    calls: list[bool] = []
    made: list[HubHarness] = []

    async def flaky(force_new: bool) -> str:
        calls.append(force_new)
        if len(calls) == 1:
            raise PortosConnectionError("server down")
        if len(calls) == 2:
            raise RuntimeError("a bug in the provider")
        return await made[0].client.get_token(force_new)

    real = await harness(simulator.url, token_provider=flaky)
    made.append(real)
    await real.start()
    assert real.hub.stats.errors == 2
    assert real.errors == []  # connection problems are not reported to on_error
    assert real.hub.stats.connects == 1


async def test_paused_hub_backs_off_then_connects(
    simulator: Simulator, harness: HarnessFactory, till: Till
) -> None:
    """While the hub answers 503 the hub retries with backoff; after resume it connects."""
    await till.pause_hub()
    item = await harness(simulator.url)
    await item.hub.start()
    await until(lambda: item.hub.stats.errors >= 3)
    assert "503" in (item.hub.stats.last_error or "")
    assert not item.hub.connected
    assert not await item.hub.wait_connected(0.01)
    await till.resume_hub()
    assert await item.hub.wait_connected(15)
    assert item.changes == [True]


async def test_no_task_or_thread_left_after_50_start_stop_cycles(
    simulator: Simulator, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """stop() ends the hub's tasks and closes its connection, connected or still connecting."""
    threads = own_threads()
    client = HubHarness(session, simulator.url).client
    for cycle in range(50):
        hub = PortosHub(session, client.hub_url, client.get_token, on_notification=print)
        await hub.subscribe(ALL_TICKETS)
        await hub.start()
        if cycle % 5:
            assert await hub.wait_connected(15)
        else:
            # Stop while the connection is still being set up.
            await asyncio.sleep(0.01 * (cycle % 3))
        await hub.stop()
        assert hub_tasks() == [], cycle
    assert own_threads() <= threads
    await until(lambda: simulator.state.hub.connections == {})
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_stop_does_not_wait_for_a_silent_server(
    simulator_factory: Callable[..., Awaitable[Simulator]], harness: HarnessFactory
) -> None:
    """stop() closes the connection itself instead of waiting for the server's next frame."""
    sim = await simulator_factory(keepalive=3600, client_timeout=3600)
    item = await harness(sim.url, keepalive=3600, stop_timeout=5)
    await item.start()
    await asyncio.wait_for(item.hub.stop(), 30)
    assert hub_tasks() == []
    await until(lambda: sim.state.hub.connections == {})


async def test_no_secret_reaches_any_log_record_or_error(
    simulator: Simulator,
    harness: HarnessFactory,
    till: Till,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """At DEBUG, over connect, subscribe, notify, a 401 reconnect and stop, no token is logged.

    Neither the bearer tokens nor the connection tokens negotiate handed out (the WebSocket
    URL's `id`) appear in any record of any logger, nor in the hub's errors.
    """
    caplog.set_level(logging.DEBUG)
    item = await harness(simulator.url)
    await item.hub.subscribe(ALL_TICKETS)
    await item.start()
    connection_tokens = {conn.token for conn in simulator.state.hub.connections.values()}
    await till.create_ticket("Table 1")
    await until(lambda: len(item.notifications) == 1)
    await till.expire_tokens()
    await till.drop_hub()
    await connects_reach(item, 2)
    connection_tokens |= {conn.token for conn in simulator.state.hub.connections.values()}
    await item.hub.unsubscribe(ALL_TICKETS)
    await item.hub.stop()

    tokens = {token for _, token in item.tokens}
    assert len(tokens) == 2  # the first one and the fresh one after the 401
    assert len(connection_tokens) == 2
    assert any(force_new for force_new, _ in item.tokens)
    # The test can fail: the hub did log at debug about this connection's life.
    assert any("401 on negotiate" in r.getMessage() for r in hub_records(caplog))
    secrets = tokens | connection_tokens
    assert_no_secret_logged(caplog.records, secrets)
    assert all(secret not in (item.hub.stats.last_error or "") for secret in secrets)


def test_hub_stats_defaults() -> None:
    """A new hub starts with zero counters and is not connected."""

    async def provider(_force_new: bool) -> str:
        return "token"  # pragma: no cover - never called

    session: Any = None  # never used before start()
    hub = PortosHub(
        session, "http://127.0.0.1:1/signalr/v1/mainHub", provider, on_notification=print
    )
    assert hub.stats == HubStats()
    assert not hub.connected
    assert hub.subscriptions == ()
    assert {EVENT_RESOURCES_CHANGED, EVENT_LICENSE_ACTIVATED} == hub_module.KNOWN_EVENTS


def test_jitter_stays_within_half_and_full_delay() -> None:
    """Backoff jitter never exceeds the delay and never drops below half of it."""
    values = [jittered(2.0) for _ in range(200)]
    assert all(1.0 <= value <= 2.0 for value in values)
    assert len(set(values)) > 1


# --- the protocol seam and the transport's pure parts ---------------------------------------------


def test_messages_are_built_with_signalrcore_without_headers() -> None:
    """Handshake, ping and invocation records as the JSON hub protocol wants them."""
    assert json.loads(HANDSHAKE_REQUEST.removesuffix("\x1e")) == {"protocol": "json", "version": 1}
    assert json.loads(PING_RECORD.removesuffix("\x1e")) == {"type": 6}
    record = encode_invocation("Subscribe", [{"e": "x"}], "7")
    assert record.endswith("\x1e")
    assert record.count("\x1e") == 1
    assert json.loads(record[:-1]) == {
        "type": 1,
        "invocationId": "7",
        "target": "Subscribe",
        "arguments": [{"e": "x"}],
    }


def test_records_are_read_with_signalrcore_into_typed_messages() -> None:
    """Each accepted record type becomes its typed message; `{}` is nothing."""
    assert decode_record('{"type":1,"target":"OnEvent","arguments":[1]}') == Invocation(
        "OnEvent", [1]
    )
    assert decode_record('{"type":3,"invocationId":"1","result":null}') == Completion("1", None)
    assert decode_record('{"type":3,"invocationId":"1","error":"no"}') == Completion("1", "no")
    assert decode_record('{"type":6}') == Ping()
    assert decode_record('{"type":7,"error":"bye","allowReconnect":true}') == Close("bye", True)
    assert decode_record("{}") is None
    with pytest.raises(BadRecordError) as err:
        decode_record('{"type": 1, "target": "x"}')
    assert err.value.reason == "no arguments"
    assert err.value.excerpt == repr('{"type": 1, "target": "x"}')


@pytest.mark.parametrize(
    ("reply", "error"), [("{}", None), ('{"error":"No."}', "No."), ('{"error":5}', "5")]
)
def test_handshake_replies(reply: str, error: str | None) -> None:
    """A handshake reply is accepted or names its error."""
    assert parse_handshake(reply) == error


@pytest.mark.parametrize("reply", ["", "nope", "[1]", "5", "[" * 100_000])
def test_unusable_handshake_replies(reply: str) -> None:
    """Whatever signalrcore's decoder raises on, one error comes out."""
    with pytest.raises(BadRecordError, match="handshake reply is not a JSON object"):
        parse_handshake(reply)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"negotiateVersion": 1, "connectionId": "a", "connectionToken": "t"}, "t"),
        ({"negotiateVersion": 0, "connectionId": "a"}, "a"),
        ({"connectionId": "a"}, "a"),  # no version: 0
        ({"negotiateVersion": 1, "connectionId": "a"}, "a"),  # a v1 reply without its token
        (
            {
                "connectionId": "a",
                "availableTransports": [
                    {"transport": "LongPolling"},
                    {"transport": "WebSockets", "transferFormats": ["Text"]},
                ],
            },
            "a",
        ),
    ],
)
def test_negotiate_replies_give_the_websocket_id(body: dict[str, Any], expected: str) -> None:
    """v1 uses the connectionToken, v0 the connectionId."""
    assert _connection_id(json.dumps(body).encode()) == expected


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>", "not JSON"),
        (b"[1]", "not a JSON object"),
        (b'{"error": "Negotiate refused."}', "Hub negotiate refused: Negotiate refused."),
        (b'{"url": "https://other/hub", "accessToken": "x"}', "redirects to another service"),
        (b'{"connectionId": "a", "availableTransports": ["SSE"]}', "no WebSockets"),
        (b'{"negotiateVersion": 1}', "no connection id"),
        (b'{"connectionId": ""}', "no connection id"),
    ],
)
def test_unusable_negotiate_replies(body: bytes, message: str) -> None:
    """A negotiate reply without a usable WebSocket id is a server error naming why."""
    with pytest.raises(PortosServerError, match=message):
        _connection_id(body)


def test_aiohttp_errors_are_described_without_their_url() -> None:
    """Response errors quote the request URL (which may hold a token): only the status is kept."""
    secret_url = URL("http://127.0.0.1:1/signalr/v1/mainHub?id=conn-secret&access_token=tok")
    info = aiohttp.RequestInfo(secret_url, "GET", CIMultiDictProxy(CIMultiDict()), secret_url)
    refused = aiohttp.WSServerHandshakeError(info, (), status=401, message="Invalid status")
    assert "tok" in str(refused)  # why this matters
    assert describe(refused) == "HTTP 401"
    assert describe(aiohttp.InvalidURL(secret_url)) == "invalid URL"
    assert describe(ConnectionResetError(104, "Connection reset by peer")) == (
        "[Errno 104] Connection reset by peer"
    )
    assert describe(ConnectionResetError()) == "ConnectionResetError"
    assert describe(aiohttp.ServerDisconnectedError()) == "ServerDisconnectedError"


def test_importing_the_hub_loads_only_signalrcore_protocol_layer() -> None:
    """Importing the api package imports signalrcore's messages and codec, nothing that runs.

    No transport, hub connection or builder module (those start threads and build SSL
    contexts), no msgpack, no thread, and no handler on signalrcore's logger.
    """
    code = (
        "import json, logging, sys, threading\n"
        "import custom_components.portos.api\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('signalrcore', 'msgpack')))\n"
        "print(json.dumps(loaded))\n"
        "print(threading.active_count())\n"
        "print(len(logging.getLogger('SignalRCoreClient').handlers))\n"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=60
    )
    modules, threads, handlers = result.stdout.splitlines()
    loaded = set(json.loads(modules))
    assert "signalrcore.protocol.json_hub_protocol" in loaded
    allowed = ("signalrcore.messages", "signalrcore.protocol.")
    others = {"signalrcore", "signalrcore.helpers", "signalrcore.types", "signalrcore.protocol"}
    assert {m for m in loaded if not m.startswith(allowed)} <= others
    assert "signalrcore.protocol.messagepack_protocol" not in loaded
    assert (threads, handlers) == ("1", "0")


@pytest.mark.parametrize("path", sorted(API.glob("hub*.py")), ids=lambda path: path.name)
def test_the_hub_modules_use_no_threads_executors_patches_or_log_filters(path: Path) -> None:
    """The hub stays on the event loop and leaves other libraries as they are."""
    source = path.read_text(encoding="utf-8")
    for forbidden in (
        "import threading",
        "run_in_executor",
        "to_thread",
        "call_soon_threadsafe",
        "addFilter",
        "setattr(",
        "importlib",
    ):
        assert forbidden not in source, forbidden
