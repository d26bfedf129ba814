"""Two implementations of PORTOS's ticket maths agree to the cent: the simulator's and api/'s.

The simulator computes with whole numbers (simulator/money.py), the integration's client with
`decimal` (custom_components/portos/api/ticket_math.py); neither imports the other. Random demo
days are played, and every ticket and the day's totals are compared.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
import json
import random
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings, strategies as st

from custom_components.portos.api import PortosClient, Ticket
from simulator.config import SimulatorConfig
from simulator.demo import DemoDay
from simulator.money import money_text, sales_report, takings, ticket_cents
from simulator.state import SimulatorState
from simulator.store import Actor, isoformat
from tests.till import Till

if TYPE_CHECKING:
    from collections.abc import Iterable

    import aiohttp

    from tests.common import SimulatorFactory

CASHIER = Actor("admin", "P01")


def _text(amount: Decimal) -> str:
    """Format a Decimal amount as /_sim/sales does (two decimals)."""
    return f"{amount:.2f}"


def _play(state: SimulatorState, seed: int, steps: int) -> None:
    """Play a demo day, then close a few tables without payments (a till that records none)."""
    rng = random.Random(seed)  # noqa: S311 - a show, not security
    demo = DemoDay(state, 1.0, rng)
    demo.seed()
    for _ in range(steps):
        demo.step()
    open_with_items = [t for t in state.tickets.values() if t["closeDate"] is None and t["items"]]
    for ticket in open_with_items[: rng.randint(0, 2)]:
        state.close_ticket(ticket["id"], CASHIER, [])


def _api_figures(tickets: Iterable[Ticket]) -> dict[str, Any]:
    """Return what the integration would show, from api/'s money of each ticket."""
    split: dict[str, Decimal] = {}
    closed = 0
    open_count = 0
    open_value = Decimal(0)
    for ticket in tickets:
        money = ticket.money
        assert money is not None, ticket.money_error
        if ticket.closed:
            closed += 1
            for key, amount in money.by_payment_type.items():
                split[key] = split.get(key, Decimal(0)) + amount
        else:
            open_count += 1
            assert money.open_value is not None
            open_value += money.open_value
    return {
        "currency": "EUR",
        "closed": closed,
        "takings": {key: _text(amount) for key, amount in sorted(split.items())},
        "total": _text(sum(split.values(), Decimal(0))),
        "open": {"count": open_count, "value": _text(open_value)},
    }


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), steps=st.integers(20, 400))
def test_random_days_agree_to_the_cent(seed: int, steps: int) -> None:
    """Every ticket of a random day, and the day's totals, are the same figures on both sides."""
    state = SimulatorState(SimulatorConfig())
    _play(state, seed, steps)
    parsed = []
    for raw in state.tickets.values():
        # Through JSON, as the client receives it.
        ticket = Ticket.from_dict(json.loads(json.dumps(raw)))
        money = ticket.money
        assert money is not None, ticket.money_error
        assert money.currency == raw["currencyLabel"]
        if ticket.closed:
            assert money.take is not None
            sim = {key: money_text(cents) for key, cents in takings(raw).items()}
            assert {k: _text(v) for k, v in money.by_payment_type.items()} == sim
            # The payments the simulator derived from its own total equal api/'s payable.
            assert money.mismatch in (None, 0)
            assert _text(money.payable) == money_text(sum(takings(raw).values()))
        else:
            assert money.open_value is not None
            assert _text(money.open_value) == money_text(ticket_cents(raw))
        parsed.append(ticket)
    since = datetime.min.replace(tzinfo=UTC)
    assert _api_figures(parsed) == sales_report(state.tickets.values(), since, None)


async def test_a_day_over_rest_agrees_with_sim_sales(
    simulator_factory: SimulatorFactory, http: aiohttp.ClientSession
) -> None:
    """The real client reads today's tickets over REST; its figures equal /_sim/sales to the cent.

    "Today" starts at local midnight in Bratislava; a ticket closed before it is yesterday's.
    """
    simulator = await simulator_factory()
    _play(simulator.state, seed=2026, steps=600)
    midnight = datetime.now(ZoneInfo("Europe/Bratislava")).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    closed = [t for t in simulator.state.tickets.values() if t["closeDate"] is not None]
    yesterday = closed[0]
    yesterday["closeDate"] = isoformat(midnight - timedelta(minutes=5))
    client = PortosClient(http, simulator.url, "admin", "portos")
    today = await client.get_tickets_closed_since(midnight)
    open_tickets = await client.get_open_tickets()
    assert yesterday["id"] not in {t.id for t in today}
    figures = _api_figures([*today, *open_tickets])
    truth = await Till(http, simulator.url).sales(midnight.isoformat())
    assert truth.pop("since") == isoformat(midnight)
    assert truth.pop("until") is None
    assert figures == truth
    assert truth["closed"] == len(closed) - 1
    assert {"cash", "card"} <= set(truth["takings"])
    await client.logout()
