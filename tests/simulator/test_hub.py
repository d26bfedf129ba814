"""The hub speaks the ASP.NET Core SignalR JSON protocol: negotiate, auth, handshake, delivery."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

import aiohttp
import pytest

from simulator.hub import HubConnection, _Raw
from tests.common import until
from tests.simulator.hubclient import HUB, RS, HubClient, login

if TYPE_CHECKING:
    from simulator.server import Simulator
    from tests.common import SimulatorFactory
    from tests.simulator.hubclient import HubFactory
    from tests.till import Till

TICKETS = {"e": "portos.resources.changed", "r": [{"n": "tickets"}]}
MARKER = {"e": "test.marker", "s": None, "r": None, "ca": "2026-01-01T00:00:00Z", "p": None}


async def _marker(till: Till, client: HubClient) -> None:
    """Emit a marker to everyone and read up to it: nothing was queued before it for `client`."""
    await till.emit(MARKER)
    assert (await client.event())["e"] == "test.marker"


# --- negotiate -----------------------------------------------------------------------------------


async def test_negotiate_version_1_has_a_connection_token(
    http: aiohttp.ClientSession, simulator: Simulator, token: str
) -> None:
    """With negotiateVersion=1 the reply has a separate connectionToken, the WebSocket's id."""
    client = HubClient(http, simulator.url, token, negotiate_version=1)
    await client.connect()
    assert client.negotiation is not None
    assert client.negotiation["negotiateVersion"] == 1
    assert client.negotiation["connectionToken"] != client.negotiation["connectionId"]
    assert client.negotiation["availableTransports"] == [
        {"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}
    ]
    await client.close()


@pytest.mark.parametrize("requested", [None, 0, "x"])
async def test_negotiate_version_0_uses_the_connection_id(
    http: aiohttp.ClientSession, simulator: Simulator, token: str, requested: int | str | None
) -> None:
    """Without negotiateVersion (signalrcore) the reply is version 0 and the id is connectionId."""
    client = HubClient(http, simulator.url, token, negotiate_version=requested)  # type: ignore[arg-type]
    await client.connect()
    assert client.negotiation is not None
    assert client.negotiation["negotiateVersion"] == 0
    assert "connectionToken" not in client.negotiation
    await client.close()


async def test_negotiate_higher_version_is_answered_with_1(
    http: aiohttp.ClientSession, simulator: Simulator, token: str
) -> None:
    """A client asking for a newer negotiate version gets the server's highest, 1."""
    client = HubClient(http, simulator.url, token, negotiate_version=7)
    await client.connect()
    assert client.negotiation is not None
    assert client.negotiation["negotiateVersion"] == 1
    await client.close()


@pytest.mark.parametrize("via_query", [False, True])
async def test_token_in_header_or_query(
    http: aiohttp.ClientSession, simulator: Simulator, token: str, via_query: bool
) -> None:
    """The bearer token is accepted in the Authorization header or the access_token query."""
    client = HubClient(http, simulator.url, token, via_query=via_query)
    await client.connect()
    await client.subscribe(TICKETS)
    await client.close()


@pytest.mark.parametrize("bad_token", [None, "not-a-jwt", "a.b.\u00e9"])
@pytest.mark.parametrize("via_query", [False, True])
async def test_negotiate_without_a_valid_token_is_401(
    http: aiohttp.ClientSession, simulator: Simulator, bad_token: str | None, via_query: bool
) -> None:
    """Negotiate without a valid token is refused with 401."""
    client = HubClient(http, simulator.url, bad_token, via_query=via_query)
    response = await client.negotiate_request()
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("bad_token", ["x.y.z", "a.b.\u00e9"])
@pytest.mark.parametrize("via_query", [False, True])
async def test_websocket_without_a_valid_token_is_401(
    http: aiohttp.ClientSession, simulator: Simulator, token: str, bad_token: str, via_query: bool
) -> None:
    """The WebSocket request checks the token too, even with a valid negotiated id."""
    good = HubClient(http, simulator.url, token)
    response = await good.negotiate_request()
    assert response.status == 200
    bad = HubClient(http, simulator.url, bad_token, via_query=via_query)
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await bad.open_socket(None)
    assert err.value.status == 401


async def test_unknown_connection_id_is_404(
    http: aiohttp.ClientSession, simulator: Simulator, token: str
) -> None:
    """A WebSocket with an id that was never negotiated gets 404, as ASP.NET Core answers."""
    client = HubClient(http, simulator.url, token)
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await client.open_socket("never-negotiated")
    assert err.value.status == 404


async def test_second_websocket_for_a_connection_is_409(
    http: aiohttp.ClientSession, simulator: Simulator, hub_factory: HubFactory
) -> None:
    """A connection id already in use cannot get a second WebSocket."""
    first = await hub_factory()
    assert first.negotiation is not None
    second = HubClient(http, simulator.url, "unused")
    second._token = first._token
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await second.open_socket(first.negotiation["connectionToken"])
    assert err.value.status == 409


async def test_websocket_without_negotiate(
    http: aiohttp.ClientSession, simulator: Simulator, token: str, till: Till
) -> None:
    """Skipping negotiation (no id) opens a new connection, as the WebSockets transport allows."""
    client = HubClient(http, simulator.url, token, negotiate=False)
    await client.connect()
    await client.subscribe(TICKETS)
    ticket = await till.create_ticket("Table 1")
    notification = await client.event()
    assert notification["p"]["i"]["i"] == ticket["id"]
    assert notification["s"]["c"] in simulator.state.hub.connections
    await client.close()


async def test_plain_get_is_not_a_websocket(
    http: aiohttp.ClientSession, simulator: Simulator, token: str
) -> None:
    """Only the WebSockets transport exists: a plain GET (long polling, SSE) is refused."""
    async with http.get(
        f"{simulator.url}{HUB}", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        assert response.status == 400


async def test_pause_refuses_new_connections_with_503(
    http: aiohttp.ClientSession, simulator: Simulator, token: str, till: Till
) -> None:
    """While paused, negotiate and WebSocket get 503; after resume they work again."""
    client = HubClient(http, simulator.url, token)
    response = await client.negotiate_request()
    assert response.status == 200
    assert (await till.pause_hub()) == {"paused": True}
    assert (await client.negotiate_request()).status == 503
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await client.open_socket(None)
    assert err.value.status == 503
    assert (await till.resume_hub()) == {"paused": False}
    await client.connect()
    await client.close()


async def test_pause_keeps_open_connections(hub_factory: HubFactory, till: Till) -> None:
    """Pausing refuses only new connections; an open one keeps receiving."""
    client = await hub_factory()
    await till.pause_hub()
    await _marker(till, client)


# --- handshake -----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [0, 1])
async def test_handshake_versions_accepted(
    http: aiohttp.ClientSession, simulator: Simulator, token: str, version: int
) -> None:
    """Versions up to 1 are accepted (signalrcore 1.0.2 sends version 0)."""
    client = HubClient(http, simulator.url, token)
    await client.connect(handshake=False)
    await client.send_text(json.dumps({"protocol": "json", "version": version}) + RS)
    assert await client.receive_text() == "{}" + RS
    await client.close()


@pytest.mark.parametrize(
    ("handshake", "error"),
    [
        (
            '{"protocol":"messagepack","version":1}' + RS,
            "The protocol 'messagepack' is not supported.",
        ),
        ('{"protocol":"json","version":2}' + RS, "version 2"),
        ('{"protocol":"json","version":true}' + RS, "version True"),
        ("not json" + RS, "not valid JSON"),
        ("[1]" + RS, "must be an object"),
        ('{"protocol":"json","version":1}', "incomplete"),
    ],
)
async def test_bad_handshake_gets_an_error_and_a_close(
    http: aiohttp.ClientSession, simulator: Simulator, token: str, handshake: str, error: str
) -> None:
    """A refused handshake is answered `{"error": ...}` and the connection closes."""
    client = HubClient(http, simulator.url, token)
    await client.connect(handshake=False)
    await client.send_text(handshake)
    reply = await client.receive_text()
    assert reply.endswith(RS)
    assert error in json.loads(reply[:-1])["error"]
    await client.closed()


async def test_handshake_with_records_in_the_same_message(
    http: aiohttp.ClientSession, simulator: Simulator, token: str
) -> None:
    """Records after the handshake in the same WebSocket message are handled."""
    client = HubClient(http, simulator.url, token)
    await client.connect(handshake=False)
    invocation = {"type": 1, "invocationId": "1", "target": "Subscribe", "arguments": [TICKETS]}
    await client.send_text('{"protocol":"json","version":1}' + RS + json.dumps(invocation) + RS)
    assert await client.receive_text() == "{}" + RS
    assert await client.next() == {"type": 3, "invocationId": "1", "result": None}
    await client.close()


async def test_binary_frames_are_read_as_utf8(
    http: aiohttp.ClientSession, simulator: Simulator, token: str
) -> None:
    """The JSON protocol may arrive in binary frames (transfer format Binary)."""
    client = HubClient(http, simulator.url, token)
    await client.connect(handshake=False)
    assert client.ws is not None
    await client.ws.send_bytes(b'{"protocol":"json","version":1}\x1e')
    assert await client.receive_text() == "{}" + RS
    await client.ws.send_bytes(
        json.dumps(
            {"type": 1, "invocationId": "9", "target": "Subscribe", "arguments": [TICKETS]}
        ).encode()
        + b"\x1e"
    )
    assert (await client.next())["invocationId"] == "9"
    await client.close()


async def test_client_leaving_before_the_handshake(
    http: aiohttp.ClientSession, simulator: Simulator, token: str
) -> None:
    """A client that closes before its handshake leaves no connection behind."""
    client = HubClient(http, simulator.url, token)
    await client.connect(handshake=False)
    await client.close()
    await until(lambda: not simulator.state.hub.connections)


# --- invocations ---------------------------------------------------------------------------------


async def test_subscribe_completes_with_a_null_result(hub_factory: HubFactory) -> None:
    """Subscribe and Unsubscribe complete with `result: null`."""
    client = await hub_factory()
    assert await client.invoke("Subscribe", TICKETS) == {
        "type": 3,
        "invocationId": "1",
        "result": None,
    }
    assert (await client.invoke("Unsubscribe", TICKETS))["result"] is None


async def test_invocation_without_id_gets_no_completion(
    hub_factory: HubFactory, till: Till
) -> None:
    """A non-blocking invocation (no invocationId) subscribes without a completion."""
    client = await hub_factory()
    await client.send({"type": 1, "target": "Subscribe", "arguments": [TICKETS]})
    await client.send({"type": 1, "target": "Nope", "arguments": []})
    ticket = await till.create_ticket("Table 2")
    assert (await client.event())["p"]["i"]["i"] == ticket["id"]


@pytest.mark.parametrize(
    ("target", "arguments", "error"),
    [
        (
            "Nope",
            [TICKETS],
            (
                "Failed to invoke 'Nope' due to an error on the server. "
                "HubException: Method does not exist."
            ),
        ),
        ("Subscribe", [], "Invocation provides 0 argument(s) but target expects 1."),
        (
            "Subscribe",
            [TICKETS, TICKETS],
            "Invocation provides 2 argument(s) but target expects 1.",
        ),
        ("Subscribe", "oops", "Invocation provides 0 argument(s)"),
        ("Subscribe", [[]], "HubException: The subscription request must be an object."),
        ("Subscribe", [{"r": []}], "needs an event name"),
        ("Subscribe", [{"e": "x", "r": {}}], "'r' must be a list"),
        ("Subscribe", [{"e": "x", "r": [{"a": []}]}], "needs a name"),
        ("Unsubscribe", [{"e": "x", "r": ["tickets"]}], "needs a name"),
        ("Subscribe", [{"e": "x", "r": [{"n": "tickets", "a": ["closed"]}]}], "'a' must list"),
        ("Subscribe", [{"e": "x", "r": [{"n": "tickets", "a": "created"}]}], "'a' must list"),
    ],
)
async def test_bad_invocations_complete_with_an_error(
    hub_factory: HubFactory, target: str, arguments: object, error: str
) -> None:
    """Bad hub calls complete with an error; the connection stays usable."""
    client = await hub_factory()
    await client.send({"type": 1, "invocationId": "5", "target": target, "arguments": arguments})
    completion = await client.next()
    assert completion["type"] == 3
    assert completion["invocationId"] == "5"
    assert "result" not in completion
    assert error in completion["error"]
    await client.subscribe(TICKETS)


async def test_stream_invocation_is_refused(hub_factory: HubFactory) -> None:
    """Streaming is not offered: a StreamInvocation completes with an error."""
    client = await hub_factory()
    await client.send({"type": 4, "invocationId": "s1", "target": "Subscribe", "arguments": []})
    completion = await client.next()
    assert completion["invocationId"] == "s1"
    assert "not supported" in completion["error"]


async def test_ignored_message_types(hub_factory: HubFactory) -> None:
    """Pings, cancels, stream items, acks and sequences from the client are accepted silently."""
    client = await hub_factory()
    for kind in (6, 5, 2, 8, 9):
        await client.send({"type": kind})
    await client.subscribe(TICKETS)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("{not json" + RS, "not valid JSON"),
        ('{"type":42}' + RS, "unknown message type 42"),
        ("[]" + RS, "None"),
    ],
)
async def test_protocol_errors_close_with_a_close_message(
    hub_factory: HubFactory, simulator: Simulator, text: str, error: str
) -> None:
    """A record the protocol does not allow ends the connection with a close message (type 7)."""
    client = await hub_factory()
    await client.send_text(text)
    close = await client.next()
    assert close["type"] == 7
    assert close["error"].startswith("Connection closed with an error. InvalidDataException:")
    assert error in close["error"]
    await client.closed()


