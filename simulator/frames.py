"""Fragmented WebSocket text messages, as Kestrel sends a hub message that spans buffer segments.

aiohttp's `WebSocketResponse` always writes a whole message as one frame (FIN set) and has no
fragmentation API, so a fragmented message is framed here (RFC 6455 section 5.2; a server
never masks) and written straight to the connection's transport, with aiohttp's own flow
control applied afterwards so its writer's state stays consistent.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Final

from aiohttp import WSMsgType

if TYPE_CHECKING:
    from aiohttp import web

_FIN: Final = 0x80
_LEN_16: Final = 126
_LEN_64: Final = 127
_MAX_LEN_7: Final = 125
_MAX_LEN_16: Final = 0xFFFF
# The payload of a control frame put between fragments: a few bytes, so a client that appends
# it to the message corrupts the text visibly instead of by an empty no-op.
INTERLEAVED_PAYLOAD: Final = b"sim"
# What `/_sim/emit` may interleave: an unsolicited pong (ASP.NET Core's keep-alive) or a ping.
INTERLEAVE_OPCODES: Final = {"pong": WSMsgType.PONG, "ping": WSMsgType.PING}


def frame(opcode: int, payload: bytes, *, fin: bool) -> bytes:
    """Return one unmasked frame (server to client) with the FIN bit as given."""
    first = (_FIN if fin else 0) | opcode
    length = len(payload)
    if length <= _MAX_LEN_7:
        header = struct.pack("!BB", first, length)
    elif length <= _MAX_LEN_16:
        header = struct.pack("!BBH", first, _LEN_16, length)
    else:
        header = struct.pack("!BBQ", first, _LEN_64, length)
    return header + payload


def fragment(data: bytes, size: int, between: bytes = b"") -> bytes:
    """Return a text message as a TEXT frame with FIN=0, then CONTINUATION frames, the last FIN=1.

    Fragments are cut every `size` bytes, inside a multi-byte UTF-8 character if that is where
    the cut falls: RFC 6455 allows it (only the whole message must be valid UTF-8) and Kestrel's
    segments do the same, so a client that decodes frame by frame is caught. `between` (whole
    control frames) goes between each two fragments, as RFC 6455 section 5.4 allows.
    """
    chunks = [data[offset : offset + size] for offset in range(0, len(data), size)]
    last = len(chunks) - 1
    return between.join(
        frame(WSMsgType.TEXT if index == 0 else WSMsgType.CONTINUATION, chunk, fin=index == last)
        for index, chunk in enumerate(chunks)
    )


async def send_text(
    ws: web.WebSocketResponse, text: str, fragment_size: int, interleave: int | None = None
) -> bool:
    """Send one text message, fragmented when it is longer than `fragment_size` bytes (0: never).

    Return whether it went out fragmented. All frames of a message are handed to the transport
    in one synchronous write, so nothing (a pong, a close) can be interleaved between them
    unless asked: `interleave` (a control opcode) puts that frame between each two fragments.
    """
    data = text.encode("utf-8")
    if fragment_size <= 0 or len(data) <= fragment_size:
        await ws.send_str(text)
        return False
    # No public API writes a frame without FIN; aiohttp's writer owns the transport and the
    # flow-control counters, so they are used the way its own send_frame uses them.
    writer = ws._writer  # noqa: SLF001
    # The hub's responses are created with compress=False: a compressed stream would need RSV1
    # and aiohttp's shared deflate context, which raw frames cannot honour.
    if writer is None or writer.compress:
        raise RuntimeError("Fragmenting needs a prepared WebSocket without compression")
    if writer._closing or writer.transport.is_closing():  # noqa: SLF001
        raise ConnectionResetError("Cannot write to closing transport")
    between = b"" if interleave is None else frame(interleave, INTERLEAVED_PAYLOAD, fin=True)
    frames = fragment(data, fragment_size, between)
    writer.transport.write(frames)
    writer._output_size += len(frames)  # noqa: SLF001
    if writer._output_size > writer._limit:  # noqa: SLF001
        writer._output_size = 0  # noqa: SLF001
        protocol = writer.protocol
        if protocol._paused:  # noqa: SLF001
            await protocol._drain_helper()  # noqa: SLF001
    return True
