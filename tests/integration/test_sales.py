"""What the shop took today, end to end: the simulator's own figures against the sensors."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
import random
from typing import TYPE_CHECKING, Any

from homeassistant.const import STATE_UNKNOWN
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.portos.const import EVENT_PORTOS
from simulator.demo import DemoDay
from tests.integration.const import BEFORE_MIDNIGHT, GOULASH
from tests.integration.portos_helpers import (
    emit_and_settle,
    resource_changed,
    state,
    state_of,
    wait_for,
    wait_hub,
)

if TYPE_CHECKING:
    from freezegun.api import FrozenDateTimeFactory
    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    from simulator.server import Simulator
    from tests.till import Till

pytestmark = pytest.mark.usefixtures("socket_enabled")

CENT = Decimal("0.01")


def _figures(hass: HomeAssistant) -> dict[str, Any]:
    """Return what the sensors show, in the shape of the simulator's /_sim/sales reply."""
    sales = state(hass, "sensor", "sales_today")
    return {
        "closed": state_of(hass, "sensor", "tickets_closed_today"),
        "open": (
            state_of(hass, "sensor", "open_tickets"),
            state_of(hass, "sensor", "open_tickets_value"),
        ),
        "total": sales.state,
        "takings": {
            key: value
            for key, value in sales.attributes.items()
            if key not in {"unit_of_measurement", "device_class", "state_class", "last_reset"}
            and key not in {"friendly_name", "icon"}
        },
        "average": state_of(hass, "sensor", "average_ticket_today"),
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
    sales = state(hass, "sensor", "sales_today")
    assert sales.attributes["state_class"] == "total"
    assert sales.attributes["last_reset"] == dt_util.start_of_local_day().isoformat()


async def test_a_closed_ticket_event_carries_what_it_took(
    hass: HomeAssistant, init_portos: MockConfigEntry, till: Till
) -> None:
    """Table 4 paid 23.40 €: the bus event and the event entity say so."""
    events = async_capture_events(hass, EVENT_PORTOS)
    ticket = await till.create_ticket("Table 4")
    await till.update_ticket(ticket["id"], items=[GOULASH])
    await till.close_ticket(
        ticket["id"],
        payments=[{"paymentType": "card", "amount": 20}, {"paymentType": "cash"}],
    )
    await wait_for(hass, lambda: len(events) == 3)
    closed = events[-1].data
    assert (closed["action"], closed["total"], closed["currency"]) == ("closed", 23.4, "EUR")
    assert events[1].data["total"] == 23.4  # an open ticket's event: what it is worth
    tickets = state(hass, "event", "tickets")
    assert (tickets.attributes["total"], tickets.attributes["currency"]) == (23.4, "EUR")
    takings = state(hass, "sensor", "sales_today").attributes
    assert (takings["card"], takings["cash"]) == (20.0, 3.4)


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
        await till.emit(resource_changed({**ticket, "_v": 2, "items": [odd_item]}, 2))
    # Paid 10.00 for 9.60 of food: our maths and the till disagree by a 0.40 tip.
    tipped = await till.create_ticket("Table 3")
    await till.emit(
        resource_changed(
            {
                **tipped,
                "_v": 2,
                "items": [{**odd_item, "unitPrice": {"amount": 8}}],
                "closeDate": dt_util.utcnow().isoformat(),
                "closeInfo": {"deviceName": "P01"},
                "payments": [{"amount": 10, "paymentType": {"category": "Card"}}],
            },
            2,
        )
    )
    await wait_for(hass, lambda: len(events) == 6)
    assert state_of(hass, "sensor", "open_tickets") == "2"
    assert state_of(hass, "sensor", "open_tickets_value") == "0.00"
    assert state_of(hass, "sensor", "sales_today") == "10.00"
    assert (coordinator.counters.money_unreadable, coordinator.counters.money_mismatch) == (2, 1)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert sum("out of the sales figures" in w for w in warnings) == 1
    assert sum("more than its items add up to" in w for w in warnings) == 1
    assert events[1].data["total"] is None


def _today(hass: HomeAssistant) -> dict[str, Any]:
    """Return the day's figures: closed count, sales, their split and reset, the average."""
    sales = state(hass, "sensor", "sales_today")
    return {
        "closed": state_of(hass, "sensor", "tickets_closed_today"),
        # A number, whatever its text ("0" on a fresh day, "0.00" once a sale was taken back).
        "sales": Decimal(sales.state),
        "by_type": {key: sales.attributes.get(key) for key in ("card", "cash")},
        "last_reset": sales.attributes["last_reset"],
        "average": state_of(hass, "sensor", "average_ticket_today"),
    }


@pytest.mark.freeze_time(BEFORE_MIDNIGHT)
async def test_sales_restart_at_local_midnight_and_a_late_close_keeps_its_day(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, init_portos: MockConfigEntry, till: Till
) -> None:
    """At local midnight the day's sales start from zero; a close from yesterday stays there.

    Table 1 pays at 23:59:58. Table 2 was paid at 23:59:59, but its close reaches Home Assistant
    only after midnight: it belongs to yesterday, so today takes nothing from it. Table 3 pays
    after midnight: today's first sale.
    """
    events = async_capture_events(hass, EVENT_PORTOS)
    yesterday = dt_util.start_of_local_day()
    assert dt_util.now() == yesterday + timedelta(hours=23, minutes=59, seconds=58)
    paid = await till.create_ticket("Table 1", items=[GOULASH])
    await till.close_ticket(paid["id"], payments=[{"paymentType": "card", "amount": 23.4}])
    late = await till.create_ticket("Table 2", items=[GOULASH])
    open_after = await till.create_ticket("Table 3", items=[GOULASH])
    await wait_for(hass, lambda: len(events) == 4)
    assert _today(hass) == {
        "closed": "1",
        "sales": Decimal("23.40"),
        "by_type": {"card": 23.4, "cash": None},
        "last_reset": yesterday.isoformat(),
        "average": "23.40",
    }
    assert state_of(hass, "sensor", "open_tickets_value") == "46.80"

    freezer.tick(timedelta(seconds=2))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    midnight = dt_util.start_of_local_day()
    assert midnight == yesterday + timedelta(days=1) == dt_util.now()
    assert _today(hass) == {
        "closed": "0",
        "sales": 0,
        "by_type": {"card": None, "cash": None},
        "last_reset": midnight.isoformat(),
        "average": STATE_UNKNOWN,
    }
    # Open tickets are not a day's figure: they stay.
    assert state_of(hass, "sensor", "open_tickets_value") == "46.80"

    closed_yesterday = {
        **late,
        "_v": late["_v"] + 1,
        "closeDate": (midnight - timedelta(seconds=1)).isoformat(),
        "closeInfo": {"deviceName": "P01", "userName": "admin"},
        "payments": [{"amount": 23.4, "paymentType": {"category": "Cash"}}],
    }
    await emit_and_settle(hass, till, resource_changed(closed_yesterday, 2), init_portos)
    assert (events[-1].data["action"], events[-1].data["total"]) == ("closed", 23.4)
    assert _today(hass)["closed"] == "0"
    assert _today(hass)["sales"] == 0
    assert state_of(hass, "sensor", "open_tickets") == "1"
    assert state_of(hass, "sensor", "open_tickets_value") == "23.40"

    await till.close_ticket(open_after["id"], payments=[{"paymentType": "cash", "amount": 23.4}])
    await wait_for(hass, lambda: len(events) == 6)
    assert _today(hass) == {
        "closed": "1",
        "sales": Decimal("23.40"),
        "by_type": {"card": None, "cash": 23.4},
        "last_reset": midnight.isoformat(),
        "average": "23.40",
    }
    # The simulator's own account of today agrees (it never saw Table 2's late close).
    report = await till.sales(midnight.isoformat())
    assert (report["closed"], report["total"], report["takings"]) == (1, "23.40", {"cash": "23.40"})