async def test_client_close_message_ends_the_connection(
    hub_factory: HubFactory, simulator: Simulator
) -> None:
    """A close message from the client ends its connection on the server."""
    client = await hub_factory()
    assert len(simulator.state.hub.connections) == 1
    await client.send({"type": 7})
    await client.closed()
    assert not simulator.state.hub.connections


# --- subscriptions and delivery ------------------------------------------------------------------


async def test_notification_envelope(hub_factory: HubFactory, till: Till) -> None:
    """The notification follows the PORTOS docs: e, s (receiver's id, SYSTEM), r, ca, ea, p."""
    client = await hub_factory()
    await client.subscribe(TICKETS)
    ticket = await till.create_ticket("Table 3")
    notification = await client.event()
    assert notification == {
        "e": "portos.resources.changed",
        "s": {"c": client.connection_id, "u": {"u": "SYSTEM", "d": "SYSTEM", "f": None}},
        "r": None,
        "ca": notification["ca"],
        "ea": None,
        "p": {
            "u": {"u": "admin", "d": "P01", "f": None},
            "n": "tickets",
            "a": 1,
            "i": {"i": ticket["id"], "n": "tickets", "v": 1},
            "r": [ticket],
        },
    }
    assert notification["ca"].endswith("Z")


async def test_change_sequence_actions_and_versions(hub_factory: HubFactory, till: Till) -> None:
    """Create 1, update 2, close 2 (closed), delete 3; every change bumps `_v`."""
    client = await hub_factory()
    await client.subscribe({"e": "portos.resources.changed"})
    first = await till.create_ticket("Table 4")
    await till.update_ticket(first["id"], note="window seat")
    await till.close_ticket(first["id"])
    second = await till.create_ticket("Table 5")
    await till.delete_ticket(second["id"])
    seen = [(await client.event())["p"] for _ in range(5)]
    assert [(p["a"], p["i"]["i"], p["i"]["v"]) for p in seen] == [
        (1, first["id"], 1),
        (2, first["id"], 2),
        (2, first["id"], 3),
        (1, second["id"], 1),
        (3, second["id"], 2),
    ]
    assert seen[1]["r"][0]["note"] == "window seat"
    assert seen[2]["r"][0]["closeDate"] is not None
    assert seen[2]["r"][0]["closeInfo"]["deviceName"] == "P01"


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        ({"e": "portos.resources.changed"}, [1, 2, 3]),
        ({"e": "portos.resources.changed", "r": []}, [1, 2, 3]),
        ({"e": "portos.resources.changed", "r": [{"n": "tickets"}]}, [1, 2, 3]),
        ({"e": "portos.resources.changed", "r": [{"n": "Tickets", "a": []}]}, [1, 2, 3]),
        ({"e": "portos.resources.changed", "r": [{"n": "tickets", "a": ["created"]}]}, [1]),
        (
            {"e": "portos.resources.changed", "r": [{"n": "tickets", "a": ["Updated", "deleted"]}]},
            [2, 3],
        ),
        ({"e": "portos.resources.changed", "r": [{"n": "devices"}]}, []),
        ({"e": "portos.licence.activated"}, []),
    ],
)
async def test_subscription_filters(
    hub_factory: HubFactory, till: Till, request_: dict[str, object], expected: list[int]
) -> None:
    """Event; resources; actions — empty or absent means all."""
    client = await hub_factory()
    await client.subscribe(request_)
    ticket = await till.create_ticket("Table 6")
    await till.update_ticket(ticket["id"], note="x")
    await till.delete_ticket(ticket["id"])
    await till.emit(MARKER)
    actions = []
    while (notification := await client.event())["e"] != "test.marker":
        actions.append(notification["p"]["a"])
    assert actions == expected


