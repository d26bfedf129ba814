"""The shop's sensors, as Home Assistant core tests a platform: states and registry snapshots.

A change to a sensor's shape (name, unit, device or state class, options, attributes, registry
entry) fails here. To accept an intended change, run
`pytest tests/integration/test_sensor.py --snapshot-update` and read the diff of
tests/integration/snapshots/test_sensor.ambr before committing it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.const import Platform
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import snapshot_platform

from tests.integration.const import GOULASH, MORNING
from tests.integration.portos_helpers import setup_portos, shop_device, state_of

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry
    from syrupy.assertion import SnapshotAssertion

    from tests.till import Till

pytestmark = pytest.mark.usefixtures("socket_enabled")

LEMONADE: dict[str, Any] = {
    "plu": {"name": "Lemonade", "vatInfo": {"rate": 23}, "isDiscountAllowed": True},
    "unitPrice": {"amount": 2.926829},
    "quantity": {"amount": 3, "unit": "pcs"},
}


@pytest.fixture
def platforms() -> list[Platform]:
    """Set up only the sensor platform."""
    return [Platform.SENSOR]


@pytest.mark.freeze_time(MORNING)
@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_entities(
    hass: HomeAssistant,
    *,
    snapshot: SnapshotAssertion,
    entity_registry: er.EntityRegistry,
    portos_entry: MockConfigEntry,
    till: Till,
) -> None:
    """A morning's tickets made before setup, read from the REST snapshot, as `.ambr` snapshots."""
    paid = await till.create_ticket("Table 1", items=[GOULASH])
    await till.close_ticket(
        paid["id"], payments=[{"paymentType": "card", "amount": 20}, {"paymentType": "cash"}]
    )
    await till.create_ticket("Table 2", items=[LEMONADE])
    await till.create_ticket("Bar")  # nothing ordered yet
    await setup_portos(hass, portos_entry)

    await snapshot_platform(hass, entity_registry, snapshot, portos_entry.entry_id)
    entries = er.async_entries_for_config_entry(entity_registry, portos_entry.entry_id)
    device = shop_device(hass)
    assert {entry.device_id for entry in entries} == {device.id}
    # The simulator's own figures, computed without the integration's maths: a snapshot taken
    # blindly of wrong figures still fails here.
    report = await till.sales(dt_util.start_of_local_day().isoformat())
    assert {
        key: state_of(hass, "sensor", key)
        for key in (
            "open_tickets",
            "open_tickets_value",
            "tickets_closed_today",
            "sales_today",
            "average_ticket_today",
        )
    } == {
        "open_tickets": str(report["open"]["count"]),
        "open_tickets_value": report["open"]["value"],
        "tickets_closed_today": str(report["closed"]),
        "sales_today": report["total"],
        "average_ticket_today": report["total"],  # one ticket closed
    }
