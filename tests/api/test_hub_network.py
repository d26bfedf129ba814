"""PortosHub when the network or the server misbehaves: drops, restarts, silence, tokens, TLS."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import json
import logging
import threading
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from custom_components.portos.api import hub as hub_module
from custom_components.portos.api.models import (
    EVENT_RESOURCES_CHANGED,
    Subscription,
    SubscriptionResource,
)
from tests.api.hub_support import (
    HubHarness,
    Proxy,
    StallServer,
    changed,
    hub_threads,
    self_signed_server_context,
    signalrcore_threads,
    until,
)
from tests.till import Till

if TYPE_CHECKING:
    from pathlib import Path

    from simulator.server import Simulator

ALL_TICKETS = Subscription(EVENT_RESOURCES_CHANGED, (SubscriptionResource("tickets"),))

type HarnessFactory = Callable[..., Awaitable[HubHarness]]
type SimulatorFactory = Callable[..., Awaitable[Simulator]]


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """Yield an aiohttp session for the client and the till."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
async def harness(session: aiohttp.ClientSession) -> AsyncIterator[HarnessFactory]:
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


async def connects_reach(item: HubHarness, count: int) -> None:
    """Wait until the hub has connected `count` times."""
    await until(lambda: item.hub.stats.connects == count, what=f"{count} connects")


async def ticket_arrives(item: HubHarness, till: Till, name: str) -> None:
    """Create a ticket and wait for its notification."""
    await till.create_ticket(name)
    await until(lambda: name in [n for _, n, _ in item.events()], what=name)


async def test_reconnects_after_drop_with_subscriptions_restored(
    simulator: Simulator, harness: HarnessFactory, session: aiohttp.ClientSession
) -> None:
    """An abrupt drop is noticed at once; the new connection has the subscriptions again."""
    till = Till(session, simulator.url)
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
    simulator: Simulator, harness: HarnessFactory, session: aiohttp.ClientSession
) -> None:
    """The server going away (close frames, then refused connections) and coming back."""
    till = Till(session, simulator.url)
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


async def test_idle_connection_survives_three_client_timeouts(
    simulator_factory: SimulatorFactory, harness: HarnessFactory, session: aiohttp.ClientSession
) -> None:
    """The pinger of signalrcore keeps an idle connection alive past the server's client timeout."""
    sim = await simulator_factory(keepalive=1, client_timeout=3)
    till = Till(session, sim.url)
    item = await harness(sim.url, keepalive=1.0)
    await item.hub.subscribe(ALL_TICKETS)
    await item.start()
    await asyncio.sleep(3 * 3 + 0.5)
    stats = item.hub.stats
    assert (stats.connects, stats.disconnects, stats.errors) == (1, 0, 0)
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
    await until(lambda: item.hub.stats.connects == 2)
    await ticket_arrives(item, till, "Fresh token")
    first, second = item.tokens[0][1], item.tokens[-1][1]
    assert first != second
    assert item.errors == []


async def test_expired_tokens_then_drop_reconnects_after_401_with_forced_login(
    simulator: Simulator, harness: HarnessFactory, session: aiohttp.ClientSession
) -> None:
    """Tokens revoked mid-connection: the open connection lives; the reconnect re-logs in."""
    till = Till(session, simulator.url)
    item = await harness(simulator.url)
    await item.hub.subscribe(ALL_TICKETS)
    await item.start()
    await till.expire_tokens()
    await ticket_arrives(item, till, "Revoked but open")
    await till.drop_hub()
    await until(lambda: item.hub.stats.connects == 2)
    await ticket_arrives(item, till, "After re-login")
    flags = [force_new for force_new, _ in item.tokens]
    assert flags == [False, False, True]
    assert item.tokens[0][1] == item.tokens[1][1] != item.tokens[2][1]
    assert item.errors == []  # a fresh login fixed it: nothing for reauth
    assert "401" in (item.hub.stats.last_error or "")


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
    item = await harness(sim.url, hub_url=f"{proxy.url}/signalr/v1/mainHub", keepalive=1.0)
    await item.hub.subscribe(ALL_TICKETS)
    await item.start()
    await ticket_arrives(item, till, "Before the freeze")
    assert proxy.freeze() >= 1
    # Nothing marks the frozen connection as closed; only the silence gives it away.
    await until(lambda: item.hub.stats.connects == 2)
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
    item = await harness(sim.url, hub_url=f"{proxy.url}/signalr/v1/mainHub", keepalive=1.0)
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
    sim = await simulator_factory(keepalive=0.5)
    proxy = await proxies(sim.port)
    till = Till(session, sim.url)
    item = await harness(sim.url, hub_url=f"{proxy.url}/signalr/v1/mainHub", keepalive=1.0)
    await item.start()
    proxy.freeze(down=False)
    await item.hub.subscribe(ALL_TICKETS)  # gives the connection up after the reply timeout
    await until(lambda: item.hub.connected and item.hub.stats.connects == 2)
    assert "Subscribe not confirmed" in caplog.text
    await ticket_arrives(item, till, "Answered at last")


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
    # Closing the server unblocks any thread still stuck on it: none may be left.
    await until(lambda: hub_threads() == [], what="hub threads ended")


