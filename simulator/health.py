"""The health report of `GET /api/v2/health` (always HTTP 200; the body carries the status)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .store import isoformat

if TYPE_CHECKING:
    from .license import LicenseState

HEALTHY = "Healthy"
DEGRADED = "Degraded"
UNHEALTHY = "Unhealthy"
STATUSES = (HEALTHY, DEGRADED, UNHEALTHY)
# Fewer remaining days than this makes the license check degraded, as a reminder to renew.
LICENSE_WARNING_DAYS = 14


def _entry(status: str, description: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return one named check."""
    return {
        "status": status,
        "description": description,
        "duration": "00:00:00.0010000",
        "data": data or {},
    }


def health_report(shop_license: LicenseState, override: str | None) -> dict[str, Any]:
    """Build the report; `override` (set by /_sim/health) replaces the overall status."""
    if shop_license.is_expired:
        license_status = UNHEALTHY
    elif shop_license.remaining_days < LICENSE_WARNING_DAYS:
        license_status = DEGRADED
    else:
        license_status = HEALTHY
    entries = {
        "diskstorage": _entry(HEALTHY, "Enough free disk space.", {"freeMegabytes": 20480}),
        "license": _entry(
            license_status,
            "License is expired." if shop_license.is_expired else "License is valid.",
            # "remaningDays" is misspelt on purpose: real PORTOS servers spell it so.
            {
                "remaningDays": shop_license.remaining_days,
                "expirationDate": isoformat(shop_license.expiration_time),
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
