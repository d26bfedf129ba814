"""Large hub messages go out as a TEXT frame with FIN=0 and continuation frames, as Kestrel does."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
import pytest

from simulator.frames import fragment, frame, send_text
from tests.simulator.hubclient import RS, HubClient, login
from tests.simulator.rawws import (
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    Frame,
    RawHubSocket,
    parse_frames,
)
from tests.till import Till, TillError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from simulator.server import Simulator
    from tests.common import SimulatorFactory
    from tests.simulator.hubclient import HubFactory

TICKETS = {"e": "portos.resources.changed", "r": [{"n": "tickets"}]}


def _items(count: int) -> list[dict[str, Any]]:
    """Return a long order: non-ASCII names, so fragment cuts can fall inside a character."""
    return [
        {"name": f"Kávé s mliekom č. {n}", "unitPrice": 2.5, "quantity": {"amount": 1}}
        for n in range(count)
    ]


def _assert_fragmented(frames: list[Frame], size: int) -> bytes:
    """Check one message's frames are TEXT FIN=0, continuations, last FIN=1; return the payload."""
    first, *middle, last = frames
    assert (first.opcode, first.fin) == (OP_TEXT, False)
    assert all((f.opcode, f.fin) == (OP_CONTINUATION, False) for f in middle)
    assert (last.opcode, last.fin) == (OP_CONTINUATION, True)
    assert all(f.rsv == 0 and not f.masked for f in frames)
    assert all(len(f.payload) == size for f in frames[:-1])
    assert 0 < len(last.payload) <= size
    return b"".join(f.payload for f in frames)


@pytest.fixture
async def raw(
    http: aiohttp.ClientSession, simulator: Simulator, token: str
) -> AsyncIterator[RawHubSocket]:
    """Return a handshaken hub connection read frame by frame."""
    socket = RawHubSocket(http, simulator.url, token)
    await socket.connect()
    yield socket
    await socket.close()


# --- framing in memory ---------------------------------------------------------------------------


