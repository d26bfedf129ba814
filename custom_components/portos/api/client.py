"""REST client for a PORTOS server: JWT login and refresh, prefix discovery, tickets, license.

Secrets (the password, access and refresh tokens) travel only in request bodies and the
Authorization header; none of them is ever logged or put into an exception text.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping
from datetime import UTC, datetime
from http import HTTPStatus
import json
import logging
import re
import time
from typing import Any

import aiohttp
from yarl import URL

from .const import (
    ACCEPT_LANGUAGE,
    API_PREFIXES,
    AUTH_PATH,
    AUTH_REFRESH_PATH,
    CLOSED_SINCE_OPERATOR,
    CLOSED_TICKETS_FILTER,
    DEFAULT_DEVICE_NAME,
    DEFAULT_REQUEST_TIMEOUT,
    ERROR_CODE_LICENSE_EXPIRED,
    ERROR_CODE_NOT_LOGGED_IN,
    FILTER_CLOSE_DATE,
    HEALTH_PATH,
    HUB_PATH,
    ITEMS_FIELD,
    LICENSE_PATH,
    OPEN_TICKETS_FILTER,
    QUERY_SKIP,
    QUERY_TAKE,
    REFUSED_DEVICE_ENVS,
    TICKETS_MAX_PAGES,
    TICKETS_PAGE_SIZE,
    TICKETS_PATH,
    TOKEN_REFRESH_MARGIN,
    TOKEN_REFRESH_MAX_FRACTION,
    TOTAL_COUNT_FIELD,
    URL_SCHEMES,
)
from .exceptions import (
    PortosAuthenticationError,
    PortosConnectionError,
    PortosError,
    PortosLicenseExpiredError,
    PortosParseError,
    PortosServerError,
    PortosWrongDeviceTypeError,
)
from .models import AuthResult, Health, License, Ticket

_LOGGER = logging.getLogger(__name__)

_TITLE_MAX = 200
# Readings of a ticket list that keeps moving before the last one is kept as it came.
TICKETS_LIST_TRIES = 3
_REFUSED_ENVS_FOLDED = frozenset(env.casefold() for env in REFUSED_DEVICE_ENVS)


def normalise_url(url: str) -> tuple[str, str | None]:
    """Return the server URL without trailing slashes, and why it is unusable (None if usable)."""
    text = url.strip().rstrip("/")
    try:
        parsed = URL(text)
    except ValueError:
        # Unparseable, but it may still hold credentials or a token: keep neither.
        return _without_secrets(text), "is not a valid URL"
    if parsed.user is not None or parsed.password is not None:
        # Credentials in the URL would end up in logs and in the hub URL: drop them, refuse it.
        return str(parsed.with_user(None)).rstrip("/"), "must not contain a user name or password"
    if parsed.scheme not in URL_SCHEMES:
        return text, "must start with http:// or https://"
    if not parsed.host:
        return text, "has no host name"
    if parsed.query_string or parsed.fragment:
        return str(parsed.with_query(None).with_fragment(None)).rstrip("/"), (
            "must not contain a query or a fragment"
        )
    return text, None


def _without_secrets(text: str) -> str:
    """Drop a `user:password@` part, a query and a fragment from URL-like text."""
    text = re.sub(r"^([A-Za-z][\w+.-]*://)[^/?#]*@", r"\1", text)
    return re.split(r"[?#]", text, maxsplit=1)[0].rstrip("/")


def token_lifetime(token: str, now: float | None = None) -> float | None:
    """Return for how many seconds a JWT is valid, from its unverified claims; None if unknown.

    With an `iat` claim the lifetime is `exp - iat`, which does not depend on the two clocks
    agreeing; without one it is `exp` minus the local wall clock.
    """
    parts = token.split(".")
    if len(parts) != 3:  # noqa: PLR2004 - header.payload.signature
        return None
    payload = parts[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, RecursionError):
        return None
    if not isinstance(claims, Mapping):
        return None
    exp = _number(claims.get("exp"))
    if exp is None:
        return None
    iat = _number(claims.get("iat"))
    if iat is not None:
        return exp - iat
    return exp - (time.time() if now is None else now)


def _number(value: object) -> float | None:
    """Return a JSON number as a float; None for anything else (booleans included)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def refresh_delay(lifetime: float) -> float:
    """Return after how many seconds a token of this lifetime should be refreshed."""
    return lifetime - min(TOKEN_REFRESH_MARGIN, lifetime * TOKEN_REFRESH_MAX_FRACTION)


