"""The PORTOS REST routes: auth, tickets, license and health, with problem+json errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import json
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .health import health_report
from .problems import ERROR_LICENSE_EXPIRED, ProblemError, not_found, validation
from .state import SimulatorState
from .store import Actor

if TYPE_CHECKING:
    from .auth import Session

_LOGGER = logging.getLogger(__name__)

STATE_KEY = web.AppKey("portos_simulator_state", SimulatorState)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def state_of(request: web.Request) -> SimulatorState:
    """Return the simulator state behind a request."""
    return request.app[STATE_KEY]


async def json_body(request: web.Request) -> Any:  # noqa: ANN401 - any JSON value
    """Return the request's JSON body, None when empty; bad JSON is a validation problem."""
    raw = await request.text()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError as err:
        raise validation("body", "The request body is not valid JSON.") from err


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render ProblemError and unmatched routes as RFC 7807 problem+json."""
    try:
        return await handler(request)
    except ProblemError as err:
        return err.response(request.path)
    except web.HTTPNotFound:
        return not_found(f"No route for {request.method} {request.path}.").response(request.path)
    except web.HTTPMethodNotAllowed:
        return ProblemError(405, f"{request.method} is not allowed here.").response(request.path)


def _session(request: web.Request) -> Session:
    """Authenticate a bearer token (REST accepts only the header)."""
    return state_of(request).auth.authenticate_headers(request.headers)


def _actor(request: web.Request) -> Actor:
    """Authenticate, check the license, and return who acts."""
    session = _session(request)
    if state_of(request).shop_license.is_expired:
        raise ProblemError(403, "The PORTOS license has expired.", error_code=ERROR_LICENSE_EXPIRED)
    return Actor(session.user_name, session.device.name)


# --- auth ----------------------------------------------------------------------------------------


def _fields(body: object) -> dict[str, Any]:
    """Return a JSON object's members with lower-cased names (model binding ignores case)."""
    if not isinstance(body, dict):
        raise validation("body", "The request body must be a JSON object.")
    return {str(key).lower(): value for key, value in body.items()}


async def login(request: web.Request) -> web.Response:
    """`POST /api/auth`: log in on a device."""
    body = _fields(await json_body(request))
    reply = state_of(request).auth.login(
        body.get("username"), body.get("password"), body.get("devicename")
    )
    return web.json_response(reply)


async def refresh(request: web.Request) -> web.Response:
    """`POST /api/auth/refresh`: exchange a token and its refresh token for a new pair."""
    body = _fields(await json_body(request))
    reply = state_of(request).auth.refresh(body.get("tokenid"), body.get("refreshtoken"))
    return web.json_response(reply)


async def profile(request: web.Request) -> web.Response:
    """`GET /api/auth`: the logged-in user's profile."""
    return web.json_response(_session(request).user)


async def logout(request: web.Request) -> web.Response:
    """`DELETE /api/auth`: end the session."""
    state_of(request).auth.revoke(_session(request))
    return web.Response(status=204)


# --- tickets -------------------------------------------------------------------------------------


async def list_tickets(request: web.Request) -> web.Response:
    """`GET /tickets` with NData filters, paging, sorting and counting."""
    _actor(request)
    return web.json_response(state_of(request).store.query(request.query))


async def get_ticket(request: web.Request) -> web.Response:
    """`GET /tickets/{id}`."""
    _actor(request)
    return web.json_response(state_of(request).store.get(request.match_info["id"]))


async def create_ticket(request: web.Request) -> web.Response:
    """`POST /tickets`: create an open ticket."""
    actor = _actor(request)
    ticket = state_of(request).create_ticket(await json_body(request), actor)
    return web.json_response(ticket, status=201)


async def put_ticket(request: web.Request) -> web.Response:
    """`PUT /tickets/{id}`: update an open ticket, or create one with that id."""
    actor = _actor(request)
    state = state_of(request)
    ticket_id = request.match_info["id"]
    body = await json_body(request)
    if ticket_id not in state.tickets:
        return web.json_response(state.create_ticket(body, actor, ticket_id), status=201)
    return web.json_response(state.update_ticket(ticket_id, body, actor))


async def delete_ticket(request: web.Request) -> web.Response:
    """`DELETE /tickets/{id}`: delete an open ticket."""
    actor = _actor(request)
    state_of(request).delete_ticket(request.match_info["id"], actor)
    return web.Response(status=204)


async def close_ticket(request: web.Request) -> web.Response:
    """`POST /tickets/{id}/close`: close (pay) a ticket.

    The body may be empty (paid in cash) or `{"payments": [...]}` (see money.settle).
    """
    actor = _actor(request)
    body = await json_body(request)
    if body is not None and not isinstance(body, dict):
        raise validation("body", "The request body must be a JSON object.")
    payments = None if body is None else body.get("payments")
    ticket = state_of(request).close_ticket(request.match_info["id"], actor, payments)
    return web.json_response(ticket)


# --- license and health --------------------------------------------------------------------------


async def get_license(request: web.Request) -> web.Response:
    """`GET /license`: no login needed."""
    return web.json_response(state_of(request).shop_license.to_dict())


async def activate_license(request: web.Request) -> web.Response:
    """`POST /license/activate`: renew the license and notify the hub."""
    _session(request)
    return web.json_response(state_of(request).activate_license())


async def health(request: web.Request) -> web.Response:
    """`GET /api/v2/health`: always 200; the body tells the status."""
    state = state_of(request)
    return web.json_response(health_report(state.shop_license, state.health_override))


def add_routes(app: web.Application, prefix: str) -> None:
    """Register the PORTOS routes, resources under `prefix` (`/api/v1` or `/api`)."""
    app.router.add_post("/api/auth", login)
    app.router.add_post("/api/auth/refresh", refresh)
    app.router.add_get("/api/auth", profile)
    app.router.add_delete("/api/auth", logout)
    app.router.add_get("/api/v2/health", health)
    app.router.add_get(f"{prefix}/tickets", list_tickets)
    app.router.add_post(f"{prefix}/tickets", create_ticket)
    app.router.add_get(f"{prefix}/tickets/{{id}}", get_ticket)
    app.router.add_put(f"{prefix}/tickets/{{id}}", put_ticket)
    app.router.add_delete(f"{prefix}/tickets/{{id}}", delete_ticket)
    app.router.add_post(f"{prefix}/tickets/{{id}}/close", close_ticket)
    app.router.add_get(f"{prefix}/license", get_license)
    app.router.add_post(f"{prefix}/license/activate", activate_license)
