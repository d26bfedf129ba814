"""The SignalR hub at /signalr/v1/mainHub: the ASP.NET Core JSON hub protocol over WebSockets."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping
import contextlib
from dataclasses import dataclass
import json
import logging
import secrets
import time
from typing import TYPE_CHECKING, Any, Final

from aiohttp import WSMsgType, web

from .frames import send_text
from .problems import ProblemError
from .store import Actor, isoformat, utcnow

if TYPE_CHECKING:
    from .auth import AuthService
    from .config import SimulatorConfig

_LOGGER = logging.getLogger(__name__)

HUB_PATH: Final = "/signalr/v1/mainHub"
RS: Final = "\x1e"
EVENT_RESOURCES_CHANGED: Final = "portos.resources.changed"
EVENT_LICENSE_ACTIVATED: Final = "portos.licence.activated"
ACTION_CREATED: Final = 1
ACTION_UPDATED: Final = 2
ACTION_DELETED: Final = 3
ACTION_NAMES: Final = {
    ACTION_CREATED: "created",
    ACTION_UPDATED: "updated",
    ACTION_DELETED: "deleted",
}

MSG_INVOCATION: Final = 1
MSG_STREAM_INVOCATION: Final = 4
MSG_COMPLETION: Final = 3
MSG_PING: Final = 6
MSG_CLOSE: Final = 7
_IGNORED_TYPES: Final = frozenset({2, 5, 6, 8, 9})

PING_FRAME: Final = '{"type":6}' + RS
HANDSHAKE_OK: Final = "{}" + RS
TIMEOUT_ERROR: Final = "Server timeout elapsed without receiving a message from the client."
_SYSTEM: Final = '{"u":"SYSTEM","d":"SYSTEM","f":null}'
# A burst is sent as several SignalR records per WebSocket frame (ASP.NET Core does the same).
_MAX_BATCH: Final = 100
# A client this far behind is not reading; it is dropped rather than buffered forever.
_MAX_BACKLOG: Final = 200_000
_PENDING_TTL: Final = 120.0
_FLUSH_TIMEOUT: Final = 2.0
_HUB_METHODS: Final = ("Subscribe", "Unsubscribe")
_TRANSPORTS: Final = [{"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}]


def _dumps(obj: object) -> str:
    """Serialise compactly, as the JSON hub protocol does."""
    return json.dumps(obj, separators=(",", ":"))


# --- subscriptions -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResourceFilter:
    """One resource of a subscription; no actions means every action."""

    name: str
    actions: frozenset[str]


@dataclass(frozen=True, slots=True)
class Subscription:
    """A `Subscribe` request: an event, optionally narrowed to resources and actions."""

    event: str
    resources: frozenset[ResourceFilter]

    @classmethod
    def parse(cls, data: object) -> Subscription:
        """Validate a request payload; equal payloads give equal subscriptions."""
        if not isinstance(data, Mapping):
            raise TypeError("The subscription request must be an object.")
        event = data.get("e")
        if not isinstance(event, str) or not event:
            raise ValueError("The subscription request needs an event name 'e'.")
        raw_resources = data.get("r")
        if raw_resources is None:
            raw_resources = []
        if not isinstance(raw_resources, list):
            raise TypeError("'r' must be a list of resources.")
        resources = []
        for item in raw_resources:
            name = item.get("n") if isinstance(item, Mapping) else None
            if not isinstance(name, str) or not name:
                raise ValueError("Every resource needs a name 'n'.")
            actions = item.get("a")
            if actions is None:
                actions = []
            if not isinstance(actions, list) or not all(
                isinstance(a, str) and a.lower() in ACTION_NAMES.values() for a in actions
            ):
                raise ValueError("'a' must list actions among created, updated, deleted.")
            resources.append(ResourceFilter(name.lower(), frozenset(a.lower() for a in actions)))
        return cls(event, frozenset(resources))

    def matches(self, event: str, resource: str | None, action: str | None) -> bool:
        """Return whether a notification of this event/resource/action is wanted."""
        if event != self.event:
            return False
        if resource is None or not self.resources:
            return True
        return any(
            f.name == resource and (not f.actions or action in f.actions) for f in self.resources
        )


# --- connections ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Raw:
    """Text sent verbatim as one WebSocket message, optionally with its own fragment size.

    `interleave` is a control opcode written between each two fragments (None: nothing).
    """

    text: str
    fragment: int | None = None
    interleave: int | None = None


@dataclass(frozen=True, slots=True)
class _Close:
    """The last thing a writer sends: an optional close message, then it stops."""

    text: str | None


class HubConnection:
    """One hub client: its WebSocket, subscriptions and outgoing queue."""

    def __init__(self, connection_id: str, token: str, negotiate_version: int) -> None:
        """Describe a negotiated (or directly opened) connection."""
        self.connection_id = connection_id
        self.token = token
        self.negotiate_version = negotiate_version
        self.created = time.monotonic()
        self.id_json = _dumps(connection_id)
        self.subscriptions: set[Subscription] = set()
        self.ready = False
        self.request: web.BaseRequest | None = None
        self.ws: web.WebSocketResponse | None = None
        self.user: str | None = None
        self.device: str | None = None
        self.received = 0
        self._backlog: deque[str | _Raw | _Close] = deque()
        self._wakeup = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._fragment_size = 0
        self._stats: HubStats | None = None
        self.fragmented = 0

    def wants(self, event: str, resource: str | None, action: str | None) -> bool:
        """Return whether any subscription matches."""
        return any(sub.matches(event, resource, action) for sub in self.subscriptions)

    def enqueue(self, item: str | _Raw | _Close) -> None:
        """Queue a record for the writer; a client far behind is dropped."""
        if len(self._backlog) >= _MAX_BACKLOG:
            _LOGGER.warning("Dropping hub connection %s: not reading", self.connection_id)
            self.abort()
            return
        self._backlog.append(item)
        self._wakeup.set()

    def start_writer(self, keepalive: float, fragment_size: int, stats: HubStats) -> None:
        """Start the task that sends queued records and idle pings (fragmenting large ones)."""
        self._fragment_size = fragment_size
        self._stats = stats
        self._writer = asyncio.get_running_loop().create_task(
            self._write_loop(keepalive), name=f"portos-sim-hub-writer-{self.connection_id}"
        )

    async def _send(
        self, text: str, fragment_size: int | None = None, interleave: int | None = None
    ) -> None:
        """Send one WebSocket message, fragmented as Kestrel does when it is large."""
        if TYPE_CHECKING:
            assert self.ws is not None
            assert self._stats is not None
        size = self._fragment_size if fragment_size is None else fragment_size
        if await send_text(self.ws, text, size, interleave):
            self.fragmented += 1
            self._stats.messages_fragmented += 1

    async def _write_loop(self, keepalive: float) -> None:
        """Send queued records, batching bursts; ping when nothing was sent for `keepalive`."""
        ws = self.ws
        if ws is None:  # pragma: no cover - started only after the upgrade
            return
        backlog = self._backlog
        try:
            while True:
                if not backlog:
                    self._wakeup.clear()
                    try:
                        async with asyncio.timeout(keepalive):
                            await self._wakeup.wait()
                    except TimeoutError:
                        await ws.send_str(PING_FRAME)
                        continue
                head = backlog[0]
                if isinstance(head, _Close):
                    if head.text is not None:
                        await self._send(head.text)
                    return
                if isinstance(head, _Raw):
                    backlog.popleft()
                    await self._send(head.text, head.fragment, head.interleave)
                    continue
                batch: list[str] = []
                while backlog and len(batch) < _MAX_BATCH and isinstance(backlog[0], str):
                    batch.append(backlog.popleft())  # type: ignore[arg-type]
                await self._send("".join(batch))
        except (ConnectionError, RuntimeError) as err:
            _LOGGER.debug("Hub writer of %s stopped: %s", self.connection_id, err)
            self.abort()

    async def finish(self, close_text: str | None) -> None:
        """Flush the queue (ending with an optional close message), then stop the writer."""
        writer = self._writer
        if writer is None:
            return
        self.enqueue(_Close(close_text))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(writer), _FLUSH_TIMEOUT)
        if not writer.done():
            writer.cancel()
            # A client that does not read would also hold up the close handshake: cut it.
            self.abort()
        with contextlib.suppress(asyncio.CancelledError):
            await writer

    def abort(self) -> None:
        """Cut the TCP connection without any close frame (an abrupt network loss)."""
        transport = None if self.request is None else self.request.transport
        if transport is not None:
            transport.abort()


@dataclass(slots=True)
class HubStats:
    """Counters for tests and benchmarks."""

    connections_opened: int = 0
    notifications_sent: int = 0
    invocations: int = 0
    messages_fragmented: int = 0


class Hub:
    """Negotiation, WebSocket connections, subscriptions and delivery of notifications."""

    def __init__(self, config: SimulatorConfig, auth: AuthService) -> None:
        """Start with no connections, accepting new ones."""
        self._config = config
        self._auth = auth
        self.connections: dict[str, HubConnection] = {}
        self._pending: dict[str, HubConnection] = {}
        self.paused = False
        self.stats = HubStats()
        # Set by /_sim/hub/mode, to play servers unlike ASP.NET Core's defaults: one that only
        # speaks negotiate version 0, one whose WebSocket takes the token only from the
        # access_token query (as behind a proxy that drops the header), one refusing handshakes.
        self.max_negotiate_version = 1
        self.websocket_token_in_query_only = False
        self.handshake_error: str | None = None

    # --- HTTP side ---

    def _authenticate(self, request: web.Request) -> None:
        """Accept the token from the Authorization header or the access_token query."""
        self._auth.authenticate_headers(request.headers, request.query)

    async def negotiate(self, request: web.Request) -> web.StreamResponse:
        """Answer `POST .../negotiate` (version 0 without negotiateVersion, else 1)."""
        if self.paused:
            return web.Response(status=503, text="The hub is paused.")
        try:
            self._authenticate(request)
        except ProblemError:
            return web.Response(status=401, headers={"WWW-Authenticate": "Bearer"})
        try:
            requested = int(request.query.get("negotiateVersion", "0"))
        except ValueError:
            requested = 0
        version = 1 if requested >= 1 and self.max_negotiate_version >= 1 else 0
        connection_id = secrets.token_urlsafe(16)
        token = secrets.token_urlsafe(16) if version else connection_id
        now = time.monotonic()
        for key in [k for k, c in self._pending.items() if now - c.created > _PENDING_TTL]:
            del self._pending[key]
        self._pending[token] = HubConnection(connection_id, token, version)
        body: dict[str, Any] = {"negotiateVersion": version, "connectionId": connection_id}
        if version:
            body["connectionToken"] = token
        body["availableTransports"] = _TRANSPORTS
        return web.json_response(body)

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        """Serve `GET /signalr/v1/mainHub` as a WebSocket hub connection."""
        if self.paused:
            return web.Response(status=503, text="The hub is paused.")
        try:
            if self.websocket_token_in_query_only:
                session = self._auth.authenticate(request.query.get("access_token"))
            else:
                session = self._auth.authenticate_headers(request.headers, request.query)
        except ProblemError:
            return web.Response(status=401, headers={"WWW-Authenticate": "Bearer"})
        ws = web.WebSocketResponse(timeout=1.0, compress=False, max_msg_size=1024 * 1024)
        if not ws.can_prepare(request).ok:
            return web.Response(status=400, text="Only the WebSockets transport is supported.")
        key = request.query.get("id")
        if key is None:
            connection_id = secrets.token_urlsafe(16)
            conn = HubConnection(connection_id, connection_id, 0)
        elif key in self._pending:
            conn = self._pending.pop(key)
        elif any(c.token == key for c in self.connections.values()):
            return web.Response(status=409, text="Connection already has a WebSocket.")
        else:
            return web.Response(status=404, text="No connection with that ID.")
        conn.user, conn.device = session.user_name, session.device.name
        await ws.prepare(request)
        conn.request, conn.ws = request, ws
        self.connections[conn.connection_id] = conn
        self.stats.connections_opened += 1
        try:
            await self._serve(conn, ws)
        finally:
            conn.ready = False
            self.connections.pop(conn.connection_id, None)
            await conn.finish(None)
            await ws.close()
        return ws

    # --- WebSocket side ---

    async def _receive(self, conn: HubConnection, ws: web.WebSocketResponse) -> str | None:
        """Return the next text from the client, or None when it closed or timed out."""
        try:
            msg = await ws.receive(timeout=self._config.client_timeout)
        except TimeoutError:
            _LOGGER.info("Hub connection %s timed out", conn.connection_id)
            await conn.finish(_dumps({"type": MSG_CLOSE, "error": TIMEOUT_ERROR}) + RS)
            return None
        if msg.type is WSMsgType.TEXT:
            conn.received += 1
            return str(msg.data)
        if msg.type is WSMsgType.BINARY:
            conn.received += 1
            return bytes(msg.data).decode("utf-8", "replace")
        return None

    async def _serve(self, conn: HubConnection, ws: web.WebSocketResponse) -> None:
        """Run the handshake, then read records until the client leaves or breaks the protocol."""
        text = await self._receive(conn, ws)
        if text is None:
            return
        handshake, separator, text = text.partition(RS)
        error = _handshake_error(handshake) if separator else "Handshake was incomplete."
        error = error or self.handshake_error
        if error is not None:
            await ws.send_str(_dumps({"error": error}) + RS)
            return
        await ws.send_str(HANDSHAKE_OK)
        conn.ready = True
        conn.start_writer(self._config.keepalive, self._config.ws_fragment_size, self.stats)
        while True:
            try:
                self._handle_records(conn, text)
            except _ClientClosedError:
                return
            except _ProtocolError as err:
                message = f"Connection closed with an error. InvalidDataException: {err}"
                await conn.finish(_dumps({"type": MSG_CLOSE, "error": message}) + RS)
                return
            next_text = await self._receive(conn, ws)
            if next_text is None:
                return
            text = next_text

    def _handle_records(self, conn: HubConnection, text: str) -> None:
        """Handle every record of one WebSocket message."""
        for record in text.split(RS):
            if not record:
                continue
            try:
                message = json.loads(record)
            except ValueError as err:
                raise _ProtocolError("the message is not valid JSON.") from err
            kind = message.get("type") if isinstance(message, dict) else None
            if kind == MSG_INVOCATION:
                self._invoke(conn, message)
            elif kind == MSG_STREAM_INVOCATION:
                self._complete(
                    conn,
                    message.get("invocationId"),
                    error="Failed to invoke stream: streaming is not supported.",
                )
            elif kind == MSG_CLOSE:
                raise _ClientClosedError
            elif kind not in _IGNORED_TYPES:
                raise _ProtocolError(f"unknown message type {kind!r}.")

    def _invoke(self, conn: HubConnection, message: Mapping[str, Any]) -> None:
        """Run `Subscribe` or `Unsubscribe` and complete the invocation when it has an id."""
        self.stats.invocations += 1
        target = message.get("target")
        arguments = message.get("arguments")
        invocation_id = message.get("invocationId")
        if target not in _HUB_METHODS:
            self._complete(
                conn,
                invocation_id,
                error=f"Failed to invoke '{target}' due to an error on the server. "
                "HubException: Method does not exist.",
            )
            return
        if not isinstance(arguments, list) or len(arguments) != 1:
            count = len(arguments) if isinstance(arguments, list) else 0
            self._complete(
                conn,
                invocation_id,
                error=f"Failed to invoke '{target}' due to an error on the server. "
                f"InvalidDataException: Invocation provides {count} argument(s) "
                "but target expects 1.",
            )
            return
        try:
            subscription = Subscription.parse(arguments[0])
        except (TypeError, ValueError) as err:
            self._complete(
                conn,
                invocation_id,
                error=f"An unexpected error occurred invoking '{target}' on the server. "
                f"HubException: {err}",
            )
            return
        if target == "Subscribe":
            conn.subscriptions.add(subscription)
        else:
            conn.subscriptions.discard(subscription)
        self._complete(conn, invocation_id)

    @staticmethod
    def _complete(conn: HubConnection, invocation_id: object, error: str | None = None) -> None:
        """Send a completion; a non-blocking invocation (no id) gets none."""
        if not isinstance(invocation_id, str):
            return
        message: dict[str, Any] = {"type": MSG_COMPLETION, "invocationId": invocation_id}
        if error is None:
            message["result"] = None
        else:
            message["error"] = error
        conn.enqueue(_dumps(message) + RS)

    # --- delivery ---

    def _broadcast(
        self, event: str, payload: object, resource: str | None, action: str | None
    ) -> int:
        """Send an OnEvent to every connection whose subscriptions match; return how many."""
        targets = [
            c for c in self.connections.values() if c.ready and c.wants(event, resource, action)
        ]
        if not targets:
            return 0
        # Serialised once; only the receiving connection's id differs between copies.
        head = '{"type":1,"target":"OnEvent","arguments":[{"e":' + _dumps(event) + ',"s":{"c":'
        tail = (
            ',"u":'
            + _SYSTEM
            + '},"r":null,"ca":'
            + _dumps(isoformat(utcnow()))
            + ',"ea":null,"p":'
            + _dumps(payload)
            + "}]}"
            + RS
        )
        for conn in targets:
            conn.enqueue(head + conn.id_json + tail)
        self.stats.notifications_sent += len(targets)
        return len(targets)

    def publish_resource_changed(
        self, resource: str, action: int, obj: Mapping[str, Any], actor: Actor
    ) -> int:
        """Notify subscribers that a resource was created (1), updated (2) or deleted (3)."""
        payload = {
            "u": {"u": actor.user, "d": actor.device, "f": None},
            "n": resource,
            "a": action,
            "i": {"i": obj["id"], "n": resource, "v": obj.get("_v")},
            "r": [obj],
        }
        return self._broadcast(EVENT_RESOURCES_CHANGED, payload, resource, ACTION_NAMES[action])

    def publish_license_activated(self, shop_license: Mapping[str, Any]) -> int:
        """Notify subscribers of `portos.licence.activated` with the new license."""
        return self._broadcast(EVENT_LICENSE_ACTIVATED, shop_license, None, None)

    def emit(self, notification: object) -> int:
        """Send a notification object as OnEvent to every connection, subscribed or not."""
        text = _dumps({"type": MSG_INVOCATION, "target": "OnEvent", "arguments": [notification]})
        return self._send_all(text + RS)

    def emit_raw(
        self, text: str, fragment: int | None = None, interleave: int | None = None
    ) -> int:
        """Send text verbatim, as one WebSocket message, to every connection.

        `fragment` overrides the configured fragment size for this message (0: one frame);
        `interleave`, a control opcode, puts that frame between each two of its fragments.
        """
        return self._send_all(_Raw(text, fragment, interleave))

    def _send_all(self, item: str | _Raw) -> int:
        """Queue an item on every connection past its handshake."""
        targets = [c for c in self.connections.values() if c.ready]
        for conn in targets:
            conn.enqueue(item)
        return len(targets)

    def drop(self) -> int:
        """Cut every hub connection abruptly, without close frames; return how many."""
        targets = list(self.connections.values())
        for conn in targets:
            conn.abort()
        return len(targets)

    async def close_all(self) -> None:
        """Close every connection as a stopping server does (WebSocket close 1001)."""
        targets = list(self.connections.values())
        self._pending.clear()

        async def close(conn: HubConnection) -> None:
            conn.ready = False
            await conn.finish(None)
            if TYPE_CHECKING:
                assert conn.ws is not None
            await conn.ws.close(code=1001, message=b"Server shutting down")

        await asyncio.gather(*(close(c) for c in targets))


class _ProtocolError(Exception):
    """The client broke the hub protocol; the connection ends with a close message."""


class _ClientClosedError(Exception):
    """The client sent a close message."""


def _handshake_error(text: str) -> str | None:
    """Return why a handshake request is refused, or None to accept it."""
    try:
        request = json.loads(text)
    except ValueError:
        return "Handshake request is not valid JSON."
    if not isinstance(request, dict):
        return "Handshake request must be an object."
    protocol = request.get("protocol")
    if protocol != "json":
        return f"The protocol '{protocol}' is not supported."
    version = request.get("version")
    # ASP.NET Core accepts any version up to its own (1); signalrcore 1.0.2 sends 0.
    if not isinstance(version, int) or isinstance(version, bool) or version > 1:
        return f"The server does not support version {version} of the 'json' protocol."
    return None
