"""What the simulated shop sells and takes: PLUs, payment types, ticket sums, closing, takings.

This is the simulator's own implementation of PORTOS's ticket mathematics, written apart from the
integration's (`custom_components/portos/api/ticket_math.py`, which it never imports): whole
numbers with a count of decimals and its own half-away-from-zero rounding, where the integration
uses `decimal`. A test
plays demo days and checks that both give the same figures to the cent. The rules are those the
integration documents (see docs/ticket-math.md): the documented steps, the reconstructed ones and
our decisions, so a change to one rule is made in both places.

The simulator stays lenient with what clients store, as it always was: a missing VAT rate is 0 %,
a missing discount flag allows discounts, a missing quantity is 1, and a price or quantity it
cannot read counts as 0 (the integration calls such a ticket's money unknown instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
import math
from typing import TYPE_CHECKING, Any, Final

from .problems import validation

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

CURRENCY: Final = "EUR"
NO_PAYMENTS_KEY: Final = "unknown"
_CASH_STEP: Final = 5  # cents


# --- fixed-point numbers and rounding -----------------------------------------------------------
# A number is an integer and a count of decimals: (123, 2) is 1.23. Rounding is half away from zero
# (the decided reading of PORTOS's "mathematically"). Amounts of money are held as whole cents.


def parse_number(value: object) -> tuple[int, int] | None:
    """Read a JSON number (or `{"amount": n}`) exactly as (integer, decimals); None if not one."""
    if isinstance(value, dict):
        value = value.get("amount")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return _parse_scalar(value)


@lru_cache(maxsize=4096, typed=True)
def _parse_scalar(value: float) -> tuple[int, int] | None:
    """Read an int or float exactly; a float through its shortest text, the JSON it came from."""
    if isinstance(value, int):
        return value, 0
    if not math.isfinite(value):
        return None
    mantissa, _, exponent = repr(value).partition("e")
    whole, _, part = mantissa.partition(".")
    places = len(part) - int(exponent or 0)
    number = int(whole + part)
    if places < 0:
        return rescale(number, 0, -places), 0
    return number, places


def _divide(numerator: int, denominator: int) -> int:
    """Return numerator / denominator (denominator > 0) rounded to a whole, half away from zero."""
    quotient, rest = divmod(abs(numerator), denominator)
    if 2 * rest >= denominator:
        quotient += 1
    return quotient if numerator >= 0 else -quotient


def rescale(number: int, places: int, to: int) -> int:
    """Return a number with `places` decimals as one with `to` decimals, rounded if fewer."""
    scale: int = 10 ** abs(to - places)
    if places <= to:
        return number * scale
    return _divide(number, scale)


def cash_round(cents: int) -> int:
    """Round a cash amount in cents to 5 cents; a nonzero amount under 2.5 cents becomes 5."""
    rounded = _divide(cents, _CASH_STEP) * _CASH_STEP
    if not rounded and cents:
        return _CASH_STEP if cents > 0 else -_CASH_STEP
    return rounded


def money_text(cents: int) -> str:
    """Format cents as an amount with two decimals, e.g. "-0.05"."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


def to_json_number(number: int, places: int = 2) -> float:
    """Return a fixed-point number (cents by default) as the JSON number PORTOS would send."""
    scale: int = 10**places
    return number / scale


# --- the menu ------------------------------------------------------------------------------------

# VAT in Slovakia from 2025: 23 % standard (alcoholic drinks), 19 % (non-alcoholic drinks served),
# 5 % (meals served in a restaurant). A bottle deposit is outside VAT: its PLU has a null rate.
_VAT_CATEGORIES: Final = {23: 1, 19: 2, 5: 3, None: 4}


