"""PortosHub when the network or the server misbehaves: drops, restarts, silence, tokens, TLS."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from custom_components.portos.api import hub as hub_module, hub_connection as connection_module
from custom_components.portos.api.exceptions import (
    PortosAuthenticationError,
    PortosConnectionError,
)
from custom_components.portos.api.hub_connection import (
    HubConnection,
    HubUnauthorizedError,
    handshake,
    negotiate,
    upgrade,
)
from custom_components.portos.api.models import (
    EVENT_RESOURCES_CHANGED,
)
from simulator import frames as ws_frames
from tests.api.hub_support import (
    ALL_TICKETS,
    HUB_LOGGER,
    HubHarness,
    Proxy,
    StallServer,
    assert_no_secret_logged,
    changed,
    connects_reach,
    hub_records,
    retry_pauses,
    self_signed_server_context,
)
from tests.common import until
from tests.till import Till

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable
    from pathlib import Path

    from custom_components.portos.api.hub_protocol import BadRecordError, Invocation
    from simulator.server import Simulator
    from tests.api.hub_support import HarnessFactory
    from tests.common import SimulatorFactory


@pytest.fixture
async def proxies() -> AsyncIterator[Callable[..., Awaitable[Proxy]]]:
    """Return a factory of started proxies; all are stopped after the test."""
    made: list[Proxy] = []

    async def factory(port: int, **kwargs: Any) -> Proxy:
        proxy = Proxy(port, **kwargs)
        await proxy.start()
        made.append(proxy)
        return proxy

    yield factory
    for proxy in made:
        await proxy.stop()


@pytest.fixture
async def stall_servers() -> AsyncIterator[Callable[[str], Awaitable[StallServer]]]:
    """Return a factory of started stalling servers; all are stopped after the test."""
    made: list[StallServer] = []

    async def factory(mode: str) -> StallServer:
        server = StallServer(mode)
        await server.start()
        made.append(server)
        return server

    yield factory
    for server in made:
        await server.stop()


@pytest.fixture
def quick_attempts(monkeypatch: pytest.MonkeyPatch) -> float:
    """Give connection attempts and replies 0.3 s (hubs made with keepalive 0.1)."""
    monkeypatch.setattr(hub_module, "_MIN_REPLY_TIMEOUT", 0.3)
    return 0.3


async def ticket_arrives(item: HubHarness, till: Till, name: str) -> None:
    """Create a ticket and wait for its notification."""
    await till.create_ticket(name)
    await until(lambda: name in [n for _, n, _ in item.events()], what=name)


# --- drops, restarts, tokens ----------------------------------------------------------------------


async def test_reconnects_after_drop_with_subscriptions_restored(
    simulator: Simulator, harness: HarnessFactory, till: Till
) -> None:
    """An abrupt drop is noticed at once; the new connection has the subscriptions again."""
    item = await harness(simulator.url)
    await item.hub.subscribe(ALL_TICKETS)
    await item.start()
    await ticket_arrives(item, till, "Before")
    for round_ in range(3):
        await till.drop_hub()
        await connects_reach(item, round_ + 2)
        await ticket_arrives(item, till, f"After drop {round_}")
    assert item.changes == [True, False] * 3 + [True]
    stats = item.hub.stats
    assert (stats.connects, stats.disconnects) == (4, 3)
    # The same token was still good: no 401, no fresh login.
    assert not any(force_new for force_new, _ in item.tokens)


async def test_reconnects_after_a_server_restart(
    simulator: Simulator, harness: HarnessFactory, till: Till
) -> None:
    """The server going away (close frames, then refused connections) and coming back."""
    item = await harness(simulator.url)
    await item.hub.subscribe(ALL_TICKETS)
    await item.start()
    await simulator.stop()
    await until(lambda: item.changes == [True, False])
    await until(lambda: item.hub.stats.errors >= 2)  # refused while it is down
    assert "Cannot reach the hub" in (item.hub.stats.last_error or "")
    await simulator.start()
    await until(lambda: item.hub.connected)
    await ticket_arrives(item, till, "After restart")
    assert item.hub.stats.connects == 2


async def test_a_restarted_server_that_forgot_every_token_gets_a_fresh_login_at_once(
    simulator_factory: SimulatorFactory,
    harness: HarnessFactory,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A new server process on the same port refuses the old token on negotiate (401).

    The hub asks for a fresh login right then: the token requests are [old, old, fresh], and no
    backoff pause is taken between the 401 and the connection that follows it.
    """
    caplog.set_level(logging.DEBUG, logger=HUB_LOGGER)
    first = await simulator_factory()
    item = await harness(first.url)
    await item.hub.subscribe(ALL_TICKETS)
    await item.start()
    port = first.port
    await first.stop()
    await until(lambda: item.changes == [True, False])
    restarted = await simulator_factory(port=port)  # a new process: sessions and tokens gone
    await connects_reach(item, 2)
    await ticket_arrives(item, Till(session, restarted.url), "After the restart")

    assert [force_new for force_new, _ in item.tokens][-3:] == [False, False, True]
    assert item.tokens[-2][1] == item.tokens[0][1] != item.tokens[-1][1]
    assert item.errors == []  # the fresh login worked: nothing for reauth
    messages = [r.getMessage() for r in hub_records(caplog)]
    refused = max(i for i, m in enumerate(messages) if "401 on negotiate" in m)
    connected = next(i for i, m in enumerate(messages) if "Connected" in m and i > refused)
    assert not [m for m in messages[refused:connected] if m.startswith("Next PORTOS hub")]


