"""A WebSocket client on bare asyncio streams that reads frames one by one (no reassembly)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from dataclasses import dataclass
import json
import os
import struct
from typing import TYPE_CHECKING

from tests.simulator.hubclient import HUB, RS

if TYPE_CHECKING:
    import aiohttp

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame as it was on the wire."""

    fin: bool
    rsv: int
    opcode: int
    masked: bool
    payload: bytes


def parse_frames(data: bytes) -> list[Frame]:
    """Split a byte string holding whole frames into frames (for frames built in memory)."""
    frames = []
    view = memoryview(data)
    while view:
        first, second = view[0], view[1]
        length, offset = second & 0x7F, 2
        if length == 126:
            (length,) = struct.unpack("!H", view[2:4])
            offset = 4
        elif length == 127:
            (length,) = struct.unpack("!Q", view[2:10])
            offset = 10
        masked = bool(second & 0x80)
        assert not masked, "a server never masks"
        frames.append(
            Frame(
                fin=bool(first & 0x80),
                rsv=first & 0x70,
                opcode=first & 0x0F,
                masked=masked,
                payload=bytes(view[offset : offset + length]),
            )
        )
        view = view[offset + length :]
    return frames


class RawHubSocket:
    """Negotiates over aiohttp, then upgrades a bare TCP connection and speaks frames itself."""

    def __init__(self, session: aiohttp.ClientSession, url: str, token: str) -> None:
        """Describe the connection; nothing is sent yet."""
        self._session = session
        self._url = url
        self._token = token
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.connection_id = ""
        self.skipped: list[Frame] = []

    async def connect(self) -> None:
        """Negotiate, upgrade, and complete the SignalR handshake (its reply is one whole frame)."""
        headers = {"Authorization": f"Bearer {self._token}"}
        async with self._session.post(
            f"{self._url}{HUB}/negotiate", headers=headers, params={"negotiateVersion": "1"}
        ) as response:
            negotiation = await response.json()
        self.connection_id = negotiation["connectionId"]
        host, _, port = self._url.removeprefix("http://").partition(":")
        self.reader, self.writer = await asyncio.open_connection(host, int(port))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {HUB}?id={negotiation['connectionToken']} HTTP/1.1\r\n"
            f"Host: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {self._token}\r\n\r\n"
        )
        self.writer.write(request.encode())
        status = await self.reader.readuntil(b"\r\n\r\n")
        assert status.startswith(b"HTTP/1.1 101 "), status
        await self.send(OP_TEXT, (json.dumps({"protocol": "json", "version": 1}) + RS).encode())
        reply = await self.frame()
        assert reply == Frame(True, 0, OP_TEXT, False, b"{}" + RS.encode()), reply

    async def send(self, opcode: int, payload: bytes) -> None:
        """Send one masked frame with FIN set, as a client must."""
        assert self.writer is not None
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
        else:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.writer.write(header + mask + masked)
        await self.writer.drain()

    async def frame(self, timeout: float = 5.0) -> Frame:
        """Read exactly one frame off the socket."""
        assert self.reader is not None
        async with asyncio.timeout(timeout):
            head = await self.reader.readexactly(2)
            assert not head[1] & 0x80, "a server never masks"
            extra = {126: 2, 127: 8}.get(head[1] & 0x7F, 0)
            rest = await self.reader.readexactly(extra)
            (length,) = struct.unpack("!Q", rest.rjust(8, b"\0")) if extra else (head[1] & 0x7F,)
            payload = await self.reader.readexactly(length)
        (frame,) = parse_frames(head + rest + payload)
        return frame

    async def message(self, timeout: float = 5.0) -> list[Frame]:
        """Read the frames of the next data message (control frames included, in wire order).

        Pings and pongs before its first frame are kept in `skipped`.
        """
        frames = [await self.frame(timeout)]
        while frames[0].opcode in (OP_PING, OP_PONG):
            self.skipped.append(frames[0])
            frames = [await self.frame(timeout)]
        data = [f for f in frames if f.opcode < OP_CLOSE]
        while data and not data[-1].fin:
            frames.append(await self.frame(timeout))
            data = [f for f in frames if f.opcode < OP_CLOSE]
        return frames

    async def close(self) -> None:
        """Close the TCP connection."""
        if self.writer is not None:
            self.writer.close()
            # The server may have reset the connection already (it closed or cut it).
            with contextlib.suppress(ConnectionError):
                await self.writer.wait_closed()
