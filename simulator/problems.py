"""RFC 7807 problem replies with PORTOS's errorCode, raised anywhere and rendered by rest.py."""

from __future__ import annotations

import json
import secrets
from typing import Any

from aiohttp import web

ERROR_NOT_LOGGED_IN = 1
ERROR_NOT_ALLOWED = 2
ERROR_VALIDATION = 3
ERROR_LICENSE_EXPIRED = 4
ERROR_LOCKED = 5
ERROR_VERSION_MISMATCH = 6

_TYPES = {
    400: "https://tools.ietf.org/html/rfc7231#section-6.5.1",
    401: "https://tools.ietf.org/html/rfc7235#section-3.1",
    403: "https://tools.ietf.org/html/rfc7231#section-6.5.3",
    404: "https://tools.ietf.org/html/rfc7231#section-6.5.4",
    405: "https://tools.ietf.org/html/rfc7231#section-6.5.5",
    500: "https://tools.ietf.org/html/rfc7231#section-6.6.1",
}
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
}


class ProblemError(Exception):
    """An error that becomes one problem+json reply."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        error_code: int | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        """Remember the HTTP status, the human detail and PORTOS's errorCode."""
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.error_code = error_code
        self.errors = errors

    def response(self, instance: str) -> web.Response:
        """Render the problem as an aiohttp response."""
        body: dict[str, Any] = {
            "type": _TYPES.get(self.status, _TYPES[500]),
            "title": _TITLES.get(self.status, "Error"),
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
            "traceId": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00",
        }
        if self.error_code is not None:
            body["errorCode"] = self.error_code
        if self.errors is not None:
            body["errors"] = self.errors
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else None  # noqa: PLR2004
        return web.Response(
            status=self.status,
            text=json.dumps(body),
            content_type="application/problem+json",
            headers=headers,
        )


def unauthorized(detail: str = "You are not logged in.") -> ProblemError:
    """Return a 401 problem with errorCode 1."""
    return ProblemError(401, detail, error_code=ERROR_NOT_LOGGED_IN)


def not_found(detail: str) -> ProblemError:
    """Return a 404 problem."""
    return ProblemError(404, detail)


def validation(member: str, message: str) -> ProblemError:
    """Return a 400 problem with errorCode 3 naming the member that failed."""
    return ProblemError(
        400,
        "One or more validation errors occurred.",
        error_code=ERROR_VALIDATION,
        errors=[{"memberName": member, "message": message, "code": "invalid"}],
    )
