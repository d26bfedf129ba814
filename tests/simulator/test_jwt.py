"""The hand-made HS256 JWTs: round trip, signature, expiry and malformed tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from simulator import jwt

SECRET = b"k" * 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _token(header: object, claims: object, secret: bytes = SECRET) -> str:
    """Sign arbitrary header/claims JSON, to build tokens the encoder would never make."""
    head = _b64(json.dumps(header).encode())
    body = _b64(json.dumps(claims).encode())
    signature = _b64(hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"{head}.{body}.{signature}"


def test_round_trip_and_standard_shape() -> None:
    """A token is three base64url parts, HS256, and decodes to its claims."""
    token = jwt.encode({"sub": "1", "exp": 2_000_000_000}, SECRET)
    header, payload, _ = token.split(".")
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {"alg": "HS256", "typ": "JWT"}
    assert json.loads(base64.urlsafe_b64decode(payload + "==")) == {
        "sub": "1",
        "exp": 2_000_000_000,
    }
    assert jwt.decode(token, SECRET, now=1_999_999_999) == {"sub": "1", "exp": 2_000_000_000}
    assert "=" not in token


def test_expiry() -> None:
    """A token is invalid from its exp second on, unless expiry is not checked (refresh)."""
    token = jwt.encode({"exp": 100}, SECRET)
    assert jwt.decode(token, SECRET, now=99.9)["exp"] == 100
    with pytest.raises(jwt.InvalidTokenError, match="expired"):
        jwt.decode(token, SECRET, now=100)
    assert jwt.decode(token, SECRET, verify_exp=False, now=500) == {"exp": 100}


@pytest.mark.parametrize(
    ("token", "match"),
    [
        ("a.b", "three parts"),
        (jwt.encode({"exp": 10**10}, b"other"), "bad signature"),
        (jwt.encode({"exp": 10**10}, SECRET)[:-2] + "xx", "bad signature"),
        (_token({"alg": "none"}, {"exp": 10**10}), "unsupported algorithm"),
        (_token(["HS256"], {"exp": 10**10}), "unsupported algorithm"),
        (_token({"alg": "HS256"}, [1]), "not an object"),
        (_token({"alg": "HS256"}, {"sub": "1"}), "no exp"),
        (_token({"alg": "HS256"}, {"exp": True}), "no exp"),
        (_token({"alg": "HS256"}, {"exp": "soon"}), "no exp"),
        # Non-ASCII anywhere (a header value decoded as UTF-8) is simply not a JWT.
        ("a.b.\u00e9", "not ASCII"),
        ("\u00e9.b.c", "not ASCII"),
        (jwt.encode({"exp": 10**10}, SECRET)[:-1] + "\u00e9", "not ASCII"),
    ],
)
def test_invalid_tokens(token: str, match: str) -> None:
    """Malformed, forged, unsigned or exp-less tokens are rejected with InvalidTokenError."""
    with pytest.raises(jwt.InvalidTokenError, match=match):
        jwt.decode(token, SECRET)


def test_bad_json_and_base64() -> None:
    """Parts that are not base64 JSON are rejected even with a valid signature."""
    head = "bm90IGpzb24"  # "not json"
    body = _b64(b"{}")
    signature = _b64(hmac.new(SECRET, f"{head}.{body}".encode(), hashlib.sha256).digest())
    with pytest.raises(jwt.InvalidTokenError, match="bad JSON"):
        jwt.decode(f"{head}.{body}.{signature}", SECRET)
    head = "a"  # one base64 character can never decode
    signature = _b64(hmac.new(SECRET, f"{head}.{body}".encode(), hashlib.sha256).digest())
    with pytest.raises(jwt.InvalidTokenError, match="bad base64"):
        jwt.decode(f"{head}.{body}.{signature}", SECRET)
