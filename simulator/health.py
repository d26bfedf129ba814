"""The health report of `GET /api/v2/health` (always HTTP 200; the body carries the status)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .store import isoformat

if TYPE_CHECKING:
    from .licence import LicenceState

HEALTHY = "Healthy"
DEGRADED = "Degraded"
UNHEALTHY = "Unhealthy"
STATUSES = (HEALTHY, DEGRADED, UNHEALTHY)
# Fewer remaining days than this makes the licence check degraded, as a reminder to renew.
LICENCE_WARNING_DAYS = 14


def _entry(status: str, description: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return one named check."""
    return {
        "status": status,
        "description": description,
        "duration": "00:00:00.0010000",
        "data": data or {},
    }


def health_report(licence: LicenceState, override: str | None) -> dict[str, Any]:
    """Build the report; `override` (set by /_sim/health) replaces the overall status."""
    if licence.is_expired:
        licence_status = UNHEALTHY
    elif licence.remaining_days < LICENCE_WARNING_DAYS:
        licence_status = DEGRADED
    else:
        licence_status = HEALTHY
    entries = {
        "diskstorage": _entry(HEALTHY, "Enough free disk space.", {"freeMegabytes": 20480}),
        "license": _entry(
            licence_status,
            "Licence is expired." if licence.is_expired else "Licence is valid.",
            # "remaningDays" is misspelt on purpose: real PORTOS servers spell it so.
            {
                "remaningDays": licence.remaining_days,
                "expirationDate": isoformat(licence.expiration_time),
            },
        ),
        "fiscalPrinters": _entry(HEALTHY, "All fiscal printers are online."),
        "orderEndpoints": _entry(HEALTHY, "All order endpoints are reachable."),
    }
    if override is not None:
        status = override
    else:
        status = max((e["status"] for e in entries.values()), key=STATUSES.index)
    return {"status": status, "totalDuration": "00:00:00.0040000", "entries": entries}
