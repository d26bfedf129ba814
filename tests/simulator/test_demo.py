"""--demo: a restaurant day of opens, orders, closes and the odd deletion."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
import random
from typing import TYPE_CHECKING

from simulator.config import SimulatorConfig
from simulator.demo import DEVICES, TABLES, DemoDay
from simulator.money import MENU, NO_PAYMENTS_KEY, sales_report
from simulator.state import SimulatorState
from tests.simulator.hubclient import HubClient, login

if TYPE_CHECKING:
    import aiohttp

    from tests.common import SimulatorFactory


def _rng(seed: int) -> random.Random:
    """Return a seeded generator, so every run plays the same day."""
    return random.Random(seed)  # noqa: S311 - a show, not security


def _open_names(state: SimulatorState) -> list[str]:
    return [t["name"] for t in state.tickets.values() if t["closeDate"] is None]


def test_seed_starts_mid_day() -> None:
    """Seeding leaves some tickets paid and a few tables seated with orders."""
    state = SimulatorState(SimulatorConfig())
    DemoDay(state, 1.0, _rng(1)).seed()
    closed = [t for t in state.tickets.values() if t["closeDate"] is not None]
    open_ = [t for t in state.tickets.values() if t["closeDate"] is None]
    assert len(closed) == 4
    assert len(open_) == 3
    assert all(t["items"] for t in state.tickets.values())


def test_a_day_has_every_kind_of_change() -> None:
    """Many steps open, add, take back, close and delete; a table never has two open tickets."""
    state = SimulatorState(SimulatorConfig())
    demo = DemoDay(state, 1.0, _rng(7))
    demo.seed()
    kinds = Counter(demo.step() for _ in range(400))
    assert {"open", "add", "storno", "close", "delete"} <= set(kinds)
    assert demo.actions == 400
    names = _open_names(state)
    assert len(names) == len(set(names))
    menu = {plu.name for plu in MENU}
    for ticket in state.tickets.values():
        assert ticket["originDeviceName"] in DEVICES
        assert {item["plu"]["name"] for item in ticket["items"]} <= menu


def test_a_day_sells_real_things() -> None:
    """A long day has every kind of line, discount and payment the issue asks for."""
    state = SimulatorState(SimulatorConfig())
    demo = DemoDay(state, 1.0, _rng(11))
    demo.seed()
    for _ in range(2000):
        demo.step()
    tickets = list(state.tickets.values())
    items = [item for ticket in tickets for item in ticket["items"]]
    assert {item["type"] for item in items} == {"Positive", "Negative"}
    assert {item["plu"]["vatInfo"]["rate"] for item in items} == {23, 19, 5, None}
    assert {item["quantity"]["unit"] for item in items} == {"ks", "l", "kg"}
    assert any(not float(item["quantity"]["amount"]).is_integer() for item in items)
    assert {item["discountRate"] for item in items} == {0, 10, 20}
    assert any(not item["plu"]["isDiscountAllowed"] and item["discountRate"] for item in items)
    assert {ticket["discountRate"] for ticket in tickets} == {0, 10, 100}
    closed = [ticket for ticket in tickets if ticket["closeDate"] is not None]
    layouts = Counter(
        tuple(p["paymentType"]["category"] for p in ticket["payments"]) for ticket in closed
    )
    assert {("Cash",), ("Card",), ("Card", "Cash"), ("MealVoucher", "Card")} <= set(layouts)
    roundings = {ticket["roundingAmount"] for ticket in closed}
    assert {-0.02, -0.01, 0, 0.01, 0.02} <= roundings
    report = sales_report(tickets, datetime.min.replace(tzinfo=UTC), None)
    assert report["closed"] == len(closed)
    assert set(report["takings"]) == {"cash", "card", "mealvoucher"}
    assert NO_PAYMENTS_KEY not in report["takings"]


def test_full_house() -> None:
    """With every table taken, opening is skipped and steps keep working."""
    state = SimulatorState(SimulatorConfig())
    demo = DemoDay(state, 1.0, _rng(3))
    for _ in TABLES:
        assert demo.open_table() is not None
    assert demo.open_table() is None
    assert sorted(_open_names(state)) == sorted(TABLES)
    for _ in range(50):
        demo.step()


def test_a_step_on_an_empty_shop_opens_a_table() -> None:
    """With nothing open the first step seats guests."""
    state = SimulatorState(SimulatorConfig())
    assert DemoDay(state, 1.0, _rng(0)).step() == "open"
    assert len(state.tickets) == 1


async def test_demo_mode_pushes_notifications(
    simulator_factory: SimulatorFactory, http: aiohttp.ClientSession
) -> None:
    """--demo at a fast pace sends ticket notifications from the tills to subscribers."""
    simulator = await simulator_factory(demo=True, demo_interval=0.002)
    assert len(simulator.state.tickets) >= 7
    token = (await login(http, simulator.url))["tokenId"]
    client = HubClient(http, simulator.url, token)
    await client.connect()
    await client.subscribe({"e": "portos.resources.changed", "r": [{"n": "tickets"}]})
    payloads = [(await client.event())["p"] for _ in range(40)]
    assert {p["n"] for p in payloads} == {"tickets"}
    assert {p["u"]["d"] for p in payloads} <= set(DEVICES)
    assert {1, 2} <= {p["a"] for p in payloads}
    await client.close()
    await simulator.stop()
    count = len(simulator.state.tickets)
    # Stopped means stopped: the demo task is gone.
    assert simulator._demo is None
    assert len(simulator.state.tickets) == count


def test_seed_in_a_full_house() -> None:
    """Seeding when every table is taken adds nothing."""
    state = SimulatorState(SimulatorConfig())
    demo = DemoDay(state, 1.0, _rng(5))
    while demo.open_table() is not None:
        pass
    count = len(state.tickets)
    demo.seed()
    assert len(state.tickets) == count


async def test_demo_restart_does_not_reseed(simulator_factory: SimulatorFactory) -> None:
    """A restarted demo simulator continues the same day instead of seeding again."""
    simulator = await simulator_factory(demo=True, demo_interval=60)
    seeded = dict(simulator.state.tickets)
    await simulator.stop()
    await simulator.start()
    assert simulator.state.tickets == seeded