async def test_overlapping_subscriptions_deliver_once(hub_factory: HubFactory, till: Till) -> None:
    """Two matching subscriptions still give one notification per change."""
    client = await hub_factory()
    await client.subscribe({"e": "portos.resources.changed"})
    await client.subscribe(TICKETS)
    await client.subscribe(TICKETS)
    await till.create_ticket("Table 7")
    assert (await client.event())["p"]["a"] == 1
    await _marker(till, client)


async def test_unsubscribe_removes_the_same_payload(hub_factory: HubFactory, till: Till) -> None:
    """Unsubscribe takes the subscription's payload; other subscriptions stay."""
    client = await hub_factory()
    created = {
        "e": "portos.resources.changed",
        "r": [{"n": "tickets", "a": ["created", "deleted"]}],
    }
    await client.subscribe(created)
    await client.subscribe({"e": "portos.licence.activated"})
    # Order inside the lists does not matter; an unknown payload is a no-op.
    await client.invoke(
        "Unsubscribe",
        {"e": "portos.resources.changed", "r": [{"n": "tickets", "a": ["deleted", "created"]}]},
    )
    await client.invoke("Unsubscribe", {"e": "portos.resources.changed"})
    await till.create_ticket("Table 8")
    await till.activate_license()
    assert (await client.event())["e"] == "portos.licence.activated"
    await _marker(till, client)


