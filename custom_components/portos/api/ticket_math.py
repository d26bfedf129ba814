"""PORTOS ticket mathematics in Decimal, and every money rule we had to reconstruct or decide.

PORTOS tickets store no totals: clients compute them from the items ("Ticket Model Mathematics" in
the PORTOS docs). Only the first formulas of that page could be read; the rest is reconstructed.
This module is the one place in `api/` that holds those rules, so that a real server that disagrees
is answered by changing one constant or one function here. The list below is repeated in
`docs/ticket-math.md`; the README's known limitations summarise it.

Documented (confirmed on the PORTOS page):
- Money without the `IncludingVat` suffix is net of VAT; tickets store no totals.
- `vat = round6(unitPrice * vatRate / 100)`; `unitPriceIncludingVat = round6(unitPrice + vat)`.
- `dt = round4(ticket.discountRate / 100)`; `di` is the item's `discountRate / 100`; the
  effective rate `de` lies in 0-1, rounded to 4 decimals.
- When the PLU's `isDiscountAllowed` is false, both after-discount unit prices equal the plain
  ones (no discount of either kind applies). Unit prices are `UnitPrice`s: we take the plain net
  price to 6 decimals there too, a no-op for any price PORTOS stores.
- Rounding is "mathematical"; the page never names the tie-break.

Reconstructed (the page has a section on it whose formula could not be read):
- R1 `di` is rounded to 4 decimals, like `dt`.
- R2 `de = round4(1 - (1 - dt)*(1 - di))`: the two discounts stack multiplicatively.
- R3 `unitPriceAfterDiscount = round6(unitPrice * (1 - de))`.
- R4 `unitPriceAfterDiscountIncludingVat = round6(unitPriceIncludingVat * (1 - de))`. The other
  candidate, VAT re-applied on R3, differs in the 6th decimal in some cases (5.149090 against
  5.149091 for the docs' example at 20 % VAT).
- R5 `totalPriceIncludingVat = round2(unitPriceIncludingVat * quantity)`.
- R6 `totalPriceAfterDiscountIncludingVat = round2(unitPriceAfterDiscountIncludingVat * quantity)`.
- R7 `discountPriceIncludingVat = R5 - R6`.
- R8 The ticket's totals are the sums of its items' R5 and R6, with no further rounding.
- R9 The total including rounding is R8 (after discount) `+ roundingAmount`.
- R10 The payments amount is the sum of the payments' amounts.
- R11 `roundingAmount` is what cash rounding added: payable - items total (-0.02 when 5.82 is
  paid as 5.80 in cash).

Decided (our choice where nothing is documented):
- D1 "Mathematically" is half away from zero (`ROUND_HALF_UP`) at every step, as Slovak usage and
  the cash-rounding law read it. PORTOS runs on .NET, whose default is half to even: if a real
  server rounds 0.125 to 0.12, set ROUNDING to ROUND_HALF_EVEN.
- D2 A null VAT rate (`vatInfo.rate` is nullable) or a missing `vatInfo` counts as 0 %; such items
  are counted so the caller can say so.
- D3 A missing `isDiscountAllowed` means discounts are allowed.
- D4 An item whose `type` is `Negative` (any case) counts as -|its totals|, wherever the sign sits
  (quantity or price); on a `Positive` or untyped item, a negative quantity or price is taken as
  it comes. Any other type makes the ticket's money unreadable.
- D5 `unitPrice`, `quantity`, payment amounts and `roundingAmount` may be an object with `amount`
  or a bare number; numbers may be JSON numbers or numeric strings. Floats are read through their
  shortest text (the JSON text as written). Booleans, NaN, infinities and magnitudes of
  MAX_MAGNITUDE or more make the ticket's money unreadable; so do rates outside 0-100.
- D6 A payment is `{"amount": number, "paymentType": {"number", "name", "category"}}`
  (`paymentType` may also be a bare name). Its amount is what the till kept (change given back is
  not in it).
- D7 Payments are grouped by payment-type key: the category in lower case, else the name in lower
  case, else PAYMENT_TYPE_UNKNOWN. A closed ticket without payments is filed under that key too.
- D8 What the shop took for a closed ticket is the sum of its payments; without payments, its
  total including rounding (R9). An open ticket is worth its total after discount including VAT
  (R8), before rounding; payments already on an open ticket are not subtracted.
- D9 Cash is a payment whose key is CASH_KEY. Only the cash part is rounded, half up to 0.05;
  a nonzero amount that would round to 0 becomes ±0.05 (0.01-0.02 € → 0.05 €); 0 stays 0;
  negative (refund) amounts round symmetrically.
- D10 A missing `roundingAmount` or ticket `discountRate` is 0; a missing `currencyLabel` leaves
  the currency unknown but the figures are still computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import (
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)
from functools import lru_cache
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterable

# D1: the tie-break of every rounding step.
ROUNDING: Final = ROUND_HALF_UP

UNIT_PRICE_PLACES: Final = Decimal("0.000001")  # vat, unit prices: 6 dp (documented)
RATE_PLACES: Final = Decimal("0.0001")  # dt, di, de: 4 dp (documented; di: R1)
PRICE_PLACES: Final = Decimal("0.01")  # item totals: 2 dp (R5, R6)
HUNDRED: Final = Decimal(100)
ZERO_PRICE: Final = Decimal("0.00")

# D5: nothing in a shop comes near this; a bigger number is garbage, not a sale.
MAX_MAGNITUDE: Final = Decimal("1e12")
MAX_RATE: Final = Decimal(100)

# Distinct lines remembered (a shop's menu times its usual quantities and discounts).
ITEM_CACHE_SIZE: Final = 4096

# D7, D9
PAYMENT_TYPE_UNKNOWN: Final = "unknown"
CASH_KEY: Final = "cash"
CASH_STEP: Final = Decimal("0.05")

# Enough digits for MAX_MAGNITUDE² at 6 dp: every product and sum is exact (an inexact one raises
# instead of rounding silently); only the documented steps round, with _ROUNDER.
_C: Final = Context(
    prec=40, rounding=ROUNDING, traps=[InvalidOperation, Overflow, DivisionByZero, Inexact]
)
_ROUNDER: Final = Context(prec=40, rounding=ROUNDING, traps=[InvalidOperation, Overflow])
_ONE: Final = Decimal(1)
# What a computation can raise on numbers no shop has; parsers turn it into PortosParseError.
MATH_ERRORS: Final = (InvalidOperation, Overflow, DivisionByZero, Inexact)


def _round(value: Decimal, places: Decimal) -> Decimal:
    """Round to the given places by ROUNDING (D1)."""
    return value.quantize(places, rounding=ROUNDING, context=_ROUNDER)


def vat_amount(unit_price: Decimal, vat_rate: Decimal) -> Decimal:
    """Return `vat = round6(unitPrice * vatRate / 100)` (documented)."""
    return _round(_C.multiply(unit_price, _C.scaleb(vat_rate, -2)), UNIT_PRICE_PLACES)


def unit_price_including_vat(unit_price: Decimal, vat: Decimal) -> Decimal:
    """Return `unitPriceIncludingVat = round6(unitPrice + vat_rounded)` (documented)."""
    return _round(_C.add(unit_price, vat), UNIT_PRICE_PLACES)


def scaled_rate(percent: Decimal) -> Decimal:
    """Return a discount rate in percent scaled to 0-1, rounded to 4 dp (dt documented, di R1)."""
    return _round(_C.scaleb(percent, -2), RATE_PLACES)


def effective_discount_rate(dt: Decimal, di: Decimal) -> Decimal:
    """Return `de = round4(1 - (1 - dt)*(1 - di))` (R2)."""
    kept = _C.multiply(_C.subtract(_ONE, dt), _C.subtract(_ONE, di))
    return _round(_C.subtract(_ONE, kept), RATE_PLACES)


def discounted_unit_price(price: Decimal, de: Decimal) -> Decimal:
    """Return `round6(price * (1 - de))`, for the net (R3) and the gross (R4) unit price."""
    return _round(_C.multiply(price, _C.subtract(_ONE, de)), UNIT_PRICE_PLACES)


def line_total(unit_price: Decimal, quantity: Decimal) -> Decimal:
    """Return `round2(unitPrice * quantity)` (R5, R6)."""
    return _round(_C.multiply(unit_price, quantity), PRICE_PLACES)


def average_price(total: Decimal, count: int) -> Decimal:
    """Return `total / count` rounded to 2 dp by D1: an average ticket, as a price."""
    return _round(_ROUNDER.divide(total, Decimal(count)), PRICE_PLACES)


def cash_round(amount: Decimal) -> Decimal:
    """Round a cash amount to 0.05 by Slovak law (D9): 5.82 -> 5.80, 5.83 -> 5.85, 0.02 -> 0.05."""
    steps = _round(_C.divide(amount, CASH_STEP), _ONE)
    if not steps and amount:
        return _round(CASH_STEP.copy_sign(amount), PRICE_PLACES)
    return _round(_C.multiply(steps, CASH_STEP), PRICE_PLACES)


@dataclass(frozen=True, slots=True)
class ItemMath:
    """Every intermediate of one ticket item's mathematics, named as the PORTOS page names them."""

    vat: Decimal
    unit_price_including_vat: Decimal
    dt: Decimal
    di: Decimal
    de: Decimal
    unit_price_after_discount: Decimal
    unit_price_after_discount_including_vat: Decimal
    total_price_including_vat: Decimal
    total_price_after_discount_including_vat: Decimal
    discount_price_including_vat: Decimal


