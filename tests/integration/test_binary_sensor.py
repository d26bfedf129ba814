"""The hub's connection as a binary sensor, as Home Assistant core tests a platform.

A change to its shape fails here. To accept an intended change, run
`pytest tests/integration/test_binary_sensor.py --snapshot-update` and read the diff of
tests/integration/snapshots/test_binary_sensor.ambr before committing it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.const import STATE_OFF, STATE_ON, Platform
import pytest
from pytest_homeassistant_custom_component.common import snapshot_platform

from tests.integration.const import MORNING
from tests.integration.portos_helpers import state_of, wait_hub

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers import entity_registry as er
    from pytest_homeassistant_custom_component.common import MockConfigEntry
    from syrupy.assertion import SnapshotAssertion

    from tests.till import Till

pytestmark = pytest.mark.usefixtures("socket_enabled")


@pytest.fixture
def platforms() -> list[Platform]:
    """Set up only the binary sensor platform."""
    return [Platform.BINARY_SENSOR]


@pytest.mark.freeze_time(MORNING)
@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_entities(
    hass: HomeAssistant,
    snapshot: SnapshotAssertion,
    entity_registry: er.EntityRegistry,
    init_portos: MockConfigEntry,
) -> None:
    """Live updates, connected, as an `.ambr` snapshot."""
    await snapshot_platform(hass, entity_registry, snapshot, init_portos.entry_id)


async def test_follows_the_hub(
    hass: HomeAssistant, init_portos: MockConfigEntry, till: Till
) -> None:
    """Off while the hub cannot connect (REST still answering), on again once it has."""
    assert state_of(hass, "binary_sensor", "hub_connected") == STATE_ON
    await till.pause_hub()
    await till.drop_hub()
    await wait_hub(hass, init_portos, connected=False)
    assert state_of(hass, "binary_sensor", "hub_connected") == STATE_OFF
    await till.resume_hub()
    await wait_hub(hass, init_portos, connected=True)
    assert state_of(hass, "binary_sensor", "hub_connected") == STATE_ON
