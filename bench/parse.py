"""Benchmark the notification parser: notifications per second through Notification.from_dict.

The notifications are shaped as the simulator's hub sends them, with real ticket objects made by
the simulator's own ticket store (a created, an updated with items, and a closed ticket), plus a
license notification. Two figures per kind: from an already decoded dict (what the hub hands the
parser) and from the JSON text (json.loads + from_dict). Best of `--repeat` timed runs.

Run from the repository root: `.venv/bin/python -m bench.parse [--count N] [--repeat R]`.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bench.machine import best_rate, describe_machine
from custom_components.portos.api import (
    EVENT_LICENSE_ACTIVATED,
    EVENT_RESOURCES_CHANGED,
    TICKETS,
    Notification,
)
from simulator.license import LicenseState
from simulator.store import Actor, TicketStore, isoformat, utcnow

SYSTEM = {"u": "SYSTEM", "d": "SYSTEM", "f": None}


def _envelope(event: str, payload: object) -> dict[str, Any]:
    """Wrap a payload as the hub's OnEvent argument (sender, reference, timestamps)."""
    return {
        "e": event,
        "s": {"c": "bench-connection-0001", "u": SYSTEM},
        "r": None,
        "ca": isoformat(utcnow()),
        "ea": None,
        "p": payload,
    }


def sample_notifications() -> dict[str, dict[str, Any]]:
    """Return one notification per kind, built from the simulator's own objects."""
    store = TicketStore()
    actor = Actor("admin", "P01")
    ticket = store.create({"name": "Table 7"}, actor)
    created = json.loads(json.dumps(ticket))
    items = [
        {"name": "Espresso", "unitPrice": 1.5, "quantity": {"amount": 2}},
        {"name": "Croissant", "unitPrice": 2.2, "quantity": {"amount": 1}},
    ]
    updated = json.loads(json.dumps(store.update(ticket["id"], {"items": items})))
    closed = json.loads(json.dumps(store.close(ticket["id"], actor)))

    def changed(action: int, obj: dict[str, Any]) -> dict[str, Any]:
        return _envelope(
            EVENT_RESOURCES_CHANGED,
            {
                "u": {"u": actor.user, "d": actor.device, "f": None},
                "n": TICKETS,
                "a": action,
                "i": {"i": obj["id"], "n": TICKETS, "v": obj.get("_v")},
                "r": [obj],
            },
        )

    shop_license = LicenseState(12345, 365).to_dict()
    return {
        "ticket created": changed(1, created),
        "ticket updated (2 items)": changed(2, updated),
        "ticket closed": changed(2, closed),
        "license activated": _envelope(EVENT_LICENSE_ACTIVATED, shop_license),
    }


def main() -> None:
    """Parse the flags, time every kind both ways, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=10_000, help="parses per timed run")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs (best is shown)")
    args = parser.parse_args()
    if not 1 <= args.count <= 1_000_000 or not 1 <= args.repeat <= 10:
        parser.error("--count 1..1000000, --repeat 1..10")
    print(describe_machine())
    print(f"parse: {args.count} notifications per run, best of {args.repeat}")
    for kind, obj in sample_notifications().items():
        text = json.dumps(obj)
        Notification.from_dict(obj)  # fails loudly here if the sample is not parseable

        def from_dict(obj: dict[str, Any] = obj) -> Notification:
            return Notification.from_dict(obj)

        def from_text(text: str = text) -> Notification:
            return Notification.from_dict(json.loads(text))

        per_dict = best_rate(from_dict, args.count, args.repeat)
        per_text = best_rate(from_text, args.count, args.repeat)
        print(
            f"  {kind:<26} {len(text):>5} B JSON: from_dict {per_dict:>9,.0f}/s "
            f"({1e6 / per_dict:.1f} µs), json.loads+from_dict {per_text:>9,.0f}/s "
            f"({1e6 / per_text:.1f} µs)"
        )
    sys.exit(0)


if __name__ == "__main__":
    main()
