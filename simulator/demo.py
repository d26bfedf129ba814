"""--demo: a restaurant day played against the simulator, at a configurable pace."""

from __future__ import annotations

import asyncio
import logging
import random
from typing import TYPE_CHECKING, Any

from .problems import ProblemError
from .store import Actor

if TYPE_CHECKING:
    from .state import SimulatorState

_LOGGER = logging.getLogger(__name__)

TABLES = (*tuple(f"Table {n}" for n in range(1, 13)), "Bar 1", "Bar 2", "Terrace 1", "Terrace 2")
DEVICES = ("P01", "PDA01")
# (name, unit price excl. VAT in EUR, VAT rate in %)
MENU = (
    ("Espresso", 1.60, 19),
    ("Cappuccino", 2.20, 19),
    ("Kofola 0.3 l", 1.50, 23),
    ("Pilsner 0.5 l", 2.40, 23),
    ("House wine 0.1 l", 2.10, 23),
    ("Garlic soup", 2.90, 19),
    ("Bryndzové halušky", 7.90, 19),
    ("Chicken schnitzel", 9.50, 19),
    ("Beef goulash", 8.40, 19),
    ("Apple strudel", 3.20, 19),
)


class DemoDay:
    """Opens tables, adds items, closes and now and then deletes tickets."""

    def __init__(
        self, state: SimulatorState, interval: float, rng: random.Random | None = None
    ) -> None:
        """Play against `state`, one action every `interval` seconds on average."""
        self._state = state
        self._interval = interval
        self._rng = rng or random.Random()
        self.actions = 0

    def _actor(self) -> Actor:
        return Actor(self._state.config.user, self._rng.choice(DEVICES))

    def _open_tickets(self) -> list[dict[str, Any]]:
        return [t for t in self._state.tickets.values() if t["closeDate"] is None]

    def _item(self) -> dict[str, Any]:
        name, price, vat = self._rng.choice(MENU)
        return {
            "name": name,
            "plu": {"name": name, "vatInfo": {"rate": vat}},
            "unitPrice": price,
            "quantity": {"amount": self._rng.randint(1, 3), "unit": "pcs"},
            "discountRate": 0,
        }

    def open_table(self) -> dict[str, Any] | None:
        """Seat guests at a free table; None when every table is taken."""
        taken = {t["name"] for t in self._open_tickets()}
        free = [name for name in TABLES if name not in taken]
        if not free:
            return None
        return self._state.create_ticket({"name": self._rng.choice(free)}, self._actor())

    def add_items(self, ticket: dict[str, Any]) -> dict[str, Any]:
        """Order one to three more items on a ticket."""
        items = [*ticket["items"], *(self._item() for _ in range(self._rng.randint(1, 3)))]
        return self._state.update_ticket(ticket["id"], {"items": items}, self._actor())

    def step(self) -> str:
        """Make one realistic change and return its name."""
        open_tickets = self._open_tickets()
        with_items = [t for t in open_tickets if t["items"]]
        roll = self._rng.random()
        if not open_tickets or (roll < 0.3 and len(open_tickets) < len(TABLES)):  # noqa: PLR2004
            action = "open" if self.open_table() is not None else "idle"
        elif roll < 0.05 + 0.3:
            self._state.delete_ticket(self._rng.choice(open_tickets)["id"], self._actor())
            action = "delete"
        elif with_items and roll > 0.8:  # noqa: PLR2004
            self._state.close_ticket(self._rng.choice(with_items)["id"], self._actor())
            action = "close"
        else:
            self.add_items(self._rng.choice(open_tickets))
            action = "add"
        self.actions += 1
        return action

    def seed(self) -> None:
        """Start mid-day: some tickets already paid, a few tables seated."""
        for _ in range(4):
            ticket = self.open_table()
            if ticket is not None:
                self.add_items(ticket)
                self._state.close_ticket(ticket["id"], self._actor())
        for _ in range(3):
            ticket = self.open_table()
            if ticket is not None:
                self.add_items(ticket)

    async def run(self) -> None:
        """Make a change at a random pace around the interval, until cancelled."""
        while True:
            await asyncio.sleep(self._interval * self._rng.uniform(0.5, 1.5))
            try:
                action = self.step()
            except ProblemError as err:  # pragma: no cover - a race with a REST client
                _LOGGER.debug("Demo step skipped: %s", err)
            else:
                _LOGGER.debug("Demo: %s", action)
