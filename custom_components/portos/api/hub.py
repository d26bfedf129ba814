"""The PORTOS SignalR hub: one live hub connection kept up on top of signalrcore.

signalrcore 1.0.2 is synchronous and thread based; docs/signalrcore-1.0.2.md lists what it was
measured to do. This is the only module that imports it. Its import, build, start, sends and the
teardown run on short-lived daemon threads of the hub's own (never the loop's shared executor), one
connection attempt at a time, with negotiate and the WebSocket connect bounded by a timeout;
everything signalrcore calls on its own threads is handed to the asyncio loop with
call_soon_threadsafe before it touches any state. Its automatic reconnect is
configured only for the keep-alive pinger it brings and is switched off right after start: this
module owns the reconnect loop (fresh token, fresh connection, subscriptions re-sent) and a
watchdog.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from dataclasses import dataclass, replace
from functools import partial
import importlib
import json
import logging
import random
import re
import socket
import threading
import time
from typing import TYPE_CHECKING, Any, Final, Protocol
from urllib.error import HTTPError, URLError
from urllib.parse import urlparse
import uuid

from .exceptions import (
    PortosAuthenticationError,
    PortosConnectionError,
    PortosError,
    PortosParseError,
    PortosServerError,
)
from .models import EVENT_LICENSE_ACTIVATED, EVENT_RESOURCES_CHANGED, Notification, Subscription

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from types import ModuleType

LOGGER = logging.getLogger(__name__)
LIBRARY_LOGGER = logging.getLogger(f"{__name__}.signalrcore")

SIGNALRCORE_LOGGER: Final = "SignalRCoreClient"
HUB_METHOD_ON_EVENT: Final = "OnEvent"
HUB_METHOD_SUBSCRIBE: Final = "Subscribe"
HUB_METHOD_UNSUBSCRIBE: Final = "Unsubscribe"
KNOWN_EVENTS: Final = frozenset({EVENT_RESOURCES_CHANGED, EVENT_LICENSE_ACTIVATED})

_RECORD_SEPARATOR: Final = "\x1e"
# WebSocket opcodes (RFC 6455 section 5.2): a close, and the bit every control frame has set.
_OPCODE_CLOSE: Final = 0x8
_OPCODE_CONTROL: Final = 0x8
_MESSAGE_INVOCATION: Final = 1
_MESSAGE_COMPLETION: Final = 3
_MESSAGE_PING: Final = 6
_MESSAGE_CLOSE: Final = 7
# What a PORTOS hub sends; stream items, cancels, acks and sequences would only reach
# signalrcore paths we do not use (and that log warnings), so they count as malformed.
_ACCEPTED_TYPES: Final = frozenset(
    {_MESSAGE_INVOCATION, _MESSAGE_COMPLETION, _MESSAGE_PING, _MESSAGE_CLOSE}
)
_NONE: Final = type(None)
# The fields signalrcore uses of each accepted type, with the JSON types it copes with: any other
# (an error that is a number, an unhashable invocation id) raises inside its reader thread.
_FIELD_TYPES: Final[dict[int, dict[str, tuple[type, ...]]]] = {
    _MESSAGE_INVOCATION: {"target": (str,), "arguments": (list,), "invocationId": (str, _NONE)},
    _MESSAGE_COMPLETION: {"invocationId": (str, _NONE), "error": (str, _NONE)},
    _MESSAGE_PING: {},
    _MESSAGE_CLOSE: {"error": (str, _NONE), "allowReconnect": (bool, _NONE)},
}
_REQUIRED_FIELDS: Final[dict[int, tuple[str, ...]]] = {_MESSAGE_INVOCATION: ("target", "arguments")}
_SIGNALRCORE_THREAD_PREFIX: Final = "Signalrcore"
# Shortest time we give negotiate + upgrade + handshake, and a Subscribe its completion.
_MIN_REPLY_TIMEOUT: Final = 5.0
# stop() returns within stop_timeout plus this (teardown threads are joined by then).
_STOP_MARGIN: Final = 0.5
# RequestHelpers.post(url, headers, proxies, params, data, timeout, ...): timeout is the 6th.
_POST_TIMEOUT_ARG: Final = 5
_THREAD_PREFIX: Final = "PortosHub"
_THREAD_POLL: Final = 0.01
_RETRY_MESSAGE: Final = "Next PORTOS hub connection attempt in %.2f s (backoff %g s)"
_EXCERPT: Final = 80
_REDACTED: Final = "**REDACTED**"


# --- secrets never reach a log record -----------------------------------------------------------

_SECRET_PATTERNS: Final = (
    # signalrcore logs "auth function result <token>" at DEBUG on every start().
    (re.compile(r"(auth function result\s*).*", re.DOTALL), rf"\g<1>{_REDACTED}"),
    # A bearer header, wherever it ends up (a logged request, a JSON-encoded message).
    (re.compile(r"(?i)(bearer\s+)[^\s\"',;}\]]+"), rf"\g<1>{_REDACTED}"),
    # Anything shaped like a JWT.
    (re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), _REDACTED),
)


class _SecretFilter(logging.Filter):
    """Redacts tokens from records of signalrcore's logger (and ours) instead of muting them."""

    def __init__(self) -> None:
        """Start with no known secrets; hubs register the tokens they hand to signalrcore."""
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, secret: str) -> None:
        """Remember a secret that must never appear in a record."""
        if secret:
            with self._lock:
                self._secrets.add(secret)

    def discard(self, secret: str | None) -> None:
        """Forget a secret that is no longer in use."""
        if secret:
            with self._lock:
                self._secrets.discard(secret)

    def redact(self, text: str) -> str:
        """Return text with every token-like part replaced."""
        for pattern, replacement in _SECRET_PATTERNS:
            text = pattern.sub(replacement, text)
        with self._lock:
            secrets = tuple(self._secrets)
        for secret in secrets:
            text = text.replace(secret, _REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message when it holds a secret; move signalrcore's alarms.

        signalrcore logs an ERROR with a traceback for a connection reset by the peer and a
        WARNING for a ping on a closed socket: events PortosHub handles and reports itself. Its
        records at WARNING and above are re-emitted at DEBUG on our `.signalrcore` child logger
        (so a user's debug logging for the integration still shows them) instead of alarming HA.
        """
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # A record whose args do not fit its format: keep only the format string.
            message = str(record.msg)
            record.args = None
        redacted = self.redact(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        if record.name == SIGNALRCORE_LOGGER and record.levelno >= logging.WARNING:
            LIBRARY_LOGGER.debug("signalrcore %s: %s", record.levelname, redacted)
            return False
        return True


SECRET_FILTER: Final = _SecretFilter()


def _install_secret_filter() -> None:
    """Attach the filter once to signalrcore's logger and ours (no level or handler changes)."""
    for name in (SIGNALRCORE_LOGGER, __name__):
        logger = logging.getLogger(name)
        if SECRET_FILTER not in logger.filters:
            logger.addFilter(SECRET_FILTER)


_install_secret_filter()


# --- the typed boundary to signalrcore ----------------------------------------------------------


class _Transport(Protocol):
    """signalrcore's WebsocketTransport: only its switch for automatic reconnects."""

    manually_closing: bool


class _Connection(Protocol):
    """The part of signalrcore's BaseHubConnection this module calls."""

    transport: _Transport

    def start(self) -> bool:
        """Negotiate, connect and send the handshake (blocking)."""

    def on(self, event: str, callback_function: Callable[[Any], None]) -> None:
        """Register a handler for a hub method; it receives the argument list."""

    def on_open(self, callback: Callable[[], None]) -> None:
        """Register the handshake-completed callback."""

    def on_close(self, callback: Callable[[], None]) -> None:
        """Register the connection-closed callback."""

    def on_reconnect(self, callback: Callable[[], None]) -> None:
        """Register the callback of signalrcore's own reconnect."""

    def on_error(self, callback: Callable[[Any], None]) -> None:
        """Register the callback for completions that carry an error."""

    def invoke(
        self,
        method: str,
        arguments: list[Any],
        on_invocation: Callable[[Any], None] | None = None,
        invocation_id: str | None = None,
    ) -> object:
        """Send an invocation (blocking socket write)."""


class _Builder(Protocol):
    """signalrcore's HubConnectionBuilder (fluent)."""

    def with_url(self, hub_url: str, options: dict[str, Any]) -> _Builder:
        """Set the URL and options."""

    def with_hub_protocol(self, protocol: object) -> _Builder:
        """Use this protocol instance."""

    def with_automatic_reconnect(self, data: dict[str, Any]) -> _Builder:
        """Configure its reconnect (and with it, its keep-alive pinger)."""

    def build(self) -> _Connection:
        """Create the connection object."""


class _JsonProtocol(Protocol):
    """signalrcore's JsonHubProtocol; parse_messages and encode are replaced per instance."""

    record_separator: str
    encoder: json.JSONEncoder
    parse_messages: Callable[[str], list[Any]]
    encode: Callable[[Any], str]

    def get_message(self, dict_message: dict[str, Any]) -> Any:  # noqa: ANN401 - library object
        """Turn one decoded record into a message object."""


@dataclass(frozen=True, slots=True)
class _SignalR:
    """The two signalrcore modules we use, imported once off the event loop."""

    builder: ModuleType
    json_protocol: ModuleType


_signalr: _SignalR | None = None
_signalr_lock = threading.Lock()
# The blocking-call timeout of the connection attempt running on this thread (None elsewhere):
# it scopes the bounds below to our own attempts, other signalrcore users keep its behaviour.
_attempt = threading.local()


def _attempt_timeout() -> float | None:
    """Return the timeout of the connection attempt running on the calling thread, if any."""
    timeout: float | None = getattr(_attempt, "timeout", None)
    return timeout


def _load_signalrcore() -> _SignalR:
    """Import signalrcore (about 200 ms, builds an SSL context): off the event loop only."""
    global _signalr  # noqa: PLW0603 - a process-wide import cache
    with _signalr_lock:
        if _signalr is None:
            _bound_blocking_calls(
                importlib.import_module("signalrcore.helpers"),
                importlib.import_module("signalrcore.transport.sockets.base_socket_client"),
            )
            _skip_control_frames_in_messages(
                importlib.import_module("signalrcore.transport.websockets.websocket_client")
            )
            _signalr = _SignalR(
                builder=importlib.import_module("signalrcore.hub_connection_builder"),
                json_protocol=importlib.import_module("signalrcore.protocol.json_hub_protocol"),
            )
        return _signalr


def _bound_blocking_calls(helpers: ModuleType, socket_client: ModuleType) -> None:
    """Give signalrcore's negotiate and WebSocket connect a timeout during our attempts.

    Its negotiate calls urlopen(timeout=None) and its WebSocket client opens a socket without a
    timeout, then reads the upgrade reply: a server that accepts TCP and never answers blocks
    the attempt's thread forever. Only calls made while `_attempt.timeout` is set on the calling
    thread are bounded; the reader thread's socket is made blocking again before it reads.
    """
    request_helpers = helpers.RequestHelpers
    base_client = socket_client.BaseSocketClient
    post = request_helpers.post
    create_socket = base_client.create_socket
    run = base_client.run

    def bounded_post(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401 - library object
        """RequestHelpers.post whose timeout defaults to the attempt's."""
        if kwargs.get("timeout") is None and len(args) < _POST_TIMEOUT_ARG:
            kwargs["timeout"] = _attempt_timeout()
        return post(*args, **kwargs)

    def bounded_create_socket(client: Any) -> socket.socket:  # noqa: ANN401 - library object
        """BaseSocketClient.create_socket with the attempt's timeout on connect, TLS, upgrade."""
        timeout = _attempt_timeout()
        if timeout is None or client.proxies:
            sock: socket.socket = create_socket(client)
            return sock
        parsed = urlparse(client.url)
        host = parsed.hostname
        sock = socket.create_connection((host, helpers.Helpers.get_port(parsed)), timeout)
        if parsed.scheme in ("wss", "https"):
            try:
                sock = client.ssl_context.wrap_socket(sock, server_hostname=host)
            except BaseException:
                sock.close()
                raise
        client.portos_bounded = True
        return sock

    def blocking_run(client: Any) -> None:  # noqa: ANN401 - library object
        """BaseSocketClient.run on a socket that blocks again (the reader waits for frames)."""
        if getattr(client, "portos_bounded", False):
            with suppress(OSError):
                client.sock.settimeout(None)
        run(client)

    request_helpers.post = staticmethod(bounded_post)
    base_client.create_socket = bounded_create_socket
    base_client.run = blocking_run


def _skip_control_frames_in_messages(websocket_client: ModuleType) -> None:
    """Make signalrcore's WebSocket reader skip a ping or pong between two fragments of a message.

    RFC 6455 section 5.4 lets a control frame sit between fragments (ASP.NET Core's keep-alive
    can put an unsolicited pong there); signalrcore 1.0.2 appends it to the text and ends the
    message at its FIN bit, so the notification was lost as malformed. A frame outside a message
    is read exactly as before (a lone ping or pong still reaches the parser and the watchdog).
    Applied for every user of signalrcore: the stock behaviour for those frames is only a bug.
    """
    client_class = websocket_client.WebSocketClient
    closed = websocket_client.SocketClosedError

    def recv_frame(client: Any) -> Any:  # noqa: ANN401 - library object and its str or bytes
        """WebSocketClient._recv_frame that leaves control frames out of a fragmented message."""
        fin, opcode, payload = client._read_one_frame()  # noqa: SLF001
        if opcode == _OPCODE_CLOSE:
            raise closed
        while not fin:
            last, opcode, data = client._read_one_frame()  # noqa: SLF001
            if opcode == _OPCODE_CLOSE:
                raise closed
            if opcode & _OPCODE_CONTROL:
                # Not answered: signalrcore answers no ping anywhere, and its send() is not
                # locked against the hub's and the pinger's threads that send too.
                LOGGER.debug("Skipped control frame %#x inside a fragmented message", opcode)
                continue
            fin = last
            payload += data
        if client.is_trace_enabled():
            # The library's own trace line; the secret filter sees it as before.
            client.logger.debug("[TRACE] - %s", payload)
        return client.prepare_data(payload)

    client_class._recv_frame = recv_frame  # noqa: SLF001


def _excerpt(text: object) -> str:
    """Return a short, printable excerpt for a log line."""
    return repr(str(text)[:_EXCERPT])


def map_start_error(err: BaseException) -> PortosError:  # noqa: PLR0911 - one per error kind
    """Translate what signalrcore's start() raises into our errors (never quoting a token)."""
    if isinstance(err, PortosError):
        return err
    if isinstance(err, HTTPError):
        err.close()
        if err.code == 401:  # noqa: PLR2004 - HTTP status
            return PortosAuthenticationError("Hub rejected the token (HTTP 401 on negotiate)")
        return PortosConnectionError(f"Hub negotiate failed: HTTP {err.code}")
    if isinstance(err, URLError):
        return PortosConnectionError(f"Cannot reach the hub: {err.reason}")
    name = type(err).__name__
    if name == "UnAuthorizedHubError":
        return PortosAuthenticationError("Hub rejected the token (HTTP 401)")
    if name == "SocketHandshakeError":
        status_line = str(err).removeprefix("Handshake failed: ").split("\r\n", 1)[0]
        if " 401" in status_line:
            return PortosAuthenticationError("Hub rejected the token (HTTP 401 on upgrade)")
        return PortosConnectionError(f"Hub WebSocket upgrade failed: {status_line[:_EXCERPT]}")
    if isinstance(err, OSError):
        return PortosConnectionError(f"Cannot reach the hub: {err}")
    if isinstance(err, ValueError):
        return PortosServerError(f"Unexpected hub negotiate reply ({name})")
    return PortosConnectionError(f"Hub connection failed ({name})")


def jittered(delay: float) -> float:
    """Return delay with jitter (50-100 %), so many clients do not retry in lockstep."""
    return delay * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not security


# --- public API ---------------------------------------------------------------------------------


@dataclass
class HubStats:
    """Counters of a hub, read-only for callers (`PortosHub.stats` returns a copy).

    connects/disconnects count established and lost connections; notifications counts every one
    delivered (unknown events included); malformed counts bad frames and bad notifications;
    unknown_events counts notifications of an event we do not know and invocations of a hub method
    other than OnEvent; errors counts failed connection attempts, rejected subscriptions and
    connections dropped by the watchdog, last_error describing the latest of them.
    """

    connects: int = 0
    disconnects: int = 0
    notifications: int = 0
    malformed: int = 0
    unknown_events: int = 0
    errors: int = 0
    last_error: str | None = None
    last_message_at: float | None = None


class _Link:
    """One signalrcore connection and every thread it started; threads only set flags here."""

    def __init__(self, number: int, loop: asyncio.AbstractEventLoop) -> None:
        """Create the bookkeeping of connection attempt `number`."""
        self.number = number
        self.loop = loop
        # Shared with signalrcore's and the hub's threads (plain flags, sets and a lock).
        self.conn: _Connection | None = None
        self.closed = False
        self._threads: set[threading.Thread] = set()
        self._threads_lock = threading.Lock()
        self.lock = threading.Lock()
        self.start_done = threading.Event()
        self.start_done.set()
        # Loop-only state. `started` resolves (from the attempt's thread) when start() returned.
        self.started: asyncio.Future[BaseException | None] | None = None
        self.open = False
        self.lost_reason: str | None = None
        self.wakeup = asyncio.Event()
        self.last_rx = time.monotonic()
        self.sent: set[Subscription] = set()
        self.pending: dict[str, asyncio.Future[None]] = {}

    def note_thread(self, thread: threading.Thread | None = None) -> None:
        """Remember a signalrcore thread (default: the calling one) so the teardown joins it."""
        thread = thread or threading.current_thread()
        if thread.name.startswith(_SIGNALRCORE_THREAD_PREFIX):
            with self._threads_lock:
                self._threads.add(thread)

    @property
    def threads(self) -> list[threading.Thread]:
        """Return the signalrcore threads seen so far."""
        with self._threads_lock:
            return list(self._threads)


def _dispose_blocking(link: _Link, timeout: float) -> None:
    """Close a signalrcore connection for good and join its threads, within `timeout` (hub thread).

    signalrcore's own stop() waits for the server's next frame (its reader blocks in recv and
    closing a socket does not wake it) and may reconnect by itself; so we switch its reconnect
    off, shut the socket down (which does wake recv) and join its reader and pinger threads.
    """
    deadline = time.monotonic() + timeout
    link.closed = True
    # Another teardown of this link holds the lock for at most its own `timeout`.
    with link.lock:
        _dispose_locked(link, deadline)


def _dispose_locked(link: _Link, deadline: float) -> None:
    """Do the teardown of _dispose_blocking with the link's lock held."""
    link.start_done.wait(max(0.0, deadline - time.monotonic()))
    transport = getattr(link.conn, "transport", None)
    if transport is None:
        return
    transport.manually_closing = True
    _stop_pinger(link, transport)
    client = getattr(transport, "_client", None)
    if client is not None:
        # Marked as closing, its reader exits quietly instead of reporting an error.
        client.is_closing = True
        client.running = False
        sock = getattr(client, "sock", None)
        if sock is not None:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with suppress(OSError):
                sock.close()
        reader = getattr(client, "recv_thread", None)
        if isinstance(reader, threading.Thread):
            link.note_thread(reader)
    _join(link.threads, deadline)
    # The reader may have started the pinger while we were shutting down: stop it again.
    _stop_pinger(link, transport)
    _join(link.threads, deadline)


def _stop_pinger(link: _Link, transport: object) -> None:
    """Tell signalrcore's ConnectionStateChecker thread to end and remember it for the join."""
    checker = getattr(transport, "connection_checker", None)
    if checker is None:
        return
    checker.running = False
    thread = getattr(checker, "_thread", None)
    if isinstance(thread, threading.Thread):
        link.note_thread(thread)


def _join(threads: list[threading.Thread], deadline: float) -> None:
    """Join the threads until the deadline."""
    # Only signalrcore's threads are listed, and the teardown never runs on one of them.
    for thread in threads:
        # signalrcore creates a thread object a moment before it starts it.
        while thread.ident is None and time.monotonic() < deadline:
            time.sleep(0.005)
        if thread.ident is not None:
            thread.join(max(0.0, deadline - time.monotonic()))


class PortosHub:
    """Keeps one PORTOS hub connection alive and delivers its notifications on the asyncio loop.

    Callbacks (notification, connection change, error) always run on the loop that called start(),
    never on a signalrcore thread, and never after stop() was called (stop() itself reports no
    disconnect). Notifications of unknown events are counted and still delivered: the integration
    decides what to do with them. on_error gets malformed input (PortosParseError), subscriptions
    the server refused (PortosServerError) and a token refused even when fresh
    (PortosAuthenticationError); plain connection failures only show in `connected`, the
    connection callbacks and `stats`. `keepalive` is the server's ping interval: we ping at half
    of it, give a connection up after twice it without any message, and give one connect attempt
    (or a Subscribe) max(2 x keepalive, 5 s). Reconnects back off exponentially (with jitter) from
    backoff_initial to backoff_max; the backoff starts again from backoff_initial only after a
    connection that lived at least 2 x keepalive (one full watchdog period), not after any
    completed handshake.
    """

    def __init__(
        self,
        hub_url: str,
        token_provider: Callable[[bool], Awaitable[str]],
        *,
        on_notification: Callable[[Notification], None],
        on_connection_change: Callable[[bool], None] | None = None,
        on_error: Callable[[PortosError], None] | None = None,
        verify_ssl: bool = True,
        keepalive: float = 15.0,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        stop_timeout: float = 5.0,
    ) -> None:
        """Configure the hub; nothing connects before start()."""
        self._hub_url = hub_url
        self._token_provider = token_provider
        self._on_notification = on_notification
        self._on_connection_change = on_connection_change
        self._on_error = on_error
        self._verify_ssl = bool(verify_ssl)  # signalrcore insists on a real bool
        self._keepalive = keepalive
        self._backoff_initial = backoff_initial
        self._backoff_max = max(backoff_max, backoff_initial)
        self._stop_timeout = stop_timeout
        self._reply_timeout = max(2 * keepalive, _MIN_REPLY_TIMEOUT)
        self._stable_after = 2 * keepalive

        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._link: _Link | None = None
        self._live: _Link | None = None
        self._links = 0
        self._token: str | None = None
        self._connected = False
        self._connected_event = asyncio.Event()
        self._subscriptions: list[Subscription] = []
        self._sub_lock = asyncio.Lock()
        self._stats = HubStats()
        self._warned: set[str] = set()
        self._threads: set[threading.Thread] = set()

    # --- properties -----------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Return whether the hub is connected with its subscriptions sent."""
        return self._connected

    @property
    def stats(self) -> HubStats:
        """Return a snapshot of the counters."""
        return replace(self._stats)

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        """Return the remembered subscriptions, in the order they were added."""
        return tuple(self._subscriptions)

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the background reconnect loop and return at once."""
        if self._task is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        self._task = self._loop.create_task(self._run(), name=f"PortosHub {self._hub_url}")

    async def stop(self) -> None:
        """End the reconnect loop and every thread it started, within about stop_timeout."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._stop_timeout + _STOP_MARGIN
        task.cancel()
        # asyncio.wait, not `await task`: a cancellation of stop() itself must still propagate.
        await asyncio.wait({task}, timeout=self._stop_timeout + _STOP_MARGIN)
        link = self._link
        if link is not None:
            self._forget_link(link)
            # The teardown bounds itself by stop_timeout; asyncio.wait bounds our wait for it.
            teardown = self._in_thread(
                f"teardown #{link.number}", _dispose_blocking, link, self._stop_timeout
            )
            await asyncio.wait({teardown}, timeout=max(0.0, deadline - loop.time()))
            self._link = None
        await self._join_threads(deadline)
        if self._connected:
            self._connected = False
            self._connected_event.clear()
            self._stats.disconnects += 1
        SECRET_FILTER.discard(self._token)
        self._token = None

    async def _join_threads(self, deadline: float) -> None:
        """Wait (until the loop-time deadline) for every thread the hub started to end."""
        loop = self._running_loop()
        while self._threads and loop.time() < deadline:
            self._threads = {thread for thread in self._threads if thread.is_alive()}
            if self._threads:
                await asyncio.sleep(_THREAD_POLL)
        self._threads = {thread for thread in self._threads if thread.is_alive()}
        if self._threads:
            # Only a connection attempt blocked in a socket call gets here; its own timeout
            # ends it (and it tears its connection down itself).
            LOGGER.debug("%d hub thread(s) still blocked after stop()", len(self._threads))

    def _in_thread(
        self, name: str, func: Callable[..., None], *args: object
    ) -> asyncio.Future[BaseException | None]:
        """Run a blocking signalrcore call on a daemon thread of the hub's own.

        Not the loop's default executor: a call blocked by a server that never answers must not
        hold one of the (HA-wide) executor's workers. The returned future is resolved from the
        thread via call_soon_threadsafe with the call's exception, or None.
        """
        loop = self._running_loop()
        future: asyncio.Future[BaseException | None] = loop.create_future()

        def target() -> None:
            error: BaseException | None = None
            try:
                func(*args)
            except Exception as err:  # noqa: BLE001 - handed to the loop, raised there
                error = err
            with suppress(RuntimeError):  # the loop is closed: nobody waits any more
                loop.call_soon_threadsafe(_settle, future, error)

        thread = threading.Thread(target=target, name=f"{_THREAD_PREFIX} {name}", daemon=True)
        self._threads = {known for known in self._threads if known.is_alive()}
        self._threads.add(thread)
        thread.start()
        return future

    async def _blocking(self, name: str, func: Callable[..., None], *args: object) -> None:
        """Run a blocking call on a hub thread and raise what it raised."""
        _reraise(await self._in_thread(name, func, *args))

    async def wait_connected(self, timeout: float) -> bool:  # noqa: ASYNC109 - contract
        """Wait until connected (subscriptions sent); return False on timeout."""
        with suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._connected_event.wait()
        return self._connected

    # --- subscriptions --------------------------------------------------------------------------

    async def subscribe(self, subscription: Subscription) -> None:
        """Remember a subscription and send it now if connected (re-sent after each reconnect)."""
        if subscription not in self._subscriptions:
            self._subscriptions.append(subscription)
        async with self._sub_lock:
            link = self._live
            if link is None or subscription in link.sent or subscription not in self._subscriptions:
                return
            await self._send_live(link, HUB_METHOD_SUBSCRIBE, subscription)

    async def unsubscribe(self, subscription: Subscription) -> None:
        """Forget a subscription and tell the server now if it was sent on this connection."""
        with suppress(ValueError):
            self._subscriptions.remove(subscription)
        async with self._sub_lock:
            link = self._live
            if link is None or subscription not in link.sent:
                return
            await self._send_live(link, HUB_METHOD_UNSUBSCRIBE, subscription)

    async def _send_live(self, link: _Link, method: str, subscription: Subscription) -> None:
        """Send on an established connection; a lost reply means a broken connection."""
        try:
            await self._send_subscription(link, method, subscription)
        except PortosServerError as err:
            self._record_error(err, report=True)
        except PortosConnectionError as err:
            LOGGER.debug("%s not confirmed (%s); replacing the connection", method, err)
            self._lose(link, f"{method} not confirmed: {err}")

    async def _send_subscription(
        self, link: _Link, method: str, subscription: Subscription
    ) -> None:
        """Invoke Subscribe/Unsubscribe and wait for its completion."""
        loop = self._running_loop()
        invocation_id = uuid.uuid4().hex
        future: asyncio.Future[None] = loop.create_future()
        link.pending[invocation_id] = future
        try:
            await self._blocking(
                f"{method} #{link.number}",
                self._invoke_blocking,
                link,
                method,
                subscription.to_wire(),
                invocation_id,
            )
            async with asyncio.timeout(self._reply_timeout):
                await future
        except TimeoutError as err:
            raise PortosConnectionError(f"No completion for {method}") from err
        finally:
            link.pending.pop(invocation_id, None)
        if method == HUB_METHOD_SUBSCRIBE:
            link.sent.add(subscription)
        else:
            link.sent.discard(subscription)

    def _invoke_blocking(
        self, link: _Link, method: str, payload: dict[str, Any], invocation_id: str
    ) -> None:
        """Send one invocation on signalrcore (hub thread: it writes to a blocking socket)."""
        conn = link.conn
        if conn is None or link.closed:
            raise PortosConnectionError("Hub connection closed")
        try:
            conn.invoke(
                method,
                [payload],
                on_invocation=lambda _message: self._from_thread(
                    self._on_completion, link, invocation_id, None
                ),
                invocation_id=invocation_id,
            )
        except Exception as err:
            # HubConnectionError (a ValueError), OSError and friends: the connection is unusable.
            raise PortosConnectionError(f"Cannot send {method}: {type(err).__name__}") from err

    # --- the reconnect loop ---------------------------------------------------------------------

    async def _run(self) -> None:
        """Connect, supervise, reconnect with backoff until stop()."""
        delay = self._backoff_initial
        force_new = False
        failures = 0
        while True:
            try:
                link = await self._connect(force_new)
            except PortosAuthenticationError as err:
                failures += 1
                # A fresh token was rejected too: the credentials are no good (reauth).
                self._record_error(err, report=force_new, first=failures == 1)
                force_new = True
            except PortosError as err:
                failures += 1
                self._record_error(err, report=False, first=failures == 1)
            except Exception as err:  # the loop must survive a faulty token provider
                failures += 1
                LOGGER.exception("Unexpected error while connecting to the PORTOS hub")
                self._record_error(PortosConnectionError(type(err).__name__), report=False)
            else:
                if failures:
                    LOGGER.info("Connected to the PORTOS hub again after %d failed tries", failures)
                failures = 0
                force_new = False
                connected_at = time.monotonic()
                reason = await self._supervise(link)
                self._set_disconnected(reason)
                # Only a connection that proved stable resets the backoff: one that dies right
                # after the handshake (a server or proxy closing at once, a frame that breaks
                # it) must not turn into a reconnect every initial delay, forever.
                if time.monotonic() - connected_at >= self._stable_after:
                    delay = self._backoff_initial
            await self._discard_current()
            wait = jittered(delay)
            LOGGER.debug(_RETRY_MESSAGE, wait, delay)
            await asyncio.sleep(wait)
            delay = min(delay * 2, self._backoff_max)

    async def _connect(self, force_new: bool) -> _Link:
        """Build, start and handshake one connection and send every subscription."""
        token = await self._token_provider(force_new)
        SECRET_FILTER.add(token)
        if token != self._token:
            SECRET_FILTER.discard(self._token)
            self._token = token
        loop = self._running_loop()
        self._links += 1
        link = _Link(self._links, loop)
        self._link = link
        link.start_done.clear()
        started = self._in_thread(f"connect #{link.number}", self._connect_blocking, link, token)
        link.started = started
        try:
            async with asyncio.timeout(self._reply_timeout):
                # Shielded: after a timeout the next attempt still waits for this start to end.
                _reraise(await asyncio.shield(started))
                # signalrcore reports nothing for a connection lost (or a handshake refused)
                # before the handshake completed: only the timeout ends this wait then.
                while not link.open:
                    link.wakeup.clear()
                    await link.wakeup.wait()
        except TimeoutError as err:
            raise PortosConnectionError("Timed out connecting to the hub") from err
        except Exception as err:
            raise map_start_error(err) from err
        async with self._sub_lock:
            self._live = link
            for subscription in list(self._subscriptions):
                try:
                    await self._send_subscription(link, HUB_METHOD_SUBSCRIBE, subscription)
                except PortosServerError as err:
                    self._record_error(err, report=True)
        self._connected = True
        self._connected_event.set()
        self._stats.connects += 1
        LOGGER.debug("Connected to the PORTOS hub (connection #%d)", link.number)
        self._notify_connection(connected=True)
        return link

    def _connect_blocking(self, link: _Link, token: str) -> None:
        """Build and start a signalrcore connection (hub thread: all of it blocks)."""
        # Negotiate, TCP/TLS connect and the upgrade reply each get the attempt's timeout.
        _attempt.timeout = self._reply_timeout
        try:
            conn = self._build(_load_signalrcore(), link, token)
            link.conn = conn
            conn.start()
            # Its automatic reconnect (old token, lost subscriptions, can hang forever) stays off;
            # we configured it only for the keep-alive pinger, which keeps running.
            conn.transport.manually_closing = True
        finally:
            _attempt.timeout = None
            link.start_done.set()
            if link.closed:
                # stop() or the loop gave up on this attempt while it was starting.
                _dispose_blocking(link, self._stop_timeout)

    def _build(self, signalr: _SignalR, link: _Link, token: str) -> _Connection:
        """Configure a signalrcore connection bound to `link` (hub thread: builds SSL contexts)."""
        protocol: _JsonProtocol = signalr.json_protocol.JsonHubProtocol()
        protocol.parse_messages = partial(self._parse_frame, link, protocol)
        protocol.encode = partial(_encode_quietly, protocol)
        builder: _Builder = signalr.builder.HubConnectionBuilder()
        builder.with_url(
            self._hub_url,
            options={"access_token_factory": lambda: token, "verify_ssl": self._verify_ssl},
        )
        builder.with_hub_protocol(protocol)
        # Its pinger wakes once a second and pings only when nothing was sent for longer than
        # the interval, so the real gap is interval + 1 s: ask for half our keep-alive.
        builder.with_automatic_reconnect(
            {
                "type": "raw",
                "keep_alive_interval": self._keepalive / 2,
                "reconnect_interval": self._keepalive,
                "max_attempts": 1,
            }
        )
        conn = builder.build()
        conn.on_open(partial(self._from_thread, self._on_open, link))
        conn.on_close(partial(self._from_thread, self._lose, link, "closed"))
        conn.on_reconnect(
            partial(self._from_thread, self._lose, link, "signalrcore reconnected on its own")
        )
        conn.on_error(partial(self._from_thread_completion_error, link))
        conn.on(HUB_METHOD_ON_EVENT, partial(self._from_thread, self._on_event, link))
        return conn

    async def _supervise(self, link: _Link) -> str:
        """Wait until the connection is lost or silent for twice the keep-alive; return why."""
        limit = 2 * self._keepalive
        while True:
            link.wakeup.clear()
            if link.lost_reason is not None:
                return link.lost_reason
            idle = time.monotonic() - link.last_rx
            if idle >= limit:
                reason = f"nothing received for {limit:g} s"
                self._record_error(PortosConnectionError(f"Hub silent: {reason}"), report=False)
                return reason
            with suppress(TimeoutError):
                async with asyncio.timeout(limit - idle):
                    await link.wakeup.wait()

    def _set_disconnected(self, reason: str) -> None:
        """Record a lost connection and tell the caller."""
        self._connected = False
        self._connected_event.clear()
        self._stats.disconnects += 1
        LOGGER.info("Lost the PORTOS hub connection (%s); reconnecting", reason)
        self._notify_connection(connected=False)

    async def _discard_current(self) -> None:
        """Throw the current connection away (threads joined, pending replies failed)."""
        link = self._link
        if link is None:
            return
        self._forget_link(link)
        if link.started is not None and not link.started.done():
            # Never two blocked starts at once: a server that never answers would otherwise
            # get one more stuck thread per attempt. The attempt's own timeouts end this wait.
            LOGGER.debug("Waiting for connection attempt #%d to give up", link.number)
            await link.started
        await self._blocking(
            f"teardown #{link.number}", _dispose_blocking, link, self._stop_timeout
        )
        self._link = None

    def _forget_link(self, link: _Link) -> None:
        """Stop using a connection: no more sends, its waiting replies fail."""
        link.closed = True
        if self._live is link:
            self._live = None
        _fail_pending(link)

    # --- from signalrcore's threads to the loop -------------------------------------------------

    def _from_thread(self, callback: Callable[..., None], link: _Link, *args: Any) -> None:  # noqa: ANN401
        """Hand a call from a signalrcore thread to the loop; never raise into signalrcore."""
        link.note_thread()
        with suppress(RuntimeError):  # the loop is closed: nobody is listening any more
            link.loop.call_soon_threadsafe(callback, link, *args)

    def _from_thread_completion_error(self, link: _Link, message: object) -> None:
        """Receive a completion that carries an error (a hub method threw) from signalrcore."""
        invocation_id = getattr(message, "invocation_id", None)
        error = getattr(message, "error", None) or type(message).__name__
        self._from_thread(self._on_completion, link, invocation_id, str(error))

    def _parse_frame(self, link: _Link, protocol: _JsonProtocol, raw: str) -> list[Any]:
        """Parse one WebSocket text frame tolerantly (reader thread); replaces signalrcore's.

        signalrcore's parser raises on a bad record, which kills its reader thread; here a bad
        record is skipped and reported, the rest of the frame still delivered. Every frame,
        pings included, proves the server alive for the watchdog.
        """
        messages: list[Any] = []
        problems: list[tuple[str, str]] = []
        unknown: list[str] = []
        close_error: str | None = None
        for record in raw.split(_RECORD_SEPARATOR):
            if not record.strip():
                continue
            try:
                data = json.loads(record)
            except (ValueError, RecursionError):  # RecursionError: nested too deeply
                problems.append(("not JSON", _excerpt(record)))
                continue
            if not isinstance(data, dict):
                problems.append(("not a JSON object", _excerpt(record)))
                continue
            if not data:
                continue
            problem = _record_problem(data)
            if problem is not None:
                problems.append((problem, _excerpt(record)))
                continue
            try:
                message = protocol.get_message(data)
            except (ValueError, TypeError, KeyError, AttributeError):
                # e.g. a key that collides with a parameter name of its message classes
                problems.append(("not a SignalR message", _excerpt(record)))
                continue
            kind = data["type"]
            if kind == _MESSAGE_INVOCATION and message.target != HUB_METHOD_ON_EVENT:
                unknown.append(_excerpt(message.target))
                continue
            if kind == _MESSAGE_CLOSE:
                close_error = str(data.get("error") or "no reason given")
            messages.append(message)
        self._from_thread(self._on_frame, link, problems, unknown, close_error)
        return messages

    # --- on the loop ----------------------------------------------------------------------------

    def _on_open(self, link: _Link) -> None:
        """The handshake completed."""
        link.open = True
        link.last_rx = time.monotonic()
        link.wakeup.set()

    def _lose(self, link: _Link, reason: str) -> None:
        """The connection is gone (closed, taken over by signalrcore's reconnect, or broken)."""
        link.lost_reason = link.lost_reason or reason
        link.wakeup.set()
        # No completion can come any more: do not let a Subscribe wait for its timeout.
        _fail_pending(link)

    def _on_frame(
        self,
        link: _Link,
        problems: list[tuple[str, str]],
        unknown: list[str],
        close_error: str | None,
    ) -> None:
        """Account for one received frame."""
        if link is not self._link:
            return
        now = time.monotonic()
        link.last_rx = now
        self._stats.last_message_at = now
        for reason, excerpt in problems:
            self._stats.malformed += 1
            self._log_once("frame", "Ignored a malformed hub message (%s): %s", reason, excerpt)
            self._call_user(self._on_error, PortosParseError(f"Malformed hub message: {reason}"))
        for target in unknown:
            self._stats.unknown_events += 1
            self._log_once("target", "Ignored an invocation of unknown hub method %s", target)
        if close_error is not None:
            self._lose(link, f"server closed the connection: {close_error[:_EXCERPT]}")

    def _on_completion(self, link: _Link, invocation_id: str | None, error: str | None) -> None:
        """A Subscribe/Unsubscribe completed (error set when the hub method failed)."""
        future = link.pending.pop(invocation_id or "", None)
        if future is None:
            LOGGER.debug("Hub completed an invocation nobody waits for (error: %s)", error)
            return
        with suppress(asyncio.InvalidStateError):  # already failed by a lost connection
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(PortosServerError(f"Hub refused the request: {error[:200]}"))

    def _on_event(self, link: _Link, arguments: object) -> None:
        """An OnEvent invocation: parse and deliver its notification."""
        if link is not self._link or self._stopping:
            return
        try:
            notification = Notification.from_dict(_first_argument(arguments))
        except PortosParseError as err:
            self._stats.malformed += 1
            self._log_once("notification", "Ignored a malformed notification: %s", err)
            self._call_user(self._on_error, err)
            return
        if notification.event not in KNOWN_EVENTS:
            self._stats.unknown_events += 1
            self._log_once(
                "event", "Notification of unknown event %s", _excerpt(notification.event)
            )
        self._stats.notifications += 1
        self._call_user(self._on_notification, notification)

    # --- helpers --------------------------------------------------------------------------------

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        """Return the loop start() ran on."""
        if self._loop is None:  # pragma: no cover - only reachable through misuse
            raise RuntimeError("PortosHub.start() was not called")
        return self._loop

    def _record_error(self, err: PortosError, *, report: bool, first: bool = True) -> None:
        """Count an error, log it (warning the first time in a row) and maybe tell the caller."""
        self._stats.errors += 1
        self._stats.last_error = str(err)
        LOGGER.log(logging.WARNING if first else logging.DEBUG, "PORTOS hub: %s", err)
        if report:
            self._call_user(self._on_error, err)

    def _log_once(self, key: str, message: str, *args: object) -> None:
        """Log a kind of bad input at warning the first time, at debug after that."""
        level = logging.DEBUG if key in self._warned else logging.WARNING
        self._warned.add(key)
        LOGGER.log(level, message, *args)

    def _notify_connection(self, *, connected: bool) -> None:
        """Tell the caller about a connected/disconnected transition."""
        self._call_user(self._on_connection_change, connected)

    def _call_user(self, callback: Callable[[Any], None] | None, value: object) -> None:
        """Call a user callback; its exception is logged, never raised into the hub."""
        if callback is None or self._stopping:
            return
        try:
            callback(value)
        except Exception:
            LOGGER.exception("Error in a PORTOS hub callback")


def _record_problem(data: dict[str, Any]) -> str | None:
    """Return why a decoded record is not a message signalrcore can handle safely, or None."""
    kind = data.get("type")
    # bool is an int, and MessageType(True) is an invocation: insist on a real int.
    if type(kind) is not int:
        return "no message type"
    if kind not in _ACCEPTED_TYPES:
        return "unsupported message type"
    if not isinstance(data.get("headers", {}), dict):
        return "bad headers"
    for field in _REQUIRED_FIELDS.get(kind, ()):
        if field not in data:
            return f"no {field}"
    for field, types in _FIELD_TYPES[kind].items():
        if not isinstance(data.get(field), types):
            return f"bad {field}"
    return None


def _settle(future: asyncio.Future[BaseException | None], error: BaseException | None) -> None:
    """Resolve a hub thread's future with its outcome, unless nobody waits any more."""
    if not future.done():
        future.set_result(error)


def _reraise(error: BaseException | None) -> None:
    """Raise the exception a hub thread handed over, if any."""
    if error is not None:
        raise error


def _fail_pending(link: _Link) -> None:
    """Fail every invocation still waiting for its completion on a gone connection."""
    for future in link.pending.values():
        with suppress(asyncio.InvalidStateError):
            future.set_exception(PortosConnectionError("Hub connection closed"))
    link.pending.clear()


def _first_argument(arguments: object) -> object:
    """Return the notification of an OnEvent argument list (signalrcore passes the list)."""
    if not isinstance(arguments, list) or not arguments:
        raise PortosParseError("OnEvent: expected one argument")
    return arguments[0]


def _encode_quietly(protocol: _JsonProtocol, message: object) -> str:
    """Encode a message without signalrcore's DEBUG dump and without the bearer token.

    signalrcore copies the connection's headers (Authorization included) into every invocation
    it sends and logs the encoded text; neither is needed by a SignalR server.
    """
    with suppress(TypeError):
        vars(message).pop("headers", None)
    return protocol.encoder.encode(message) + protocol.record_separator
