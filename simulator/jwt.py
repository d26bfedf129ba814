"""HS256 JSON Web Tokens, made by hand with hmac and base64 (no extra dependency)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

_HEADER = {"alg": "HS256", "typ": "JWT"}


class InvalidTokenError(Exception):
    """The token is malformed, its signature is wrong, or it has expired."""


def _b64encode(data: bytes) -> str:
    """Encode base64url without padding, as JWTs do."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    """Decode base64url with or without padding."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as err:
        raise InvalidTokenError("bad base64") from err


def _sign(signing_input: bytes, secret: bytes) -> str:
    """Return the base64url HS256 signature of the signing input."""
    return _b64encode(hmac.new(secret, signing_input, hashlib.sha256).digest())


def encode(claims: Mapping[str, Any], secret: bytes) -> str:
    """Return a signed HS256 JWT carrying the claims."""
    header = _b64encode(json.dumps(_HEADER, separators=(",", ":")).encode())
    payload = _b64encode(json.dumps(dict(claims), separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    return f"{header}.{payload}.{_sign(signing_input, secret)}"


def decode(
    token: str, secret: bytes, *, verify_exp: bool = True, now: float | None = None
) -> dict[str, Any]:
    """Verify a token's signature (and, unless told not to, its exp) and return its claims."""
    # A bearer value arrives as decoded text; anything non-ASCII cannot be a JWT, and
    # hmac.compare_digest refuses non-ASCII str (TypeError), which would turn a 401 into a 500.
    if not token.isascii():
        raise InvalidTokenError("a JWT is not ASCII")
    parts = token.split(".")
    if len(parts) != 3:  # noqa: PLR2004
        raise InvalidTokenError("a JWT has three parts")
    header_part, payload_part, signature = parts
    expected = _sign(f"{header_part}.{payload_part}".encode("ascii"), secret)
    if not hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii")):
        raise InvalidTokenError("bad signature")
    try:
        header = json.loads(_b64decode(header_part))
        claims = json.loads(_b64decode(payload_part))
    except ValueError as err:
        raise InvalidTokenError("bad JSON") from err
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise InvalidTokenError("unsupported algorithm")
    if not isinstance(claims, dict):
        raise InvalidTokenError("claims are not an object")
    if verify_exp:
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            raise InvalidTokenError("no exp claim")
        if (time.time() if now is None else now) >= exp:
            raise InvalidTokenError("expired")
    return claims
