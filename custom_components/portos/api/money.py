"""A PORTOS ticket's money: typed items and payments, read tolerantly, and the figures they give.

The rules (documented, reconstructed and decided) live in `ticket_math`; this module only reads the
ticket object into typed values and applies them. Fields that do not change a figure (names, units,
payment-type numbers) are read leniently: an ill-typed one is ignored. A field a figure depends on
that is missing or ill-typed raises PortosParseError, so a ticket's money is either right by our
rules or unknown, never a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

from .exceptions import PortosParseError
from .ticket_math import (
    ITEM_CACHE_SIZE,
    MATH_ERRORS,
    MAX_MAGNITUDE,
    MAX_RATE,
    PAYMENT_TYPE_UNKNOWN,
    ItemMath,
    item_math,
    price_sum,
)

_ZERO = Decimal(0)
_SHOWN = 40


class ItemType(StrEnum):
    """An item's `type`: a sale, or a return/storno line (D4)."""

    POSITIVE = "positive"
    NEGATIVE = "negative"


_ITEM_TYPES: Final = {item_type.value: item_type for item_type in ItemType}


# --- readers -------------------------------------------------------------------------------------


def _shown(value: object) -> str:
    """Return a short repr of a bad value for an error text."""
    return repr(value)[:_SHOWN]


def _decimal(value: object, what: str) -> Decimal:
    """Read a JSON number or numeric string exactly (D5); floats through their shortest text."""
    # Exact JSON types only (bool is an int subclass, and no number).
    if type(value) is float:
        number = _number(repr(value), value, what)
    elif type(value) is int or type(value) is str:
        number = _number(value, value, what)
    else:
        raise PortosParseError(f"{what}: expected a number, got {type(value).__name__}")
    if not number.is_finite() or abs(number) >= MAX_MAGNITUDE:
        raise PortosParseError(f"{what}: out of range: {_shown(value)}")
    return number


def _number(text: str | int, value: object, what: str) -> Decimal:
    """Return Decimal(text), or raise PortosParseError naming the value."""
    try:
        return Decimal(text)
    except InvalidOperation as err:
        raise PortosParseError(f"{what}: not a number: {_shown(value)}") from err


def _amount(value: object, what: str) -> Decimal:
    """Read a money or quantity value: `{"amount": n, ...}` or a bare number (D5)."""
    # A dict is checked first: the usual case, and cheaper than the Mapping check.
    if type(value) is dict or isinstance(value, Mapping):
        return _decimal(value.get("amount"), f"{what}.amount")
    return _decimal(value, what)


def _optional_amount(data: Mapping[str, Any], key: str, what: str) -> Decimal:
    """Read an amount that counts as 0 when missing or null (D10)."""
    value = data.get(key)
    return _ZERO if value is None else _amount(value, f"{what}.{key}")


def _percent(value: object, what: str) -> Decimal:
    """Read a rate in percent, which must lie from 0 to 100 (D5)."""
    rate = _decimal(value, what)
    if not _ZERO <= rate <= MAX_RATE:
        raise PortosParseError(f"{what}: not a rate from 0 to 100: {_shown(value)}")
    return rate


def _discount_rate(data: Mapping[str, Any], what: str) -> Decimal:
    """Read a discount rate; missing or null is 0 (D10)."""
    value = data.get("discountRate")
    return _ZERO if value is None else _percent(value, f"{what}.discountRate")


def _text(value: object) -> str | None:
    """Return a descriptive string, None for anything else (such fields never change a figure)."""
    return value if isinstance(value, str) else None


def _object(value: object, what: str) -> Mapping[str, Any]:
    """Return a JSON object or raise."""
    if type(value) is dict:
        return value
    if not isinstance(value, Mapping):
        raise PortosParseError(f"{what}: expected an object, got {type(value).__name__}")
    return value


def list_field(data: Mapping[str, Any], key: str, what: str) -> list[Any]:
    """Return a list field; missing or null is empty (models.py reads its lists with it too)."""
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise PortosParseError(f"{what}.{key}: expected a list, got {type(value).__name__}")
    return value


def payment_type_key(category: str | None, name: str | None) -> str:
    """Return the key a payment is grouped under: category, else name, in lower case (D7)."""
    for text in (category, name):
        if text is not None and text.strip():
            return text.strip().lower()
    return PAYMENT_TYPE_UNKNOWN


# --- models --------------------------------------------------------------------------------------


_SCALARS: Final = (type(None), bool, int, float, str)
_Key = tuple[tuple[type, object], ...]


