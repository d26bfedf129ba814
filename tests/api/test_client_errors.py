"""PortosClient against odd replies the simulator cannot produce, served by tiny aiohttp apps.

These apps are not stand-ins for PORTOS logic: each answers one fixed odd reply (a redirect, an
HTML error page, a hanging request, a malformed body) so the client's error paths meet real sockets.
Pure helpers (URL checks, JWT lifetimes) are tested here too.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
import json
import logging
import time
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from custom_components.portos.api import client as client_module
from custom_components.portos.api.client import (
    PortosClient,
    format_since,
    normalise_url,
    refresh_delay,
    token_lifetime,
)
from custom_components.portos.api.const import API_PREFIXES, TOKEN_REFRESH_MARGIN
from custom_components.portos.api.exceptions import (
    PortosAuthenticationError,
    PortosConnectionError,
    PortosError,
    PortosLicenseExpiredError,
    PortosParseError,
    PortosServerError,
    PortosWrongDeviceTypeError,
)
from tests.common import free_port

PASSWORD = "s3cret-pa55word"
REFRESH_TOKEN = "refresh-token-never-logged"

type Serve = Callable[[web.Application], Awaitable[str]]


def fake_jwt(claims: dict[str, Any] | None = None, *, sig: str = "signature") -> str:
    """Return an unsigned-looking JWT carrying the claims (the client never verifies)."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = int(time.time())
    return f"{part({'alg': 'HS256'})}.{part(claims or {'iat': now, 'exp': now + 3600})}.{sig}"


def login_reply(token: str, env: str = "Tool", device: str = "HomeAssistant") -> dict[str, Any]:
    """Return a login reply in PORTOS's shape."""
    return {
        "tokenId": token,
        "refreshToken": REFRESH_TOKEN,
        "user": {"userName": "admin", "device": {"name": device, "envName": env}},
    }


