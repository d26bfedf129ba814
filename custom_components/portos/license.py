"""The shop's PORTOS license in Home Assistant: a status, and a repair issue near its expiry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from homeassistant.core import callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from .const import DOMAIN, LICENSE_EXPIRING_DAYS, LICENSE_REPAIR_DAYS

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from .api import License

LICENSE_VALID: Final = "valid"
LICENSE_EXPIRING: Final = "expiring"
LICENSE_EXPIRED: Final = "expired"


def license_status(shop_license: License) -> str:
    """Return `valid`, `expiring` (fewer than LICENSE_EXPIRING_DAYS left) or `expired`."""
    if shop_license.is_expired or shop_license.remaining_days < 0:
        return LICENSE_EXPIRED
    if shop_license.remaining_days < LICENSE_EXPIRING_DAYS:
        return LICENSE_EXPIRING
    return LICENSE_VALID


def license_issue_id(shop_id: str) -> str:
    """Return the repair issue id of a shop's license."""
    return f"license_{shop_id}"


@callback
def async_update_license_issue(hass: HomeAssistant, shop_id: str, shop_license: License) -> None:
    """Raise the license repair issue near or past expiry; withdraw it once renewed."""
    status = license_status(shop_license)
    if status != LICENSE_EXPIRED and shop_license.remaining_days > LICENSE_REPAIR_DAYS:
        async_delete_license_issue(hass, shop_id)
        return
    expired = status == LICENSE_EXPIRED
    expiration = shop_license.expiration_time
    ir.async_create_issue(
        hass,
        DOMAIN,
        license_issue_id(shop_id),
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR if expired else ir.IssueSeverity.WARNING,
        translation_key="license_expired" if expired else "license_expiring",
        translation_placeholders={
            "shop_id": str(shop_license.shop_id),
            "days": str(max(shop_license.remaining_days, 0)),
            "expiration": "?"
            if expiration is None
            else dt_util.as_local(expiration).date().isoformat(),
        },
    )


@callback
def async_delete_license_issue(hass: HomeAssistant, shop_id: str) -> None:
    """Withdraw the shop's license repair issue (renewed, or the entry is gone)."""
    ir.async_delete_issue(hass, DOMAIN, license_issue_id(shop_id))