@pytest.mark.parametrize("length", [0, 125, 126, 65535, 65536])
def test_frame_lengths(length: int) -> None:
    """Each length encoding of RFC 6455 (7, 16 and 64 bit) reads back; FIN follows the flag."""
    payload = bytes(range(256)) * (length // 256) + bytes(length % 256)
    for fin in (True, False):
        assert parse_frames(frame(OP_TEXT, payload, fin=fin)) == [
            Frame(fin, 0, OP_TEXT, False, payload)
        ]


def test_fragment_cuts_every_size_bytes_even_inside_a_character() -> None:
    """A message is cut every N bytes, so a cut can split a UTF-8 sequence; joined, it is whole."""
    data = ("é" * 10).encode()
    frames = parse_frames(fragment(data, 3))
    assert _assert_fragmented(frames, 3) == data
    assert len(frames) == 7
    with pytest.raises(UnicodeDecodeError):
        frames[0].payload.decode()
    # Two fragments exactly: no middle frames.
    assert [f.opcode for f in parse_frames(fragment(b"abcd", 2))] == [OP_TEXT, OP_CONTINUATION]


async def test_send_text_needs_a_prepared_socket() -> None:
    """Fragmenting an unprepared response is a programming error, as aiohttp's send_str says."""
    with pytest.raises(RuntimeError, match="prepared"):
        await send_text(web.WebSocketResponse(), "x" * 10, 4)


async def test_send_text_on_a_cut_connection(hub_factory: HubFactory, simulator: Simulator) -> None:
    """A fragmented send on a connection whose transport is gone raises ConnectionResetError."""
    client = await hub_factory()
    connection = simulator.state.hub.connections[client.connection_id]
    assert connection.ws is not None
    connection.abort()
    with pytest.raises(ConnectionResetError):
        await send_text(connection.ws, "x" * 10, 4)


# --- on the wire ---------------------------------------------------------------------------------


async def test_large_notification_is_fragmented_at_4096(
    raw: RawHubSocket, till: Till, simulator: Simulator
) -> None:
    """By default a notification over 4096 bytes is a text frame and continuation frames."""
    assert simulator.state.config.ws_fragment_size == 4096
    ticket = await till.create_ticket("Table 1", items=_items(1))
    await till.emit({"e": "test.small", "p": ticket})
    (small,) = await raw.message()
    assert small.fin
    assert small.opcode == OP_TEXT
    ticket = await till.update_ticket(ticket["id"], items=_items(150))
    await till.emit({"e": "test.large", "p": ticket})
    frames = await raw.message()
    assert len(frames) > 3
    text = _assert_fragmented(frames, 4096).decode()
    assert text.endswith(RS)
    record = json.loads(text.removesuffix(RS))
    assert record["arguments"][0]["p"] == ticket
    state = await till.state()
    (summary,) = state["connections"]
    assert summary["fragmented"] == 1
    assert state["stats"]["messagesFragmented"] == 1


@pytest.mark.parametrize("size", [1, 7, 1000])
async def test_emit_raw_with_a_fragment_size(raw: RawHubSocket, till: Till, size: int) -> None:
    """`{"raw", "fragment": N}` forces N-byte fragments for that message only."""
    text = "Účet " * 300
    assert await till.emit_raw(text, fragment=size) == {"sent": 1}
    assert _assert_fragmented(await raw.message(), size).decode() == text


async def test_emit_raw_with_fragment_0_is_one_frame(raw: RawHubSocket, till: Till) -> None:
    """`"fragment": 0` sends even a large message as one frame; exactly the size is not cut."""
    await till.emit_raw("x" * 10_000, fragment=0)
    assert await raw.message() == [Frame(True, 0, OP_TEXT, False, b"x" * 10_000)]
    await till.emit_raw("y" * 4096)
    assert await raw.message() == [Frame(True, 0, OP_TEXT, False, b"y" * 4096)]


async def test_ws_fragment_size_0_never_fragments(
    simulator_factory: SimulatorFactory, http: aiohttp.ClientSession
) -> None:
    """With ws_fragment_size=0 (--ws-fragment-size 0) every message is one frame."""
    simulator = await simulator_factory(ws_fragment_size=0)
    token = (await login(http, simulator.url))["tokenId"]
    socket = RawHubSocket(http, simulator.url, token)
    await socket.connect()
    till = Till(http, simulator.url)
    await till.emit({"e": "test.large", "p": "z" * 50_000})
    (whole,) = await socket.message()
    assert (whole.opcode, whole.fin) == (OP_TEXT, True)
    assert json.loads(whole.payload.decode().removesuffix(RS))["arguments"][0]["p"] == "z" * 50_000
    await socket.close()


async def test_emit_fragment_validation(till: Till) -> None:
    """A fragment size that is not a whole number of bytes, 0 or more, is a 400 problem."""
    for bad in (-1, "8", True, 1.5):
        with pytest.raises(TillError) as err:
            await till._control("emit", {"raw": "x", "fragment": bad})
        assert err.value.status == 400
        assert err.value.body["errorCode"] == 3


async def test_no_control_frame_inside_a_fragmented_message(raw: RawHubSocket, till: Till) -> None:
    """Pongs answering the client's pings never land between the fragments of a message."""
    text = "a" * 20_000

    async def ping_storm() -> None:
        for _ in range(200):
            await raw.send(OP_PING, b"p")
            await asyncio.sleep(0)

    async def emits() -> None:
        for _ in range(20):
            await till.emit_raw(text, fragment=100)

    await asyncio.gather(ping_storm(), emits())
    for _ in range(20):
        # Pings and pongs before a message are skipped; from its first frame to its last, only
        # its own text and continuation frames may appear.
        frames = await raw.message()
        assert [f.opcode for f in frames] == [OP_TEXT] + [OP_CONTINUATION] * 199
        assert _assert_fragmented(frames, 100).decode() == text
    # The pongs were really in flight around those messages: all 200 arrive, none inside one.
    while len(raw.skipped) < 200:
        raw.skipped.append(await raw.frame())
    assert {(f.opcode, f.payload) for f in raw.skipped} == {(OP_PONG, b"p")}


async def test_close_after_a_fragmented_message(
    raw: RawHubSocket, till: Till, simulator: Simulator
) -> None:
    """A message queued before the server stops arrives whole, then the close frame (1001)."""
    await till.emit_raw("q" * 9000)
    stopping = asyncio.create_task(simulator.stop())
    assert _assert_fragmented(await raw.message(), 4096) == b"q" * 9000
    close = await raw.frame()
    assert close.opcode == OP_CLOSE
    assert close.payload[:2] == (1001).to_bytes(2, "big")
    await raw.send(OP_CLOSE, close.payload[:2])
    await stopping


async def test_flow_control_with_a_slow_reader(
    raw: RawHubSocket, till: Till, simulator: Simulator
) -> None:
    """A reader that falls far behind makes the writer wait (aiohttp's drain); nothing is lost."""
    (connection,) = simulator.state.hub.connections.values()
    text = "s" * 512 * 1024
    # Far more than the socket buffers hold: the writer has to wait for this reader.
    for index in range(24):
        await till.emit_raw(f"{index:02d}{text}")
    for index in range(24):
        payload = _assert_fragmented(await raw.message(timeout=30), 4096)
        assert payload[:2] == f"{index:02d}".encode()
        assert len(payload) == len(text) + 2
    assert connection.fragmented == 24


# --- clients that reassemble ---------------------------------------------------------------------


async def test_aiohttp_client_receives_a_large_notification_whole(
    hub_factory: HubFactory, till: Till, simulator: Simulator
) -> None:
    """The aiohttp client reassembles the fragments: the ticket notification arrives whole."""
    client: HubClient = await hub_factory()
    await client.subscribe(TICKETS)
    ticket = await till.create_ticket("Table 2", items=_items(200))
    notification = await client.event()
    assert notification["p"]["r"] == [ticket]
    assert len(client.frames[-1].encode()) > 4 * 4096
    assert simulator.state.hub.connections[client.connection_id].fragmented == 1


# --- control frames between fragments ------------------------------------------------------------


def test_fragment_with_a_control_frame_between_each_two() -> None:
    """`between` goes between fragments only: never before the first or after the last."""
    pong = frame(OP_PONG, b"k", fin=True)
    frames = parse_frames(fragment(b"abcdef", 2, pong))
    assert [(f.opcode, f.fin) for f in frames] == [
        (OP_TEXT, False),
        (OP_PONG, True),
        (OP_CONTINUATION, False),
        (OP_PONG, True),
        (OP_CONTINUATION, True),
    ]
    assert b"".join(f.payload for f in frames[::2]) == b"abcdef"


@pytest.mark.parametrize(("name", "opcode"), [("pong", OP_PONG), ("ping", OP_PING)])
async def test_emit_raw_with_interleaved_control_frames(
    raw: RawHubSocket, till: Till, simulator: Simulator, name: str, opcode: int
) -> None:
    """`"interleave"` writes that control frame (FIN=1, a few bytes) between each two fragments.

    The frames of the message come off the socket as TEXT FIN=0, PONG, CONT, PONG, CONT FIN=1:
    one write, so nothing else lands in between, and the text reassembles without the pongs.
    """
    text = "Účet č. 1 " * 2
    body = {"raw": text, "fragment": 10, "interleave": name}
    assert await till._control("emit", body) == {"sent": 1}
    frames = await raw.message()
    assert [(f.opcode, f.fin) for f in frames] == [
        (OP_TEXT, False),
        (opcode, True),
        (OP_CONTINUATION, False),
        (opcode, True),
        (OP_CONTINUATION, True),
    ]
    assert all(f.payload == b"sim" and not f.masked for f in frames[1::2])
    assert _assert_fragmented(frames[::2], 10).decode() == text
    assert simulator.state.hub.stats.messages_fragmented == 1
    # The option is per message: the next one has no control frame inside.
    await till.emit_raw(text, fragment=10)
    assert [f.opcode for f in await raw.message()] == [OP_TEXT, OP_CONTINUATION, OP_CONTINUATION]


async def test_emit_interleave_on_a_message_sent_whole(raw: RawHubSocket, till: Till) -> None:
    """A message short enough for one frame has no fragments, so nothing is interleaved."""
    await till._control("emit", {"raw": "short", "interleave": "pong"})
    assert await raw.message() == [Frame(True, 0, OP_TEXT, False, b"short")]


async def test_emit_interleave_validation(till: Till) -> None:
    """Only "pong", "ping" or null may be interleaved; anything else is a 400 problem."""
    for bad in ("close", "PONG", 10, ["pong"], {"pong": 1}, True):
        with pytest.raises(TillError) as err:
            await till._control("emit", {"raw": "x", "fragment": 1, "interleave": bad})
        assert err.value.status == 400
        assert err.value.body["errorCode"] == 3
    assert await till._control("emit", {"raw": "x", "interleave": None}) == {"sent": 0}