async def test_idle_connection_survives_three_client_timeouts(
    simulator_factory: SimulatorFactory, harness: HarnessFactory, session: aiohttp.ClientSession
) -> None:
    """Our keep-alive pings keep an idle connection alive past the server's client timeout."""
    sim = await simulator_factory(keepalive=1, client_timeout=3)
    till = Till(session, sim.url)
    item = await harness(sim.url, keepalive=1.0)
    await item.hub.subscribe(ALL_TICKETS)
    await item.start()
    await asyncio.sleep(3 * 3 + 0.5)
    stats = item.hub.stats
    assert (stats.connects, stats.disconnects, stats.errors) == (1, 0, 0)
    (conn,) = sim.state.hub.connections.values()
    assert conn.received >= 9  # pings, about one every 0.5 s
    await ticket_arrives(item, till, "Still here")
    assert item.changes == [True]


async def test_short_token_lifetime_keeps_connection_and_reconnects_with_fresh_token(
    simulator_factory: SimulatorFactory, harness: HarnessFactory, session: aiohttp.ClientSession
) -> None:
    """A connection outlives its token (as ASP.NET does); a reconnect uses a fresh one."""
    sim = await simulator_factory(token_lifetime=2, keepalive=1, client_timeout=3)
    till = Till(session, sim.url)
    item = await harness(sim.url, keepalive=1.0)
    await item.hub.subscribe(ALL_TICKETS)
    await item.start()
    await asyncio.sleep(2.5)  # the token has expired by now
    await ticket_arrives(item, till, "Token expired")
    assert item.hub.stats.connects == 1
    await till.drop_hub()
    await connects_reach(item, 2)
    await ticket_arrives(item, till, "Fresh token")
    first, second = item.tokens[0][1], item.tokens[-1][1]
    assert first != second
    assert item.errors == []


async def test_expired_tokens_then_drop_reconnects_after_401_with_forced_login(
    simulator: Simulator, harness: HarnessFactory, till: Till
) -> None:
    """Tokens revoked mid-connection: the open connection lives; the reconnect re-logs in."""
    item = await harness(simulator.url)
    await item.hub.subscribe(ALL_TICKETS)
    await item.start()
    await till.expire_tokens()
    await ticket_arrives(item, till, "Revoked but open")
    await till.drop_hub()
    await connects_reach(item, 2)
    await ticket_arrives(item, till, "After re-login")
    flags = [force_new for force_new, _ in item.tokens]
    assert flags == [False, False, True]
    assert item.tokens[0][1] == item.tokens[1][1] != item.tokens[2][1]
    assert item.errors == []  # a fresh login fixed it: nothing for reauth
    assert "401" in (item.hub.stats.last_error or "")


# --- silence and stuck peers ---------------------------------------------------------------------


async def test_dead_server_is_detected_and_replaced(
    simulator_factory: SimulatorFactory,
    harness: HarnessFactory,
    proxies: Callable[..., Awaitable[Proxy]],
    session: aiohttp.ClientSession,
) -> None:
    """A path that silently stops carrying anything: the watchdog replaces the connection."""
    sim = await simulator_factory(keepalive=0.5)
    proxy = await proxies(sim.port)
    till = Till(session, sim.url)
    item = await harness(sim.url, hub_url=proxy.hub_url, keepalive=1.0)
    await item.hub.subscribe(ALL_TICKETS)
    await item.start()
    await ticket_arrives(item, till, "Before the freeze")
    assert proxy.freeze() >= 1
    # Nothing marks the frozen connection as closed; only the silence gives it away.
    await connects_reach(item, 2)
    assert "silent" in (item.hub.stats.last_error or "")
    await ticket_arrives(item, till, "After the freeze")
    assert item.changes == [True, False, True]