@dataclass(frozen=True, slots=True)
class Plu:
    """A product the shop sells: gross price per unit in cents, VAT rate, unit, usual quantities."""

    code: int
    name: str
    gross_cents: int
    vat_rate: int | None
    unit: str = "ks"
    discount_allowed: bool = True
    quantities: tuple[float, ...] = (1, 2, 3)

    @property
    def net_price(self) -> float:
        """Return the net unit price a till stores: the gross price less VAT, to 6 decimals."""
        micro = self.gross_cents * 10**4
        if self.vat_rate is not None:
            micro = _divide(micro * 100, 100 + self.vat_rate)
        return to_json_number(micro, 6)

    def snapshot(self) -> dict[str, Any]:
        """Return the PLU as a ticket item embeds it."""
        return {
            "code": self.code,
            "name": self.name,
            "vatInfo": {"category": _VAT_CATEGORIES[self.vat_rate], "rate": self.vat_rate},
            "isDiscountAllowed": self.discount_allowed,
        }

    def item(self, quantity: float, *, discount: int = 0, negative: bool = False) -> dict[str, Any]:
        """Return a ticket item selling (or, `negative`, taking back) `quantity` of this PLU."""
        return {
            "type": "Negative" if negative else "Positive",
            "name": self.name,
            "plu": self.snapshot(),
            "unitPrice": {"amount": self.net_price},
            "quantity": {"amount": -quantity if negative else quantity, "unit": self.unit},
            "discountRate": discount,
        }


MENU: Final = (
    Plu(1, "Espresso", 190, 19),
    Plu(2, "Cappuccino", 260, 19),
    Plu(3, "Kofola 0,5 l", 250, 19),
    Plu(4, "Pilsner Urquell 0,5 l", 320, 23),
    # Wine by the litre, poured by the deci.
    Plu(5, "Domáce víno", 1600, 23, unit="l", quantities=(0.1, 0.2, 0.5)),
    Plu(6, "Cesnaková polievka", 350, 5),
    Plu(7, "Bryndzové halušky", 890, 5),
    Plu(8, "Vyprážaný rezeň", 1090, 5),
    # The lunch menu has a fixed price: no discount applies to it.
    Plu(9, "Denné menu", 750, 5, discount_allowed=False, quantities=(1, 2)),
    Plu(10, "Jablková štrúdľa", 390, 5),
    # Trout is weighed: sold by the kilogram.
    Plu(11, "Pstruh na grile", 4200, 5, unit="kg", quantities=(0.285, 0.342, 0.418)),
    # A returnable bottle's deposit is outside VAT and never discounted.
    Plu(12, "Záloha na fľašu", 15, None, discount_allowed=False, quantities=(1, 2)),
)
# The one item /_sim/load sells: built once, so a burst of changes stays cheap.
LOAD_ITEM: Final = MENU[0].item(1)


# --- ticket sums ---------------------------------------------------------------------------------

_NO_NUMBER: Final = (0, 0)


@lru_cache(maxsize=4096)
def _line_cents(
    price: tuple[int, int],
    quantity: tuple[int, int],
    vat_rate: tuple[int, int],
    rates: tuple[tuple[int, int], tuple[int, int]] | None,
    negative: bool,
) -> int:
    """Return one line's total after discount including VAT, in cents.

    VAT and the gross unit price to 6 decimals; the ticket's and the item's discount rates (None
    when the PLU allows no discount) scaled to 4 decimals and combined, to 4; the discounted gross
    unit price to 6; the line to 2. A Negative line counts as minus its size.
    """
    (p, p_places), (q, q_places), (v, v_places) = price, quantity, vat_rate
    vat = rescale(p * v, p_places + v_places + 2, 6)
    places = max(p_places, 6)
    gross = rescale(rescale(p, p_places, places) + rescale(vat, 6, places), places, 6)
    if rates is not None:
        (t, t_places), (i, i_places) = rates
        dt = rescale(t, t_places + 2, 4)
        di = rescale(i, i_places + 2, 4)
        de = rescale(10**8 - (10**4 - dt) * (10**4 - di), 8, 4)
        gross = rescale(gross * (10**4 - de), 10, 6)
    cents = rescale(gross * q, 6 + q_places, 2)
    return -abs(cents) if negative else cents


