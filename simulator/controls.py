"""Test and benchmark controls under /_sim/, outside the PORTOS namespace (no login)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .frames import INTERLEAVE_OPCODES
from .health import STATUSES
from .money import LOAD_ITEM, sales_report
from .problems import validation
from .rest import json_body, state_of
from .store import Actor, isoformat, parse_moment

if TYPE_CHECKING:
    from datetime import datetime

    from .state import SimulatorState

LOAD_DEVICE = "P01"
_MAX_LOAD = 1_000_000
_YIELD_EVERY = 50
_HUB_MODE_KEYS = ("negotiate_version", "websocket_token", "handshake_error")


async def hub_drop(request: web.Request) -> web.Response:
    """Cut every hub connection abruptly."""
    return web.json_response({"dropped": state_of(request).hub.drop()})


async def hub_pause(request: web.Request) -> web.Response:
    """Refuse new hub connections (negotiate and WebSocket) with 503."""
    state_of(request).hub.paused = True
    return web.json_response({"paused": True})


async def hub_resume(request: web.Request) -> web.Response:
    """Accept new hub connections again."""
    state_of(request).hub.paused = False
    return web.json_response({"paused": False})


async def hub_mode(request: web.Request) -> web.Response:
    """Play another kind of hub server; each given key changes one trait, the reply shows all.

    `negotiate_version` (0 or 1): the highest negotiate version answered (0: an older server).
    `websocket_token` ("any" or "query"): where the WebSocket upgrade takes the token from.
    `handshake_error` (text or null): answer every handshake with this error.
    """
    body = await json_body(request)
    if not isinstance(body, dict) or not set(body) <= set(_HUB_MODE_KEYS):
        raise validation("body", f"Expected an object with some of {', '.join(_HUB_MODE_KEYS)}.")
    hub = state_of(request).hub
    if "negotiate_version" in body:
        version = body["negotiate_version"]
        if version not in (0, 1) or isinstance(version, bool):
            raise validation("negotiate_version", "negotiate_version must be 0 or 1.")
        hub.max_negotiate_version = version
    if "websocket_token" in body:
        where = body["websocket_token"]
        if where not in ("any", "query"):
            raise validation("websocket_token", 'websocket_token must be "any" or "query".')
        hub.websocket_token_in_query_only = where == "query"
    if "handshake_error" in body:
        error = body["handshake_error"]
        if error is not None and (not isinstance(error, str) or not error):
            raise validation("handshake_error", "handshake_error must be a text or null.")
        hub.handshake_error = error
    return web.json_response(
        {
            "negotiate_version": hub.max_negotiate_version,
            "websocket_token": "query" if hub.websocket_token_in_query_only else "any",
            "handshake_error": hub.handshake_error,
        }
    )


async def tokens_expire(request: web.Request) -> web.Response:
    """Invalidate every access and refresh token issued so far; hub connections stay open."""
    return web.json_response({"expired": state_of(request).auth.expire_all()})


async def emit(request: web.Request) -> web.Response:
    """Send a notification object as OnEvent, or `{"raw": text}` verbatim, to every connection.

    A raw message may carry `"fragment": N` to be sent in fragments of N bytes whatever the
    configured size (0: as one frame), and `"interleave": "pong"|"ping"` to put that control
    frame between each two of its fragments (RFC 6455 allows it; Kestrel's keep-alive does it).
    """
    body = await json_body(request)
    hub = state_of(request).hub
    if (
        isinstance(body, dict)
        and "raw" in body
        and set(body) <= {"raw", "fragment", "interleave"}
        and isinstance(body["raw"], str)
    ):
        size = body.get("fragment")
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
            raise validation("fragment", "fragment must be a whole number of bytes, 0 or more.")
        between = body.get("interleave")
        if between is not None and (
            not isinstance(between, str) or between not in INTERLEAVE_OPCODES
        ):
            raise validation("interleave", 'interleave must be "pong", "ping" or null.')
        opcode = None if between is None else INTERLEAVE_OPCODES[between]
        return web.json_response({"sent": hub.emit_raw(body["raw"], size, opcode)})
    return web.json_response({"sent": hub.emit(body)})


async def run_load(state: SimulatorState, count: int, rate: float | None) -> float:
    """Make `count` ticket changes (create, update, close, ...) at `rate` per second."""
    loop = asyncio.get_running_loop()
    actor = Actor(state.config.user, LOAD_DEVICE)
    start = loop.time()
    ticket_id = ""
    for index in range(count):
        step = index % 3
        if step == 0:
            ticket_id = state.create_ticket({"name": f"Load {index // 3 + 1}"}, actor)["id"]
        elif step == 1:
            state.update_ticket(ticket_id, {"items": [LOAD_ITEM]}, actor)
        else:
            state.close_ticket(ticket_id, actor)
        if rate:
            delay = start + (index + 1) / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        elif index % _YIELD_EVERY == _YIELD_EVERY - 1:
            # Let the hub writers run during an unpaced burst.
            await asyncio.sleep(0)
    return loop.time() - start


async def load(request: web.Request) -> web.Response:
    """`{"count": N, "rate": per_second}`: make N ticket changes, reply when done."""
    body = await json_body(request)
    if not isinstance(body, dict):
        raise validation("body", "Expected {count, rate}.")
    count, rate = body.get("count"), body.get("rate")
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= _MAX_LOAD:
        raise validation("count", f"count must be an integer from 0 to {_MAX_LOAD}.")
    if rate is not None and (
        not isinstance(rate, int | float) or isinstance(rate, bool) or rate < 0
    ):
        raise validation("rate", "rate must be a non-negative number (0 or null: no pacing).")
    started = time.perf_counter()
    await run_load(state_of(request), count, rate)
    return web.json_response({"count": count, "elapsed": time.perf_counter() - started})


async def shop_license(request: web.Request) -> web.Response:
    """`{"days": N}`: set the license's remaining days without a notification."""
    body = await json_body(request)
    days = body.get("days") if isinstance(body, dict) else None
    if not isinstance(days, int) or isinstance(days, bool):
        raise validation("days", "days must be an integer.")
    return web.json_response(state_of(request).set_license_days(days))


async def health(request: web.Request) -> web.Response:
    """`{"status": "Healthy"|"Degraded"|"Unhealthy"}` sets the overall health; null resets it."""
    body = await json_body(request)
    status = body.get("status", "") if isinstance(body, dict) else ""
    if status is not None and status not in STATUSES:
        raise validation("status", f"status must be one of {', '.join(STATUSES)} or null.")
    state_of(request).health_override = status
    return web.json_response({"status": status})


async def summary(request: web.Request) -> web.Response:
    """`GET /_sim/state`: counts and hub connections, for tests and benchmarks."""
    state = state_of(request)
    hub = state.hub
    connections: list[dict[str, Any]] = [
        {
            "id": conn.connection_id,
            "ready": conn.ready,
            "user": conn.user,
            "device": conn.device,
            "subscriptions": len(conn.subscriptions),
            "fragmented": conn.fragmented,
        }
        for conn in hub.connections.values()
    ]
    return web.json_response(
        {
            "tickets": len(state.tickets),
            "sessions": len(state.auth.sessions),
            "paused": hub.paused,
            "connections": connections,
            "stats": {
                "connectionsOpened": hub.stats.connections_opened,
                "notificationsSent": hub.stats.notifications_sent,
                "invocations": hub.stats.invocations,
                "messagesFragmented": hub.stats.messages_fragmented,
            },
        }
    )


def _instant(request: web.Request, key: str, *, required: bool) -> datetime | None:
    """Read an ISO 8601 instant from the query; one without an offset is UTC."""
    text = request.query.get(key)
    if text is None:
        if required:
            raise validation(key, f"{key} is required: an ISO 8601 instant.")
        return None
    try:
        return parse_moment(text)
    except ValueError as err:
        raise validation(key, f"{key} must be an ISO 8601 instant, not {text!r}.") from err


async def sales(request: web.Request) -> web.Response:
    """`GET /_sim/sales?since=<instant>[&until=<instant>]`: the takings, computed by the simulator.

    Tickets closed at or after `since` (and before `until`): their number, the takings by payment
    category and their sum; and the open tickets' count and value. Amounts are texts with two
    decimals. `since` is the start of the day the caller means, e.g. Home Assistant's local
    midnight.
    """
    since = _instant(request, "since", required=True)
    until = _instant(request, "until", required=False)
    if TYPE_CHECKING:
        assert since is not None
    report = sales_report(state_of(request).tickets.values(), since, until)
    return web.json_response(
        {"since": isoformat(since), "until": None if until is None else isoformat(until), **report}
    )


def add_routes(app: web.Application) -> None:
    """Register the /_sim/ control routes."""
    app.router.add_post("/_sim/hub/drop", hub_drop)
    app.router.add_post("/_sim/hub/pause", hub_pause)
    app.router.add_post("/_sim/hub/resume", hub_resume)
    app.router.add_post("/_sim/hub/mode", hub_mode)
    app.router.add_post("/_sim/tokens/expire", tokens_expire)
    app.router.add_post("/_sim/emit", emit)
    app.router.add_post("/_sim/load", load)
    app.router.add_post("/_sim/license", shop_license)
    app.router.add_post("/_sim/health", health)
    app.router.add_get("/_sim/state", summary)
    app.router.add_get("/_sim/sales", sales)
