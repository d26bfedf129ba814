"""One SignalR hub connection on an aiohttp session: negotiate, WebSocket, handshake, records.

The connection is opened on the caller's session (Home Assistant's shared one), so TLS checks are
the session's. Every step is bounded by the attempt's timeout. The bearer token travels in the
Authorization header; only when the WebSocket upgrade refuses a token that negotiate accepted a
moment before does the caller open the connection again with the token as the `access_token`
query, as browsers send it (a proxy or a server configured for browsers). A URL holding that token
or the connection token is never logged or put into an exception text: aiohttp's response errors
quote the request URL, so only their status is kept, and they are not chained.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
import json
import logging
import time
from typing import TYPE_CHECKING, Final

import aiohttp
from yarl import URL

from .exceptions import PortosAuthenticationError, PortosConnectionError, PortosServerError
from .hub_protocol import (
    HANDSHAKE_REQUEST,
    PING_RECORD,
    RECORD_SEPARATOR,
    BadRecordError,
    Close,
    Completion,
    Invocation,
    decode_record,
    encode_invocation,
    parse_handshake,
)

if TYPE_CHECKING:
    from collections.abc import Callable

LOGGER = logging.getLogger(__name__)

NEGOTIATE_VERSION: Final = 1
# A record still without its separator after this many characters is dropped as malformed.
MAX_PARTIAL_RECORD: Final = 4 * 1024 * 1024
_HTTP_UNAUTHORIZED: Final = 401
_HTTP_REDIRECT: Final = range(300, 400)
_HTTP_ERROR: Final = 400
_ERROR_EXCERPT: Final = 200


class HubUnauthorizedError(PortosAuthenticationError):
    """The hub refused the token (HTTP 401); `stage` is "negotiate" or "upgrade"."""

    def __init__(self, stage: str) -> None:
        """Name the request that was refused."""
        super().__init__(f"Hub refused the token (HTTP 401 on {stage})")
        self.stage = stage


def describe(err: BaseException) -> str:
    """Describe an aiohttp or socket error without the request URL (which may hold a token)."""
    if isinstance(err, aiohttp.ClientResponseError):
        return f"HTTP {err.status}"
    if isinstance(err, aiohttp.InvalidURL):
        return "invalid URL"
    if isinstance(err, OSError):
        # Connector errors name host and port only; plain socket errors name no address.
        return str(err) or type(err).__name__
    return type(err).__name__


async def negotiate(session: aiohttp.ClientSession, hub_url: str, token: str) -> str:
    """POST `{hub}/negotiate?negotiateVersion=1`; return the WebSocket's `id`.

    Version 1 servers answer a `connectionToken`, version 0 ones only a `connectionId`.
    """
    url = URL(f"{hub_url}/negotiate").with_query(negotiateVersion=str(NEGOTIATE_VERSION))
    failure: str | None = None
    try:
        async with session.post(
            url, headers={"Authorization": f"Bearer {token}"}, allow_redirects=False
        ) as response:
            status = response.status
            body = await response.read()
    except (aiohttp.ClientError, OSError) as err:
        failure = describe(err)
    if failure is not None:
        # Raised outside the except block: the aiohttp error is not chained to ours.
        raise PortosConnectionError(f"Cannot reach the hub: {failure}")
    if status == _HTTP_UNAUTHORIZED:
        raise HubUnauthorizedError("negotiate")
    if status in _HTTP_REDIRECT:
        # Following it would send the token wherever it points.
        raise PortosConnectionError(f"Hub negotiate redirected (HTTP {status}); not followed")
    if status >= _HTTP_ERROR:
        raise PortosConnectionError(f"Hub negotiate failed: HTTP {status}")
    return _connection_id(body)


def _connection_id(body: bytes) -> str:
    """Return the `id` the WebSocket must use, from a negotiate reply."""
    try:
        reply = json.loads(body)
    except (ValueError, RecursionError) as err:
        raise PortosServerError("Hub negotiate reply is not JSON") from err
    if not isinstance(reply, dict):
        raise PortosServerError("Hub negotiate reply is not a JSON object")
    error = reply.get("error")
    if error is not None:
        raise PortosServerError(f"Hub negotiate refused: {str(error)[:_ERROR_EXCERPT]}")
    if "url" in reply:
        # Azure SignalR's redirect: another server and token. A PORTOS server on the LAN has none.
        raise PortosServerError("Hub negotiate redirects to another service; not supported")
    transports = reply.get("availableTransports")
    if isinstance(transports, list) and not any(
        isinstance(item, dict) and item.get("transport") == "WebSockets" for item in transports
    ):
        raise PortosServerError("Hub offers no WebSockets transport")
    version = reply.get("negotiateVersion", 0)
    connection_token = reply.get("connectionToken")
    if isinstance(version, int) and version >= 1 and isinstance(connection_token, str):
        return connection_token
    connection_id = reply.get("connectionId")
    if isinstance(connection_id, str) and connection_id:
        return connection_id
    raise PortosServerError("Hub negotiate reply has no connection id")


async def upgrade(
    session: aiohttp.ClientSession,
    hub_url: str,
    connection_id: str,
    token: str,
    *,
    token_in_query: bool,
    close_timeout: float,
) -> aiohttp.ClientWebSocketResponse:
    """Open the WebSocket of a negotiated connection (token as header, or as query if asked)."""
    params = {"id": connection_id}
    headers: dict[str, str] = {}
    if token_in_query:
        params["access_token"] = token
    else:
        headers["Authorization"] = f"Bearer {token}"
    status: int | None = None
    failure: str | None = None
    try:
        return await session.ws_connect(
            URL(hub_url).with_query(params),
            headers=headers,
            timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=close_timeout),
            autoping=True,
        )
    except aiohttp.WSServerHandshakeError as err:
        status = err.status
    except (aiohttp.ClientError, OSError) as err:
        failure = describe(err)
    if status == _HTTP_UNAUTHORIZED:
        raise HubUnauthorizedError("upgrade")
    if status is not None:
        raise PortosConnectionError(f"Hub WebSocket upgrade failed: HTTP {status}")
    raise PortosConnectionError(f"Cannot reach the hub: {failure}")


def _text(message: aiohttp.WSMessage) -> str | None:
    """Return the text of a data message; None for a close, an error or anything else."""
    if message.type is aiohttp.WSMsgType.TEXT:
        text: str = message.data
        return text
    if message.type is aiohttp.WSMsgType.BINARY:
        data: bytes = message.data
        return data.decode("utf-8", "replace")
    return None


def _end_reason(message: aiohttp.WSMessage) -> str:
    """Describe why a WebSocket ended, from the message that ended it."""
    if message.type is aiohttp.WSMsgType.ERROR:
        return f"WebSocket error ({type(message.data).__name__})"
    if message.type is aiohttp.WSMsgType.CLOSE:
        return f"WebSocket closed by the server (code {message.data})"
    return "WebSocket closed"


async def handshake(ws: aiohttp.ClientWebSocketResponse) -> str:
    """Send the JSON protocol handshake; return what followed the reply in its message."""
    failure: str | None = None
    try:
        await ws.send_str(HANDSHAKE_REQUEST)
    except (aiohttp.ClientError, OSError) as err:
        failure = describe(err)
    if failure is not None:
        raise PortosConnectionError(f"Hub handshake not sent: {failure}")
    received = ""
    while RECORD_SEPARATOR not in received:
        message = await ws.receive()
        text = _text(message)
        if text is None:
            raise PortosConnectionError(f"Hub handshake not answered: {_end_reason(message)}")
        received += text
    reply, _, rest = received.partition(RECORD_SEPARATOR)
    try:
        error = parse_handshake(reply)
    except BadRecordError as err:
        raise PortosServerError(f"Hub handshake reply unusable: {err.excerpt}") from err
    if error is not None:
        raise PortosServerError(f"Hub refused the handshake: {error[:_ERROR_EXCERPT]}")
    return rest


class HubConnection:
    """A connected hub: reads records in its own task, sends invocations and pings.

    Invocations from the server and bad records go to the two callbacks, on the loop, in the
    order they arrived; completions settle `invoke`. `closed` is set when the connection ends,
    `close_reason` says why.
    """

    def __init__(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        *,
        on_invocation: Callable[[Invocation], None],
        on_bad_record: Callable[[BadRecordError], None],
        reply_timeout: float,
        close_timeout: float,
        name: str,
    ) -> None:
        """Wrap a WebSocket whose handshake is done; call start_reading() next."""
        loop = asyncio.get_running_loop()
        self._ws = ws
        self._loop = loop
        self._on_invocation = on_invocation
        self._on_bad_record = on_bad_record
        self._reply_timeout = reply_timeout
        self._close_timeout = close_timeout
        self._name = name
        self._partial = ""
        self._pending: dict[str, asyncio.Future[None]] = {}
        self._invocations = 0
        self._reader: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()
        self.close_reason: str | None = None
        self.allow_reconnect: bool | None = None
        self.last_received = loop.time()
        self.received_at = time.time()
        self.last_sent = loop.time()

    @classmethod
    async def open(
        cls,
        session: aiohttp.ClientSession,
        hub_url: str,
        token: str,
        *,
        token_in_query: bool,
        reply_timeout: float,
        close_timeout: float,
        on_invocation: Callable[[Invocation], None],
        on_bad_record: Callable[[BadRecordError], None],
        name: str,
    ) -> HubConnection:
        """Negotiate, upgrade and handshake within `reply_timeout`; return a reading connection."""
        step = "negotiate"
        ws: aiohttp.ClientWebSocketResponse | None = None
        try:
            async with asyncio.timeout(reply_timeout):
                connection_id = await negotiate(session, hub_url, token)
                step = "upgrade"
                ws = await upgrade(
                    session,
                    hub_url,
                    connection_id,
                    token,
                    token_in_query=token_in_query,
                    close_timeout=close_timeout,
                )
                step = "handshake"
                rest = await handshake(ws)
        except BaseException as err:
            if ws is not None:
                await _close_quietly(ws, close_timeout)
            if isinstance(err, TimeoutError):
                raise PortosConnectionError(f"Timed out connecting to the hub ({step})") from None
            raise
        conn = cls(
            ws,
            on_invocation=on_invocation,
            on_bad_record=on_bad_record,
            reply_timeout=reply_timeout,
            close_timeout=close_timeout,
            name=name,
        )
        conn.start_reading(rest)
        return conn

    def start_reading(self, rest: str = "") -> None:
        """Start the reader task; `rest` is what arrived after the handshake reply."""
        self._partial = rest
        self._reader = self._loop.create_task(self._read(), name=f"{self._name} reader")

    async def invoke(self, target: str, argument: object) -> None:
        """Invoke a hub method and wait for its completion.

        Raises:
            PortosServerError: the hub method failed (the completion carried an error).
            PortosConnectionError: no completion within the reply timeout, or the connection
                ended meanwhile.

        """
        if self.close_reason is not None:
            raise PortosConnectionError("Hub connection closed")
        self._invocations += 1
        invocation_id = str(self._invocations)
        future: asyncio.Future[None] = self._loop.create_future()
        self._pending[invocation_id] = future
        try:
            await self._send(encode_invocation(target, [argument], invocation_id))
            async with asyncio.timeout(self._reply_timeout):
                await future
        except TimeoutError:
            raise PortosConnectionError(
                f"No completion for {target} within {self._reply_timeout:g} s"
            ) from None
        finally:
            self._pending.pop(invocation_id, None)
            # fail() may have settled it while the send was still going: mark that as seen.
            if future.done() and not future.cancelled():
                future.exception()

    async def ping(self) -> None:
        """Send a keep-alive ping; a connection that cannot take it is given up."""
        try:
            await self._send(PING_RECORD)
        except PortosConnectionError as err:
            LOGGER.debug("Ping not sent (%s); giving the connection up", err)
            self.fail(f"ping not sent: {err}")

    async def _send(self, text: str) -> None:
        """Send one message; bounded, as it waits while the socket's buffers are full."""
        failure: str | None = None
        try:
            async with asyncio.timeout(self._reply_timeout):
                await self._ws.send_str(text)
        except TimeoutError:
            failure = f"not sent within {self._reply_timeout:g} s"
        except (aiohttp.ClientError, OSError) as err:
            failure = describe(err)
        if failure is not None:
            raise PortosConnectionError(f"Cannot send to the hub: {failure}")
        self.last_sent = self._loop.time()

    def fail(self, reason: str) -> None:
        """Give the connection up (the supervisor closes it): no invocation can complete now."""
        if self.close_reason is None:
            self.close_reason = reason
        # Each waiting invoke() removes its future when it stops waiting: all are pending.
        for future in self._pending.values():
            future.set_exception(PortosConnectionError("Hub connection closed"))
        self._pending.clear()
        self.closed.set()

    async def wait_closed(self, timeout: float) -> None:  # noqa: ASYNC109 - a bounded wait
        """Wait until the connection ends, at most `timeout` seconds."""
        with suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self.closed.wait()

    async def close(self) -> None:
        """End the reader and close the WebSocket (bounded); safe to call again."""
        self.fail("closed by the client")
        reader = self._reader
        if reader is not None and not reader.done():
            reader.cancel()
            # asyncio.wait, not `await reader`: a cancellation of close() itself must propagate.
            await asyncio.wait({reader})
        await _close_quietly(self._ws, self._close_timeout)

    async def _read(self) -> None:
        """Read WebSocket messages until the connection ends; feed their records."""
        ws = self._ws
        reason = "WebSocket closed"
        try:
            if self._partial:
                rest, self._partial = self._partial, ""
                self._feed(rest)
            while self.close_reason is None:
                message = await ws.receive()
                text = _text(message)
                if text is None:
                    reason = _end_reason(message)
                    break
                self.last_received = self._loop.time()
                self.received_at = time.time()
                self._feed(text)
        except Exception:
            LOGGER.exception("Unexpected error reading the PORTOS hub")
            reason = "unexpected error while reading"
        self.fail(reason)

    def _feed(self, text: str) -> None:
        """Handle every complete record of a message; keep a trailing partial one for the next."""
        if self._partial:
            text = self._partial + text
        *records, partial = text.split(RECORD_SEPARATOR)
        if len(partial) > MAX_PARTIAL_RECORD:
            self._on_bad_record(BadRecordError("record without an end", partial))
            partial = ""
        self._partial = partial
        for record in records:
            if not record or record.isspace():
                continue
            try:
                message = decode_record(record)
            except BadRecordError as err:
                self._on_bad_record(err)
                continue
            if isinstance(message, Invocation):
                self._on_invocation(message)
            elif isinstance(message, Completion):
                self._complete(message)
            elif isinstance(message, Close):
                self._closed_by_server(message)
                return
            # A ping (or `{}`) only shows the server alive, which its message already did.

    def _complete(self, completion: Completion) -> None:
        """Settle the invocation a completion answers."""
        future = self._pending.pop(completion.invocation_id or "", None)
        if future is None:
            LOGGER.debug(
                "Hub completed an invocation nobody waits for (error: %s)",
                (completion.error or "none")[:_ERROR_EXCERPT],
            )
            return
        if completion.error is None:
            future.set_result(None)
        else:
            future.set_exception(
                PortosServerError(f"Hub refused the request: {completion.error[:_ERROR_EXCERPT]}")
            )

    def _closed_by_server(self, close: Close) -> None:
        """A close message: the server ends the connection (the rest of the frame is moot)."""
        self.allow_reconnect = close.allow_reconnect
        error = close.error or "no reason given"
        self.fail(f"server closed the connection: {error[:_ERROR_EXCERPT]}")


async def _close_quietly(ws: aiohttp.ClientWebSocketResponse, close_timeout: float) -> None:
    """Close a WebSocket; a peer that does not answer is cut off after `close_timeout` s."""
    # Cancelled by the timeout, aiohttp closes the underlying connection itself.
    with suppress(TimeoutError, aiohttp.ClientError, OSError):
        async with asyncio.timeout(close_timeout):
            await ws.close()
