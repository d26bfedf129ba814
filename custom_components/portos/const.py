"""Constants shared by the PORTOS integration's modules."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Final

DOMAIN: Final = "portos"
LOGGER: Final = logging.getLogger(__package__)

# The company's own spelling, as the shop owner knows it (not the NineDigit brand).
MANUFACTURER: Final = "Nine Digit, s.r.o."
MODEL: Final = "PORTOS"

# Config entry data (the user step's fields).
CONF_DEVICE_NAME: Final = "device_name"

# Options.
CONF_RESOURCES: Final = "resources"
CONF_EVENT_DETAIL: Final = "event_detail"
EVENT_DETAIL_SUMMARY: Final = "summary"
EVENT_DETAIL_FULL: Final = "full"
DEFAULT_RESOURCES: Final = ["tickets"]
DEFAULT_EVENT_DETAIL: Final = EVENT_DETAIL_SUMMARY

# The bus event and its data keys (a contract: automations rely on them).
EVENT_PORTOS: Final = "portos_event"
ATTR_DEVICE_ID: Final = "device_id"
ATTR_EVENT: Final = "event"
ATTR_RESOURCE: Final = "resource"
ATTR_ACTION: Final = "action"
ATTR_RESOURCE_ID: Final = "resource_id"
ATTR_VERSION: Final = "version"
ATTR_USER: Final = "user"
ATTR_DEVICE: Final = "device"
ATTR_CREATED_AT: Final = "created_at"
ATTR_RESOURCES: Final = "resources"
ATTR_TOTAL: Final = "total"
ATTR_CURRENCY: Final = "currency"

# Actions as the integration names them (the hub's 1/2/3, a close split out, the license's one).
ACTION_CREATED: Final = "created"
ACTION_UPDATED: Final = "updated"
ACTION_CLOSED: Final = "closed"
ACTION_DELETED: Final = "deleted"

# REST is read this often while the hub pushes (health and license change without an event)...
SCAN_INTERVAL: Final = timedelta(minutes=5)
# ...and this often while it does not: the counts catch up, and availability follows the server.
SCAN_INTERVAL_HUB_DOWN: Final = timedelta(seconds=30)
# How long setup waits for the hub, so its first snapshot already covers the live connection.
HUB_SETUP_WAIT: Final = 5.0

LICENSE_EXPIRING_DAYS: Final = 30
LICENSE_REPAIR_DAYS: Final = 7
