"""A minimal SignalR JSON-protocol client on aiohttp, to test the simulator's hub frame by frame."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
import itertools
import json
from typing import Any

import aiohttp

RS = "\x1e"
HUB = "/signalr/v1/mainHub"


async def login(
    session: aiohttp.ClientSession, url: str, device: str = "HomeAssistant"
) -> dict[str, Any]:
    """Log in as admin on a device and return the reply."""
    async with session.post(
        f"{url}/api/auth",
        json={"UserName": "admin", "Password": "portos", "DeviceName": device},
    ) as response:
        assert response.status == 200, await response.text()
        reply: dict[str, Any] = await response.json()
        return reply


class HubClient:
    """Negotiates, opens the WebSocket, handshakes, and reads records one by one."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        token: str | None,
        *,
        negotiate_version: int | None = 1,
        via_query: bool = False,
        negotiate: bool = True,
    ) -> None:
        """Describe how to connect; nothing is sent yet."""
        self._session = session
        self._url = url
        self._token = token
        self._negotiate_version = negotiate_version
        self._via_query = via_query
        self._negotiate = negotiate
        self._ids = itertools.count(1)
        self._records: deque[dict[str, Any]] = deque()
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.negotiation: dict[str, Any] | None = None
        self.frames: list[str] = []

    def _auth(self) -> tuple[dict[str, str], dict[str, str]]:
        """Return headers and query carrying the token as configured."""
        if self._token is None:
            return {}, {}
        if self._via_query:
            return {}, {"access_token": self._token}
        return {"Authorization": f"Bearer {self._token}"}, {}

    async def negotiate_request(self) -> aiohttp.ClientResponse:
        """POST negotiate (with negotiateVersion unless it is None) and return the response."""
        headers, params = self._auth()
        if self._negotiate_version is not None:
            params = {**params, "negotiateVersion": str(self._negotiate_version)}
        async with self._session.post(
            f"{self._url}{HUB}/negotiate", headers=headers, params=params
        ) as response:
            await response.read()
            return response

    async def open_socket(self, connection_key: str | None) -> aiohttp.ClientWebSocketResponse:
        """Open the WebSocket (the id query names the negotiated connection)."""
        headers, params = self._auth()
        if connection_key is not None:
            params = {**params, "id": connection_key}
        ws_url = self._url.replace("http://", "ws://") + HUB
        return await self._session.ws_connect(ws_url, headers=headers, params=params, autoping=True)

    async def connect(self, *, handshake: bool = True) -> None:
        """Negotiate, open the WebSocket and (by default) complete the handshake."""
        key = None
        if self._negotiate:
            headers, params = self._auth()
            if self._negotiate_version is not None:
                params = {**params, "negotiateVersion": str(self._negotiate_version)}
            async with self._session.post(
                f"{self._url}{HUB}/negotiate", headers=headers, params=params
            ) as response:
                assert response.status == 200, response.status
                self.negotiation = await response.json()
            key = self.negotiation.get("connectionToken") or self.negotiation["connectionId"]
        self.ws = await self.open_socket(key)
        if handshake:
            await self.send_text(json.dumps({"protocol": "json", "version": 1}) + RS)
            reply = await self.receive_text()
            assert reply == "{}" + RS, reply

    @property
    def connection_id(self) -> str:
        """Return the connection id from the negotiation."""
        assert self.negotiation is not None
        return str(self.negotiation["connectionId"])

    async def send_text(self, text: str) -> None:
        """Send one WebSocket text message."""
        assert self.ws is not None
        await self.ws.send_str(text)

    async def send(self, message: dict[str, Any]) -> None:
        """Send one hub message as a record."""
        await self.send_text(json.dumps(message) + RS)

    async def receive_text(self, timeout: float = 5.0) -> str:
        """Return the next WebSocket text message."""
        assert self.ws is not None
        msg = await self.ws.receive(timeout=timeout)
        assert msg.type is aiohttp.WSMsgType.TEXT, (msg.type, msg.data)
        self.frames.append(msg.data)
        return str(msg.data)

    async def next(self, *, skip_pings: bool = True, timeout: float = 5.0) -> dict[str, Any]:
        """Return the next hub record, optionally skipping pings."""
        while True:
            while not self._records:
                text = await self.receive_text(timeout)
                assert text.endswith(RS), text
                self._records.extend(json.loads(r) for r in text.split(RS) if r)
            record = self._records.popleft()
            if skip_pings and record.get("type") == 6:
                continue
            return record

    async def invoke(self, target: str, *arguments: Any) -> dict[str, Any]:
        """Invoke a hub method and return its completion (other records must not come first)."""
        invocation_id = str(next(self._ids))
        await self.send(
            {
                "type": 1,
                "invocationId": invocation_id,
                "target": target,
                "arguments": list(arguments),
            }
        )
        completion = await self.next()
        assert completion["type"] == 3, completion
        assert completion["invocationId"] == invocation_id
        return completion

    async def subscribe(self, request: dict[str, Any]) -> None:
        """Subscribe and check the completion carries no error."""
        completion = await self.invoke("Subscribe", request)
        assert "error" not in completion, completion

    async def event(self) -> dict[str, Any]:
        """Return the next OnEvent notification."""
        record = await self.next()
        assert record["type"] == 1, record
        assert record["target"] == "OnEvent"
        assert "invocationId" not in record
        (notification,) = record["arguments"]
        assert isinstance(notification, dict)
        return notification

    async def closed(self, timeout: float = 5.0) -> aiohttp.WSMessage:
        """Wait for the server to close the socket; return the closing message."""
        assert self.ws is not None
        while True:
            msg = await self.ws.receive(timeout=timeout)
            if msg.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.ERROR,
            ):
                return msg
            self.frames.append(msg.data)

    async def close(self) -> None:
        """Close the WebSocket if it is open."""
        if self.ws is not None and not self.ws.closed:
            await self.ws.close()


# A factory of connected, handshaken hub clients (the `hub_factory` fixture).
type HubFactory = Callable[..., Awaitable[HubClient]]
