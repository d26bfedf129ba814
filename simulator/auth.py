"""Users, devices and sessions: login, refresh, profile, logout and the JWTs behind them."""

from __future__ import annotations

from dataclasses import dataclass, field
import math
import secrets
import time
from typing import TYPE_CHECKING, Any
import uuid

from . import jwt
from .problems import unauthorized

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .config import SimulatorConfig

# Devices of these environments allow one session at a time (a till, a waiter's phone).
SINGLE_SESSION_ENVS = frozenset({"CashRegister", "PDA"})
ISSUER = "portos-simulator"
USER_ID = "1"
USER_RIGHTS = ("tickets.read", "tickets.write", "tickets.close", "license.activate")


@dataclass(frozen=True, slots=True)
class Device:
    """A device registered in BackOffice; logins are made on one."""

    name: str
    env_name: str
    description: str

    def to_dict(self) -> dict[str, Any]:
        """Return the device as PORTOS shows it inside a user profile."""
        return {
            "name": self.name,
            "envName": self.env_name,
            "description": self.description,
            "settings": {},
        }


DEFAULT_DEVICES = (
    Device("HomeAssistant", "Tool", "Home Assistant integration"),
    Device("P01", "CashRegister", "Till at the bar"),
    Device("PDA01", "PDA", "Waiter's handheld"),
    Device("BackOffice", "BackOffice", "Manager's office"),
)


@dataclass(slots=True)
class Session:
    """One logged-in session: the current access token's id and its refresh token."""

    user_name: str
    device: Device
    jti: str = ""
    refresh_token: str = field(default="", repr=False)

    @property
    def user(self) -> dict[str, Any]:
        """Return the user profile as login and `GET /api/auth` show it."""
        return {
            "id": USER_ID,
            "name": self.user_name.title(),
            "userName": self.user_name,
            "rights": list(USER_RIGHTS),
            "device": self.device.to_dict(),
        }


class AuthService:
    """Issues and checks tokens; the signing key lives as long as the simulator object."""

    def __init__(self, config: SimulatorConfig) -> None:
        """Start with no sessions and a fresh random signing key."""
        self._config = config
        self._secret = secrets.token_bytes(32)
        self.devices: dict[str, Device] = {device.name: device for device in DEFAULT_DEVICES}
        self._by_jti: dict[str, Session] = {}
        self._by_refresh: dict[str, Session] = {}

    @property
    def sessions(self) -> list[Session]:
        """Return the live sessions."""
        return list(self._by_jti.values())

    def _issue(self, session: Session) -> dict[str, Any]:
        """Give the session a new access and refresh token, revoking the old pair."""
        self._by_jti.pop(session.jti, None)
        self._by_refresh.pop(session.refresh_token, None)
        now = time.time()
        session.jti = uuid.uuid4().hex
        session.refresh_token = secrets.token_urlsafe(32)
        claims = {
            "iss": ISSUER,
            "sub": USER_ID,
            "unique_name": session.user_name,
            "device": session.device.name,
            "jti": session.jti,
            "iat": int(now),
            "nbf": int(now),
            # Rounded up so a token never lapses before the configured lifetime.
            "exp": math.ceil(now + self._config.token_lifetime),
        }
        self._by_jti[session.jti] = session
        self._by_refresh[session.refresh_token] = session
        return {
            "tokenId": jwt.encode(claims, self._secret),
            "refreshToken": session.refresh_token,
            "user": session.user,
        }

    def login(self, user_name: object, password: object, device_name: object) -> dict[str, Any]:
        """Log a user in on a device and return the login reply."""
        if user_name != self._config.user or password != self._config.password:
            raise unauthorized("Invalid user name or password.")
        device = self.devices.get(device_name) if isinstance(device_name, str) else None
        if device is None:
            raise unauthorized(f"Unknown device {device_name!r}.")
        if device.env_name in SINGLE_SESSION_ENVS:
            for session in self.sessions:
                if session.device.name == device.name:
                    self.revoke(session)
        return self._issue(Session(user_name=user_name, device=device))

    def refresh(self, token_id: object, refresh_token: object) -> dict[str, Any]:
        """Exchange a (possibly expired) access token and its refresh token for a new pair."""
        if not isinstance(token_id, str) or not isinstance(refresh_token, str):
            raise unauthorized("Invalid refresh token.")
        try:
            claims = jwt.decode(token_id, self._secret, verify_exp=False)
        except jwt.InvalidTokenError as err:
            raise unauthorized("Invalid refresh token.") from err
        session = self._by_refresh.get(refresh_token)
        if session is None or session.jti != claims.get("jti"):
            raise unauthorized("Invalid refresh token.")
        return self._issue(session)

    def authenticate(self, token: str | None) -> Session:
        """Return the session of a valid, unexpired access token, else raise a 401 problem."""
        if not token:
            raise unauthorized()
        try:
            claims = jwt.decode(token, self._secret)
        except jwt.InvalidTokenError as err:
            raise unauthorized("The access token is invalid or has expired.") from err
        session = self._by_jti.get(str(claims.get("jti")))
        if session is None:
            raise unauthorized("The session has ended.")
        return session

    def authenticate_headers(
        self, headers: Mapping[str, str], query: Mapping[str, str] | None = None
    ) -> Session:
        """Authenticate a bearer header or, when allowed, an `access_token` query value."""
        token: str | None = None
        scheme, _, value = headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            token = value.strip()
        elif query is not None:
            token = query.get("access_token")
        return self.authenticate(token)

    def revoke(self, session: Session) -> None:
        """End a session: its access and refresh tokens stop working."""
        self._by_jti.pop(session.jti, None)
        self._by_refresh.pop(session.refresh_token, None)

    def expire_all(self) -> int:
        """Invalidate every token issued so far; return how many sessions ended."""
        count = len(self._by_jti)
        self._by_jti.clear()
        self._by_refresh.clear()
        return count
