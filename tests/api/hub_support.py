"""Helpers for the PortosHub tests: recording harness, waits, a faulty proxy, a stall server."""

from __future__ import annotations

import asyncio
from contextlib import suppress
from dataclasses import dataclass, field
import datetime as dt
import ipaddress
import json
import ssl
import threading
from typing import TYPE_CHECKING, Any

from custom_components.portos.api import hub as hub_module
from custom_components.portos.api.client import PortosClient
from custom_components.portos.api.const import HUB_PATH
from custom_components.portos.api.hub import PortosHub
from custom_components.portos.api.models import (
    EVENT_RESOURCES_CHANGED,
    ResourceChangedPayload,
    Subscription,
    SubscriptionResource,
)
from tests.common import until

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable
    import logging
    from pathlib import Path

    import aiohttp
    import pytest

    from custom_components.portos.api.exceptions import PortosError
    from custom_components.portos.api.models import Notification

WAIT = 15.0
HUB_LOGGER = "custom_components.portos.api.hub"


def hub_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Return the records of the hub's loggers (the hub and its connection and protocol)."""
    return [r for r in caplog.records if r.name.startswith(HUB_LOGGER)]


def assert_no_secret_logged(records: Iterable[logging.LogRecord], secrets: Iterable[str]) -> None:
    """Fail if any record holds a secret: in its message, its format, its arguments or traceback."""
    secrets = set(secrets)
    for record in records:
        texts = (record.getMessage(), str(record.msg), repr(record.args), record.exc_text or "")
        for secret in secrets:
            assert all(secret not in text for text in texts), record.name


async def connects_reach(item: HubHarness, count: int) -> None:
    """Wait until the hub has connected `count` times."""
    await until(lambda: item.hub.stats.connects == count, what=f"{count} connects")


ALL_TICKETS = Subscription(EVENT_RESOURCES_CHANGED, (SubscriptionResource("tickets"),))


def retry_pauses(caplog: pytest.LogCaptureFixture) -> list[float]:
    """Return the backoff pauses (before jitter) the hub chose, in order."""
    pauses: list[float] = []
    for record in caplog.records:
        if record.msg == hub_module._RETRY_MESSAGE:
            assert isinstance(record.args, tuple)
            pauses.append(float(record.args[1]))  # type: ignore[arg-type]
    return pauses


def changed(notification: Notification) -> ResourceChangedPayload:
    """Return the payload of a resource-changed notification."""
    assert isinstance(notification.payload, ResourceChangedPayload)
    return notification.payload


def own_threads() -> set[threading.Thread]:
    """Return the live threads but the loop's executor workers (a test's to_thread uses them)."""
    return {t for t in threading.enumerate() if not t.name.startswith(("asyncio_", "SyncWorker_"))}


def hub_tasks() -> list[asyncio.Task[Any]]:
    """Return the live tasks PortosHub started (its loop and its connections' readers)."""
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("PortosHub") and not t.done()]