@pytest.fixture
def quick_attempts(monkeypatch: pytest.MonkeyPatch) -> float:
    """Give connection attempts a 0.3 s timeout (hubs made with keepalive 0.1)."""
    monkeypatch.setattr(hub_module, "_MIN_REPLY_TIMEOUT", 0.3)
    return 0.3


def _new_threads(before: set[threading.Thread]) -> set[threading.Thread]:
    """Return the live threads started since `before` was taken."""
    return set(threading.enumerate()) - before


async def test_server_that_never_answers_does_not_pile_up_threads(
    simulator: Simulator,
    harness: HarnessFactory,
    stall_servers: Callable[[str], Awaitable[StallServer]],
    quick_attempts: float,
) -> None:
    """A hub that accepts TCP and never answers: many attempts, one blocked thread at most.

    signalrcore's negotiate has no timeout of its own; each attempt's negotiate is bounded by
    the attempt's timeout, so attempts go on while the server holds every connection open.
    """
    server = await stall_servers("mute")
    before = set(threading.enumerate())
    item = await harness(
        simulator.url, hub_url=server.hub_url, keepalive=0.1, backoff_max=0.1, stop_timeout=0.3
    )
    most = 0

    def attempts_made() -> bool:
        nonlocal most
        most = max(most, len(_new_threads(before)))
        return item.hub.stats.errors >= 8  # more attempts than a default executor has workers

    await item.hub.start()
    await until(attempts_made, what="8 failed attempts")
    assert most <= 2, most  # the attempt's thread and, briefly, its teardown
    assert len(server.requests) >= 8
    assert all(request.startswith(b"POST") for request in server.requests)  # negotiate only
    assert not item.hub.connected
    await asyncio.wait_for(item.hub.stop(), 0.3 + 1)


async def test_attempt_stuck_in_negotiate_blocks_the_next_one_and_not_stop(
    simulator: Simulator,
    harness: HarnessFactory,
    stall_servers: Callable[[str], Awaitable[StallServer]],
    quick_attempts: float,
) -> None:
    """A reply that trickles in forever: no second attempt meanwhile; stop() stays bounded."""
    server = await stall_servers("drip")
    item = await harness(
        simulator.url, hub_url=server.hub_url, keepalive=0.1, backoff_max=0.1, stop_timeout=0.3
    )
    await item.hub.start()
    await until(lambda: item.hub.stats.errors >= 1)
    assert item.hub.stats.last_error == "Timed out connecting to the hub"
    # Time for several more attempts if the hub did not wait for the blocked one.
    await asyncio.sleep(10 * quick_attempts)
    assert item.hub.stats.errors == 1
    assert len(server.requests) == 1
    stuck = hub_threads()
    assert [thread.name for thread in stuck] == ["PortosHub connect #1"]
    await asyncio.wait_for(item.hub.stop(), 0.3 + 1)
    assert stuck[0].is_alive()  # still blocked: it ends when the server goes (fixture)


async def test_websocket_upgrade_that_never_answers_is_bounded(
    simulator: Simulator,
    harness: HarnessFactory,
    stall_servers: Callable[[str], Awaitable[StallServer]],
    quick_attempts: float,
) -> None:
    """Negotiate answered, the WebSocket upgrade never: signalrcore's socket read is bounded."""
    server = await stall_servers("upgrade")
    before = set(threading.enumerate())
    item = await harness(
        simulator.url, hub_url=server.hub_url, keepalive=0.1, backoff_max=0.1, stop_timeout=0.3
    )
    most = 0

    def attempts_made() -> bool:
        nonlocal most
        most = max(most, len(_new_threads(before)))
        return item.hub.stats.errors >= 4

    await item.hub.start()
    await until(attempts_made, what="4 failed attempts")
    assert most <= 2, most
    upgrades = [request for request in server.requests if request.startswith(b"GET")]
    assert len(upgrades) >= 3
    assert not item.hub.connected
    await asyncio.wait_for(item.hub.stop(), 0.3 + 1)


def _retry_delays(caplog: pytest.LogCaptureFixture) -> list[float]:
    """Return the backoff delays (before jitter) the hub chose, in order."""
    delays: list[float] = []
    for record in caplog.records:
        if record.msg == hub_module._RETRY_MESSAGE:
            assert isinstance(record.args, tuple)
            delays.append(float(record.args[1]))  # type: ignore[arg-type]
    return delays