def item_math(
    *,
    unit_price: Decimal,
    quantity: Decimal,
    vat_rate: Decimal,
    ticket_discount_rate: Decimal,
    item_discount_rate: Decimal,
    discount_allowed: bool,
    negative: bool = False,
) -> ItemMath:
    """Compute one item step by step; rates are in percent (0-100), as PORTOS sends them.

    `negative` (D4) turns the three totals into -|total|; unit prices keep their own sign. Every
    result is rounded to its documented decimals (an undiscounted unit price is a UnitPrice of
    6 decimals too), so equal inputs give equal results: a ticket re-sends all its items with each
    change, and the same lines are computed once.

    Raises:
        One of MATH_ERRORS: for numbers far beyond MAX_MAGNITUDE, which money.py never passes.

    """
    return _item_math(
        unit_price,
        quantity,
        vat_rate,
        ticket_discount_rate,
        item_discount_rate,
        discount_allowed,
        negative,
    )


@lru_cache(maxsize=ITEM_CACHE_SIZE)
def _item_math(  # noqa: PLR0917 - item_math's arguments, positional for the cache key
    unit_price: Decimal,
    quantity: Decimal,
    vat_rate: Decimal,
    ticket_discount_rate: Decimal,
    item_discount_rate: Decimal,
    discount_allowed: bool,
    negative: bool,
) -> ItemMath:
    """Compute one item (see item_math)."""
    vat = vat_amount(unit_price, vat_rate)
    upiv = unit_price_including_vat(unit_price, vat)
    dt = scaled_rate(ticket_discount_rate)
    di = scaled_rate(item_discount_rate)
    de = effective_discount_rate(dt, di)
    if discount_allowed:
        upad = discounted_unit_price(unit_price, de)
        upadiv = discounted_unit_price(upiv, de)
    else:
        upad, upadiv = _round(unit_price, UNIT_PRICE_PLACES), upiv
    total = line_total(upiv, quantity)
    after = line_total(upadiv, quantity)
    if negative:
        total, after = _negative(total), _negative(after)
    discount = _C.subtract(total, after)
    return ItemMath(
        vat=vat,
        unit_price_including_vat=upiv,
        dt=dt,
        di=di,
        de=de,
        unit_price_after_discount=upad,
        unit_price_after_discount_including_vat=upadiv,
        total_price_including_vat=total,
        total_price_after_discount_including_vat=after,
        discount_price_including_vat=discount,
    )


def _negative(value: Decimal) -> Decimal:
    """Return -|value|, keeping a zero unsigned."""
    return -abs(value) if value else abs(value)


def price_sum(amounts: Iterable[Decimal]) -> Decimal:
    """Sum amounts exactly (R8, R10); the sum of nothing is 0.00."""
    total = ZERO_PRICE
    for amount in amounts:
        total = _C.add(total, amount)
    return total


def cash_rounding(total: Decimal, non_cash: Decimal) -> Decimal:
    """Return the roundingAmount (R11) when `non_cash` of `total` is paid by card, the rest in cash.

    Only the cash part is rounded (D9), so `total + cash_rounding(...)` is what the customer pays.
    """
    cash = _C.subtract(total, non_cash)
    return _C.subtract(cash_round(cash), cash)