class HubHarness:
    """A PortosHub on a real PortosClient that records every callback and where it ran.

    The client (REST, tokens) uses `session`; the hub uses `hub_session` when given (a session
    whose TLS checks differ), else the same one, as Home Assistant's shared session is.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        *,
        hub_url: str | None = None,
        hub_session: aiohttp.ClientSession | None = None,
        token_provider: Callable[[bool], Any] | None = None,
        **hub_kwargs: Any,
    ) -> None:
        """Build the client and the hub; nothing connects yet."""
        self.client = PortosClient(session, url, "admin", "portos")
        self.tokens: list[tuple[bool, str]] = []
        self.notifications: list[Notification] = []
        self.changes: list[bool] = []
        self.errors: list[PortosError] = []
        self.callback_threads: set[int] = set()
        self._provider = token_provider
        # As the server pings: the watchdog allows twice that before it gives a connection up.
        hub_kwargs.setdefault("keepalive", 15.0)
        hub_kwargs.setdefault("backoff_initial", 0.05)
        hub_kwargs.setdefault("backoff_max", 0.5)
        self.hub = PortosHub(
            hub_session or session,
            hub_url or self.client.hub_url,
            self._token,
            on_notification=self._notification,
            on_connection_change=self._change,
            on_error=self._error,
            **hub_kwargs,
        )

    async def _token(self, force_new: bool) -> str:
        """Fetch a token from the client (or the test's provider) and remember it."""
        if self._provider is not None:
            token: str = await self._provider(force_new)
        else:
            token = await self.client.get_token(force_new)
        self.tokens.append((force_new, token))
        return token

    def _notification(self, notification: Notification) -> None:
        self.callback_threads.add(threading.get_ident())
        self.notifications.append(notification)

    def _change(self, connected: bool) -> None:
        self.callback_threads.add(threading.get_ident())
        self.changes.append(connected)

    def _error(self, error: PortosError) -> None:
        self.callback_threads.add(threading.get_ident())
        self.errors.append(error)

    def events(self) -> list[tuple[str, str, int]]:
        """Return (resource, ticket name or id, action) of every resource notification."""
        result = []
        for item in self.notifications:
            payload = item.payload
            if isinstance(payload, ResourceChangedPayload):
                name = payload.resources[0].get("name") if payload.resources else None
                result.append((payload.resource, name or payload.info.id, int(payload.action)))
        return result

    async def start(self, timeout: float = WAIT) -> None:
        """Start the hub and wait until it is connected."""
        await self.hub.start()
        assert await self.hub.wait_connected(timeout), self.hub.stats


# The `harness` fixture: `await harness(url, **hub_options)` is a HubHarness, stopped after.
type HarnessFactory = Callable[..., Awaitable[HubHarness]]


@dataclass
class _Pair:
    """One proxied TCP connection."""

    frozen_up: bool = False
    frozen_down: bool = False
    stalled: bool = False
    upgraded: bool = False
    rewritten: bool = False
    writers: list[asyncio.StreamWriter] = field(default_factory=list)


class Proxy:
    """A TCP (optionally TLS-terminating) proxy to the simulator that can fault its connections.

    A frozen connection stays open but forwards nothing in either direction: a dead server, or a
    network that silently lost the path, as the hub sees it. A stalled one stops reading what
    the client sends (a peer that no longer reads: the client's socket buffers fill up). With
    `after_upgrade` set, every WebSocket it carries is faulted right after the `101 Switching
    Protocols`: "close" cuts the connection when the server's first frame (the handshake reply)
    comes, "freeze" drops everything the server sends from then on, and bytes replace that
    first frame (the rest is forwarded).
    """

    def __init__(
        self,
        target_port: int,
        *,
        ssl_context: ssl.SSLContext | None = None,
        after_upgrade: str | bytes | None = None,
    ) -> None:
        """Forward to 127.0.0.1:target_port."""
        self._target_port = target_port
        self._ssl = ssl_context
        self._after_upgrade = after_upgrade
        self._server: asyncio.Server | None = None
        self._pairs: list[_Pair] = []
        self._handlers: set[asyncio.Task[Any]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        """Return the proxy's base URL."""
        scheme = "https" if self._ssl else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def hub_url(self) -> str:
        """Return the hub's URL through the proxy."""
        return f"{self.url}{HUB_PATH}"

    async def start(self) -> None:
        """Listen on a free port."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self._ssl)
        self.port = self._server.sockets[0].getsockname()[1]

    def freeze(self, *, down: bool = True) -> int:
        """Freeze every open connection (only client-to-server with down=False); count them."""
        live = [pair for pair in self._pairs if not pair.frozen_up]
        for pair in live:
            pair.frozen_up = True
            pair.frozen_down = down
        return len(live)

    def inject(self, data: bytes) -> int:
        """Write bytes to the client of every open connection, as if the server sent them."""
        for pair in self._pairs:
            pair.writers[0].write(data)
        return len(self._pairs)

    def stall(self) -> int:
        """Stop reading from the clients of every open connection; count them."""
        for pair in self._pairs:
            pair.stalled = True
        return len(self._pairs)

    async def stop(self) -> None:
        """Close the listener and every connection."""
        if self._server is not None:
            self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        pair = _Pair(writers=[writer])
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target_port)
            pair.writers.append(up_writer)
            self._pairs.append(pair)
            await asyncio.gather(
                self._pump(reader, up_writer, pair, up=True),
                self._pump(up_reader, writer, pair, up=False),
            )
        except OSError:
            pass
        finally:
            for stream in pair.writers:
                stream.close()
            with suppress(ValueError):
                self._pairs.remove(pair)
            self._handlers.discard(task)

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, pair: _Pair, *, up: bool
    ) -> None:
        def frozen() -> bool:
            return pair.frozen_up if up else pair.frozen_down

        with suppress(ConnectionError, OSError):
            while True:
                if up and pair.stalled:
                    await asyncio.Event().wait()
                data = await reader.read(65536)
                if not data:
                    break
                if not up:
                    rewritten = self._after_upgrade_data(pair, data)
                    if rewritten is None:
                        break
                    data = rewritten
                if frozen() or not data:
                    continue
                writer.write(data)
                await writer.drain()
        if not frozen():
            writer.close()

    def _after_upgrade_data(self, pair: _Pair, data: bytes) -> bytes | None:
        """Return what to forward of server data (None: cut the connection)."""
        mode = self._after_upgrade
        if mode is None or pair.rewritten:
            return data
        if not pair.upgraded:
            pair.upgraded = data.startswith(b"HTTP/1.1 101")
            return data
        if mode == "close":
            return None
        if mode == "freeze":
            return b""
        pair.rewritten = True
        return mode.encode() if isinstance(mode, str) else mode


NEGOTIATE_REPLY = {
    "negotiateVersion": 0,
    "connectionId": "stalled",
    "availableTransports": [{"transport": "WebSockets", "transferFormats": ["Text"]}],
}


class StallServer:
    """An HTTP server on 127.0.0.1 whose replies never finish: a hung hub as a client sees it.

    The kernel completes every TCP handshake and the server reads the request, then, by mode:
    "mute" says nothing; "drip" sends the start of a reply one byte every 50 ms forever (so no
    per-read socket timeout ever fires); "upgrade" answers negotiate properly and says nothing
    to the WebSocket upgrade; "redirect" answers every request with a 307 to elsewhere.
    Connections stay open until stop().
    """

    def __init__(self, mode: str) -> None:
        """Choose how the server stalls."""
        self.mode = mode
        self.requests: list[bytes] = []
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[Any]] = set()
        self._writers: list[asyncio.StreamWriter] = []
        self.port = 0

    @property
    def hub_url(self) -> str:
        """Return a hub URL on this server."""
        return f"http://127.0.0.1:{self.port}{HUB_PATH}"

    async def start(self) -> None:
        """Listen on a free port."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close every connection (which unblocks a client stuck on one) and the listener."""
        for writer in self._writers:
            writer.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._writers.append(writer)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            self.requests.append(head.split(b"\r\n", 1)[0])
            if self.mode == "upgrade" and head.startswith(b"POST"):
                body = json.dumps(NEGOTIATE_REPLY).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
                )
                await writer.drain()
                writer.close()
                return
            if self.mode == "redirect":
                writer.write(
                    b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://192.0.2.1/hub\r\n"
                    b"Content-Length: 0\r\nConnection: close\r\n\r\n"
                )
                await writer.drain()
                writer.close()
                return
            if self.mode == "drip":
                writer.write(b"HTTP/1.1 200 OK\r\nX-Drip: ")
                while True:
                    await asyncio.sleep(0.05)
                    writer.write(b"a")
                    await writer.drain()
            await asyncio.Event().wait()
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            self._handlers.discard(task)


def self_signed_server_context(directory: Path) -> ssl.SSLContext:
    """Return a server SSL context with a fresh self-signed certificate for 127.0.0.1."""
    from cryptography import x509  # noqa: PLC0415 - only the TLS test needs it
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
    from cryptography.x509.oid import NameOID  # noqa: PLC0415

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "portos-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / "cert.pem"
    key_path = directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context