async def test_connections_that_die_after_the_handshake_keep_backing_off(
    simulator_factory: SimulatorFactory,
    harness: HarnessFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A server that closes every connection right after the handshake: delays keep growing."""
    caplog.set_level(logging.DEBUG, logger=hub_module.__name__)
    sim = await simulator_factory(client_timeout=0.3)  # closes 0.3 s after our last message
    item = await harness(sim.url, backoff_max=0.4)
    await item.hub.start()
    await until(lambda: len(_retry_delays(caplog)) >= 5, what="5 retries")
    assert _retry_delays(caplog)[:5] == [0.05, 0.1, 0.2, 0.4, 0.4]
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
    caplog.set_level(logging.DEBUG, logger=hub_module.__name__)
    sim = await simulator_factory(keepalive=0.25)
    till = Till(session, sim.url)
    await till.pause_hub()
    item = await harness(sim.url, keepalive=0.5, backoff_max=0.4)  # stable after 1 s
    await item.hub.start()
    await until(lambda: len(_retry_delays(caplog)) >= 3, what="3 retries")
    await till.resume_hub()
    assert await item.hub.wait_connected(15)
    assert _retry_delays(caplog)[:3] == [0.05, 0.1, 0.2]
    await asyncio.sleep(1.2)  # the connection outlives 2 x keepalive
    seen = len(_retry_delays(caplog))
    await till.drop_hub()
    await until(lambda: len(_retry_delays(caplog)) > seen)
    assert _retry_delays(caplog)[seen] == 0.05
    await until(lambda: item.hub.connected and item.hub.stats.connects == 2)
    seen = len(_retry_delays(caplog))
    await till.drop_hub()  # at once: this connection proved nothing
    await until(lambda: len(_retry_delays(caplog)) > seen)
    assert _retry_delays(caplog)[seen] == 0.1
    await until(lambda: item.hub.stats.connects == 3)


async def test_server_close_message_is_a_lost_connection(
    simulator: Simulator, harness: HarnessFactory, session: aiohttp.ClientSession
) -> None:
    """A SignalR close message ends the connection; the hub reconnects."""
    till = Till(session, simulator.url)
    item = await harness(simulator.url)
    await item.hub.subscribe(ALL_TICKETS)
    await item.start()
    await till.emit_raw('{"type": 7, "error": "Server is going down"}\x1e')
    await until(lambda: item.hub.stats.connects == 2)
    await ticket_arrives(item, till, "After close")
    assert item.hub.stats.disconnects == 1


@pytest.mark.parametrize("control", ["pong", "ping"])
async def test_control_frames_between_fragments_do_not_cut_a_notification(
    simulator: Simulator, harness: HarnessFactory, session: aiohttp.ClientSession, control: str
) -> None:
    """A large ticket notification with a pong (or ping) between its fragments arrives whole.

    RFC 6455 lets a control frame sit between two fragments and ASP.NET Core's keep-alive can
    put an unsolicited pong there; signalrcore 1.0.2 alone ends the message at that frame.
    """
    till = Till(session, simulator.url)
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


async def test_signalrcore_own_reconnect_is_treated_as_a_lost_connection(
    simulator: Simulator, harness: HarnessFactory, session: aiohttp.ClientSession
) -> None:
    """Should signalrcore ever reconnect on its own, the hub replaces that connection."""
    till = Till(session, simulator.url)
    item = await harness(simulator.url)
    await item.hub.subscribe(ALL_TICKETS)
    await item.start()
    link = item.hub._link
    assert link is not None
    transport: Any = getattr(link.conn, "transport", None)
    transport.manually_closing = False  # what the hub switched off after start()
    await till.drop_hub()
    await until(lambda: item.hub.stats.connects == 2)
    await ticket_arrives(item, till, "After its reconnect")
    assert item.changes == [True, False, True]


async def test_tls_certificate_checks_follow_verify_ssl(
    simulator: Simulator,
    harness: HarnessFactory,
    proxies: Callable[..., Awaitable[Proxy]],
    session: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    """A self-signed certificate is refused by default and accepted with verify_ssl=False."""
    context = await asyncio.to_thread(self_signed_server_context, tmp_path)
    proxy = await proxies(simulator.port, ssl_context=context)
    hub_url = f"{proxy.url}/signalr/v1/mainHub"
    till = Till(session, simulator.url)

    strict = await harness(simulator.url, hub_url=hub_url)
    await strict.hub.start()
    await until(lambda: strict.hub.stats.errors >= 1)
    assert "CERTIFICATE_VERIFY_FAILED" in (strict.hub.stats.last_error or "")
    assert not strict.hub.connected
    await strict.hub.stop()

    relaxed = await harness(simulator.url, hub_url=hub_url, verify_ssl=False)
    await relaxed.hub.subscribe(ALL_TICKETS)
    await relaxed.start()
    await ticket_arrives(relaxed, till, "Over TLS")
