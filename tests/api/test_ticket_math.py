"""The ticket mathematics: the docs' example step by step, each rounding rule, and properties."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.portos.api.ticket_math import (
    ItemMath,
    cash_round,
    cash_rounding,
    effective_discount_rate,
    item_math,
    line_total,
    scaled_rate,
)

D = Decimal
# Property tests assert values, never time: no per-example deadline on a shared, busy machine.
PROPERTIES = settings(deadline=None)


def _example(**overrides: object) -> ItemMath:
    """Return the docs' example (unit price 5.363636, quantity 1.234, 20 %), VAT 10 % inferred."""
    args: dict[str, object] = {
        "unit_price": D("5.363636"),
        "quantity": D("1.234"),
        "vat_rate": D(10),
        "ticket_discount_rate": D(20),
        "item_discount_rate": D(0),
        "discount_allowed": True,
    }
    args.update(overrides)
    return item_math(**args)  # type: ignore[arg-type]


def _places(value: Decimal) -> int:
    """Return how many decimals a Decimal carries."""
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    return -exponent


def test_docs_example_step_by_step() -> None:
    """The docs' inputs give every intermediate with the documented number of decimals."""
    m = _example()
    steps = [
        (m.vat, "0.536364", 6),
        (m.unit_price_including_vat, "5.900000", 6),
        (m.dt, "0.2000", 4),
        (m.di, "0.0000", 4),
        (m.de, "0.2000", 4),
        (m.unit_price_after_discount, "4.290909", 6),
        (m.unit_price_after_discount_including_vat, "4.720000", 6),
        (m.total_price_including_vat, "7.28", 2),
        (m.total_price_after_discount_including_vat, "5.82", 2),
        (m.discount_price_including_vat, "1.46", 2),
    ]
    for value, text, places in steps:
        # Equal as text: the value and its number of decimals.
        assert str(value) == text
        assert _places(value) == places
    payable = cash_round(m.total_price_after_discount_including_vat)
    assert str(payable) == "5.80"
    assert str(cash_rounding(m.total_price_after_discount_including_vat, D(0))) == "-0.02"
    # Paid by card nothing is rounded.
    assert cash_rounding(D("5.82"), D("5.82")) == 0


def test_docs_example_as_item_discount() -> None:
    """Whether the docs' 20 % is the ticket's or the item's discount, the result is the same."""
    as_item = _example(ticket_discount_rate=D(0), item_discount_rate=D(20))
    as_ticket = _example()
    assert (as_item.dt, as_item.di, as_item.de) == (D(0), D("0.2"), D("0.2"))
    for name in ItemMath.__slots__:
        if name not in ("dt", "di"):
            assert getattr(as_item, name) == getattr(as_ticket, name), name


def test_docs_example_at_twenty_percent_vat() -> None:
    """At 20 % VAT (the old standard rate) the gross after discount is 5.149090 (R4)."""
    m = _example(vat_rate=D(20))
    assert str(m.vat) == "1.072727"
    assert str(m.unit_price_including_vat) == "6.436363"
    assert str(m.unit_price_after_discount) == "4.290909"
    assert str(m.unit_price_after_discount_including_vat) == "5.149090"
    assert (m.total_price_including_vat, m.total_price_after_discount_including_vat) == (
        D("7.94"),
        D("6.35"),
    )
    assert m.discount_price_including_vat == D("1.59")


def test_combined_discounts_stack() -> None:
    """10 % on the ticket and 5 % on the item make 14.5 %, not 15 % (R2)."""
    m = _example(ticket_discount_rate=D(10), item_discount_rate=D(5))
    assert str(m.de) == "0.1450"
    assert str(m.unit_price_after_discount) == "4.585909"
    assert str(m.unit_price_after_discount_including_vat) == "5.044500"
    assert str(m.total_price_after_discount_including_vat) == "6.22"
    assert str(m.discount_price_including_vat) == "1.06"


def test_discount_not_allowed() -> None:
    """With isDiscountAllowed false neither discount applies; de is still computed."""
    m = _example(item_discount_rate=D(10), discount_allowed=False)
    assert m.de == D("0.2800")
    assert m.unit_price_after_discount == D("5.363636")
    assert m.unit_price_after_discount_including_vat == D("5.900000")
    assert m.total_price_after_discount_including_vat == m.total_price_including_vat == D("7.28")
    assert m.discount_price_including_vat == 0