def _item_key(data: object) -> _Key | None:
    """Return what makes an item, as (JSON type, value) pairs; None when it is not plain JSON."""
    if type(data) is not dict:
        return None
    plu, price, quantity = data.get("plu"), data.get("unitPrice"), data.get("quantity")
    vat = plu.get("vatInfo") if type(plu) is dict else None
    leaves = (
        data.get("name"),
        data.get("type"),
        data.get("discountRate"),
        price.get("amount") if type(price) is dict else price,
        quantity.get("amount") if type(quantity) is dict else quantity,
        quantity.get("unit") if type(quantity) is dict else None,
        plu.get("name") if type(plu) is dict else plu,
        plu.get("isDiscountAllowed") if type(plu) is dict else None,
        vat.get("rate") if type(vat) is dict else vat,
        # The shapes, so that an object and a bare value never share a key.
        type(plu),
        type(price),
        type(quantity),
        type(vat),
    )
    key = []
    for leaf in leaves:
        kind = type(leaf)
        if kind not in _SCALARS and kind is not type:
            return None
        key.append((kind, leaf))
    return tuple(key)


_ITEM_CACHE: dict[_Key, TicketItem] = {}


@dataclass(frozen=True, slots=True)
class TicketItem:
    """One ticket line: a PLU snapshot's VAT rate and discount flag, price, quantity, discount."""

    name: str | None
    type: ItemType
    unit_price: Decimal
    quantity: Decimal
    unit: str | None
    discount_rate: Decimal
    vat_rate: Decimal | None
    discount_allowed: bool

    @classmethod
    def from_dict(cls, data: object, what: str = "item") -> TicketItem:
        """Parse a ticket item; `plu` (for its VAT rate) and `quantity` are required.

        A ticket re-sends every item with each change: an item read before is taken from a
        bounded cache, keyed on the values (and their JSON types) that make it.
        """
        key = _item_key(data)
        cached = None if key is None else _ITEM_CACHE.get(key)
        if cached is not None:
            return cached
        item = cls._parse(data, what)
        if key is not None:
            if len(_ITEM_CACHE) >= ITEM_CACHE_SIZE:
                _ITEM_CACHE.clear()
            _ITEM_CACHE[key] = item
        return item

    @classmethod
    def _parse(cls, data: object, what: str) -> TicketItem:
        """Parse a ticket item (see from_dict)."""
        obj = _object(data, what)
        plu = _object(obj.get("plu"), f"{what}.plu")
        raw_vat = plu.get("vatInfo")
        raw_rate = None if raw_vat is None else _object(raw_vat, f"{what}.plu.vatInfo").get("rate")
        vat_rate = None if raw_rate is None else _percent(raw_rate, f"{what}.plu.vatInfo.rate")
        allowed = plu.get("isDiscountAllowed")
        if allowed is None:
            allowed = True  # D3
        elif not isinstance(allowed, bool):
            raise PortosParseError(
                f"{what}.plu.isDiscountAllowed: expected a boolean, got {type(allowed).__name__}"
            )
        raw_type = obj.get("type")
        item_type = _ITEM_TYPES.get(raw_type.lower()) if isinstance(raw_type, str) else None
        if item_type is None:
            if raw_type is not None:
                raise PortosParseError(f"{what}.type: unknown item type {_shown(raw_type)}")
            item_type = ItemType.POSITIVE
        for required in ("unitPrice", "quantity"):
            if obj.get(required) is None:
                raise PortosParseError(f"{what}.{required}: missing")
        raw_quantity = obj["quantity"]
        unit = _text(raw_quantity.get("unit")) if isinstance(raw_quantity, Mapping) else None
        return cls(
            name=_text(plu.get("name")) or _text(obj.get("name")),
            type=item_type,
            unit_price=_amount(obj["unitPrice"], f"{what}.unitPrice"),
            quantity=_amount(raw_quantity, f"{what}.quantity"),
            unit=unit,
            discount_rate=_discount_rate(obj, what),
            vat_rate=vat_rate,
            discount_allowed=allowed,
        )

    def math(self, ticket_discount_rate: Decimal) -> ItemMath:
        """Return this item's figures under a ticket discount rate (in percent)."""
        return item_math(
            unit_price=self.unit_price,
            quantity=self.quantity,
            vat_rate=_ZERO if self.vat_rate is None else self.vat_rate,  # D2
            ticket_discount_rate=ticket_discount_rate,
            item_discount_rate=self.discount_rate,
            discount_allowed=self.discount_allowed,
            negative=self.type is ItemType.NEGATIVE,
        )


@dataclass(frozen=True, slots=True)
class Payment:
    """One payment on a ticket (D6): what the till kept, and by which payment type."""

    amount: Decimal
    type_name: str | None
    category: str | None
    type_number: int | None = None

    @property
    def key(self) -> str:
        """Return the payment-type key this payment is grouped under (D7)."""
        return payment_type_key(self.category, self.type_name)

    @classmethod
    def from_dict(cls, data: object, what: str = "payment") -> Payment:
        """Parse a payment; only its amount is required."""
        obj = _object(data, what)
        if obj.get("amount") is None:
            raise PortosParseError(f"{what}.amount: missing")
        raw_type = obj.get("paymentType")
        name = category = None
        number = None
        if isinstance(raw_type, Mapping):
            name, category = _text(raw_type.get("name")), _text(raw_type.get("category"))
            raw_number = raw_type.get("number")
            if isinstance(raw_number, int) and not isinstance(raw_number, bool):
                number = raw_number
        else:
            name = _text(raw_type)
        return cls(
            amount=_amount(obj["amount"], f"{what}.amount"),
            type_name=name,
            category=category,
            type_number=number,
        )


