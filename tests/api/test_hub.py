"""PortosHub against the simulator on 127.0.0.1: delivery, filters, bad input, threads, secrets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
import logging
import socket
import ssl
import subprocess
import sys
import threading
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from urllib.error import HTTPError, URLError

import aiohttp
import pytest

from custom_components.portos.api import hub as hub_module
from custom_components.portos.api.exceptions import (
    PortosAuthenticationError,
    PortosConnectionError,
    PortosParseError,
    PortosServerError,
)
from custom_components.portos.api.hub import (
    SECRET_FILTER,
    SIGNALRCORE_LOGGER,
    HubStats,
    PortosHub,
    jittered,
    map_start_error,
)
from custom_components.portos.api.models import (
    EVENT_LICENSE_ACTIVATED,
    EVENT_RESOURCES_CHANGED,
    License,
    ResourceAction,
    Subscription,
    SubscriptionResource,
)
from simulator import frames as ws
from tests.api.hub_support import (
    HubHarness,
    StallServer,
    changed,
    signalrcore_threads,
    until,
)
from tests.till import Till

if TYPE_CHECKING:
    from simulator.server import Simulator

HUB_LOGGER = "custom_components.portos.api.hub"
ALL_TICKETS = Subscription(EVENT_RESOURCES_CHANGED, (SubscriptionResource("tickets"),))
LICENSE = Subscription(EVENT_LICENSE_ACTIVATED)
CREATED_AT = "2026-11-28T10:00:00Z"

type HarnessFactory = Callable[..., Awaitable[HubHarness]]


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """Yield an aiohttp session for the client and the till."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
async def harness(
    session: aiohttp.ClientSession,
) -> AsyncIterator[HarnessFactory]:
    """Return a factory of hub harnesses; every hub is stopped after the test."""
    made: list[HubHarness] = []

    async def factory(url: str, **kwargs: Any) -> HubHarness:
        made.append(HubHarness(session, url, **kwargs))
        return made[-1]

    yield factory
    for item in made:
        await item.hub.stop()
    assert signalrcore_threads() == []


@pytest.fixture
def till(simulator: Simulator, session: aiohttp.ClientSession) -> Till:
    """Return the P01 till of the default simulator."""
    return Till(session, simulator.url)


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
    assert stats.last_message_at is not None
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


