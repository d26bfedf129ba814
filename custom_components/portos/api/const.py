"""Every decided PORTOS API choice the client relies on, in one place (see API.md "(decided)").

When a real PORTOS server disagrees with one of these, change it here and nowhere else.
"""

from __future__ import annotations

from typing import Final

DEFAULT_DEVICE_NAME: Final = "HomeAssistant"
DEFAULT_REQUEST_TIMEOUT: Final = 10.0

# --- addresses -----------------------------------------------------------------------------------

URL_SCHEMES: Final = frozenset({"http", "https"})

AUTH_PATH: Final = "/api/auth"
AUTH_REFRESH_PATH: Final = "/api/auth/refresh"
HEALTH_PATH: Final = "/api/v2/health"
HUB_PATH: Final = "/signalr/v1/mainHub"

# Resources live under a prefix the docs do not pin down: NineDigit's own client uses /api/v1, one
# test vector /api. The client tries these in order, falling back on a 404, and keeps the first one
# that answers.
API_PREFIXES: Final = ("/api/v1", "/api")

TICKETS_PATH: Final = "/tickets"
LICENSE_PATH: Final = "/license"

# Sent so problem titles (which end up in exception texts and logs) are in one language.
ACCEPT_LANGUAGE: Final = "en-GB"

# --- auth ----------------------------------------------------------------------------------------

# Devices that allow one session at a time: a login there throws the cashier or waiter out.
REFUSED_DEVICE_ENVS: Final = frozenset({"CashRegister", "PDA"})

# Refresh this long before the JWT's exp, but never earlier than half-way through its lifetime
# (servers configured with very short tokens would otherwise be refreshed on every call).
TOKEN_REFRESH_MARGIN: Final = 60.0
TOKEN_REFRESH_MAX_FRACTION: Final = 0.5

# --- errors (RFC 7807 problem replies carry an errorCode) ----------------------------------------

ERROR_CODE_NOT_LOGGED_IN: Final = 1
ERROR_CODE_LICENSE_EXPIRED: Final = 4

# --- lists (NData query syntax) -------------------------------------------------------------------

QUERY_SKIP: Final = "$skip"
QUERY_TAKE: Final = "$take"

# In a page of a list, count is the page's length and totalCount all matching items (paging stops
# at totalCount when a reply has it).
TOTAL_COUNT_FIELD: Final = "totalCount"
ITEMS_FIELD: Final = "items"

FILTER_IS_CLOSED: Final = "IsClosed"
FILTER_CLOSE_DATE: Final = "CloseDate"
OPEN_TICKETS_FILTER: Final = {FILTER_IS_CLOSED: "eq:false"}
CLOSED_TICKETS_FILTER: Final = {FILTER_IS_CLOSED: "eq:true"}
CLOSED_SINCE_OPERATOR: Final = "gte"

TICKETS_PAGE_SIZE: Final = 100
# A server that ignores $skip would otherwise keep the paging loop going for ever.
TICKETS_MAX_PAGES: Final = 1000

# --- resource names ------------------------------------------------------------------------------

# The seed shows tickets and devices; the rest follow the REST routes.
RESOURCE_NAMES: Final = (
    "apikeys",
    "articlecategories",
    "companies",
    "currencies",
    "customers",
    "dailysalesreports",
    "devices",
    "fiscals",
    "modifiers",
    "orderendpoints",
    "orders",
    "paymenttypes",
    "plus",
    "roles",
    "sessions",
    "settings",
    "stocktakings",
    "stocks",
    "stocktransfers",
    "tickets",
    "users",
    "vats",
    "zones",
)
