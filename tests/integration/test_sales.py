"""What the shop took today, end to end: the simulator's own figures against the sensors."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
import random
from typing import TYPE_CHECKING, Any

from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.portos.const import DOMAIN, EVENT_PORTOS
from simulator.demo import DemoDay
from tests.integration.portos_helpers import wait_for, wait_hub

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant, State
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    from simulator.server import Simulator
    from tests.till import Till

pytestmark = pytest.mark.usefixtures("socket_enabled")

SHOP_ID = "12345"
CENT = Decimal("0.01")


def _state(hass: HomeAssistant, key: str) -> State:
    """Return the state object of one of the shop's sensors."""
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{SHOP_ID}_{key}")
    assert entity_id is not None
    state = hass.states.get(entity_id)
    assert state is not None
    return state


def _figures(hass: HomeAssistant) -> dict[str, Any]:
    """Return what the sensors show, in the shape of the simulator's /_sim/sales reply."""
    sales = _state(hass, "sales_today")
    return {
        "closed": _state(hass, "tickets_closed_today").state,
        "open": (_state(hass, "open_tickets").state, _state(hass, "open_tickets_value").state),
        "total": sales.state,
        "takings": {
            key: value
            for key, value in sales.attributes.items()
            if key not in {"unit_of_measurement", "device_class", "state_class", "last_reset"}
            and key not in {"friendly_name", "icon"}
        },
        "average": _state(hass, "average_ticket_today").state,
        "unit": sales.attributes["unit_of_measurement"],
    }


def _expected(report: dict[str, Any]) -> dict[str, Any]:
    """Return the simulator's figures as the sensors should show them."""
    total = Decimal(report["total"])
    closed = report["closed"]
    return {
        "closed": str(closed),
        "open": (str(report["open"]["count"]), str(Decimal(report["open"]["value"]))),
        "total": str(total),
        "takings": {key: float(value) for key, value in report["takings"].items()},
        "average": str((total / closed).quantize(CENT, ROUND_HALF_UP)) if closed else "unknown",
        "unit": report["currency"],
    }


async def test_a_day_of_demo_traffic_ends_with_the_simulators_figures(
    hass: HomeAssistant, init_portos: MockConfigEntry, simulator: Simulator, till: Till
) -> None:
    """A restaurant day, hub drops and a server restart included, adds up to the cent."""
    demo = DemoDay(simulator.state, interval=0, rng=random.Random(8))  # noqa: S311 - a replayable day
    since = dt_util.start_of_local_day().isoformat()

    async def play(steps: int) -> None:
        for _ in range(steps):
            demo.step()

    await play(120)
    await till.drop_hub()  # the hub reconnects and resyncs what it missed
    await play(60)
    await till.pause_hub()
    await till.drop_hub()
    await wait_hub(hass, init_portos, connected=False)
    await play(60)  # nothing pushed: only REST can tell
    await till.resume_hub()
    await wait_hub(hass, init_portos, connected=True)
    await simulator.stop()
    await wait_hub(hass, init_portos, connected=False)
    await simulator.start()
    await wait_hub(hass, init_portos, connected=True)
    await play(120)

    report = await till.sales(since)
    assert report["closed"] > 20
    assert set(report["takings"]) >= {"cash", "card"}
    expected = _expected(report)
    await wait_for(hass, lambda: _figures(hass) == expected)
    sales = _state(hass, "sales_today")
    assert sales.attributes["state_class"] == "total"
    assert sales.attributes["last_reset"] == dt_util.start_of_local_day().isoformat()


async def test_a_closed_ticket_event_carries_what_it_took(
    hass: HomeAssistant, init_portos: MockConfigEntry, till: Till
) -> None:
    """Table 4 paid 23.40 €: the bus event and the event entity say so."""
    events = async_capture_events(hass, EVENT_PORTOS)
    ticket = await till.create_ticket("Table 4")
    item = {
        "plu": {"name": "Goulash", "vatInfo": {"rate": 5}, "isDiscountAllowed": True},
        "unitPrice": {"amount": 11.142857},
        "quantity": {"amount": 2, "unit": "pcs"},
    }
    await till.update_ticket(ticket["id"], items=[item])
    await till.close_ticket(
        ticket["id"],
        payments=[{"paymentType": "card", "amount": 20}, {"paymentType": "cash"}],
    )
    await wait_for(hass, lambda: len(events) == 3)
    closed = events[-1].data
    assert (closed["action"], closed["total"], closed["currency"]) == ("closed", 23.4, "EUR")
    assert events[1].data["total"] == 23.4  # an open ticket's event: what it is worth
    entity_id = er.async_get(hass).async_get_entity_id("event", DOMAIN, f"{SHOP_ID}_tickets")
    assert entity_id is not None
    state = hass.states.get(entity_id)
    assert state is not None
    assert (state.attributes["total"], state.attributes["currency"]) == (23.4, "EUR")
    assert _state(hass, "sales_today").attributes == _state(hass, "sales_today").attributes | {
        "card": 20.0,
        "cash": 3.4,
    }


async def test_odd_money_is_counted_logged_once_and_loses_no_ticket(
    hass: HomeAssistant,
    init_portos: MockConfigEntry,
    till: Till,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Unreadable items leave a ticket counted but out of the sums; a tip is what was paid."""
    coordinator = init_portos.runtime_data
    events = async_capture_events(hass, EVENT_PORTOS)
    odd_item = {"plu": {"vatInfo": {"rate": 20}}, "unitPrice": "many", "quantity": {"amount": 1}}
    for name in ("Table 1", "Table 2"):
        ticket = await till.create_ticket(name)
        await till.emit(_changed({**ticket, "_v": 2, "items": [odd_item]}))
    # Paid 10.00 for 9.60 of food: our maths and the till disagree by a 0.40 tip.
    tipped = await till.create_ticket("Table 3")
    await till.emit(
        _changed(
            {
                **tipped,
                "_v": 2,
                "items": [{**odd_item, "unitPrice": {"amount": 8}}],
                "closeDate": dt_util.utcnow().isoformat(),
                "closeInfo": {"deviceName": "P01"},
                "payments": [{"amount": 10, "paymentType": {"category": "Card"}}],
            }
        )
    )
    await wait_for(hass, lambda: len(events) == 6)
    assert _state(hass, "open_tickets").state == "2"
    assert _state(hass, "open_tickets_value").state == "0.00"
    assert _state(hass, "sales_today").state == "10.00"
    assert (coordinator.counters.money_unreadable, coordinator.counters.money_mismatch) == (2, 1)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert sum("out of the sales figures" in w for w in warnings) == 1
    assert sum("more than its items add up to" in w for w in warnings) == 1
    assert events[1].data["total"] is None


def _changed(ticket: dict[str, Any]) -> dict[str, Any]:
    """Return the hub notification of an updated ticket, as /_sim/emit sends it."""
    return {
        "e": "portos.resources.changed",
        "s": {"c": "x", "u": {"u": "SYSTEM", "d": "SYSTEM", "f": None}},
        "r": None,
        "ca": dt_util.utcnow().isoformat(),
        "ea": None,
        "p": {
            "u": {"u": "admin", "d": "P01", "f": None},
            "n": "tickets",
            "a": 2,
            "i": {"i": ticket["id"], "n": "tickets", "v": ticket["_v"]},
            "r": [ticket],
        },
    }