def line_cents(item: object, ticket_rate: tuple[int, int]) -> int:
    """Return an item's total after discount including VAT in cents (0 for what is unreadable)."""
    if not isinstance(item, dict):
        return 0
    plu = item.get("plu")
    plu = plu if isinstance(plu, dict) else {}
    vat_info = plu.get("vatInfo")
    vat_rate = parse_number(vat_info.get("rate")) if isinstance(vat_info, dict) else None
    price = parse_number(item.get("unitPrice"))
    raw_quantity = item.get("quantity")
    quantity = (1, 0) if raw_quantity is None else parse_number(raw_quantity)
    if price is None or quantity is None:
        return 0
    rates = None
    if plu.get("isDiscountAllowed") is not False:
        rates = (ticket_rate, parse_number(item.get("discountRate")) or _NO_NUMBER)
    negative = str(item.get("type", "")).lower() == "negative"
    return _line_cents(price, quantity, vat_rate or _NO_NUMBER, rates, negative)


def ticket_cents(ticket: Mapping[str, Any]) -> int:
    """Return a ticket's total after discount including VAT in cents, before cash rounding."""
    items = ticket.get("items")
    if not isinstance(items, list):
        return 0
    rate = parse_number(ticket.get("discountRate")) or _NO_NUMBER
    return sum(line_cents(item, rate) for item in items)


# --- payments ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaymentType:
    """A payment type of the shop (`/paymenttypes`): its number, name and category."""

    number: int
    name: str
    category: str

    @property
    def is_cash(self) -> bool:
        """Return whether payments of this type are cash (and so rounded to 0.05)."""
        return self.category == "Cash"

    def to_dict(self) -> dict[str, Any]:
        """Return the payment type as a payment embeds it."""
        return {"number": self.number, "name": self.name, "category": self.category}


CASH: Final = PaymentType(1, "Hotovosť", "Cash")
CARD: Final = PaymentType(2, "Platobná karta", "Card")
MEAL_VOUCHER: Final = PaymentType(3, "Stravné lístky", "MealVoucher")
PAYMENT_TYPES: Final = (CASH, CARD, MEAL_VOUCHER)


def _payment_type(value: object, member: str) -> PaymentType:
    """Find a payment type by number, category or name (any case); a text names one of those."""
    keys = (
        [value.get(k) for k in ("number", "category", "name")]
        if isinstance(value, dict)
        else [value]
    )
    for key in keys:
        for payment_type in PAYMENT_TYPES:
            if isinstance(key, int) and not isinstance(key, bool) and key == payment_type.number:
                return payment_type
            if isinstance(key, str) and key.lower() in (
                payment_type.category.lower(),
                payment_type.name.lower(),
            ):
                return payment_type
    raise validation(member, f"Unknown payment type {value!r}.")


def _payment_cents(entry: Mapping[str, Any], payment_type: PaymentType, member: str) -> int | None:
    """Return a close body payment's amount in cents; None when it leaves it out."""
    if entry.get("amount") is None:
        return None
    number = parse_number(entry["amount"])
    cents = None if number is None else rescale(*number, 2)
    if number is None or cents is None or rescale(cents, 2, number[1]) != number[0]:
        raise validation(member, "The amount must be a number with at most two decimals.")
    if payment_type.is_cash and cents % _CASH_STEP:
        raise validation(member, "A cash amount must be a multiple of 0.05.")
    return cents


