"""Exceptions raised by the PORTOS client; every one is a PortosError."""

from __future__ import annotations


class PortosError(Exception):
    """Base class for every error the PORTOS client raises."""


class PortosConnectionError(PortosError):
    """The server could not be reached, timed out or closed the connection."""


class PortosAuthenticationError(PortosError):
    """The server rejected the credentials or the token (HTTP 401, errorCode 1)."""


class PortosWrongDeviceTypeError(PortosAuthenticationError):
    """The login was made on a CashRegister or PDA device, which allows one session at a time."""

    def __init__(self, device_name: str, env_name: str) -> None:
        """Name the device and its environment; neither is a secret."""
        super().__init__(
            f"Device {device_name!r} is of type {env_name!r}; use a device of type Tool"
        )
        self.device_name = device_name
        self.env_name = env_name


class PortosServerError(PortosError):
    """The server answered with an error (RFC 7807 problem) or an unusable body."""

    def __init__(
        self, message: str, *, status: int | None = None, error_code: int | None = None
    ) -> None:
        """Keep the HTTP status and the PORTOS errorCode for callers that branch on them."""
        super().__init__(message)
        self.status = status
        self.error_code = error_code


class PortosLicenseExpiredError(PortosServerError):
    """The server refused the call because the PORTOS license has expired (errorCode 4)."""


class PortosParseError(PortosError):
    """A reply or notification had a missing or ill-typed field."""
