"""Config entry diagnostics: useful counts, and no credentials, tokens or server address."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import aiohttp
import pytest
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from syrupy.filters import props

from custom_components.portos.api import PortosConnectionError
from custom_components.portos.const import EVENT_PORTOS
from tests.integration.const import GOULASH, MORNING
from tests.integration.portos_helpers import wait_for
from tests.till import Till

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry
    from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
    from syrupy.assertion import SnapshotAssertion

    from simulator.server import Simulator
    from tests.common import SimulatorFactory

pytestmark = pytest.mark.usefixtures("socket_enabled")

REDACTED = "**REDACTED**"
PASSWORD = "S3cret-Pa55word"  # distinctive, unlike the default "portos" (the domain)


@pytest.fixture
async def simulator(simulator_factory: SimulatorFactory) -> Simulator:
    """Return a simulator whose password can be searched for."""
    return await simulator_factory(password=PASSWORD)


@pytest.fixture
async def till(simulator: Simulator) -> AsyncIterator[Till]:
    """Return the P01 till, logging in with that password."""
    async with aiohttp.ClientSession() as session:
        yield Till(session, simulator.url, password=PASSWORD)


@pytest.mark.freeze_time(MORNING)
async def test_diagnostics(
    hass: HomeAssistant,
    *,
    hass_client: ClientSessionGenerator,
    snapshot: SnapshotAssertion,
    init_portos: MockConfigEntry,
    simulator: Simulator,
    till: Till,
) -> None:
    """Diagnostics show the hub, counts, license, health and options, with secrets redacted.

    Their shape is pinned in snapshots/test_diagnostics.ambr. To accept an intended change, run
    `pytest tests/integration/test_diagnostics.py --snapshot-update` and read the diff before
    committing it: no password, token, user name or address may appear in it.
    """
    events: list[object] = []
    hass.bus.async_listen(EVENT_PORTOS, events.append)
    await till.create_ticket("Table 1", items=[GOULASH])
    paid = await till.create_ticket("Table 2", items=[GOULASH])
    await till.close_ticket(
        paid["id"], payments=[{"paymentType": "card", "amount": 20}, {"paymentType": "cash"}]
    )
    await till.emit({"e": "portos.unknown", "ca": "2026-11-27T18:30:00Z"})
    coordinator = init_portos.runtime_data
    await wait_for(hass, lambda: len(events) == 3 and coordinator.hub.stats.unknown_events == 1)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_portos)

    assert diagnostics == snapshot(exclude=props("entry_id", "created_at", "modified_at"))
    text = json.dumps(diagnostics)
    client = init_portos.runtime_data.client
    assert client._auth is not None
    secrets = [PASSWORD, simulator.url, "127.0.0.1", client._auth.token, client._auth.refresh_token]
    for secret in secrets:
        assert secret not in text, secret
    assert simulator.config.user not in json.dumps(diagnostics["entry"])
    counts, notifications = diagnostics["counts"], diagnostics["notifications"]
    assert isinstance(counts, dict)
    assert isinstance(notifications, dict)
    assert counts["open_tickets"] == 1
    # One connect, one snapshot: setup waits for the hub before it reads the tickets.
    assert notifications["resyncs"] == 1
    # Exact amounts, as text: JSON has no decimals.
    assert diagnostics["money"] == {
        "currency": "EUR",
        "sales_today": "23.40",
        "sales_by_payment_type": {"card": "20.00", "cash": "3.40"},
        "open_tickets_value": "23.40",
        "average_ticket_today": "23.40",
        "unvalued_tickets": 0,
    }


async def test_diagnostics_name_the_last_error_without_the_server(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_portos: MockConfigEntry,
    simulator: Simulator,
) -> None:
    """After a failed poll, diagnostics show the client's error (its cause), address redacted."""
    coordinator = init_portos.runtime_data
    await simulator.stop()
    await coordinator.async_refresh()
    cause = coordinator.last_exception.__cause__ if coordinator.last_exception else None
    assert isinstance(cause, PortosConnectionError)
    assert "127.0.0.1" in str(cause)

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_portos)

    info = diagnostics["coordinator"]
    assert isinstance(info, dict)
    assert info["last_update_success"] is False
    last = info["last_exception"]
    assert isinstance(last, str)
    # The detail behind HA's translated UpdateFailed, not just its translation key.
    assert last.startswith("PortosConnectionError(")
    assert REDACTED in last
    assert "127.0.0.1" not in json.dumps(diagnostics)