async def test_subscribe_on_a_silently_dead_connection_is_sent_after_reconnect(
    simulator_factory: SimulatorFactory,
    harness: HarnessFactory,
    proxies: Callable[..., Awaitable[Proxy]],
    session: aiohttp.ClientSession,
) -> None:
    """A Subscribe whose completion never comes replaces the connection and is re-sent."""
    sim = await simulator_factory(keepalive=0.5)
    proxy = await proxies(sim.port)
    till = Till(session, sim.url)
    item = await harness(sim.url, hub_url=proxy.hub_url, keepalive=1.0)
    await item.start()
    proxy.freeze()
    await item.hub.subscribe(ALL_TICKETS)  # returns once the connection is given up
    await until(lambda: item.hub.connected and item.hub.stats.connects == 2)
    await ticket_arrives(item, till, "Subscribed late")


async def test_subscribe_without_completion_replaces_the_connection(
    simulator_factory: SimulatorFactory,
    harness: HarnessFactory,
    proxies: Callable[..., Awaitable[Proxy]],
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Half-open path: the server's pings still arrive but our Subscribe is never answered."""
    caplog.set_level(logging.DEBUG, logger=HUB_LOGGER)
    sim = await simulator_factory(keepalive=0.5)
    proxy = await proxies(sim.port)
    till = Till(session, sim.url)
    item = await harness(sim.url, hub_url=proxy.hub_url, keepalive=1.0)
    await item.start()
    proxy.freeze(down=False)
    await item.hub.subscribe(ALL_TICKETS)  # gives the connection up after the reply timeout
    await until(lambda: item.hub.connected and item.hub.stats.connects == 2)
    assert "Subscribe not confirmed: No completion for Subscribe within 5 s" in caplog.text
    await ticket_arrives(item, till, "Answered at last")


async def test_a_send_to_a_peer_that_stopped_reading_is_bounded(
    simulator: Simulator,
    proxies: Callable[..., Awaitable[Proxy]],
    session: aiohttp.ClientSession,
) -> None:
    """An invocation that cannot leave (the peer reads nothing, buffers full) fails in time.

    Closing that connection then cannot complete the WebSocket closing handshake either: it is
    cut after the close timeout.
    """
    proxy = await proxies(simulator.port)
    token = await HubHarness(session, simulator.url).client.get_token()
    bad: list[BadRecordError] = []
    conn = await HubConnection.open(
        session,
        proxy.hub_url,
        token,
        token_in_query=False,
        reply_timeout=0.5,
        close_timeout=0.2,
        on_invocation=print,
        on_bad_record=bad.append,
        name="PortosHub stalled",
    )
    assert proxy.stall() == 1
    huge = {"e": "x" * (32 * 1024 * 1024)}
    with pytest.raises(PortosConnectionError, match=r"not sent within 0\.5 s"):
        await conn.invoke("Subscribe", huge)
    await asyncio.wait_for(conn.close(), 5)
    assert conn.closed.is_set()
    assert bad == []


async def test_attempts_against_a_server_that_never_answers_are_each_bounded(
    simulator: Simulator,
    harness: HarnessFactory,
    stall_servers: Callable[[str], Awaitable[StallServer]],
    quick_attempts: float,
) -> None:
    """A hub that accepts TCP and never answers: each attempt times out, the next one follows."""
    server = await stall_servers("mute")
    item = await harness(
        simulator.url, hub_url=server.hub_url, keepalive=0.1, backoff_max=0.1, stop_timeout=0.3
    )
    await item.hub.start()
    await until(lambda: item.hub.stats.errors >= 4, what="4 failed attempts")
    assert item.hub.stats.last_error == "Timed out connecting to the hub (negotiate)"
    assert len(server.requests) >= 4
    assert all(request.startswith(b"POST") for request in server.requests)  # negotiate only
    assert not item.hub.connected
    await asyncio.wait_for(item.hub.stop(), quick_attempts + 1)


async def test_a_reply_that_trickles_in_forever_is_cut_at_the_attempt_timeout(
    simulator: Simulator,
    harness: HarnessFactory,
    stall_servers: Callable[[str], Awaitable[StallServer]],
    quick_attempts: float,
) -> None:
    """Bytes keep coming but the reply never ends: the attempt's deadline still holds."""
    server = await stall_servers("drip")
    item = await harness(
        simulator.url, hub_url=server.hub_url, keepalive=0.1, backoff_max=0.1, stop_timeout=0.3
    )
    await item.hub.start()
    await until(lambda: item.hub.stats.errors >= 2)
    assert item.hub.stats.last_error == "Timed out connecting to the hub (negotiate)"
    await asyncio.wait_for(item.hub.stop(), quick_attempts + 1)


async def test_websocket_upgrade_that_never_answers_is_bounded(
    simulator: Simulator,
    harness: HarnessFactory,
    stall_servers: Callable[[str], Awaitable[StallServer]],
    quick_attempts: float,
) -> None:
    """Negotiate answered (version 0), the WebSocket upgrade never: the upgrade times out."""
    server = await stall_servers("upgrade")
    item = await harness(
        simulator.url, hub_url=server.hub_url, keepalive=0.1, backoff_max=0.1, stop_timeout=0.3
    )
    await item.hub.start()
    await until(lambda: item.hub.stats.errors >= 3, what="3 failed attempts")
    assert item.hub.stats.last_error == "Timed out connecting to the hub (upgrade)"
    upgrades = [request for request in server.requests if request.startswith(b"GET")]
    assert len(upgrades) >= 3
    assert all(b"id=stalled" in request for request in upgrades)  # v0: the connectionId
    assert not item.hub.connected
    await asyncio.wait_for(item.hub.stop(), quick_attempts + 1)


async def test_handshake_that_never_answers_is_bounded(
    simulator: Simulator,
    harness: HarnessFactory,
    proxies: Callable[..., Awaitable[Proxy]],
    quick_attempts: float,
) -> None:
    """Upgrade done, then nothing more from the server: the handshake times out, is closed."""
    proxy = await proxies(simulator.port, after_upgrade="freeze")
    item = await harness(
        simulator.url,
        hub_url=proxy.hub_url,
        keepalive=0.1,
        backoff_max=0.1,
        stop_timeout=0.3,
    )
    await item.hub.start()
    await until(lambda: item.hub.stats.errors >= 2, what="2 failed attempts")
    assert item.hub.stats.last_error == "Timed out connecting to the hub (handshake)"
    assert not item.hub.connected


async def test_handshake_cut_off_is_a_failed_attempt(
    simulator: Simulator, harness: HarnessFactory, proxies: Callable[..., Awaitable[Proxy]]
) -> None:
    """The connection drops where the handshake reply should come: the attempt fails, retried."""
    proxy = await proxies(simulator.port, after_upgrade="close")
    item = await harness(simulator.url, hub_url=proxy.hub_url)
    await item.hub.start()
    await until(lambda: item.hub.stats.errors >= 2, what="2 failed attempts")
    assert (item.hub.stats.last_error or "").startswith("Hub handshake not answered: WebSocket")
    assert not item.hub.connected


async def test_handshake_on_a_closed_websocket_is_a_connection_error(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    """A WebSocket that is gone before the handshake is sent: a clear connection error."""
    hub_url = f"{simulator.url}/signalr/v1/mainHub"
    token = await HubHarness(session, simulator.url).client.get_token()
    ws = await upgrade(
        session,
        hub_url,
        await negotiate(session, hub_url, token),
        token,
        token_in_query=False,
        close_timeout=1,
    )
    await ws.close()
    with pytest.raises(PortosConnectionError, match="Hub handshake not sent"):
        await handshake(ws)


async def test_handshake_reply_that_is_no_json_is_a_failed_attempt(
    simulator: Simulator, harness: HarnessFactory, proxies: Callable[..., Awaitable[Proxy]]
) -> None:
    """A handshake reply that is not JSON: a server error naming it; the attempt is retried."""
    reply = ws_frames.frame(0x1, b"<html>\x1e", fin=True)
    proxy = await proxies(simulator.port, after_upgrade=reply)
    item = await harness(simulator.url, hub_url=proxy.hub_url)
    await item.hub.start()
    await until(lambda: item.hub.stats.errors >= 2, what="2 failed attempts")
    assert item.hub.stats.last_error == "Hub handshake reply unusable: '<html>'"
    assert not item.hub.connected


async def test_records_after_the_handshake_reply_in_its_message_are_delivered(
    simulator: Simulator, harness: HarnessFactory, proxies: Callable[..., Awaitable[Proxy]]
) -> None:
    """The handshake reply and the first records may share a WebSocket message (binary here)."""
    event = {"e": "portos.first", "ca": "2026-11-28T10:00:00Z", "p": None}
    on_event = json.dumps({"type": 1, "target": "OnEvent", "arguments": [event]})
    text = "{}\x1e" + on_event + "\x1e" + on_event[:10]
    binary = ws_frames.frame(0x2, text.encode(), fin=True)
    proxy = await proxies(simulator.port, after_upgrade=binary)
    item = await harness(simulator.url, hub_url=proxy.hub_url)
    await item.start()
    assert proxy.inject(ws_frames.frame(0x2, (on_event[10:] + "\x1e").encode(), fin=True)) == 1
    await until(lambda: len(item.notifications) == 2)
    assert [n.event for n in item.notifications] == ["portos.first", "portos.first"]
    assert item.hub.stats.malformed == 0


async def test_upgrade_failures_name_the_status_or_the_network_error(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    """An upgrade answered 404 (an id the server does not know) or refused at TCP level."""
    hub_url = f"{simulator.url}/signalr/v1/mainHub"
    token = await HubHarness(session, simulator.url).client.get_token()
    with pytest.raises(PortosConnectionError, match="upgrade failed: HTTP 404"):
        await upgrade(session, hub_url, "unknown", token, token_in_query=False, close_timeout=1)
    connection_id = await negotiate(session, hub_url, token)
    await simulator.stop()
    with pytest.raises(PortosConnectionError, match="Cannot reach the hub: Cannot connect to host"):
        await upgrade(session, hub_url, connection_id, token, token_in_query=False, close_timeout=1)


async def test_negotiate_redirect_is_not_followed(
    simulator: Simulator,
    harness: HarnessFactory,
    stall_servers: Callable[[str], Awaitable[StallServer]],
) -> None:
    """A redirect would carry the token elsewhere: the attempt fails instead."""
    server = await stall_servers("redirect")
    item = await harness(simulator.url, hub_url=server.hub_url)
    await item.hub.start()
    await until(lambda: item.hub.stats.errors >= 1)
    assert item.hub.stats.last_error == "Hub negotiate redirected (HTTP 307); not followed"


# --- backoff --------------------------------------------------------------------------------------


async def test_connections_that_die_after_the_handshake_keep_backing_off(
    simulator_factory: SimulatorFactory,
    harness: HarnessFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A server that closes every connection right after the handshake: delays keep growing."""
    caplog.set_level(logging.DEBUG, logger=HUB_LOGGER)
    sim = await simulator_factory(client_timeout=0.3)  # closes 0.3 s after our last message
    item = await harness(sim.url, backoff_max=0.4)
    await item.hub.start()
    await until(lambda: len(retry_pauses(caplog)) >= 5, what="5 retries")
    assert retry_pauses(caplog)[:5] == [0.05, 0.1, 0.2, 0.4, 0.4]
    stats = item.hub.stats
    assert stats.connects >= 4  # every one of them completed the handshake
    assert stats.errors == 0


async def test_backoff_starts_again_only_after_a_stable_connection(
    simulator_factory: SimulatorFactory,
    harness: HarnessFactory,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A connection that lived 2 x keepalive resets the backoff; a quick loss does not."""
    caplog.set_level(logging.DEBUG, logger=HUB_LOGGER)
    sim = await simulator_factory(keepalive=0.25)
    till = Till(session, sim.url)
    await till.pause_hub()
    item = await harness(sim.url, keepalive=0.5, backoff_max=0.4)  # stable after 1 s
    await item.hub.start()
    await until(lambda: len(retry_pauses(caplog)) >= 3, what="3 retries")
    await till.resume_hub()
    assert await item.hub.wait_connected(15)
    assert retry_pauses(caplog)[:3] == [0.05, 0.1, 0.2]
    await asyncio.sleep(1.2)  # the connection outlives 2 x keepalive
    seen = len(retry_pauses(caplog))
    await till.drop_hub()
    await until(lambda: len(retry_pauses(caplog)) > seen)
    assert retry_pauses(caplog)[seen] == 0.05
    await until(lambda: item.hub.connected and item.hub.stats.connects == 2)
    seen = len(retry_pauses(caplog))
    await till.drop_hub()  # at once: this connection proved nothing
    await until(lambda: len(retry_pauses(caplog)) > seen)
    assert retry_pauses(caplog)[seen] == 0.1
    await connects_reach(item, 3)


def test_default_backoff_finds_a_lan_server_within_seconds() -> None:
    """The defaults: first retry within 0.5 s, never more than 5 s between two tries."""

    async def provider(_force_new: bool) -> str:
        return "token"  # pragma: no cover - never called

    session: Any = None  # never used before start()
    hub = hub_module.PortosHub(session, "http://127.0.0.1:1/hub", provider, on_notification=print)
    assert (hub._backoff_initial, hub._backoff_max) == (0.5, 5.0)
    assert hub._reply_timeout == 10.0


# --- what the server says -------------------------------------------------------------------------


async def test_server_close_message_is_a_lost_connection(
    simulator: Simulator,
    harness: HarnessFactory,
    till: Till,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A SignalR close message ends the connection (the rest of its message with it)."""
    caplog.set_level(logging.DEBUG, logger=HUB_LOGGER)
    item = await harness(simulator.url)
    await item.hub.subscribe(ALL_TICKETS)
    await item.start()
    after_close = '{"type":1,"target":"OnEvent","arguments":[{"e":"late","ca":"2026-01-01"}]}'
    await till.emit_raw('{"type": 7, "error": "Server is going down"}\x1e' + after_close + "\x1e")
    await connects_reach(item, 2)
    assert "server closed the connection: Server is going down" in caplog.text
    await ticket_arrives(item, till, "After close")
    assert item.hub.stats.disconnects == 1
    assert item.hub.stats.notifications == 1  # not the one after the close message
    assert "asked not to reconnect" not in caplog.text

    await till.emit_raw('{"type": 7, "allowReconnect": false}\x1e')
    await connects_reach(item, 3)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("asked not to reconnect" in w and "no reason given" in w for w in warnings)


async def test_negotiate_version_0_server_is_served_by_connection_id(
    simulator: Simulator, harness: HarnessFactory, till: Till
) -> None:
    """The hub asks for negotiate version 1; a version 0 server's connectionId works too."""
    item = await harness(simulator.url)
    await item.hub.subscribe(ALL_TICKETS)
    await item.start()
    assert [c.negotiate_version for c in simulator.state.hub.connections.values()] == [1]
    await till.hub_mode(negotiate_version=0)
    await till.drop_hub()
    await connects_reach(item, 2)
    assert [c.negotiate_version for c in simulator.state.hub.connections.values()] == [0]
    await ticket_arrives(item, till, "Over version 0")


async def test_handshake_error_is_a_failed_attempt_then_a_connection(
    simulator: Simulator, harness: HarnessFactory, till: Till
) -> None:
    """A server refusing the handshake: each attempt fails with its error; then it connects."""
    await till.hub_mode(handshake_error="Hub is starting up.")
    item = await harness(simulator.url)
    await item.hub.subscribe(ALL_TICKETS)
    await item.hub.start()
    await until(lambda: item.hub.stats.errors >= 2)
    assert item.hub.stats.last_error == "Hub refused the handshake: Hub is starting up."
    assert not item.hub.connected
    assert item.errors == []  # a connection problem, not one for the user
    await till.hub_mode(handshake_error=None)
    assert await item.hub.wait_connected(15)
    await ticket_arrives(item, till, "Handshake accepted")


async def test_a_record_split_across_websocket_messages_is_joined(
    simulator: Simulator, harness: HarnessFactory, till: Till
) -> None:
    """A message may end inside a record: the rest of it comes with the next message."""
    item = await harness(simulator.url)
    await item.start()

    def on_event(name: str) -> str:
        event = {"e": "portos.partial", "ca": "2026-11-28T10:00:00Z", "p": {"name": name}}
        return json.dumps({"type": 1, "target": "OnEvent", "arguments": [event]}) + "\x1e"

    one, two, three = on_event("one"), on_event("two"), on_event("three")
    await till.emit_raw(one + two[:20], fragment=0)
    await till.emit_raw(two[20:40], fragment=0)  # only the middle of a record
    await till.emit_raw(two[40:] + three[:-1], fragment=0)
    await till.emit_raw("\x1e", fragment=0)
    await until(lambda: len(item.notifications) == 3)
    assert [n.raw_payload["name"] for n in item.notifications] == ["one", "two", "three"]
    stats = item.hub.stats
    assert (stats.malformed, stats.connects, stats.disconnects) == (0, 1, 0)


async def test_a_record_that_never_ends_is_dropped_as_malformed(
    simulator: Simulator,
    harness: HarnessFactory,
    till: Till,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Text without a separator is buffered only up to a limit, then dropped and reported."""
    monkeypatch.setattr(connection_module, "MAX_PARTIAL_RECORD", 1000)
    item = await harness(simulator.url)
    await item.hub.subscribe(ALL_TICKETS)
    await item.start()
    await till.emit_raw("x" * 600, fragment=0)
    await till.emit_raw("x" * 600, fragment=0)
    await until(lambda: item.hub.stats.malformed == 1)
    assert str(item.errors[0]) == "Malformed hub message: record without an end"
    await ticket_arrives(item, till, "After the endless record")
    assert item.hub.stats.connects == 1


async def test_a_broken_websocket_frame_replaces_the_connection(
    simulator: Simulator,
    harness: HarnessFactory,
    proxies: Callable[..., Awaitable[Proxy]],
    till: Till,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A frame no WebSocket may carry (reserved opcode 3) is an error: a new connection."""
    caplog.set_level(logging.DEBUG, logger=HUB_LOGGER)
    proxy = await proxies(simulator.port)
    item = await harness(simulator.url, hub_url=proxy.hub_url)
    await item.hub.subscribe(ALL_TICKETS)
    await item.start()
    assert proxy.inject(ws_frames.frame(0x3, b"", fin=True)) == 1
    await connects_reach(item, 2)
    assert "Lost the PORTOS hub connection (WebSocket error (WebSocketError))" in caplog.text
    await ticket_arrives(item, till, "After the broken frame")


@pytest.mark.parametrize("control", ["pong", "ping"])
async def test_control_frames_between_fragments_do_not_cut_a_notification(
    simulator: Simulator, harness: HarnessFactory, till: Till, control: str
) -> None:
    """A large ticket notification with a pong (or ping) between its fragments arrives whole.

    RFC 6455 lets a control frame sit between two fragments and ASP.NET Core's keep-alive can
    put an unsolicited pong there; signalrcore 1.0.2's own reader ended the message there.
    """
    item = await harness(simulator.url)
    await item.hub.subscribe(ALL_TICKETS)
    await item.start()
    items = [
        {"name": f"Kávé s mliekom č. {n}", "unitPrice": 2.5, "quantity": {"amount": 1}}
        for n in range(150)
    ]
    ticket = await till.create_ticket("Big order", items=items)
    await until(lambda: len(item.notifications) == 1)
    payload = {
        "u": {"u": "admin", "d": "P01", "f": None},
        "n": "tickets",
        "a": 2,
        "i": {"i": ticket["id"], "n": "tickets", "v": 2},
        "r": [ticket],
    }
    event = {"e": EVENT_RESOURCES_CHANGED, "ca": "2026-11-28T10:00:00Z", "p": payload}
    text = json.dumps({"type": 1, "target": "OnEvent", "arguments": [event]}) + "\x1e"
    assert len(text.encode()) > 3 * 4096
    body = {"raw": text, "fragment": 4096, "interleave": control}
    assert await till._control("emit", body) == {"sent": 1}
    await till.create_ticket("After the big one")
    await until(lambda: len(item.notifications) == 3)
    big = changed(item.notifications[1])
    assert big.resources == (ticket,)
    assert big.info.version == 2
    assert changed(item.notifications[2]).resources[0]["name"] == "After the big one"
    stats = item.hub.stats
    assert (stats.notifications, stats.malformed, stats.unknown_events) == (3, 0, 0)
    assert (stats.connects, stats.disconnects) == (1, 0)
    assert item.hub.connected
    assert item.errors == []


async def test_an_error_in_the_reader_ends_only_that_connection(
    simulator: Simulator,
    till: Till,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A bug behind the reader (a raising callback) is logged and closes the connection."""
    caplog.set_level(logging.DEBUG, logger=HUB_LOGGER)
    token = await HubHarness(session, simulator.url).client.get_token()

    def broken(_invocation: Invocation) -> None:
        raise RuntimeError("bug")

    conn = await HubConnection.open(
        session,
        f"{simulator.url}/signalr/v1/mainHub",
        token,
        token_in_query=False,
        reply_timeout=5,
        close_timeout=1,
        on_invocation=broken,
        on_bad_record=print,
        name="PortosHub broken",
    )
    await till.emit({"e": "x", "ca": "2026-11-28T10:00:00Z"})
    await asyncio.wait_for(conn.closed.wait(), 5)
    assert conn.close_reason == "unexpected error while reading"
    assert "Unexpected error reading the PORTOS hub" in caplog.text
    with pytest.raises(PortosConnectionError, match="closed"):
        await conn.invoke("Subscribe", {"e": "x"})
    await conn.close()
    await conn.ping()  # a ping that cannot go out gives the connection up (it is, already)
    assert conn.close_reason == "unexpected error while reading"
    assert "Ping not sent (Cannot send to the hub: Cannot write to closing transport)" in (
        caplog.text
    )


# --- where the token goes, and TLS ----------------------------------------------------------------


async def test_token_goes_into_the_query_only_for_a_server_that_wants_it_there(
    simulator: Simulator,
    harness: HarnessFactory,
    till: Till,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An upgrade refusing the header but not the query: the hub switches, once, for good.

    Nothing it logs or reports holds the token or the connection token, although both are
    in the WebSocket's URL now.
    """
    caplog.set_level(logging.DEBUG)
    await till.hub_mode(websocket_token="query")
    item = await harness(simulator.url)
    await item.hub.subscribe(ALL_TICKETS)
    await item.start()
    assert [force_new for force_new, _ in item.tokens] == [False]  # no new login for this
    await ticket_arrives(item, till, "Token in the query")
    connection_tokens = {c.token for c in simulator.state.hub.connections.values()}
    await till.drop_hub()
    await connects_reach(item, 2)  # straight to the query this time
    connection_tokens |= {c.token for c in simulator.state.hub.connections.values()}
    await item.hub.stop()

    messages = [r.getMessage() for r in hub_records(caplog)]
    assert sum("refused the token header" in m for m in messages) == 1
    assert sum("takes its token in the WebSocket URL" in m for m in messages) == 1
    secrets = {token for _, token in item.tokens} | connection_tokens
    assert len(secrets) == 3
    assert_no_secret_logged(caplog.records, secrets)


async def test_a_refused_token_in_the_query_is_reported_without_the_url(
    simulator: Simulator, session: aiohttp.ClientSession, till: Till
) -> None:
    """The upgrade error of aiohttp quotes the URL with the token: ours has neither, no cause."""
    await till.hub_mode(websocket_token="query")
    hub_url = f"{simulator.url}/signalr/v1/mainHub"
    token = await HubHarness(session, simulator.url).client.get_token()
    connection_token = await negotiate(session, hub_url, token)
    await till.expire_tokens()
    with pytest.raises(HubUnauthorizedError) as caught:
        await upgrade(
            session, hub_url, connection_token, token, token_in_query=True, close_timeout=1
        )
    err = caught.value
    assert isinstance(err, PortosAuthenticationError)
    assert err.stage == "upgrade"
    assert str(err) == "Hub refused the token (HTTP 401 on upgrade)"
    assert err.__cause__ is None
    assert err.__context__ is None
    assert token not in repr(err)
    assert connection_token not in repr(err)


async def test_tls_certificate_checks_follow_the_session(
    simulator: Simulator,
    harness: HarnessFactory,
    proxies: Callable[..., Awaitable[Proxy]],
    session: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    """A self-signed certificate: refused on a verifying session, accepted on one that is not.

    As Home Assistant hands the hub `async_get_clientsession(hass, verify_ssl=...)`.
    """
    context = await asyncio.to_thread(self_signed_server_context, tmp_path)
    proxy = await proxies(simulator.port, ssl_context=context)
    hub_url = proxy.hub_url
    till = Till(session, simulator.url)

    strict = await harness(simulator.url, hub_url=hub_url)
    await strict.hub.start()
    await until(lambda: strict.hub.stats.errors >= 1)
    assert "CERTIFICATE_VERIFY_FAILED" in (strict.hub.stats.last_error or "")
    assert not strict.hub.connected
    await strict.hub.stop()

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as unverified:
        relaxed = await harness(simulator.url, hub_url=hub_url, hub_session=unverified)
        await relaxed.hub.subscribe(ALL_TICKETS)
        await relaxed.start()
        await ticket_arrives(relaxed, till, "Over TLS")
        await relaxed.hub.stop()