@dataclass(frozen=True, slots=True)
class TicketSale:
    """The money inputs of a ticket: items, ticket discount, rounding, payments and currency."""

    items: tuple[TicketItem, ...]
    discount_rate: Decimal
    rounding_amount: Decimal
    payments: tuple[Payment, ...]
    currency: str | None

    @classmethod
    def from_dict(cls, data: object) -> TicketSale:
        """Parse a ticket object's money fields; raise PortosParseError when one is unusable."""
        obj = _object(data, "ticket")
        return cls(
            items=tuple(
                TicketItem.from_dict(raw, f"ticket.items[{index}]")
                for index, raw in enumerate(list_field(obj, "items", "ticket"))
            ),
            discount_rate=_discount_rate(obj, "ticket"),
            rounding_amount=_optional_amount(obj, "roundingAmount", "ticket"),
            payments=tuple(
                Payment.from_dict(raw, f"ticket.payments[{index}]")
                for index, raw in enumerate(list_field(obj, "payments", "ticket"))
            ),
            currency=_text(obj.get("currencyLabel")),
        )


@dataclass(frozen=True, slots=True)
class TicketMoney:
    """What one ticket is worth, for sensors and events. Amounts are in `currency`.

    - `total`: the items' total after discount including VAT (R8), before cash rounding;
    - `total_before_discount` and `discount`: the same before discounts, and the difference;
    - `rounding`: the ticket's `roundingAmount`; `payable = total + rounding` (R9);
    - `paid`: the sum of the payments (R10), None when the ticket shows none;
    - `take`: what the shop took, closed tickets only (D8): `paid`, else `payable`;
    - `by_payment_type`: `take` split by payment-type key (D7), empty while open; its values add
      up to `take`;
    - `open_value`: what an open ticket is worth (D8): `total`; None once closed;
    - `mismatch`: `paid - payable` when there are payments. Nonzero means the server's sums differ
      from ours (a tip, or a rule of ours that a real server does not follow): worth logging;
    - `null_vat_items`: items whose VAT rate was null or missing, counted as 0 % (D2).
    """

    currency: str | None
    closed: bool
    total_before_discount: Decimal
    discount: Decimal
    total: Decimal
    rounding: Decimal
    payable: Decimal
    paid: Decimal | None
    take: Decimal | None
    by_payment_type: Mapping[str, Decimal] = field(default_factory=lambda: MappingProxyType({}))
    open_value: Decimal | None = None
    mismatch: Decimal | None = None
    null_vat_items: int = 0

    @classmethod
    def of(cls, sale: TicketSale, *, closed: bool) -> TicketMoney:
        """Compute a ticket's figures from its money inputs."""
        maths = [item.math(sale.discount_rate) for item in sale.items]
        before = price_sum(m.total_price_including_vat for m in maths)
        total = price_sum(m.total_price_after_discount_including_vat for m in maths)
        payable = price_sum((total, sale.rounding_amount))
        paid = price_sum(p.amount for p in sale.payments) if sale.payments else None
        split: dict[str, Decimal] = {}
        take = open_value = None
        if closed:
            take = payable if paid is None else paid
            for payment in sale.payments:
                split[payment.key] = price_sum((split.get(payment.key, _ZERO), payment.amount))
            if paid is None:
                split[PAYMENT_TYPE_UNKNOWN] = payable
        else:
            open_value = total
        return cls(
            currency=sale.currency,
            closed=closed,
            total_before_discount=before,
            discount=price_sum((before, -total)),
            total=total,
            rounding=sale.rounding_amount,
            payable=payable,
            paid=paid,
            take=take,
            by_payment_type=MappingProxyType(split),
            open_value=open_value,
            mismatch=None if paid is None else price_sum((paid, -payable)),
            null_vat_items=sum(1 for item in sale.items if item.vat_rate is None),
        )


def ticket_money(data: object, *, closed: bool) -> TicketMoney:
    """Read a ticket object's money and compute its figures.

    Raises:
        PortosParseError: a field a figure depends on is missing, ill-typed or out of range.

    """
    sale = TicketSale.from_dict(data)
    try:
        return TicketMoney.of(sale, closed=closed)
    except MATH_ERRORS as err:  # pragma: no cover - MAX_MAGNITUDE keeps every step exact
        raise PortosParseError(
            f"ticket: its money cannot be computed ({type(err).__name__})"
        ) from err
