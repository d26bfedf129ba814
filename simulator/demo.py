"""--demo: a restaurant day played against the simulator, at a configurable pace."""

from __future__ import annotations

import asyncio
import logging
import random
from typing import TYPE_CHECKING, Any

from .money import CARD, CASH, MEAL_VOUCHER, MENU, ticket_cents
from .problems import ProblemError
from .store import Actor

if TYPE_CHECKING:
    from .state import SimulatorState

_LOGGER = logging.getLogger(__name__)

TABLES = (*tuple(f"Table {n}" for n in range(1, 13)), "Bar 1", "Bar 2", "Terrace 1", "Terrace 2")
DEVICES = ("P01", "PDA01")
# A regular's 10 % on the whole bill now and then; very rarely a staff meal, 100 % off.
TICKET_DISCOUNTS = ((0.1, 10), (0.02, 100))
# 10 % or 20 % off one line (happy hour, a complaint); a fixed-price PLU ignores it.
ITEM_DISCOUNT_CHANCE = 0.1
ITEM_DISCOUNTS = (10, 20)


class DemoDay:
    """Opens tables, orders from the menu, takes lines back, closes (pays) and deletes tickets."""

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
        plu = self._rng.choice(MENU)
        discount = 0
        if self._rng.random() < ITEM_DISCOUNT_CHANCE:
            discount = self._rng.choice(ITEM_DISCOUNTS)
        return plu.item(self._rng.choice(plu.quantities), discount=discount)

    def open_table(self) -> dict[str, Any] | None:
        """Seat guests at a free table; None when every table is taken."""
        taken = {t["name"] for t in self._open_tickets()}
        free = [name for name in TABLES if name not in taken]
        if not free:
            return None
        body: dict[str, Any] = {"name": self._rng.choice(free)}
        roll = self._rng.random()
        for chance, rate in TICKET_DISCOUNTS:
            if roll < chance:
                body["discountRate"] = rate
        return self._state.create_ticket(body, self._actor())

    def add_items(self, ticket: dict[str, Any]) -> dict[str, Any]:
        """Order one to three more items on a ticket."""
        items = [*ticket["items"], *(self._item() for _ in range(self._rng.randint(1, 3)))]
        return self._state.update_ticket(ticket["id"], {"items": items}, self._actor())

    def storno(self, ticket: dict[str, Any]) -> dict[str, Any]:
        """Take back one line (a dish sent back): a Negative line with the same PLU and quantity."""
        sold = [i for i in ticket["items"] if str(i.get("type")).lower() != "negative"]
        line = self._rng.choice(sold)
        back = {**line, "type": "Negative"}
        back["quantity"] = {**line["quantity"], "amount": -line["quantity"]["amount"]}
        items = [*ticket["items"], back]
        return self._state.update_ticket(ticket["id"], {"items": items}, self._actor())

    def payments(self, ticket: dict[str, Any]) -> list[dict[str, Any]] | None:
        """Choose how a table pays: cash, card, part card and the rest in cash, or meal vouchers.

        None (the till's default, all in cash) now and then, as a till that sends no body does.
        """
        roll = self._rng.random()
        if roll < 0.05:  # noqa: PLR2004
            return None
        if roll < 0.5:  # noqa: PLR2004
            return [{"paymentType": CASH.category}]
        if roll < 0.85:  # noqa: PLR2004
            return [{"paymentType": CARD.to_dict()}]
        whole_euros = ticket_cents(ticket) // 100
        if whole_euros < 2:  # noqa: PLR2004 - too little to split
            return [{"paymentType": CASH.category}]
        if roll < 0.95:  # noqa: PLR2004
            # Splitting the bill: part by card, the rest in cash.
            card = self._rng.randint(1, whole_euros - 1)
            return [{"paymentType": "card", "amount": card}, {"paymentType": CASH.name}]
        vouchers = min(whole_euros - 1, 5 * self._rng.randint(1, 2))
        return [{"paymentType": MEAL_VOUCHER.category, "amount": vouchers}, {"paymentType": "card"}]

    def close(self, ticket: dict[str, Any]) -> dict[str, Any]:
        """Close (pay) a ticket the way its table chose."""
        return self._state.close_ticket(ticket["id"], self._actor(), self.payments(ticket))

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
        elif with_items and roll < 0.05 + 0.05 + 0.3:
            self.storno(self._rng.choice(with_items))
            action = "storno"
        elif with_items and roll > 0.8:  # noqa: PLR2004
            self.close(self._rng.choice(with_items))
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
                self.close(self.add_items(ticket))
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
