"""A chain of shops: two PORTOS servers in one Home Assistant, each entry on its own."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aiohttp
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.portos.const import EVENT_PORTOS
from tests.integration.portos_helpers import (
    portos_config_entry,
    setup_portos,
    state_of,
    wait_for,
    wait_hub,
)
from tests.till import Till

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from homeassistant.core import HomeAssistant

    from simulator.server import Simulator
    from tests.common import SimulatorFactory

pytestmark = pytest.mark.usefixtures("socket_enabled")

SHOPS = (111, 222)


def _open_tickets(hass: HomeAssistant, shop_id: int) -> str:
    """Return the state of a shop's open-tickets sensor."""
    return state_of(hass, "sensor", "open_tickets", str(shop_id))


@pytest.fixture
async def shops(
    hass: HomeAssistant, simulator_factory: SimulatorFactory
) -> AsyncIterator[list[tuple[Simulator, MockConfigEntry, Till]]]:
    """Set up both shops, each with its own simulator, entry and till."""
    async with aiohttp.ClientSession() as session:
        result = []
        for shop_id in SHOPS:
            simulator = await simulator_factory(shop_id=shop_id)
            entry = portos_config_entry(simulator.url, shop_id=str(shop_id))
            await setup_portos(hass, entry)
            result.append((simulator, entry, Till(session, simulator.url)))
        yield result


async def test_each_shop_counts_its_own_tickets(
    hass: HomeAssistant, shops: list[tuple[Simulator, MockConfigEntry, Till]]
) -> None:
    """Each entry has its own hub, device and counts; bus events tell the shops apart."""
    (_, first, first_till), (_, second, second_till) = shops
    assert first.runtime_data.hub is not second.runtime_data.hub
    assert first.runtime_data.device_id != second.runtime_data.device_id
    events = async_capture_events(hass, EVENT_PORTOS)
    await first_till.create_ticket("Table 1")
    for name in ("Bar 1", "Bar 2"):
        await second_till.create_ticket(name)
    await wait_for(hass, lambda: len(events) == 3)
    assert (_open_tickets(hass, SHOPS[0]), _open_tickets(hass, SHOPS[1])) == ("1", "2")
    by_device = [e.data["device_id"] for e in events]
    assert by_device.count(first.runtime_data.device_id) == 1
    assert by_device.count(second.runtime_data.device_id) == 2


async def test_a_fault_in_one_shop_leaves_the_other_live(
    hass: HomeAssistant, shops: list[tuple[Simulator, MockConfigEntry, Till]]
) -> None:
    """One server down: its entities go unavailable, the other shop keeps counting live."""
    (down, first, _), (_, second, second_till) = shops
    await down.stop()
    await wait_hub(hass, first, connected=False)
    await wait_for(hass, lambda: _open_tickets(hass, SHOPS[0]) == STATE_UNAVAILABLE)
    await second_till.create_ticket("Bar 1")
    await wait_for(hass, lambda: _open_tickets(hass, SHOPS[1]) == "1")
    assert second.runtime_data.hub.connected
    assert second.runtime_data.last_update_success

    await down.start()
    await wait_hub(hass, first, connected=True)
    await wait_for(hass, lambda: _open_tickets(hass, SHOPS[0]) == "0")


async def test_unloading_one_shop_leaves_the_other_live(
    hass: HomeAssistant, shops: list[tuple[Simulator, MockConfigEntry, Till]]
) -> None:
    """Unloading one entry stops only its hub; the other keeps its connection and counts."""
    (first_simulator, first, first_till), (_, second, second_till) = shops
    assert await hass.config_entries.async_unload(first.entry_id)
    await hass.async_block_till_done()
    assert first.state is ConfigEntryState.NOT_LOADED
    events = async_capture_events(hass, EVENT_PORTOS)
    await first_till.create_ticket("Unseen")
    await second_till.create_ticket("Bar 1")
    await wait_for(hass, lambda: _open_tickets(hass, SHOPS[1]) == "1")
    # The first shop's ticket was made first: a hub of its still running would have delivered it
    # before the second shop's.
    assert [event.data["device_id"] for event in events] == [second.runtime_data.device_id]
    assert second.runtime_data.hub.connected
    assert not any(conn.ready for conn in first_simulator.state.hub.connections.values())