@pytest.mark.parametrize(("quantity", "total"), [("1", "0.13"), ("-1", "-0.13")])
def test_ties_round_half_away_from_zero(quantity: str, total: str) -> None:
    """0.125 rounds to 0.13 and -0.125 to -0.13 (D1; .NET's default would give 0.12)."""
    m = item_math(
        unit_price=D("0.125"),
        quantity=D(quantity),
        vat_rate=D(0),
        ticket_discount_rate=D(0),
        item_discount_rate=D(0),
        discount_allowed=True,
    )
    assert str(m.total_price_including_vat) == total
    assert str(m.total_price_after_discount_including_vat) == total


def test_rates_round_to_four_places() -> None:
    """A rate of 12.345 % is 0.1235 (half up), and de rounds too."""
    assert str(scaled_rate(D("12.345"))) == "0.1235"
    assert str(scaled_rate(D(100))) == "1.0000"
    assert str(effective_discount_rate(D("0.3333"), D("0.3333"))) == "0.5555"


def test_negative_items_count_negative_totals() -> None:
    """A Negative item is -|total| whether its quantity is positive or already negative (D4)."""
    for quantity in (D("1.234"), D("-1.234")):
        m = _example(quantity=quantity, negative=True)
        assert m.total_price_including_vat == D("-7.28")
        assert m.total_price_after_discount_including_vat == D("-5.82")
        assert m.discount_price_including_vat == D("-1.46")
        assert m.unit_price_including_vat == D("5.900000")
    zero = _example(quantity=D(0), negative=True)
    assert str(zero.total_price_including_vat) == "0.00"


@pytest.mark.parametrize(
    ("amount", "rounded"),
    [
        ("5.82", "5.80"),
        ("5.83", "5.85"),
        ("5.87", "5.85"),
        ("5.88", "5.90"),
        ("0.00", "0.00"),
        ("0.01", "0.05"),
        ("0.02", "0.05"),
        ("0.03", "0.05"),
        ("0.07", "0.05"),
        ("0.08", "0.10"),
        ("-0.01", "-0.05"),
        ("-0.02", "-0.05"),
        ("-5.82", "-5.80"),
        ("-5.83", "-5.85"),
        ("12.345", "12.35"),
    ],
)
def test_cash_rounding_table(amount: str, rounded: str) -> None:
    """Cash rounds to 0.05; 1-2 cents become 5 cents; refunds round symmetrically (D9)."""
    assert str(cash_round(D(amount))) == rounded


def test_mixed_payment_rounds_only_the_cash_part() -> None:
    """12.33 paid 10.00 by card: the 2.33 in cash becomes 2.35, roundingAmount +0.02."""
    assert cash_rounding(D("12.33"), D("10.00")) == D("0.02")
    # A cash rest of 2 cents becomes 5 cents.
    assert cash_rounding(D("10.02"), D("10.00")) == D("0.03")


# --- properties ----------------------------------------------------------------------------------


def _decimals(places: int, low: int, high: int) -> st.SearchStrategy[Decimal]:
    """Decimals from low to high with exactly `places` decimals."""
    scale = 10**places
    return st.integers(low * scale, high * scale).map(lambda n: D(n).scaleb(-places))


PRICES = _decimals(6, 0, 5000)
QUANTITIES = _decimals(3, 0, 200)
RATES = _decimals(2, 0, 100)
VAT_RATES = st.sampled_from([D(0), D(5), D(10), D(19), D(20), D(23)]) | RATES
# item_math's keyword arguments for one sold (non-storno) item.
ITEMS = st.fixed_dictionaries(
    {
        "unit_price": PRICES,
        "quantity": QUANTITIES,
        "vat_rate": VAT_RATES,
        "ticket_discount_rate": RATES,
        "item_discount_rate": RATES,
        "discount_allowed": st.booleans(),
    }
)


def _exact_round(value: Fraction, places: int) -> Decimal:
    """Round a rational half away from zero, independently of the decimal module's rounding."""
    scale = 10**places
    scaled = abs(value) * scale
    whole = scaled.numerator // scaled.denominator
    if scaled - whole >= Fraction(1, 2):
        whole += 1
    return D(whole if value >= 0 else -whole).scaleb(-places)


