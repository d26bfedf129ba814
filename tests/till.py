"""`Till`: the P01 cash register (and the /_sim/ controls) driven over plain aiohttp in tests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import aiohttp


class TillError(Exception):
    """The simulator answered a till request with an error."""

    def __init__(self, status: int, body: Any) -> None:
        """Keep the status and the (problem) body for assertions."""
        super().__init__(f"HTTP {status}: {body!r}")
        self.status = status
        self.body = body


class Till:
    """A cashier logged in on a till device; logs in lazily and again after a 401."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        device: str = "P01",
        user: str = "admin",
        password: str = "portos",  # noqa: S107 - the simulator's documented default
        *,
        api_prefix: str = "/api/v1",
    ) -> None:
        """Remember where and as whom to work; nothing is sent yet."""
        self._session = session
        self.url = url.rstrip("/")
        self.device = device
        self.user = user
        self._password = password
        self.api_prefix = api_prefix
        self.token: str | None = None

    async def _json(self, response: aiohttp.ClientResponse) -> Any:
        """Return the body as JSON (None when empty); raise TillError on an error status."""
        text = await response.text()
        body: Any = None
        if text:
            try:
                body = await response.json(content_type=None)
            except ValueError:
                body = text
        if response.status >= 400:
            raise TillError(response.status, body)
        return body

    async def login(self) -> dict[str, Any]:
        """Log in on the till device and keep the token."""
        async with self._session.post(
            f"{self.url}/api/auth",
            json={"UserName": self.user, "Password": self._password, "DeviceName": self.device},
        ) as response:
            reply: dict[str, Any] = await self._json(response)
        self.token = reply["tokenId"]
        return reply

    async def _api(self, method: str, path: str, body: Any = None) -> Any:
        """Call a resource route with the bearer token; log in again once after a 401."""
        for attempt in range(2):
            if self.token is None:
                await self.login()
            async with self._session.request(
                method,
                f"{self.url}{self.api_prefix}{path}",
                json=body,
                headers={"Authorization": f"Bearer {self.token}"},
            ) as response:
                if response.status == 401 and attempt == 0:
                    self.token = None
                    continue
                return await self._json(response)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _control(self, path: str, body: Any = None) -> Any:
        """POST to a /_sim/ control."""
        async with self._session.post(f"{self.url}/_sim/{path}", json=body) as response:
            return await self._json(response)

    async def create_ticket(self, name: str, **fields: Any) -> dict[str, Any]:
        """Open a ticket (a table's bill)."""
        ticket: dict[str, Any] = await self._api("POST", "/tickets", {"name": name, **fields})
        return ticket

    async def update_ticket(self, ticket_id: str, **fields: Any) -> dict[str, Any]:
        """Change an open ticket's fields (e.g. items=[...])."""
        ticket: dict[str, Any] = await self._api("PUT", f"/tickets/{ticket_id}", fields)
        return ticket

    async def close_ticket(
        self, ticket_id: str, payments: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """Close (pay) a ticket: in cash without `payments`, else as they say (see the README)."""
        body = None if payments is None else {"payments": payments}
        ticket: dict[str, Any] = await self._api("POST", f"/tickets/{ticket_id}/close", body)
        return ticket

    async def delete_ticket(self, ticket_id: str) -> None:
        """Delete an open ticket."""
        await self._api("DELETE", f"/tickets/{ticket_id}")

    async def get_ticket(self, ticket_id: str) -> dict[str, Any]:
        """Read one ticket."""
        ticket: dict[str, Any] = await self._api("GET", f"/tickets/{ticket_id}")
        return ticket

    async def activate_license(self) -> dict[str, Any]:
        """Renew the license (sends portos.licence.activated)."""
        shop_license: dict[str, Any] = await self._api("POST", "/license/activate")
        return shop_license

    async def emit(self, obj: Any) -> dict[str, Any]:
        """Send a notification object as OnEvent to every hub connection."""
        reply: dict[str, Any] = await self._control("emit", obj)
        return reply

    async def emit_raw(self, text: str, fragment: int | None = None) -> dict[str, Any]:
        """Send text verbatim as one WebSocket message to every hub connection.

        `fragment` sends it in fragments of that many bytes (0: one frame) instead of the
        simulator's configured `ws_fragment_size`.
        """
        body: dict[str, Any] = {"raw": text}
        if fragment is not None:
            body["fragment"] = fragment
        reply: dict[str, Any] = await self._control("emit", body)
        return reply

    async def drop_hub(self) -> dict[str, Any]:
        """Cut every hub connection abruptly."""
        reply: dict[str, Any] = await self._control("hub/drop")
        return reply

    async def pause_hub(self) -> dict[str, Any]:
        """Refuse new hub connections with 503."""
        reply: dict[str, Any] = await self._control("hub/pause")
        return reply

    async def resume_hub(self) -> dict[str, Any]:
        """Accept new hub connections again."""
        reply: dict[str, Any] = await self._control("hub/resume")
        return reply

    async def hub_mode(self, **mode: Any) -> dict[str, Any]:
        """Make the hub play another kind of server (negotiate_version, websocket_token, ...)."""
        reply: dict[str, Any] = await self._control("hub/mode", mode)
        return reply

    async def expire_tokens(self) -> dict[str, Any]:
        """Invalidate every token issued so far (this till logs in again when it next acts)."""
        reply: dict[str, Any] = await self._control("tokens/expire")
        self.token = None
        return reply

    async def set_license_days(self, days: int) -> dict[str, Any]:
        """Set the license's remaining days without a notification."""
        reply: dict[str, Any] = await self._control("license", {"days": days})
        return reply

    async def set_health(self, status: str | None) -> dict[str, Any]:
        """Force the overall health status (None returns to the computed one)."""
        reply: dict[str, Any] = await self._control("health", {"status": status})
        return reply

    async def load(self, count: int, rate: float | None = None) -> dict[str, Any]:
        """Make `count` ticket changes at `rate` per second; returns {count, elapsed}."""
        reply: dict[str, Any] = await self._control("load", {"count": count, "rate": rate})
        return reply

    async def sales(self, since: str, until: str | None = None) -> dict[str, Any]:
        """Return the simulator's own takings since an ISO 8601 instant (and before `until`)."""
        query = {"since": since} if until is None else {"since": since, "until": until}
        async with self._session.get(f"{self.url}/_sim/sales", params=query) as response:
            reply: dict[str, Any] = await self._json(response)
        return reply

    async def state(self) -> dict[str, Any]:
        """Return the simulator's summary (tickets, sessions, hub connections, counters)."""
        async with self._session.get(f"{self.url}/_sim/state") as response:
            reply: dict[str, Any] = await self._json(response)
        return reply