async def test_each_connection_gets_its_own_sender_id(hub_factory: HubFactory, till: Till) -> None:
    """`s.c` is the receiving connection's id."""
    first = await hub_factory()
    second = await hub_factory(negotiate_version=None)
    for client in (first, second):
        await client.subscribe(TICKETS)
    await till.create_ticket("Table 9")
    assert (await first.event())["s"]["c"] == first.connection_id
    assert (await second.event())["s"]["c"] == second.connection_id


async def test_license_event(hub_factory: HubFactory, till: Till) -> None:
    """Activation sends portos.licence.activated with the new license as p."""
    client = await hub_factory()
    await client.subscribe({"e": "portos.licence.activated"})
    await till.set_license_days(3)
    shop_license = await till.activate_license()
    notification = await client.event()
    assert notification["e"] == "portos.licence.activated"
    assert notification["p"] == shop_license
    assert shop_license["remainingDays"] == 365


async def test_burst_is_batched_and_complete(hub_factory: HubFactory, till: Till) -> None:
    """A burst arrives complete and in order, several records per WebSocket frame."""
    client = await hub_factory()
    await client.subscribe(TICKETS)
    assert (await till.load(300))["count"] == 300
    versions = [(await client.event())["p"]["i"]["v"] for _ in range(300)]
    assert versions == [1, 2, 3] * 100
    assert any(frame.count(RS) > 1 for frame in client.frames)