@pytest.fixture
async def serve(socket_enabled: None) -> AsyncIterator[Serve]:
    """Start aiohttp apps on 127.0.0.1 free ports; all are stopped after the test."""
    runners: list[web.AppRunner] = []

    async def start(app: web.Application) -> str:
        runner = web.AppRunner(app, shutdown_timeout=1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


def app_with(routes: list[web.RouteDef]) -> web.Application:
    """Return an app serving just these routes."""
    app = web.Application()
    app.add_routes(routes)
    return app


def json_handler(
    body: object, status: int = 200
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Return a handler that always answers this JSON body."""

    async def handler(request: web.Request) -> web.Response:
        return web.json_response(body, status=status)

    return handler


def login_route(token: str | None = None, env: str = "Tool") -> web.RouteDef:
    """Return a POST /api/auth route that accepts any login."""
    return web.post("/api/auth", json_handler(login_reply(token or fake_jwt(), env)))


def make_client(session: aiohttp.ClientSession, url: str, **kwargs: Any) -> PortosClient:
    """Return a client with a recognisable password."""
    return PortosClient(session, url, "admin", PASSWORD, **kwargs)


# --- pure helpers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "url"),
    [
        ("http://127.0.0.1:3000", "http://127.0.0.1:3000"),
        ("  https://shop.expose.ninedigit.sk/// ", "https://shop.expose.ninedigit.sk"),
        ("http://192.168.1.20:3000/portos/", "http://192.168.1.20:3000/portos"),
    ],
)
def test_normalise_url_accepts(raw: str, url: str) -> None:
    assert normalise_url(raw) == (url, None)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("ftp://127.0.0.1", "must start with http:// or https://"),
        ("192.168.1.20", "must start with http:// or https://"),
        ("", "must start with http:// or https://"),
        ("http://", "has no host name"),
        ("http://127.0.0.1:3000/?x=1", "must not contain a query or a fragment"),
        ("http://127.0.0.1:3000/#top", "must not contain a query or a fragment"),
        ("http://[::1", "is not a valid URL"),
        ("http://127.0.0.1:99999", "is not a valid URL"),
    ],
)
def test_normalise_url_refuses(raw: str, problem: str) -> None:
    assert normalise_url(raw)[1] == problem


def test_normalise_url_drops_credentials() -> None:
    url, problem = normalise_url(f"http://admin:{PASSWORD}@127.0.0.1:3000/")
    assert problem == "must not contain a user name or password"
    assert url == "http://127.0.0.1:3000"


@pytest.mark.parametrize(
    "raw",
    [
        f"http://admin:{PASSWORD}@127.0.0.1:99999/",  # unparseable port, credentials inside
        f"http://admin:{PASSWORD}@[::1",
        f"http://127.0.0.1:3000/?access_token={PASSWORD}",
        f"http://127.0.0.1:99999/?access_token={PASSWORD}#{PASSWORD}",
    ],
    ids=["bad-port", "bad-host", "query", "bad-port-query"],
)
def test_normalise_url_never_keeps_secrets(raw: str) -> None:
    """Whatever is wrong with a URL, the text handed back (and shown or logged) has no secret."""
    url, problem = normalise_url(raw)
    assert problem is not None
    assert PASSWORD not in url
    assert url.startswith("http://")


def test_token_lifetime() -> None:
    assert token_lifetime(fake_jwt({"iat": 1000, "exp": 1600})) == 600
    # Without iat the local clock counts.
    assert token_lifetime(fake_jwt({"exp": 2000.5}), now=1000) == 1000.5
    assert token_lifetime(fake_jwt({"exp": time.time() + 100})) == pytest.approx(100, abs=5)
    assert token_lifetime(fake_jwt({"iat": True, "exp": 1600}), now=1000) == 600


@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt",
        "a.b",
        "a.!!!.c",
        "a.bm90IGpzb24.c",  # base64 of "not json"
        fake_jwt({"iat": 1}).replace(fake_jwt({"iat": 1}).split(".")[1], "WzFd"),  # [1]
        fake_jwt({"iat": 1}),
        fake_jwt({"exp": "tomorrow"}),
        fake_jwt({"exp": True}),
        # A payload nested deeper than json can parse (RecursionError, not ValueError).
        "a." + base64.urlsafe_b64encode(b"[" * 100_000).decode().rstrip("=") + ".c",
    ],
    ids=[
        "no-dots",
        "two-parts",
        "bad-base64",
        "not-json",
        "not-object",
        "no-exp",
        "str",
        "bool",
        "too-deep",
    ],
)
def test_token_lifetime_unknown(token: str) -> None:
    assert token_lifetime(token) is None


def test_refresh_delay() -> None:
    # Long tokens: a fixed margin before exp; short ones: half-way.
    assert refresh_delay(3600) == 3600 - TOKEN_REFRESH_MARGIN
    assert refresh_delay(4) == 2


def test_format_since() -> None:
    cest = timezone(timedelta(hours=2))
    assert format_since(datetime(2026, 11, 28, 2, 0, tzinfo=cest)) == "2026-11-28T00:00:00Z"
    assert format_since(datetime(2026, 11, 28, 0, 0, 0, 5000, tzinfo=UTC)) == (
        "2026-11-28T00:00:00.005000Z"
    )
    with pytest.raises(ValueError, match="aware"):
        format_since(datetime(2026, 11, 28))  # noqa: DTZ001 - a naive value is the point


def test_repr_names_no_secret(session: aiohttp.ClientSession) -> None:
    client = make_client(session, "http://127.0.0.1:1/")
    assert PASSWORD not in repr(client)
    assert "http://127.0.0.1:1" in repr(client)
    assert client.url == "http://127.0.0.1:1"
    assert client.hub_url == "http://127.0.0.1:1/signalr/v1/mainHub"
    assert client.api_prefix is None


# --- connection errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("127.0.0.1:3000", "The server URL must start with http:// or https://"),
        (f"http://admin:{PASSWORD}@127.0.0.1:1", "The server URL must not contain a user name"),
    ],
)
async def test_unusable_url_is_a_connection_error(
    session: aiohttp.ClientSession, url: str, message: str
) -> None:
    client = make_client(session, url)
    with pytest.raises(PortosConnectionError, match=message) as err:
        await client.login()
    assert PASSWORD not in str(err.value)
    assert PASSWORD not in client.url
    assert PASSWORD not in client.hub_url


async def test_connection_refused(
    socket_enabled: None, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(session, f"http://127.0.0.1:{free_port()}")
    with pytest.raises(PortosConnectionError) as err:
        await client.login()
    assert isinstance(err.value.__cause__, aiohttp.ClientConnectorError)
    assert "POST http://127.0.0.1:" in str(err.value)
    with pytest.raises(PortosConnectionError):
        await client.get_health()
    assert PASSWORD not in str(err.value)
    assert PASSWORD not in caplog.text
    assert not session.closed


async def test_timeout(session: aiohttp.ClientSession, serve: Serve) -> None:
    release = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({})

    url = await serve(app_with([web.get("/api/v2/health", hang)]))
    client = make_client(session, url, request_timeout=0.2)
    try:
        with pytest.raises(PortosConnectionError, match=r"no reply within 0\.2 s") as err:
            await client.get_health()
    finally:
        release.set()
    assert isinstance(err.value.__cause__, TimeoutError)


async def test_connection_dropped_mid_reply(session: aiohttp.ClientSession, serve: Serve) -> None:
    async def cut(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": "1000"})
        await response.prepare(request)
        await response.write(b'{"status":')
        assert request.transport is not None
        request.transport.close()
        return response

    url = await serve(app_with([web.get("/api/v2/health", cut)]))
    with pytest.raises(PortosConnectionError) as err:
        await make_client(session, url).get_health()
    assert isinstance(err.value.__cause__, aiohttp.ClientError)


async def test_redirect_is_not_followed(session: aiohttp.ClientSession, serve: Serve) -> None:
    hits: list[str] = []

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently("/elsewhere")

    async def elsewhere(request: web.Request) -> web.Response:
        hits.append(await request.text())
        return web.json_response({})

    url = await serve(
        app_with([web.post("/api/auth", redirect), web.route("*", "/elsewhere", elsewhere)])
    )
    with pytest.raises(PortosConnectionError, match=r"redirected \(HTTP 301\)"):
        await make_client(session, url).login()
    assert hits == []  # the password went nowhere else


# --- server errors and bodies --------------------------------------------------------------------


async def test_non_json_replies(session: aiohttp.ClientSession, serve: Serve) -> None:
    async def html_ok(request: web.Request) -> web.Response:
        return web.Response(text="<html>hello</html>", content_type="text/html")

    async def html_error(request: web.Request) -> web.Response:
        return web.Response(status=502, text="<html>Bad gateway</html>", content_type="text/html")

    url = await serve(
        app_with([web.get("/api/v2/health", html_ok), web.get("/api/v1/license", html_error)])
    )
    client = make_client(session, url)
    with pytest.raises(PortosServerError, match="the HTTP 200 reply is not JSON") as err:
        await client.get_health()
    assert err.value.status == 200
    assert isinstance(err.value.__cause__, ValueError)
    with pytest.raises(PortosServerError, match=r"HTTP 502$") as err:
        await client.get_license()
    assert err.value.status == 502
    assert err.value.error_code is None
    assert client.api_prefix == "/api/v1"


async def test_replies_nested_too_deep(session: aiohttp.ClientSession, serve: Serve) -> None:
    """A body json cannot parse for depth is a server error, never a RecursionError."""
    deep = "[" * 100_000

    async def deep_ok(request: web.Request) -> web.Response:
        return web.Response(text=deep, content_type="application/json")

    async def deep_problem(request: web.Request) -> web.Response:
        return web.Response(status=500, text=deep, content_type="application/problem+json")

    url = await serve(
        app_with([web.get("/api/v2/health", deep_ok), web.get("/api/v1/license", deep_problem)])
    )
    client = make_client(session, url)
    with pytest.raises(PortosServerError, match="the HTTP 200 reply is not JSON"):
        await client.get_health()
    with pytest.raises(PortosServerError, match=r"HTTP 500$"):
        await client.get_license()


@pytest.mark.parametrize(
    ("status", "body", "error", "code"),
    [
        (403, {"title": "License", "errorCode": 4}, PortosLicenseExpiredError, 4),
        (403, {"title": "Forbidden", "errorCode": 2}, PortosServerError, 2),
        (423, {"title": "Locked", "errorCode": 5, "status": 423}, PortosServerError, 5),
        (500, {"title": "Internal Server Error"}, PortosServerError, None),
        (500, {"title": "x" * 500, "errorCode": True}, PortosServerError, None),
        (500, ["not", "a", "problem"], PortosServerError, None),
        (400, {"errorCode": 1}, PortosAuthenticationError, None),
    ],
    ids=["license", "not-allowed", "locked", "500", "long-title", "list", "code-1-on-400"],
)
async def test_problem_replies(
    session: aiohttp.ClientSession,
    serve: Serve,
    *,
    status: int,
    body: object,
    error: type[PortosError],
    code: int | None,
) -> None:
    url = await serve(
        app_with([login_route(), web.get("/api/v1/license", json_handler(body, status))])
    )
    with pytest.raises(PortosError) as err:
        await make_client(session, url).get_license()
    assert type(err.value) is error
    assert f"GET {url}/api/v1/license: HTTP {status}" in str(err.value)
    assert len(str(err.value)) < 400
    if isinstance(err.value, PortosServerError):
        assert err.value.status == status
        assert err.value.error_code == code


async def test_problem_title_in_message(session: aiohttp.ClientSession, serve: Serve) -> None:
    body = {"title": "Forbidden", "errorCode": 2, "status": 403}
    url = await serve(app_with([web.get("/api/v1/license", json_handler(body, 403))]))
    with pytest.raises(PortosServerError) as err:
        await make_client(session, url).get_license()
    assert str(err.value) == f"GET {url}/api/v1/license: HTTP 403, errorCode 2: Forbidden"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (None, "license: expected an object, got NoneType"),
        ([1], "license: expected an object, got list"),
        ({"shopId": "7"}, "license.shopId: expected an integer"),
    ],
)
async def test_bad_bodies_are_parse_errors(
    session: aiohttp.ClientSession, serve: Serve, body: object, message: str
) -> None:
    async def handler(request: web.Request) -> web.Response:
        if body is None:
            return web.Response(status=200)  # an empty body
        return web.json_response(body)

    url = await serve(app_with([web.get("/api/v1/license", handler)]))
    with pytest.raises(PortosParseError, match=message):
        await make_client(session, url).get_license()


# --- counting and paging -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ([], "tickets list: expected an object, got list"),
        ({"totalCount": 0}, r"tickets list: items is not a list \(NoneType\)"),
        ({"items": [{"id": None}]}, "ticket.id: expected a string or an integer"),
    ],
)
async def test_bad_list_replies(
    session: aiohttp.ClientSession, serve: Serve, body: object, error: str
) -> None:
    url = await serve(app_with([login_route(), web.get("/api/v1/tickets", json_handler(body))]))
    with pytest.raises(PortosParseError, match=error):
        await make_client(session, url).get_open_tickets()


def paging_app(total: int, *, cap: int | None = None, honour_skip: bool = True) -> web.Application:
    """Return an app listing `total` open tickets, capping pages at `cap`, without totalCount."""
    seen: list[tuple[int, int]] = []

    async def tickets(request: web.Request) -> web.Response:
        assert request.headers["Authorization"].startswith("Bearer ")
        assert request.query["IsClosed"] == "eq:false"
        skip = int(request.query["$skip"]) if honour_skip else 0
        take = min(int(request.query["$take"]), cap or total + 1)
        seen.append((skip, take))
        items = [
            {"id": f"t{i}", "name": f"Table {i}"} for i in range(skip, min(skip + take, total))
        ]
        return web.json_response({"items": items, "count": len(items)})

    app = app_with([login_route(), web.get("/api/v1/tickets", tickets)])
    app["seen"] = seen
    return app


async def test_paging_without_total_count_and_a_capped_take(
    session: aiohttp.ClientSession, serve: Serve
) -> None:
    # The server caps pages at 30 although 100 were asked for; it gives no totalCount, so the
    # client reads on until an empty page.
    app = paging_app(75, cap=30)
    url = await serve(app)
    tickets = await make_client(session, url).get_open_tickets()
    assert [t.id for t in tickets] == [f"t{i}" for i in range(75)]
    # Each page after the first starts with the previous page's last ticket (the overlap that
    # shows whether the list moved meanwhile).
    assert app["seen"] == [(0, 30), (29, 30), (58, 30), (74, 30)]


async def test_paging_one_ticket_at_a_time(session: aiohttp.ClientSession, serve: Serve) -> None:
    # Pages of one ticket cannot overlap; the client still moves on, one ticket per page.
    app = paging_app(3, cap=1)
    url = await serve(app)
    tickets = await make_client(session, url).get_open_tickets()
    assert [t.id for t in tickets] == ["t0", "t1", "t2"]
    assert app["seen"] == [(0, 1), (1, 1), (2, 1), (3, 1)]


async def test_paging_tickets_inserted_before_the_page_are_no_move(
    session: aiohttp.ClientSession, serve: Serve
) -> None:
    # A server whose order puts a new ticket first: the rest move back, which only repeats one
    # ticket (nothing can be missed), so the list is not read again.
    listing = [{"id": f"t{i}"} for i in range(8)]
    seen: list[int] = []

    async def tickets(request: web.Request) -> web.Response:
        skip = int(request.query["$skip"])
        seen.append(skip)
        page = listing[skip : skip + 5]
        if skip == 0:
            listing.insert(0, {"id": "new"})
        return web.json_response({"items": page, "count": len(page), "totalCount": len(listing)})

    url = await serve(app_with([login_route(), web.get("/api/v1/tickets", tickets)]))
    found = await make_client(session, url).get_open_tickets()
    assert [t.id for t in found] == [f"t{i}" for i in range(8)]
    assert seen == [0, 4]


async def test_paging_stops_when_skip_is_ignored(
    session: aiohttp.ClientSession, serve: Serve
) -> None:
    app = paging_app(250, cap=100, honour_skip=False)
    url = await serve(app)
    tickets = await make_client(session, url).get_open_tickets()
    assert len(tickets) == 100
    assert len(app["seen"]) == 2


async def test_paging_gives_up_after_max_pages(
    session: aiohttp.ClientSession, serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client_module, "TICKETS_PAGE_SIZE", 2)
    monkeypatch.setattr(client_module, "TICKETS_MAX_PAGES", 3)
    url = await serve(paging_app(1000))
    with pytest.raises(PortosServerError, match="did not end after 3 pages"):
        await make_client(session, url).get_open_tickets()


# --- prefixes ------------------------------------------------------------------------------------


async def test_prefix_not_found_anywhere(
    session: aiohttp.ClientSession, serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="custom_components.portos.api")
    url = await serve(app_with([]))
    client = make_client(session, url)
    with pytest.raises(PortosServerError) as err:
        await client.get_license()
    assert err.value.status == 404
    assert f"GET {url}/api/license: HTTP 404" in str(err.value)
    assert client.api_prefix is None
    # Still unknown, so the next call tries both again.
    with pytest.raises(PortosServerError):
        await client.get_license()
    tried = [r.getMessage() for r in caplog.records if "-> 404" in r.getMessage()]
    assert tried == [f"GET {url}{prefix}/license -> 404 (14 bytes)" for prefix in API_PREFIXES * 2]


async def test_prefix_kept_after_a_non_404_error(
    session: aiohttp.ClientSession, serve: Serve
) -> None:
    calls: list[str] = []

    async def broken(request: web.Request) -> web.Response:
        calls.append(request.path)
        return web.json_response({"title": "Boom"}, status=500)

    url = await serve(app_with([web.get("/api/v1/license", broken)]))
    client = make_client(session, url)
    with pytest.raises(PortosServerError, match="HTTP 500: Boom"):
        await client.get_license()
    assert client.api_prefix == "/api/v1"
    assert calls == ["/api/v1/license"]


# --- auth paths the simulator never takes ---------------------------------------------------------


async def test_token_without_exp_is_kept_until_a_401(
    session: aiohttp.ClientSession, serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="custom_components.portos.api")
    url = await serve(app_with([login_route("opaque-token")]))
    client = make_client(session, url)
    assert await client.get_token() == "opaque-token"
    assert await client.get_token() == "opaque-token"
    assert "no readable exp" in caplog.text
    assert "opaque-token" not in caplog.text


async def test_second_401_is_an_authentication_error(
    session: aiohttp.ClientSession, serve: Serve
) -> None:
    logins: list[str] = []
    tokens = iter([fake_jwt(sig="one"), fake_jwt(sig="two")])

    async def login(request: web.Request) -> web.Response:
        logins.append(request.path)
        return web.json_response(login_reply(next(tokens)))

    async def refresh(request: web.Request) -> web.Response:
        return web.json_response({"title": "Unauthorized", "errorCode": 1}, status=401)

    async def always_401(request: web.Request) -> web.Response:
        return web.json_response({"errorCode": 1}, status=401)

    url = await serve(
        app_with(
            [
                web.post("/api/auth", login),
                web.post("/api/auth/refresh", refresh),
                web.get("/api/v1/tickets", always_401),
            ]
        )
    )
    client = make_client(session, url)
    with pytest.raises(PortosAuthenticationError) as err:
        await client.get_open_tickets()
    assert not isinstance(err.value, PortosWrongDeviceTypeError)
    assert logins == [
        "/api/auth",
        "/api/auth",
    ]  # the first login, then one after the refused refresh
    # The route exists (it answered 401), so the prefix is not re-discovered.
    assert client.api_prefix is None


async def test_refused_session_not_ended_is_still_refused(
    session: aiohttp.ClientSession, serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="custom_components.portos.api")

    async def logout(request: web.Request) -> web.Response:
        return web.Response(status=500, text="oops")

    url = await serve(app_with([login_route(env="cashregister"), web.delete("/api/auth", logout)]))
    with pytest.raises(PortosWrongDeviceTypeError) as err:
        await make_client(session, url).login()
    assert err.value.env_name == "cashregister"
    assert "Could not end the refused session: PortosServerError" in caplog.text


async def test_logout_error_still_forgets_the_token(
    session: aiohttp.ClientSession, serve: Serve
) -> None:
    async def logout(request: web.Request) -> web.Response:
        return web.json_response({"title": "Boom"}, status=500)

    logins: list[int] = []

    async def login(request: web.Request) -> web.Response:
        logins.append(1)
        return web.json_response(login_reply(fake_jwt(sig=str(len(logins)))))

    url = await serve(app_with([web.post("/api/auth", login), web.delete("/api/auth", logout)]))
    client = make_client(session, url)
    first = await client.get_token()
    with pytest.raises(PortosServerError):
        await client.logout()
    assert await client.get_token() != first
    assert len(logins) == 2