@PROPERTIES
@given(item=ITEMS)
def test_every_step_is_its_formula_rounded_as_documented(item: dict[str, Any]) -> None:
    """Each intermediate equals its formula computed exactly and rounded to its decimals."""
    m = item_math(**item)
    price, quantity, vat = item["unit_price"], item["quantity"], item["vat_rate"]
    dt, di, allowed = (
        item["ticket_discount_rate"],
        item["item_discount_rate"],
        item["discount_allowed"],
    )
    f = Fraction
    vat_rounded = _exact_round(f(price) * f(vat) / 100, 6)
    upiv = _exact_round(f(price) + f(vat_rounded), 6)
    dt_ = _exact_round(f(dt) / 100, 4)
    di_ = _exact_round(f(di) / 100, 4)
    de = _exact_round(1 - (1 - f(dt_)) * (1 - f(di_)), 4)
    upad = _exact_round(f(price) * (1 - f(de)), 6) if allowed else price
    upadiv = _exact_round(f(upiv) * (1 - f(de)), 6) if allowed else upiv
    expected = [
        (m.vat, vat_rounded, 6),
        (m.unit_price_including_vat, upiv, 6),
        (m.dt, dt_, 4),
        (m.di, di_, 4),
        (m.de, de, 4),
        (m.unit_price_after_discount, upad, 6),
        (m.unit_price_after_discount_including_vat, upadiv, 6),
        (m.total_price_including_vat, _exact_round(f(upiv) * f(quantity), 2), 2),
        (
            m.total_price_after_discount_including_vat,
            _exact_round(f(upadiv) * f(quantity), 2),
            2,
        ),
    ]
    for value, exact, places in expected:
        assert value == exact
        assert _places(value) == places
    assert m.discount_price_including_vat == (
        m.total_price_including_vat - m.total_price_after_discount_including_vat
    )
    assert _places(m.discount_price_including_vat) == 2
    assert 0 <= m.de <= 1


@PROPERTIES
@given(item=ITEMS)
def test_sales_are_never_negative_and_discounts_never_add(item: dict[str, Any]) -> None:
    """A non-storno item never has a negative total, and a discount never raises it."""
    m = item_math(**item)
    assert m.total_price_after_discount_including_vat >= 0
    assert m.total_price_including_vat >= m.total_price_after_discount_including_vat
    assert m.discount_price_including_vat >= 0


@PROPERTIES
@given(price=PRICES, quantity=QUANTITIES, vat=VAT_RATES, other=RATES)
def test_a_full_discount_gives_zero(
    price: Decimal, quantity: Decimal, vat: Decimal, other: Decimal
) -> None:
    """100 % off, on the ticket or on the item, leaves nothing to pay on a discountable item."""
    for dt, di in ((D(100), other), (other, D(100))):
        m = item_math(
            unit_price=price,
            quantity=quantity,
            vat_rate=vat,
            ticket_discount_rate=dt,
            item_discount_rate=di,
            discount_allowed=True,
        )
        assert m.de == 1
        assert m.total_price_after_discount_including_vat == 0
        assert m.discount_price_including_vat == m.total_price_including_vat


@PROPERTIES
@given(cents=st.integers(-(10**8), 10**8))
def test_cash_rounding_properties(cents: int) -> None:
    """Cash is a multiple of 0.05, within 2.5 cents, symmetric, and never 0 for a nonzero amount."""
    amount = D(cents).scaleb(-2)
    rounded = cash_round(amount)
    assert _places(rounded) == 2
    assert rounded % D("0.05") == 0
    assert cash_round(-amount) == -rounded
    if amount == 0:
        assert rounded == 0
    elif abs(amount) < D("0.025"):
        assert rounded == D("0.05").copy_sign(amount)
    else:
        assert abs(rounded - amount) <= D("0.025")
        assert abs(rounded - amount) < D("0.025") or abs(rounded) > abs(amount)


@PROPERTIES
@given(price=PRICES, quantity=QUANTITIES)
def test_line_totals_are_exact_to_the_cent(price: Decimal, quantity: Decimal) -> None:
    """A line total is within half a cent of the exact product."""
    total = line_total(price, quantity)
    assert abs(Fraction(total) - Fraction(price) * Fraction(quantity)) <= Fraction(1, 200)
