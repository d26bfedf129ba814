"""The shop's PORTOS license: remaining days, expiry and activation."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .store import isoformat, parse_moment, utcnow

RENEWAL_DAYS = 365
FEATURES = (("PORTOS-GASTRO", "Gastro"), ("PORTOS-API", "API access"))


class LicenseState:
    """The license as `GET /license` reports it."""

    def __init__(self, shop_id: int, days: int) -> None:
        """Start a license that has `days` remaining days (0 or less: expired)."""
        self.shop_id = shop_id
        now = utcnow()
        self.activation_time: datetime = now - timedelta(days=max(RENEWAL_DAYS - days, 0))
        self.verification_time: datetime = now
        self.days = days
        self.expiration_time: datetime = now + timedelta(days=days)

    @property
    def is_expired(self) -> bool:
        """Return whether the license has lapsed."""
        return self.days <= 0

    @property
    def remaining_days(self) -> int:
        """Return the remaining days, never below zero."""
        return max(self.days, 0)

    def set_days(self, days: int) -> None:
        """Set the remaining days (and the expiry to match) without activating."""
        self.days = days
        self.expiration_time = utcnow() + timedelta(days=days)

    def activate(self) -> None:
        """Renew the license for a year from now."""
        now = utcnow()
        self.activation_time = now
        self.verification_time = now
        self.set_days(RENEWAL_DAYS)

    def to_record(self) -> dict[str, Any]:
        """Return what a state file keeps of the license."""
        return {
            "shopId": self.shop_id,
            "days": self.days,
            "activationTime": isoformat(self.activation_time),
            "verificationTime": isoformat(self.verification_time),
            "expirationTime": isoformat(self.expiration_time),
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> LicenseState:
        """Restore a license from a state file's record."""
        restored = cls(int(record["shopId"]), int(record["days"]))
        restored.activation_time = parse_moment(record["activationTime"])
        restored.verification_time = parse_moment(record["verificationTime"])
        restored.expiration_time = parse_moment(record["expirationTime"])
        return restored

    def to_dict(self) -> dict[str, Any]:
        """Return the license object PORTOS serves and sends with `portos.licence.activated`."""
        return {
            "shopId": self.shop_id,
            "activationTime": isoformat(self.activation_time),
            "expirationTime": isoformat(self.expiration_time),
            "verificationTime": isoformat(self.verification_time),
            "verificationInterval": "1.00:00:00",
            "features": [
                {
                    "productSku": sku,
                    "name": name,
                    "rawValue": "true",
                    "activationTime": isoformat(self.activation_time),
                    "expirationTime": isoformat(self.expiration_time),
                }
                for sku, name in FEATURES
            ],
            "remainingDays": self.remaining_days,
            "isExpired": self.is_expired,
        }
