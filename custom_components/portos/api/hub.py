"""The PORTOS SignalR hub: one live connection, kept up with keep-alives, a watchdog and backoff.

`PortosHub` supervises `HubConnection`s (hub_connection.py) on the caller's aiohttp session, all
on the asyncio loop: no threads, no executor jobs. A refused token means a fresh login at once;
other failures back off with jitter, capped low enough that a LAN server that comes back is found
within seconds; every connection re-sends the subscriptions. docs/hub.md says why the transport is
ours and which part of signalrcore we use.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime
import logging
import random
from typing import TYPE_CHECKING, Any, Final

from .exceptions import (
    PortosAuthenticationError,
    PortosConnectionError,
    PortosError,
    PortosParseError,
    PortosServerError,
)
from .hub_connection import HubConnection, HubUnauthorizedError
from .hub_protocol import excerpt
from .log_once import LogOnce
from .models import EVENT_LICENSE_ACTIVATED, EVENT_RESOURCES_CHANGED, Notification, Subscription

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    import aiohttp

    from .hub_protocol import BadRecordError, Invocation

LOGGER = logging.getLogger(__name__)

HUB_METHOD_ON_EVENT: Final = "OnEvent"
HUB_METHOD_SUBSCRIBE: Final = "Subscribe"
HUB_METHOD_UNSUBSCRIBE: Final = "Unsubscribe"
KNOWN_EVENTS: Final = frozenset({EVENT_RESOURCES_CHANGED, EVENT_LICENSE_ACTIVATED})

# A connect attempt (negotiate, upgrade, handshake) and a Subscribe get 2 x keepalive, within
# these bounds: a LAN server answers in milliseconds, and a stuck attempt must not hold back the
# next one for long.
_MIN_REPLY_TIMEOUT: Final = 5.0
_MAX_REPLY_TIMEOUT: Final = 10.0
# Closing the WebSocket waits this long (at most stop_timeout) for the server's close frame.
_CLOSE_TIMEOUT: Final = 2.0
# After a fresh token was refused too, the next try waits at least this long: every try asks
# for a new login, and a server that refuses the credentials should not see one every 5 s.
_AUTH_FAILURE_BACKOFF: Final = 60.0
_RETRY_MESSAGE: Final = "Next PORTOS hub connection attempt in %.2f s (backoff %g s)"


def jittered(delay: float) -> float:
    """Return delay with jitter (50-100 %), so many clients do not retry in lockstep."""
    return delay * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not security


@dataclass
class HubStats:
    """Counters of a hub, read-only for callers (`PortosHub.stats` returns a copy).

    connects/disconnects count established and lost connections; notifications counts every one
    delivered (unknown events included); malformed counts bad records and bad notifications;
    unknown_events counts notifications of an event we do not know and invocations of a hub method
    other than OnEvent; errors counts failed connection attempts, rejected subscriptions and
    connections given up by the watchdog, last_error describing the latest of them.
    last_message_at is when the hub last received anything (UTC, wall clock).
    """

    connects: int = 0
    disconnects: int = 0
    notifications: int = 0
    malformed: int = 0
    unknown_events: int = 0
    errors: int = 0
    last_error: str | None = None
    last_message_at: datetime | None = None


class PortosHub:
    """Keeps one PORTOS hub connection alive and delivers its notifications on the asyncio loop.

    Callbacks (notification, connection change, error) run on the loop, never after stop() was
    called (stop() itself reports no disconnect). Notifications of unknown events are counted and
    still delivered: the integration decides what to do with them. on_error gets malformed input
    (PortosParseError), subscriptions the server refused (PortosServerError) and a token refused
    even when fresh (PortosAuthenticationError); plain connection failures only show in
    `connected`, the connection callbacks and `stats`.

    `keepalive` is the server's ping interval: we ping after keepalive / 2 without sending, give a
    connection up after 2 x keepalive without receiving, and give a connect attempt or a Subscribe
    2 x keepalive (5 to 10 s). A token refused with HTTP 401 (negotiate or upgrade) is replaced by
    a fresh one at once. Other failed attempts back off exponentially with jitter from
    backoff_initial to backoff_max; the backoff starts again from backoff_initial only after a
    connection that lived at least 2 x keepalive, not after any completed handshake.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        hub_url: str,
        token_provider: Callable[[bool], Awaitable[str]],
        *,
        on_notification: Callable[[Notification], None],
        on_connection_change: Callable[[bool], None] | None = None,
        on_error: Callable[[PortosError], None] | None = None,
        keepalive: float = 15.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 5.0,
        stop_timeout: float = 5.0,
    ) -> None:
        """Configure the hub; nothing connects before start()."""
        self._session = session
        self._hub_url = hub_url
        self._token_provider = token_provider
        self._on_notification = on_notification
        self._on_connection_change = on_connection_change
        self._on_error = on_error
        self._ping_after = keepalive / 2
        self._silence_limit = 2 * keepalive
        self._stable_after = 2 * keepalive
        self._reply_timeout = min(max(2 * keepalive, _MIN_REPLY_TIMEOUT), _MAX_REPLY_TIMEOUT)
        self._close_timeout = min(_CLOSE_TIMEOUT, stop_timeout)
        self._backoff_initial = backoff_initial
        self._backoff_max = max(backoff_max, backoff_initial)
        self._stop_timeout = stop_timeout

        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._conn: HubConnection | None = None
        self._live: HubConnection | None = None
        self._sent: set[Subscription] = set()
        self._attempts = 0
        self._token_in_query = False
        # Set while connected with the subscriptions sent.
        self._connected = asyncio.Event()
        self._subscriptions: list[Subscription] = []
        self._sub_lock = asyncio.Lock()
        self._stats = HubStats()
        self._received_at: float | None = None
        self._log_once = LogOnce(LOGGER)

    # --- properties -----------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Return whether the hub is connected with its subscriptions sent."""
        return self._connected.is_set()

    @property
    def stats(self) -> HubStats:
        """Return a snapshot of the counters."""
        received_at = self._conn.received_at if self._conn is not None else self._received_at
        when = None if received_at is None else datetime.fromtimestamp(received_at, UTC)
        return replace(self._stats, last_message_at=when)

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        """Return the remembered subscriptions, in the order they were added."""
        return tuple(self._subscriptions)

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the background connection loop and return at once."""
        if self._task is not None:
            return
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"PortosHub {self._hub_url}"
        )

    async def stop(self) -> None:
        """End the connection loop and close the connection, within about stop_timeout."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        task.cancel()
        # asyncio.wait, not `await task`: a cancellation of stop() itself must still propagate.
        await asyncio.wait({task}, timeout=self._stop_timeout)
        # The loop closes its connection when cancelled; this covers a loop that ended first.
        await self._discard()
        if self._connected.is_set():
            self._connected.clear()
            self._stats.disconnects += 1

    async def wait_connected(self, timeout: float) -> bool:  # noqa: ASYNC109 - contract
        """Wait until connected (subscriptions sent); return False on timeout."""
        with suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._connected.wait()
        return self._connected.is_set()

    # --- subscriptions --------------------------------------------------------------------------

    async def subscribe(self, subscription: Subscription) -> None:
        """Remember a subscription and send it now if connected (re-sent after each reconnect)."""
        if subscription not in self._subscriptions:
            self._subscriptions.append(subscription)
        async with self._sub_lock:
            conn = self._live
            if (
                conn is None
                or subscription in self._sent
                or subscription not in self._subscriptions
            ):
                return
            await self._send_live(conn, HUB_METHOD_SUBSCRIBE, subscription)

    async def unsubscribe(self, subscription: Subscription) -> None:
        """Forget a subscription and tell the server now if it was sent on this connection."""
        with suppress(ValueError):
            self._subscriptions.remove(subscription)
        async with self._sub_lock:
            conn = self._live
            if conn is None or subscription not in self._sent:
                return
            await self._send_live(conn, HUB_METHOD_UNSUBSCRIBE, subscription)

    async def _send_live(
        self, conn: HubConnection, method: str, subscription: Subscription
    ) -> None:
        """Send on an established connection; a missing completion means a broken connection."""
        try:
            await self._send_subscription(conn, method, subscription)
        except PortosServerError as err:
            self._record_error(err, report=True)
        except PortosConnectionError as err:
            LOGGER.debug("%s not confirmed (%s); replacing the connection", method, err)
            conn.fail(f"{method} not confirmed: {err}")

    async def _send_subscription(
        self, conn: HubConnection, method: str, subscription: Subscription
    ) -> None:
        """Invoke Subscribe/Unsubscribe, wait for its completion and remember what was sent."""
        await conn.invoke(method, subscription.to_wire())
        if method == HUB_METHOD_SUBSCRIBE:
            self._sent.add(subscription)
        else:
            self._sent.discard(subscription)

    # --- the connection loop --------------------------------------------------------------------

    async def _run(self) -> None:
        """Connect, supervise, reconnect with backoff until stop()."""
        delay = self._backoff_initial
        force_new = False
        failures = 0
        try:
            while True:
                refused = False
                try:
                    conn = await self._connect(force_new)
                except PortosAuthenticationError as err:
                    failures += 1
                    # Logged at debug only: a first refusal is routine (a restarted server forgot
                    # our token) and fixed by the fresh login below; a fresh token refused too
                    # goes to on_error, whose handler tells the user (reauth).
                    self._record_error(err, report=force_new, first=False)
                    if not force_new:
                        # The server forgot or refused our token (a restarted PORTOS forgets
                        # them all): log in again now, not after a backoff step.
                        force_new = True
                        await self._discard()
                        continue
                    # A fresh token was refused too: on_error got it (reauth); back off longer.
                    refused = True
                except PortosError as err:
                    failures += 1
                    self._record_error(err, report=False, first=failures == 1)
                except Exception as err:  # the loop must survive a faulty token provider
                    failures += 1
                    LOGGER.exception("Unexpected error while connecting to the PORTOS hub")
                    self._record_error(PortosConnectionError(type(err).__name__), report=False)
                else:
                    if failures:
                        LOGGER.info(
                            "Connected to the PORTOS hub again after %d failed tries", failures
                        )
                    failures = 0
                    force_new = False
                    lived = await self._supervise(conn)
                    # Only a connection that proved stable resets the backoff: one that dies
                    # right after the handshake (a server or proxy closing at once) must not turn
                    # into a reconnect every initial delay, forever.
                    if lived >= self._stable_after:
                        delay = self._backoff_initial
                await self._discard()
                pause = max(delay, _AUTH_FAILURE_BACKOFF) if refused else delay
                wait = jittered(pause)
                LOGGER.debug(_RETRY_MESSAGE, wait, pause)
                await asyncio.sleep(wait)
                delay = min(delay * 2, self._backoff_max)
        finally:
            await self._discard()

    async def _connect(self, force_new: bool) -> HubConnection:
        """Open a connection with a token from the provider and send every subscription."""
        token = await self._token_provider(force_new)
        try:
            conn = await self._open(token, token_in_query=self._token_in_query)
        except HubUnauthorizedError as err:
            if err.stage != "upgrade" or self._token_in_query:
                raise
            # Negotiate took this token a moment ago; the upgrade refused it in the header. The
            # server (or a proxy before it) wants it as the access_token query, as browsers send
            # it: try that once, and keep doing so if it works.
            LOGGER.debug("Hub upgrade refused the token header; trying the access_token query")
            conn = await self._open(token, token_in_query=True)
            self._token_in_query = True
            LOGGER.info("The PORTOS hub takes its token in the WebSocket URL; sending it there")
        async with self._sub_lock:
            self._conn = conn
            self._live = conn
            self._sent = set()
            for subscription in list(self._subscriptions):
                try:
                    await self._send_subscription(conn, HUB_METHOD_SUBSCRIBE, subscription)
                except PortosServerError as err:
                    self._record_error(err, report=True)
        self._connected.set()
        self._stats.connects += 1
        LOGGER.debug("Connected to the PORTOS hub (attempt #%d)", self._attempts)
        self._notify_connection(connected=True)
        return conn

    async def _open(self, token: str, *, token_in_query: bool) -> HubConnection:
        """Open one connection (negotiate, upgrade, handshake) and start reading it."""
        self._attempts += 1
        return await HubConnection.open(
            self._session,
            self._hub_url,
            token,
            token_in_query=token_in_query,
            reply_timeout=self._reply_timeout,
            close_timeout=self._close_timeout,
            on_invocation=self._on_invocation,
            on_bad_record=self._on_bad_record,
            name=f"PortosHub #{self._attempts}",
        )

    async def _supervise(self, conn: HubConnection) -> float:
        """Ping when idle; return (how long it lived) when the connection ends or goes silent."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        while True:
            reason = conn.close_reason
            now = loop.time()
            silent = now - conn.last_received
            if reason is None and silent >= self._silence_limit:
                reason = f"nothing received for {self._silence_limit:g} s"
                self._record_error(PortosConnectionError(f"Hub silent: {reason}"), report=False)
            if reason is not None:
                self._set_disconnected(reason, conn.allow_reconnect)
                return now - started
            idle = now - conn.last_sent
            if idle >= self._ping_after:
                await conn.ping()
                continue
            await conn.wait_closed(min(self._silence_limit - silent, self._ping_after - idle))

    def _set_disconnected(self, reason: str, allow_reconnect: bool | None) -> None:
        """Record a lost connection and tell the caller."""
        self._connected.clear()
        self._live = None
        self._stats.disconnects += 1
        if allow_reconnect is False:
            LOGGER.warning(
                "The PORTOS hub closed the connection and asked not to reconnect: %s", reason
            )
        LOGGER.info("Lost the PORTOS hub connection (%s); reconnecting", reason)
        self._notify_connection(connected=False)

    async def _discard(self) -> None:
        """Close the current connection, if any (bounded)."""
        conn = self._conn
        if conn is None:
            return
        self._live = None
        await conn.close()
        # Kept until closed: a close interrupted by stop() is finished by the next call.
        self._received_at = conn.received_at
        self._conn = None

    # --- from the connection's reader -----------------------------------------------------------

    def _on_invocation(self, invocation: Invocation) -> None:
        """An invocation from the server: deliver its notification if it is an OnEvent."""
        if invocation.target != HUB_METHOD_ON_EVENT:
            self._stats.unknown_events += 1
            self._log_once(
                "target",
                "Ignored an invocation of unknown hub method %s",
                excerpt(invocation.target),
            )
            return
        try:
            notification = Notification.from_dict(_first_argument(invocation.arguments))
        except PortosParseError as err:
            self._stats.malformed += 1
            self._log_once("notification", "Ignored a malformed notification: %s", err)
            self._call_user(self._on_error, err)
            return
        if notification.event not in KNOWN_EVENTS:
            self._stats.unknown_events += 1
            self._log_once("event", "Notification of unknown event %s", excerpt(notification.event))
        self._stats.notifications += 1
        self._call_user(self._on_notification, notification)

    def _on_bad_record(self, error: BadRecordError) -> None:
        """A record that is no usable hub message: counted, logged once, reported, skipped."""
        self._stats.malformed += 1
        self._log_once(
            "record", "Ignored a malformed hub message (%s): %s", error.reason, error.excerpt
        )
        self._call_user(self._on_error, PortosParseError(f"Malformed hub message: {error.reason}"))

    # --- helpers --------------------------------------------------------------------------------

    def _record_error(self, err: PortosError, *, report: bool, first: bool = True) -> None:
        """Count an error, log it (warning the first time in a row) and maybe tell the caller."""
        self._stats.errors += 1
        self._stats.last_error = str(err)
        LOGGER.log(logging.WARNING if first else logging.DEBUG, "PORTOS hub: %s", err)
        if report:
            self._call_user(self._on_error, err)

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


def _first_argument(arguments: list[Any]) -> object:
    """Return the notification of an OnEvent argument list."""
    if not arguments:
        raise PortosParseError("OnEvent: expected one argument")
    return arguments[0]