def settle(ticket: Mapping[str, Any], payments: object) -> tuple[list[dict[str, Any]], int]:
    """Return the payments a close records and its roundingAmount in cents, or raise a 400 problem.

    `payments` is the close body's list, or None for the default: the whole ticket in cash. Each
    entry names a payment type (text or object) and may give an amount; one entry at most leaves
    it out and takes what is left (rounded to 0.05 when it is cash). Only the cash part is rounded,
    so the cash amounts must be the rest after the other payments, rounded to 0.05. An empty list
    closes the ticket without payments.
    """
    if payments is None:
        # The till's default, and every close of /_sim/load: kept short.
        total = ticket_cents(ticket)
        cash = cash_round(total)
        return [{"amount": to_json_number(cash), "paymentType": CASH.to_dict()}], cash - total
    if not isinstance(payments, list):
        raise validation("Payments", "Payments must be a list.")
    entries: list[tuple[PaymentType, int | None]] = []
    for index, entry in enumerate(payments):
        member = f"Payments[{index}]"
        if not isinstance(entry, dict):
            raise validation(member, "A payment must be an object.")
        payment_type = _payment_type(entry.get("paymentType"), f"{member}.PaymentType")
        entries.append((payment_type, _payment_cents(entry, payment_type, f"{member}.Amount")))
    if not entries:
        return [], 0
    total = ticket_cents(ticket)
    rest = [index for index, (_, cents) in enumerate(entries) if cents is None]
    if len(rest) > 1:
        raise validation("Payments", "At most one payment may leave its amount out.")
    if rest:
        payment_type = entries[rest[0]][0]
        left = total - sum(cents for _, cents in entries if cents is not None)
        entries[rest[0]] = (payment_type, cash_round(left) if payment_type.is_cash else left)
    paid = [(payment_type, cents or 0) for payment_type, cents in entries]
    cash = sum(cents for payment_type, cents in paid if payment_type.is_cash)
    other = sum(cents for payment_type, cents in paid if not payment_type.is_cash)
    expected_cash = cash_round(total - other) if any(t.is_cash for t, _ in paid) else 0
    if cash != expected_cash or cash + other - total not in _ROUNDINGS:
        raise validation(
            "Payments", f"The payments do not settle the ticket's total of {money_text(total)}."
        )
    recorded = [
        {"amount": to_json_number(cents), "paymentType": payment_type.to_dict()}
        for payment_type, cents in paid
    ]
    return recorded, cash + other - total


# Cash rounding moves a total by at most 2 cents, or up to 4 when 1-2 cents become 5.
_ROUNDINGS: Final = range(-4, 5)


# --- the truth a test compares against -----------------------------------------------------------


def _payment_key(payment: Mapping[str, Any]) -> str:
    """Return the category of a recorded payment in lower case (the key the integration uses)."""
    payment_type = payment.get("paymentType")
    category = payment_type.get("category") if isinstance(payment_type, dict) else None
    return category.lower() if isinstance(category, str) and category else NO_PAYMENTS_KEY


def takings(ticket: Mapping[str, Any]) -> dict[str, int]:
    """Return what a closed ticket took in cents, by payment category.

    Without payments, the ticket's total plus its roundingAmount, under NO_PAYMENTS_KEY.
    """
    payments = ticket.get("payments") or []
    if not payments:
        rounding = parse_number(ticket.get("roundingAmount")) or _NO_NUMBER
        return {NO_PAYMENTS_KEY: ticket_cents(ticket) + rescale(*rounding, 2)}
    split: dict[str, int] = {}
    for payment in payments:
        key = _payment_key(payment)
        split[key] = split.get(key, 0) + rescale(
            *(parse_number(payment.get("amount")) or _NO_NUMBER), 2
        )
    return split


def sales_report(
    tickets: Iterable[Mapping[str, Any]], since: datetime, until: datetime | None
) -> dict[str, Any]:
    """Return the takings of the tickets closed in [since, until), and the open tickets' value."""
    closed = 0
    split: dict[str, int] = {}
    open_count = open_cents = 0
    for ticket in tickets:
        close_date = ticket.get("closeDate")
        if close_date is None:
            open_count += 1
            open_cents += ticket_cents(ticket)
            continue
        moment = datetime.fromisoformat(close_date)
        if moment < since or (until is not None and moment >= until):
            continue
        closed += 1
        for key, cents in takings(ticket).items():
            split[key] = split.get(key, 0) + cents
    return {
        "currency": CURRENCY,
        "closed": closed,
        "takings": {key: money_text(cents) for key, cents in sorted(split.items())},
        "total": money_text(sum(split.values())),
        "open": {"count": open_count, "value": money_text(open_cents)},
    }
