"""Constants the integration tests share: the simulated shop, the bus event's keys, the clock."""

from __future__ import annotations

from typing import Any, Final

# The languages the integration is translated into.
LANGUAGES: Final = ("en", "sk")

# The simulator's default shopId: the config entry's unique id and the device's identifier.
SHOP_ID: Final = "12345"

# The keys of every `portos_event` (a contract automations rely on), spelled out rather than
# taken from the integration's constants, so that renaming one of those fails the tests.
EVENT_KEYS: Final = frozenset(
    {
        "device_id",
        "event",
        "resource",
        "action",
        "resource_id",
        "version",
        "user",
        "device",
        "created_at",
        "resources",
        "total",
        "currency",
    }
)

# A fixed instant for tests that freeze the clock: a weekday morning in the shop, and two seconds
# before local midnight. Home Assistant's test instance runs in US/Pacific (UTC-8 in November);
# the tests check that these are what they claim in that time zone.
MORNING: Final = "2026-11-27 18:30:00+00:00"  # 10:30 local
BEFORE_MIDNIGHT: Final = "2026-11-28 07:59:58+00:00"  # 23:59:58 local

# One line of a ticket worth 23.40 € (2 x 11.142857 net at 5 % VAT: 2 x 11.70 gross).
GOULASH: Final[dict[str, Any]] = {
    "plu": {"name": "Goulash", "vatInfo": {"rate": 5}, "isDiscountAllowed": True},
    "unitPrice": {"amount": 11.142857},
    "quantity": {"amount": 2, "unit": "pcs"},
}
