"""Helpers for the integration tests: the shop's entries and entities, hub notifications, waits.

Waits follow the clock they find. On a running clock they poll every 20 ms, bounded by a
timeout. Under `freezer` the event loop's clock is frozen too (asyncio sleeps and timeouts would
never end), so they spin the loop instead, bounded by a number of rounds: the simulator runs on
the same loop and the sockets are real, so a delivery takes the same few rounds whatever the
machine's load (one or two: each round lets Home Assistant's pending work finish).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
import json
from pathlib import Path
import time
from typing import TYPE_CHECKING, Any, Final

import freezegun.api
from homeassistant.const import CONF_PASSWORD, CONF_URL, CONF_USERNAME, CONF_VERIFY_SSL
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

import custom_components.portos
from custom_components.portos.api import DEFAULT_DEVICE_NAME
from custom_components.portos.const import (
    CONF_DEVICE_NAME,
    CONF_EVENT_DETAIL,
    CONF_RESOURCES,
    DOMAIN,
    EVENT_DETAIL_SUMMARY,
)
from tests.integration.const import SHOP_ID

if TYPE_CHECKING:
    from collections.abc import Callable

    from homeassistant.core import HomeAssistant, State

    from custom_components.portos.coordinator import PortosCoordinator
    from tests.till import Till

TIMEOUT = 15.0
TRANSLATIONS: Final = Path(custom_components.portos.__file__).parent / "translations"
# A delivery (till -> simulator -> hub -> coordinator -> entities) takes one or two rounds.
SPIN_ROUNDS = 20_000


def portos_config_entry(
    url: str,
    *,
    shop_id: str = SHOP_ID,
    username: str = "admin",
    password: str = "portos",  # noqa: S107 - the simulator's documented default
    options: Mapping[str, Any] | None = None,
) -> MockConfigEntry:
    """Return a config entry for a PORTOS server, as the user step creates it."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"PORTOS {shop_id}",
        unique_id=shop_id,
        data={
            CONF_URL: url,
            CONF_USERNAME: username,
            CONF_PASSWORD: password,
            CONF_DEVICE_NAME: DEFAULT_DEVICE_NAME,
            CONF_VERIFY_SSL: True,
        },
        options=(
            {CONF_RESOURCES: ["tickets"], CONF_EVENT_DETAIL: EVENT_DETAIL_SUMMARY}
            if options is None
            else dict(options)
        ),
    )


async def setup_portos(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Add the entry and set it up; return once the hub is connected and the resync done."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await wait_hub(hass, entry, connected=True)


# --- the shop's entities ---------------------------------------------------------------------


def entity_id(hass: HomeAssistant, platform: str, key: str, shop_id: str = SHOP_ID) -> str:
    """Return the entity id of one of a shop's entities by its key."""
    found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{shop_id}_{key}")
    assert found is not None, key
    return found


def state(hass: HomeAssistant, platform: str, key: str, shop_id: str = SHOP_ID) -> State:
    """Return the state object of one of a shop's entities."""
    found = hass.states.get(entity_id(hass, platform, key, shop_id))
    assert found is not None, key
    return found


def shop_device(hass: HomeAssistant, shop_id: str = SHOP_ID) -> dr.DeviceEntry:
    """Return a shop's device (keyed on its shopId)."""
    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, shop_id)})
    assert device is not None
    return device


def state_of(hass: HomeAssistant, platform: str, key: str, shop_id: str = SHOP_ID) -> str:
    """Return the state of one of a shop's entities."""
    return state(hass, platform, key, shop_id).state


def counts(hass: HomeAssistant, shop_id: str = SHOP_ID) -> tuple[str, str]:
    """Return a shop's open and closed-today sensor states."""
    return (
        state_of(hass, "sensor", "open_tickets", shop_id),
        state_of(hass, "sensor", "tickets_closed_today", shop_id),
    )


# --- hub notifications -----------------------------------------------------------------------


def resource_changed(
    obj: Mapping[str, Any], action: int, version: int | None = None, resource: str = "tickets"
) -> dict[str, Any]:
    """Return a resource-changed notification as the hub sends it (admin on P01), for emit."""
    return {
        "e": "portos.resources.changed",
        "s": {"c": "x", "u": {"u": "SYSTEM", "d": "SYSTEM", "f": None}},
        "r": None,
        "ca": dt_util.utcnow().isoformat(),
        "ea": None,
        "p": {
            "u": {"u": "admin", "d": "P01", "f": None},
            "n": resource,
            "a": action,
            "i": {"i": obj["id"], "n": resource, "v": obj["_v"] if version is None else version},
            "r": [dict(obj)],
        },
    }


async def emit_and_settle(
    hass: HomeAssistant, till: Till, obj: dict[str, Any] | str, entry: MockConfigEntry
) -> None:
    """Emit a notification (an object, or raw text) and wait until it is handled and published.

    The coordinator applies a push at once and publishes it (and fires its event) when the loop is
    next free: the first round of async_block_till_done.
    """
    hub = entry.runtime_data.hub
    before = hub.stats.notifications + hub.stats.malformed
    if isinstance(obj, str):
        await till.emit_raw(obj)
    else:
        await till.emit(obj)
    await wait_for(hass, lambda: hub.stats.notifications + hub.stats.malformed > before)
    await hass.async_block_till_done()


# --- waiting ---------------------------------------------------------------------------------


def clock_frozen() -> bool:
    """Tell whether freezegun holds the clock (and with it the event loop's)."""
    return time.monotonic is not freezegun.api.real_monotonic


async def wait_for(
    hass: HomeAssistant, predicate: Callable[[], bool], timeout: float = TIMEOUT
) -> None:
    """Wait until `predicate()` holds, letting the loop (the hub, the simulator) run."""
    if clock_frozen():
        for _ in range(SPIN_ROUNDS):
            if predicate():
                return
            await asyncio.sleep(0)
            await hass.async_block_till_done(wait_background_tasks=True)
        assert predicate(), f"not so after {SPIN_ROUNDS} rounds of the event loop"
        return
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)
            await hass.async_block_till_done(wait_background_tasks=True)


async def wait_hub(hass: HomeAssistant, entry: MockConfigEntry, *, connected: bool) -> None:
    """Wait until the entry's hub is (dis)connected and any resync it started is over."""
    coordinator = entry.runtime_data
    await wait_for(hass, lambda: coordinator.data.hub_connected is connected)
    await hass.async_block_till_done(wait_background_tasks=True)


def force_resync(coordinator: PortosCoordinator) -> None:
    """Make the next refresh read the tickets again, as if the hub had just reconnected."""
    coordinator._synced_connection = -1


# --- texts ---------------------------------------------------------------------------------------


def translation(language: str) -> dict[str, Any]:
    """Return one of the integration's translation files."""
    doc: dict[str, Any] = json.loads(
        (TRANSLATIONS / f"{language}.json").read_text(encoding="utf-8")
    )
    return doc


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Flatten a translation tree to {dotted key: text}."""
    texts: dict[str, str] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            texts |= flatten(value, f"{prefix}{key}.")
        else:
            texts[f"{prefix}{key}"] = value
    return texts
