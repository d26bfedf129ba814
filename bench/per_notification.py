"""Benchmark what the integration does per ticket notification before Home Assistant's own part.

One notification of the load stream (`/_sim/load`): a closed ticket with one espresso, paid in
cash, as the simulator's hub sends it. Times, per notification, reading the SignalR record
(`decode_record`: JSON and signalrcore's message), `Notification.from_dict` (with the changed
ticket), and computing the ticket's money (`ticket_money`). Best of `--repeat` timed runs.

Run from the repository root: `.venv/bin/python -m bench.per_notification [--count N] [--repeat R]`.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bench.machine import best_rate, describe_machine
from custom_components.portos.api import Notification, ticket_money
from custom_components.portos.api.hub_protocol import decode_record
from simulator.config import SimulatorConfig
from simulator.money import LOAD_ITEM
from simulator.state import SimulatorState
from simulator.store import Actor


def load_ticket_record() -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Return a load ticket's close: its SignalR record, its notification and the ticket."""
    state = SimulatorState(SimulatorConfig())
    actor = Actor("admin", "P01")
    ticket = state.create_ticket({"name": "Load 1"}, actor)
    state.update_ticket(ticket["id"], {"items": [LOAD_ITEM]}, actor)
    closed: dict[str, Any] = json.loads(json.dumps(state.close_ticket(ticket["id"], actor)))
    notification = {
        "e": "portos.resources.changed",
        "s": {"c": "bench", "u": {"u": "SYSTEM", "d": "SYSTEM", "f": None}},
        "r": None,
        "ca": "2026-12-01T12:00:00.000Z",
        "ea": None,
        "p": {
            "u": {"u": actor.user, "d": actor.device, "f": None},
            "n": "tickets",
            "a": 2,
            "i": {"i": closed["id"], "n": "tickets", "v": closed["_v"]},
            "r": [closed],
        },
    }
    record = json.dumps({"type": 1, "target": "OnEvent", "arguments": [notification]})
    return record, notification, closed


def main() -> int:
    """Print the per-notification figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="calls per timed run")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs (the best is kept)")
    args = parser.parse_args()
    record, notification, closed = load_ticket_record()
    print(describe_machine())
    print(f"one load ticket's close: a {len(record)}-byte record")
    for name, work in (
        ("decode_record (JSON + signalrcore's message)", lambda: decode_record(record)),
        ("Notification.from_dict (with the ticket)", lambda: Notification.from_dict(notification)),
        ("ticket_money (items, payments, totals)", lambda: ticket_money(closed, closed=True)),
    ):
        print(f"  {name:48s} {1e6 / best_rate(work, args.count, args.repeat):7.1f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