# --- keep-alive, timeout, drop, emit -------------------------------------------------------------


async def test_pings_when_idle(
    simulator_factory: SimulatorFactory, http: aiohttp.ClientSession
) -> None:
    """An idle connection gets `{"type":6}` pings every keepalive."""
    simulator = await simulator_factory(keepalive=0.05)
    token = (await login(http, simulator.url))["tokenId"]
    client = HubClient(http, simulator.url, token)
    await client.connect()
    for _ in range(3):
        assert await client.next(skip_pings=False) == {"type": 6}
        await client.send({"type": 6})
    await client.close()


async def test_client_timeout_closes_with_an_error(
    simulator_factory: SimulatorFactory, http: aiohttp.ClientSession
) -> None:
    """A connection that sends nothing for client_timeout gets a close message, then is closed."""
    simulator = await simulator_factory(client_timeout=0.2, keepalive=10)
    token = (await login(http, simulator.url))["tokenId"]
    client = HubClient(http, simulator.url, token)
    await client.connect()
    close = await client.next()
    assert close == {
        "type": 7,
        "error": "Server timeout elapsed without receiving a message from the client.",
    }
    await client.closed()
    assert not simulator.state.hub.connections


async def test_client_timeout_before_the_handshake(
    simulator_factory: SimulatorFactory, http: aiohttp.ClientSession
) -> None:
    """A client that never handshakes is closed after client_timeout."""
    simulator = await simulator_factory(client_timeout=0.2)
    token = (await login(http, simulator.url))["tokenId"]
    client = HubClient(http, simulator.url, token)
    await client.connect(handshake=False)
    await client.closed()