async def test_malformed_frames_and_notifications_are_counted_and_survived(
    simulator: Simulator,
    harness: HarnessFactory,
    till: Till,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Bad frames and bad notifications are logged once, counted, reported; the hub goes on."""
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
    await till.emit_raw("{}\x1e\x1e")  # empty records are skipped silently
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

    hub_records = [r for r in caplog.records if r.name == HUB_LOGGER]
    warnings = [r.getMessage() for r in hub_records if r.levelno == logging.WARNING]
    # One warning per kind of bad input; repeats go to debug.
    assert len([w for w in warnings if "malformed hub message" in w]) == 1
    assert len([w for w in warnings if "malformed notification" in w]) == 1
    assert len([w for w in warnings if "unknown hub method" in w]) == 1
    assert len([w for w in warnings if "unknown event" in w]) == 1
    debug = [r.getMessage() for r in hub_records if r.levelno == logging.DEBUG]
    assert any("malformed hub message" in d for d in debug)
    assert any("nobody waits for (error: boom)" in d for d in debug)


async def test_frames_that_crash_signalrcore_are_counted_and_the_connection_kept(
    simulator: Simulator, harness: HarnessFactory, till: Till
) -> None:
    """Records that pass JSON parsing but make signalrcore's reader raise are malformed input.

    Each of them, given to signalrcore, raised in its reader thread and dropped the connection
    (uncounted): json.loads raises RecursionError, not ValueError, on deep nesting; a
    completion's error must be a string (it takes len()); ids and targets must be hashable.
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

    hub = PortosHub(client.hub_url, client.get_token, on_notification=on_notification)
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


async def test_rejected_token_asks_for_a_fresh_one_then_reports_auth_error(
    simulator: Simulator, harness: HarnessFactory
) -> None:
    """A 401 makes the hub ask for a new token; a fresh one rejected too is reported."""
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
    assert "401" in (item.hub.stats.last_error or "")


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


def _own_threads() -> set[threading.Thread]:
    """Return the live threads that are not executor workers (those are the loop's)."""
    return {t for t in threading.enumerate() if not t.name.startswith(("asyncio_", "SyncWorker"))}


async def test_no_thread_left_after_50_start_stop_cycles(
    simulator: Simulator, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """Every thread signalrcore starts is joined by stop(), connected or still connecting."""
    before = _own_threads()
    client = HubHarness(session, simulator.url).client
    for cycle in range(50):
        hub = PortosHub(client.hub_url, client.get_token, on_notification=lambda _n: None)
        await hub.subscribe(ALL_TICKETS)
        await hub.start()
        if cycle % 5:
            assert await hub.wait_connected(15)
        else:
            # Stop while the connection is still being set up.
            await asyncio.sleep(0.01 * (cycle % 3))
        await hub.stop()
        assert signalrcore_threads() == [], cycle
    assert _own_threads() == before
    await until(lambda: simulator.state.hub.connections == {})
    # signalrcore's alarms about the sockets we closed never reach HA's log at WARNING.
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_stop_does_not_wait_for_a_silent_server(
    simulator_factory: Callable[..., Awaitable[Simulator]], harness: HarnessFactory
) -> None:
    """stop() unblocks signalrcore's reader itself instead of waiting for the next frame."""
    sim = await simulator_factory(keepalive=3600, client_timeout=3600)
    item = await harness(sim.url, keepalive=3600, stop_timeout=5)
    await item.start()
    await until(lambda: len(signalrcore_threads()) == 2)  # reader and pinger
    await asyncio.wait_for(item.hub.stop(), 30)
    assert signalrcore_threads() == []


async def test_no_token_reaches_any_log_record(
    simulator: Simulator,
    harness: HarnessFactory,
    till: Till,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """At DEBUG, over connect, subscribe, notify, a 401 reconnect and stop, no token is logged."""
    caplog.set_level(logging.DEBUG)
    item = await harness(simulator.url)
    await item.hub.subscribe(ALL_TICKETS)
    await item.start()
    await till.create_ticket("Table 1")
    await until(lambda: len(item.notifications) == 1)
    await till.expire_tokens()
    await till.drop_hub()
    await until(lambda: item.hub.stats.connects == 2)
    await item.hub.unsubscribe(ALL_TICKETS)
    await item.hub.stop()

    tokens = {token for _, token in item.tokens}
    assert len(tokens) == 2  # the first one and the fresh one after the 401
    assert any(force_new for force_new, _ in item.tokens)
    library = [r for r in caplog.records if r.name == SIGNALRCORE_LOGGER]
    # The test can fail: signalrcore did log its token line and the messages it sent.
    assert any("auth function result" in r.getMessage() for r in library)
    assert any("Subscribe" in r.getMessage() for r in library)
    for record in caplog.records:
        texts = (record.getMessage(), str(record.msg), repr(record.args), record.exc_text or "")
        for token in tokens:
            assert all(token not in text for text in texts), record.name


def test_secret_filter_redacts_bearer_jwt_and_known_secrets() -> None:
    """The filter rewrites a record holding a secret and leaves others alone."""
    logger = logging.getLogger(SIGNALRCORE_LOGGER)
    hub_module._install_secret_filter()  # idempotent: still one filter
    assert logger.filters.count(SECRET_FILTER) == 1
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    SECRET_FILTER.add("plain-secret-value")
    SECRET_FILTER.add("")
    try:
        cases = {
            "auth function result %s": ("opaque",),
            'headers {"Authorization": "Bearer %s"}': ("opaque",),
            "token %s": (jwt,),
            "value %s": ("plain-secret-value",),
        }
        for msg, args in cases.items():
            record = logging.LogRecord(SIGNALRCORE_LOGGER, logging.DEBUG, "", 0, msg, args, None)
            assert SECRET_FILTER.filter(record)
            assert "**REDACTED**" in record.getMessage()
            assert args[0] not in record.getMessage()
        clean = logging.LogRecord(SIGNALRCORE_LOGGER, logging.DEBUG, "", 0, "ping %s", (1,), None)
        assert SECRET_FILTER.filter(clean)
        assert clean.args == (1,)
        broken = logging.LogRecord(SIGNALRCORE_LOGGER, logging.DEBUG, "", 0, "%s %s", (1,), None)
        assert SECRET_FILTER.filter(broken)
        assert broken.getMessage() == "%s %s"
    finally:
        SECRET_FILTER.discard("plain-secret-value")
        SECRET_FILTER.discard(None)
    assert "plain-secret-value" in SECRET_FILTER.redact("plain-secret-value")


async def test_signalrcore_blocking_calls_are_bounded_inside_attempts_only(
    socket_enabled: None,
) -> None:
    """The negotiate request and the WebSocket's TCP/TLS connect time out in an attempt."""
    server = StallServer("mute")
    await server.start()
    signalr = await asyncio.to_thread(hub_module._load_signalrcore)
    helpers = sys.modules["signalrcore.helpers"]
    websocket = sys.modules["signalrcore.transport.websockets.websocket_client"]
    url = f"127.0.0.1:{server.port}/signalr/v1/mainHub"

    def in_attempt(timeout: float | None, call: Callable[[], object]) -> BaseException | None:
        hub_module._attempt.timeout = timeout
        try:
            call()
        except Exception as err:  # noqa: BLE001 - returned for the assertions
            return err
        finally:
            hub_module._attempt.timeout = None
        return None  # pragma: no cover - the server never answers

    def tls_connect() -> object:
        client = websocket.WebSocketClient(
            url=f"wss://{url}", ssl_context=ssl.create_default_context()
        )
        return client.create_socket()

    try:
        # Inside an attempt: the TLS handshake with a silent server times out.
        error = await asyncio.to_thread(in_attempt, 0.2, tls_connect)
        assert isinstance(error, TimeoutError)
        # Outside one, a timeout the caller gives is kept as it is.
        post = partial(helpers.RequestHelpers.post, f"http://{url}/negotiate", timeout=0.2)
        error = await asyncio.to_thread(in_attempt, None, post)
        assert isinstance(error, (TimeoutError, URLError))
    finally:
        await server.stop()
    assert signalr is hub_module._load_signalrcore()  # loaded (and patched) once


def test_reader_skips_control_frames_between_fragments_only(
    socket_enabled: None, caplog: pytest.LogCaptureFixture
) -> None:
    """The patched signalrcore reader skips control frames inside a message, and only there.

    Over a real socket: a close still ends the connection, frames outside a message are read
    as before, the library's TRACE line still carries the whole message.
    """
    caplog.set_level(logging.DEBUG)
    hub_module._load_signalrcore()
    websocket = sys.modules["signalrcore.transport.websockets.websocket_client"]
    client = websocket.WebSocketClient(url="ws://127.0.0.1:9/hub", enable_trace=True)
    ours, theirs = socket.socketpair()
    client.sock = ours
    text, cont, ping, pong, close = 0x1, 0x0, 0x9, 0xA, 0x8
    data = "Kávé č. 1\x1e".encode()

    def read(*frames: bytes) -> object:
        theirs.sendall(b"".join(frames))
        return client._recv_frame()

    with ours, theirs:
        message = read(
            ws.frame(text, data[:3], fin=False),
            ws.frame(pong, b"", fin=True),
            ws.frame(cont, data[3:7], fin=False),
            ws.frame(ping, b"sim", fin=True),
            ws.frame(pong, b"k", fin=True),
            ws.frame(cont, data[7:], fin=True),
        )
        assert message == data.decode()
        # Outside a message a pong is read as it always was: a (here empty) text for the parser.
        assert read(ws.frame(pong, b"", fin=True)) == ""
        assert read(ws.frame(text, b"{}\x1e", fin=True)) == "{}\x1e"
        with pytest.raises(websocket.SocketClosedError):
            read(
                ws.frame(text, b"{", fin=False),
                ws.frame(pong, b"", fin=True),
                ws.frame(close, b"", fin=True),
            )
        with pytest.raises(websocket.SocketClosedError):
            read(ws.frame(close, (1001).to_bytes(2, "big"), fin=True))
    skipped = [r.getMessage() for r in caplog.records if "Skipped control frame" in r.getMessage()]
    assert skipped == [
        "Skipped control frame 0xa inside a fragmented message",
        "Skipped control frame 0x9 inside a fragmented message",
        "Skipped control frame 0xa inside a fragmented message",
        "Skipped control frame 0xa inside a fragmented message",
    ]
    traces = [r.getMessage() for r in caplog.records if r.name == SIGNALRCORE_LOGGER]
    assert f"[TRACE] - {data!r}" in traces


async def test_teardown_copes_with_half_built_connections() -> None:
    """A connection that failed half-way (no transport, client, socket or started thread)."""
    link = hub_module._Link(1, asyncio.get_running_loop())
    link.note_thread()  # not a signalrcore thread: never joined
    assert link.threads == []
    hub_module._dispose_blocking(link, 0.1)  # nothing was built
    assert link.closed
    bare = SimpleNamespace(manually_closing=False, _client=None)
    link.conn = SimpleNamespace(transport=bare)
    hub_module._dispose_blocking(link, 0.1)
    assert bare.manually_closing
    ours, theirs = socket.socketpair()
    with theirs:
        unread = SimpleNamespace(is_closing=False, running=True, sock=ours, recv_thread=None)
        link.conn = SimpleNamespace(
            transport=SimpleNamespace(manually_closing=False, _client=unread)
        )
        hub_module._dispose_blocking(link, 0.1)
        assert ours.fileno() == -1  # shut down and closed
        assert theirs.recv(1) == b""
    never_started = threading.Thread(target=print, name="Signalrcore never started")
    client = SimpleNamespace(is_closing=False, running=True, sock=None, recv_thread=never_started)
    link.conn = SimpleNamespace(
        transport=SimpleNamespace(manually_closing=False, _client=client, connection_checker=None)
    )
    hub_module._dispose_blocking(link, 0.05)
    assert client.is_closing
    assert not client.running
    assert never_started in link.threads


async def test_sends_and_stale_callbacks_on_a_gone_connection() -> None:
    """Sending on a closed connection fails typed; callbacks of an old connection are ignored."""

    async def provider(_force_new: bool) -> str:
        return "token"  # pragma: no cover - never called

    hub = PortosHub("http://127.0.0.1:1/signalr/v1/mainHub", provider, on_notification=print)
    link = hub_module._Link(1, asyncio.get_running_loop())
    with pytest.raises(PortosConnectionError, match="closed"):
        hub._invoke_blocking(link, "Subscribe", {}, "1")

    class Broken:
        def invoke(self, *_args: Any, **_kwargs: Any) -> None:
            raise ValueError("Cannot connect to SignalR hub. Unable to transmit messages")

    link.conn = Broken()  # type: ignore[assignment]
    with pytest.raises(PortosConnectionError, match="ValueError"):
        hub._invoke_blocking(link, "Subscribe", {}, "1")

    # `link` is not the hub's current connection: nothing is counted or delivered.
    hub._on_frame(link, [("not JSON", "'x'")], ["'Shutdown'"], "bye")
    hub._on_event(link, [{"e": "portos.unknown", "ca": CREATED_AT}])
    assert hub.stats == HubStats()


def test_start_errors_map_to_portos_errors() -> None:
    """The urllib and signalrcore errors from start() become our typed errors."""
    url = "http://127.0.0.1:1/signalr/v1/mainHub/negotiate"
    unauthorized = HTTPError(url, 401, "Unauthorized", {}, None)  # type: ignore[arg-type]
    unavailable = HTTPError(url, 503, "Service Unavailable", {}, None)  # type: ignore[arg-type]
    assert isinstance(map_start_error(unauthorized), PortosAuthenticationError)
    assert str(map_start_error(unavailable)) == "Hub negotiate failed: HTTP 503"
    assert isinstance(map_start_error(URLError("refused")), PortosConnectionError)

    class SocketHandshakeError(Exception):
        """Named like signalrcore's upgrade error."""

    class UnAuthorizedHubError(OSError):
        """Named like signalrcore's negotiate 401 error."""

    upgrade_401 = SocketHandshakeError("Handshake failed: HTTP/1.1 401 Unauthorized\r\nA: b")
    upgrade_404 = SocketHandshakeError("Handshake failed: HTTP/1.1 404 Not Found\r\n")
    assert isinstance(map_start_error(upgrade_401), PortosAuthenticationError)
    mapped = map_start_error(upgrade_404)
    assert isinstance(mapped, PortosConnectionError)
    assert "404 Not Found" in str(mapped)
    assert isinstance(map_start_error(UnAuthorizedHubError()), PortosAuthenticationError)
    assert isinstance(map_start_error(ConnectionResetError()), PortosConnectionError)
    assert isinstance(map_start_error(ValueError("bad json")), PortosServerError)
    assert isinstance(map_start_error(KeyError("x")), PortosConnectionError)
    same = PortosConnectionError("x")
    assert map_start_error(same) is same


def test_jitter_stays_within_half_and_full_delay() -> None:
    """Backoff jitter never exceeds the delay and never drops below half of it."""
    values = [jittered(2.0) for _ in range(200)]
    assert all(1.0 <= value <= 2.0 for value in values)
    assert len(set(values)) > 1


def test_hub_stats_defaults() -> None:
    """A new hub starts with zero counters and is not connected."""

    async def provider(_force_new: bool) -> str:
        return "token"  # pragma: no cover - never called

    hub = PortosHub("http://127.0.0.1:1/signalr/v1/mainHub", provider, on_notification=print)
    assert hub.stats == HubStats()
    assert not hub.connected
    assert hub.subscriptions == ()
    assert {EVENT_RESOURCES_CHANGED, EVENT_LICENSE_ACTIVATED} == hub_module.KNOWN_EVENTS


def test_importing_the_hub_does_not_import_signalrcore() -> None:
    """The ~200 ms signalrcore import happens in the executor on first connect, not at import."""
    code = (
        "import sys; import custom_components.portos.api.hub; "
        "sys.exit(int(any(m.startswith('signalrcore') for m in sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False, timeout=60)  # noqa: S603
    assert result.returncode == 0