def format_since(since: datetime) -> str:
    """Format an aware datetime as the UTC ISO 8601 text NData filters take (`...Z`)."""
    if since.tzinfo is None or since.utcoffset() is None:
        raise ValueError("since must be an aware datetime")
    return since.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


class PortosClient:
    """REST client for one PORTOS server and one user on one device.

    The session is injected and never closed here. The constructor never raises: an unusable URL
    (no http/https scheme, no host, credentials, query or fragment in it) surfaces as
    PortosConnectionError on the first call, so a config flow shows it as cannot_connect.

    Once a login reply shows a CashRegister or PDA device, the client refuses to log in again
    (PortosWrongDeviceTypeError without a request): every further login on a till would throw the
    cashier out once more. Build a new client with another device name instead.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        username: str,
        password: str,
        device_name: str = DEFAULT_DEVICE_NAME,
        *,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    ) -> None:
        """Keep the settings; nothing is sent until the first call."""
        self._session = session
        self.url, self._url_error = normalise_url(url)
        self.hub_url = f"{self.url}{HUB_PATH}"
        self._username = username
        self._password = password
        self._device_name = device_name
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._auth: AuthResult | None = None
        self._refresh_at: float | None = None
        self._token_lock = asyncio.Lock()
        self._prefix: str | None = None
        self._refused: tuple[str, str] | None = None

    def __repr__(self) -> str:
        """Name the server, user and device; never the password or tokens."""
        return (
            f"PortosClient(url={self.url!r}, username={self._username!r}, "
            f"device_name={self._device_name!r})"
        )

    @property
    def api_prefix(self) -> str | None:
        """Return the resource prefix that answered (`/api/v1` or `/api`), None before one did."""
        return self._prefix

    # --- auth ------------------------------------------------------------------------------------

    async def login(self) -> AuthResult:
        """Log in, keep the session, and return the reply.

        Raises:
            PortosAuthenticationError: bad user name, password or device name.
            PortosWrongDeviceTypeError: the device is a CashRegister or PDA.

        """
        async with self._token_lock:
            return await self._login_locked()

    async def get_token(self, force_new: bool = False) -> str:
        """Return a valid bearer token, logging in or refreshing as needed.

        force_new=True treats the current token as rejected (a 401 from the hub): it is refreshed,
        or replaced by a new login when the refresh fails. Callers waiting at the same time share
        one renewal.
        """
        used = self._auth.token if force_new and self._auth is not None else None
        return await self._token(force_new=force_new, used=used)

    async def logout(self) -> None:
        """End the session on the server; the local token is forgotten even when that fails.

        A 401 (the session was already gone) is not an error; connection and server errors are.
        """
        async with self._token_lock:
            auth = self._auth
            self._clear_token()
        if auth is None:
            return
        try:
            await self._request("DELETE", AUTH_PATH, token=auth.token)
        except PortosAuthenticationError:
            _LOGGER.debug("Logout: the session had already ended")
        else:
            _LOGGER.debug("Logged out of %s", self.url)

    async def _token(self, *, force_new: bool, used: str | None) -> str:
        """Return a token; with force_new, renew unless someone replaced `used` meanwhile."""
        async with self._token_lock:
            auth = self._auth
            if auth is None:
                return (await self._login_locked()).token
            if force_new:
                if auth.token != used:
                    return auth.token
            elif self._refresh_at is None or time.monotonic() < self._refresh_at:
                return auth.token
            return await self._refresh_locked(auth)

    async def _login_locked(self) -> AuthResult:
        """Log in (the token lock is held) and refuse till devices."""
        if self._refused is not None:
            raise PortosWrongDeviceTypeError(*self._refused)
        auth = await self._post_auth(
            AUTH_PATH,
            {
                "UserName": self._username,
                "Password": self._password,
                "DeviceName": self._device_name,
            },
        )
        env = auth.device_env
        if env is not None and env.casefold() in _REFUSED_ENVS_FOLDED:
            device = auth.device_name or self._device_name
            self._refused = (device, env)
            self._clear_token()
            # The login has already ended the till's own session; at least do not hold the
            # device, so the cashier can log straight back in.
            await self._discard_session(auth.token)
            raise PortosWrongDeviceTypeError(device, env)
        self._store(auth)
        _LOGGER.debug(
            "Logged in to %s as %s on device %s (%s)",
            self.url,
            auth.user_name,
            auth.device_name,
            auth.device_env,
        )
        return auth

    async def _refresh_locked(self, auth: AuthResult) -> str:
        """Refresh the token (the lock is held); log in again when the server refuses."""
        try:
            new = await self._post_auth(
                AUTH_REFRESH_PATH, {"tokenId": auth.token, "refreshToken": auth.refresh_token}
            )
        except PortosConnectionError:
            raise
        except PortosError as err:
            _LOGGER.debug("Token refresh refused (%s); logging in again", type(err).__name__)
            self._clear_token()
            return (await self._login_locked()).token
        self._store(new)
        _LOGGER.debug("Token refreshed")
        return new.token

    async def _post_auth(self, path: str, body: dict[str, str]) -> AuthResult:
        """POST a login or refresh body and parse the reply."""
        return AuthResult.from_dict(await self._request("POST", path, json_body=body))

    async def _discard_session(self, token: str) -> None:
        """End a session we must not keep; failures are only logged."""
        try:
            await self._request("DELETE", AUTH_PATH, token=token)
        except PortosError as err:
            _LOGGER.debug("Could not end the refused session: %s", type(err).__name__)

    def _store(self, auth: AuthResult) -> None:
        """Keep a new token and work out when to refresh it."""
        self._auth = auth
        lifetime = token_lifetime(auth.token)
        if lifetime is None:
            _LOGGER.debug("The token carries no readable exp; renewing it only on a 401")
            self._refresh_at = None
        else:
            delay = refresh_delay(lifetime)
            self._refresh_at = time.monotonic() + delay
            _LOGGER.debug("Token valid for %.0f s; refreshing it after %.0f s", lifetime, delay)

    def _clear_token(self) -> None:
        """Forget the session."""
        self._auth = None
        self._refresh_at = None

    # --- resources -------------------------------------------------------------------------------

    async def get_license(self) -> License:
        """Return the shop's license (no login needed)."""
        return License.from_dict(await self._resource("GET", LICENSE_PATH, authenticated=False))

    async def get_health(self) -> Health:
        """Return the server's health report (no login needed)."""
        return Health.from_dict(await self._request("GET", HEALTH_PATH))

    async def get_open_tickets(self) -> list[Ticket]:
        """Return every open ticket, fetched page by page."""
        return await self._list_tickets(OPEN_TICKETS_FILTER)

    async def get_tickets_closed_since(self, since: datetime) -> list[Ticket]:
        """Return every ticket closed at or after `since` (an aware datetime), page by page."""
        return await self._list_tickets(_closed_since_filter(since))

    async def _list_tickets(self, filters: Mapping[str, str]) -> list[Ticket]:
        """Return every ticket matching NData filters, fetched page by page.

        A ticket that leaves the list while it is read (closed or deleted) moves the later ones
        forward, so reading on at the next $skip could miss one. Pages overlap by one ticket: the
        previous page's last ticket missing from the next page shows such a move, and the list is
        read again, at most TICKETS_LIST_TRIES times in all; the last reading is kept as it came
        (a later resync corrects what it missed).
        """
        for _ in range(TICKETS_LIST_TRIES - 1):
            tickets, moved = await self._read_ticket_pages(filters, stop_when_moved=True)
            if not moved:
                return tickets
            _LOGGER.debug("The ticket list changed while it was read; reading it again")
        tickets, moved = await self._read_ticket_pages(filters, stop_when_moved=False)
        if moved:
            _LOGGER.debug("The ticket list changed while it was read; keeping this reading")
        return tickets

    async def _read_ticket_pages(
        self, filters: Mapping[str, str], *, stop_when_moved: bool
    ) -> tuple[list[Ticket], bool]:
        """Read the pages of one listing; also tell whether the list moved under the reading."""
        tickets: dict[str, Ticket] = {}
        skip = 0
        overlap: str | None = None
        moved = False
        for _ in range(TICKETS_MAX_PAGES):
            params = {**filters, QUERY_SKIP: str(skip), QUERY_TAKE: str(TICKETS_PAGE_SIZE)}
            body = await self._resource("GET", TICKETS_PATH, params=params)
            page = [Ticket.from_dict(raw) for raw in _items(body)]
            if overlap is not None and all(t.id != overlap for t in page):
                # Anywhere on the page is fine: tickets that came in before it only repeat some.
                moved = True
                if stop_when_moved:
                    return list(tickets.values()), True
            added = 0
            for ticket in page:
                if ticket.id not in tickets:
                    tickets[ticket.id] = ticket
                    added += 1
            end = skip + len(page)
            # Advance by what came back, not by $take: a server may cap pages below it. A page with
            # nothing new means the server ignores $skip, and asking again would never end.
            total = _total_count(body)
            if not added or (total is not None and end >= total):
                return list(tickets.values()), moved
            # A one-ticket page cannot overlap and still move on.
            overlap = page[-1].id if len(page) > 1 else None
            skip = end - 1 if overlap is not None else end
        raise PortosServerError(f"The ticket list did not end after {TICKETS_MAX_PAGES} pages")

    async def _resource(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        authenticated: bool = True,
    ) -> object:
        """Call a resource path under the API prefix, discovering the prefix on first use."""
        prefixes = API_PREFIXES if self._prefix is None else (self._prefix,)
        for prefix in prefixes[:-1]:
            try:
                return await self._at_prefix(prefix, method, path, params, authenticated)
            except PortosServerError as err:
                if err.status != HTTPStatus.NOT_FOUND:
                    raise
                _LOGGER.debug("%s%s not found; trying the next API prefix", prefix, path)
        return await self._at_prefix(prefixes[-1], method, path, params, authenticated)

    async def _at_prefix(
        self,
        prefix: str,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        authenticated: bool,
    ) -> object:
        """Call one prefix and remember it when the route exists (any reply but a 404)."""
        try:
            if authenticated:
                result = await self._authenticated(method, prefix + path, params)
            else:
                result = await self._request(method, prefix + path, params=params)
        except PortosServerError as err:
            if err.status != HTTPStatus.NOT_FOUND:
                self._remember_prefix(prefix)
            raise
        self._remember_prefix(prefix)
        return result

    def _remember_prefix(self, prefix: str) -> None:
        """Keep the prefix that answered."""
        if self._prefix != prefix:
            _LOGGER.debug("Using API prefix %s on %s", prefix, self.url)
            self._prefix = prefix

    async def _authenticated(
        self, method: str, path: str, params: Mapping[str, str] | None
    ) -> object:
        """Send a bearer request; on a 401, retry once with a renewed token."""
        token = await self.get_token()
        try:
            return await self._request(method, path, token=token, params=params)
        except PortosAuthenticationError:
            _LOGGER.debug("%s %s: token rejected; retrying once with a new one", method, path)
        token = await self._token(force_new=True, used=token)
        return await self._request(method, path, token=token, params=params)

    # --- transport -------------------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        params: Mapping[str, str] | None = None,
        json_body: Mapping[str, str] | None = None,
    ) -> object:
        """Send one request and return its JSON body (None when empty), or raise a PortosError."""
        if self._url_error is not None:
            raise PortosConnectionError(f"The server URL {self._url_error}")
        url = URL(f"{self.url}{path}")
        if params:
            url = url.with_query(params)
        headers = {"Accept": "application/json", "Accept-Language": ACCEPT_LANGUAGE}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        try:
            async with self._session.request(
                method,
                url,
                json=json_body,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                status = response.status
                raw = await response.read()
        except TimeoutError as err:
            raise PortosConnectionError(
                f"{method} {url}: no reply within {self._timeout.total} s"
            ) from err
        except (aiohttp.ClientError, OSError) as err:
            raise PortosConnectionError(f"{method} {url}: {type(err).__name__}: {err}") from err
        _LOGGER.debug("%s %s -> %s (%d bytes)", method, url, status, len(raw))
        if HTTPStatus.MULTIPLE_CHOICES <= status < HTTPStatus.BAD_REQUEST:
            # Following it would re-send the password or token to wherever it points.
            raise PortosConnectionError(
                f"{method} {url}: redirected (HTTP {status}); use the address it points to"
            )
        if status >= HTTPStatus.BAD_REQUEST:
            raise _problem_error(method, url, status, raw)
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except (ValueError, RecursionError) as err:
            raise PortosServerError(
                f"{method} {url}: the HTTP {status} reply is not JSON", status=status
            ) from err


def _closed_since_filter(since: datetime) -> dict[str, str]:
    """Return the NData filters for tickets closed at or after `since`."""
    return {
        **CLOSED_TICKETS_FILTER,
        FILTER_CLOSE_DATE: f"{CLOSED_SINCE_OPERATOR}:{format_since(since)}",
    }


def _items(body: object) -> list[Any]:
    """Return the items of a list reply."""
    if not isinstance(body, Mapping):
        raise PortosParseError(f"tickets list: expected an object, got {type(body).__name__}")
    items = body.get(ITEMS_FIELD)
    if not isinstance(items, list):
        raise PortosParseError(f"tickets list: items is not a list ({type(items).__name__})")
    return items


def _total_count(body: object) -> int | None:
    """Return a list reply's totalCount (all matching items), None when it has none."""
    value = body.get(TOTAL_COUNT_FIELD) if isinstance(body, Mapping) else None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def _problem_error(method: str, url: URL, status: int, raw: bytes) -> PortosError:
    """Build the error for a 4xx/5xx reply, from its RFC 7807 problem body when it has one."""
    error_code: int | None = None
    title: str | None = None
    try:
        problem = json.loads(raw) if raw.strip() else None
    except (ValueError, RecursionError):
        problem = None
    if isinstance(problem, Mapping):
        code = problem.get("errorCode")
        if isinstance(code, int) and not isinstance(code, bool):
            error_code = code
        raw_title = problem.get("title")
        if isinstance(raw_title, str) and raw_title:
            title = raw_title[:_TITLE_MAX]
    message = f"{method} {url}: HTTP {status}"
    if error_code is not None:
        message += f", errorCode {error_code}"
    if title is not None:
        message += f": {title}"
    if status == HTTPStatus.UNAUTHORIZED or error_code == ERROR_CODE_NOT_LOGGED_IN:
        return PortosAuthenticationError(message)
    if error_code == ERROR_CODE_LICENSE_EXPIRED:
        return PortosLicenseExpiredError(message, status=status, error_code=error_code)
    return PortosServerError(message, status=status, error_code=error_code)