async def test_pings_from_the_client_keep_it_alive(
    simulator_factory: SimulatorFactory, http: aiohttp.ClientSession
) -> None:
    """Client pings reset the client timeout."""
    simulator = await simulator_factory(client_timeout=0.3, keepalive=0.05)
    token = (await login(http, simulator.url))["tokenId"]
    client = HubClient(http, simulator.url, token)
    await client.connect()
    for _ in range(20):
        assert await client.next(skip_pings=False) == {"type": 6}
        await client.send({"type": 6})
    await client.subscribe(TICKETS)
    await client.close()


async def test_drop_cuts_connections_without_a_close_message(
    hub_factory: HubFactory, simulator: Simulator, till: Till
) -> None:
    """`/_sim/hub/drop` aborts every connection: no close message, no close frame."""
    first = await hub_factory()
    second = await hub_factory()
    assert (await till.drop_hub()) == {"dropped": 2}
    for client in (first, second):
        msg = await client.closed()
        assert msg.type is not aiohttp.WSMsgType.CLOSE
        assert all('"type":7' not in frame for frame in client.frames)
    await until(lambda: not simulator.state.hub.connections)
    again = await hub_factory()
    await again.subscribe(TICKETS)


async def test_emit_sends_to_every_connection(hub_factory: HubFactory, till: Till) -> None:
    """`/_sim/emit` sends the object as OnEvent to every connection, subscribed or not."""
    subscribed = await hub_factory()
    await subscribed.subscribe(TICKETS)
    bare = await hub_factory()
    notification = {
        "e": "portos.unknown",
        "s": None,
        "r": "ref",
        "ca": "2026-01-01T00:00:00Z",
        "p": [1],
    }
    assert (await till.emit(notification)) == {"sent": 2}
    assert await subscribed.event() == notification
    assert await bare.event() == notification


async def test_emit_raw_is_sent_verbatim(hub_factory: HubFactory, till: Till) -> None:
    """`{"raw": text}` arrives as exactly one WebSocket message with exactly that text."""
    client = await hub_factory()
    await client.subscribe(TICKETS)
    await till.emit_raw('{"type":1,"target":"OnEvent","arguments":[{"e":')
    assert await client.receive_text() == '{"type":1,"target":"OnEvent","arguments":[{"e":'
    await till.emit_raw("garbage without separator")
    assert await client.receive_text() == "garbage without separator"


async def test_stop_closes_connections_with_going_away(
    simulator: Simulator, hub_factory: HubFactory
) -> None:
    """Stopping the server closes hub WebSockets with 1001 (going away)."""
    client = await hub_factory()
    stopping = asyncio.create_task(simulator.stop())
    msg = await client.closed()
    await stopping
    assert msg.type is aiohttp.WSMsgType.CLOSE
    assert msg.data == 1001


async def test_restart_on_the_same_port_keeps_tokens(
    simulator: Simulator, http: aiohttp.ClientSession, token: str, till: Till
) -> None:
    """After stop() and start() the same port serves again; issued tokens still work."""
    port = simulator.port
    await simulator.stop()
    await simulator.start()
    assert simulator.port == port
    client = HubClient(http, simulator.url, token)
    await client.connect()
    await client.subscribe(TICKETS)
    ticket = await till.create_ticket("Table 10")
    assert (await client.event())["p"]["i"]["i"] == ticket["id"]
    await client.close()


async def test_stuck_client_is_dropped(
    hub_factory: HubFactory, simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client whose backlog overflows is cut off rather than buffered without end."""
    monkeypatch.setattr("simulator.hub._MAX_BACKLOG", 3)
    client = await hub_factory()
    (connection,) = simulator.state.hub.connections.values()
    # Enqueued synchronously, the backlog overflows before the writer can run.
    for _ in range(5):
        connection.enqueue("{}" + RS)
    await client.closed()


async def test_stale_negotiations_expire(
    http: aiohttp.ClientSession,
    simulator: Simulator,
    token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A negotiated id that was never used expires; its WebSocket then gets 404."""
    monkeypatch.setattr("simulator.hub._PENDING_TTL", -1.0)
    client = HubClient(http, simulator.url, token, negotiate_version=None)
    async with http.post(
        f"{simulator.url}{HUB}/negotiate", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        stale = (await response.json())["connectionId"]
    await client.negotiate_request()
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await client.open_socket(stale)
    assert err.value.status == 404


async def test_a_client_that_stops_reading_is_cut_off(
    simulator_factory: SimulatorFactory,
    http: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When the writer cannot flush (the client reads nothing), closing cuts the connection."""
    monkeypatch.setattr("simulator.hub._FLUSH_TIMEOUT", 0.05)
    simulator = await simulator_factory(client_timeout=0.3, keepalive=60)
    token = (await login(http, simulator.url))["tokenId"]
    client = HubClient(http, simulator.url, token)
    await client.connect()
    (connection,) = simulator.state.hub.connections.values()
    # Far more than the socket buffers hold; the test reads nothing until the timeout.
    for _ in range(64):
        connection.enqueue(_Raw("x" * 512 * 1024))
    # Reading nothing until the server has given up on this client.
    await until(lambda: not simulator.state.hub.connections, timeout=20)
    assert client.ws is not None
    while True:
        msg = await client.ws.receive(timeout=10)
        if msg.type is not aiohttp.WSMsgType.TEXT:
            break
    # Cut, not closed: no close frame ever arrived.
    assert msg.type is not aiohttp.WSMsgType.CLOSE


def test_abort_without_a_socket_is_harmless() -> None:
    """Aborting a connection that never got its WebSocket does nothing."""
    HubConnection("id", "id", 0).abort()


# --- other kinds of server (/_sim/hub/mode) ------------------------------------------------------


async def test_mode_negotiate_version_0_answers_an_old_server_reply(
    http: aiohttp.ClientSession, simulator: Simulator, token: str, till: Till
) -> None:
    """With negotiate_version 0 a request for version 1 is answered as a version 0 server does."""
    assert (await till.hub_mode(negotiate_version=0))["negotiate_version"] == 0
    client = HubClient(http, simulator.url, token, negotiate_version=1)
    await client.connect()
    assert client.negotiation is not None
    assert client.negotiation["negotiateVersion"] == 0
    assert "connectionToken" not in client.negotiation
    await client.subscribe(TICKETS)
    await client.close()
    await till.hub_mode(negotiate_version=1)
    again = HubClient(http, simulator.url, token, negotiate_version=1)
    await again.connect()
    assert again.negotiation is not None
    assert again.negotiation["negotiateVersion"] == 1
    await again.close()


async def test_mode_websocket_token_query_refuses_the_header_on_the_upgrade(
    http: aiohttp.ClientSession, simulator: Simulator, token: str, till: Till
) -> None:
    """With websocket_token "query" negotiate takes the header, the WebSocket only the query."""
    assert (await till.hub_mode(websocket_token="query"))["websocket_token"] == "query"
    header = HubClient(http, simulator.url, token)
    assert (await header.negotiate_request()).status == 200
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await header.connect()
    assert err.value.status == 401
    query = HubClient(http, simulator.url, token, via_query=True)
    await query.connect()
    await query.subscribe(TICKETS)
    await query.close()
    assert (await till.hub_mode(websocket_token="any"))["websocket_token"] == "any"
    await header.connect()
    await header.close()


async def test_mode_handshake_error_refuses_every_handshake(
    http: aiohttp.ClientSession, simulator: Simulator, token: str, till: Till
) -> None:
    """With a handshake_error every valid handshake is answered with it, then the close."""
    mode = await till.hub_mode(handshake_error="Hub is starting up.")
    assert mode == {
        "negotiate_version": 1,
        "websocket_token": "any",
        "handshake_error": "Hub is starting up.",
    }
    client = HubClient(http, simulator.url, token)
    await client.connect(handshake=False)
    await client.send_text(json.dumps({"protocol": "json", "version": 1}) + RS)
    assert json.loads((await client.receive_text())[:-1]) == {"error": "Hub is starting up."}
    await client.closed()
    assert (await till.hub_mode(handshake_error=None))["handshake_error"] is None
    await client.connect()
    await client.close()
