"""A ticket's money read from PORTOS objects: items, payments, the figures, and bad input."""

from __future__ import annotations

from decimal import Decimal
from types import MappingProxyType
from typing import Any

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.portos.api import (
    CASH_KEY,
    PAYMENT_TYPE_UNKNOWN,
    ItemType,
    Payment,
    PortosParseError,
    Ticket,
    TicketItem,
    TicketMoney,
    TicketSale,
    money as money_module,
    ticket_money,
)

D = Decimal
CLOSE = {"closeDate": "2026-11-28T11:00:00Z", "closeInfo": {"deviceName": "P01"}}
# Property tests assert values, never time: no per-example deadline on a shared, busy machine.
PROPERTIES = settings(deadline=None)


def _item(
    price: object = "5.363636",
    quantity: object = "1.234",
    *,
    vat: object = 10,
    discount: object = 0,
    allowed: object = True,
    **extra: Any,
) -> dict[str, Any]:
    """Return a ticket item as PORTOS sends it (price and quantity as objects)."""
    item: dict[str, Any] = {
        "id": 1,
        "type": "Positive",
        "plu": {
            "name": "Bryndzové halušky",
            "code": 7,
            "vatInfo": {"category": 2, "rate": vat},
            "isDiscountAllowed": allowed,
        },
        "unitPrice": {"amount": price},
        "quantity": {"amount": quantity, "unit": "ks"},
        "discountRate": discount,
    }
    item.update(extra)
    return item


def _cash(amount: object) -> dict[str, Any]:
    return {"amount": amount, "paymentType": {"number": 1, "name": "Hotovosť", "category": "Cash"}}


def _card(amount: object) -> dict[str, Any]:
    return {
        "amount": amount,
        "paymentType": {"number": 2, "name": "Platobná karta", "category": "Card"},
    }


def _ticket(items: list[Any], *, closed: bool = True, **fields: Any) -> dict[str, Any]:
    """Return a ticket object; closed ones carry closeDate and closeInfo."""
    ticket: dict[str, Any] = {
        "id": "635f70e1fa3dab15784a0b45",
        "name": "Table 4",
        "_v": 3,
        "openDate": "2026-11-28T10:00:00Z",
        "closeDate": None,
        "closeInfo": None,
        "items": items,
        "discountRate": 0,
        "roundingAmount": 0,
        "currencyLabel": "EUR",
    }
    if closed:
        ticket.update(CLOSE)
    ticket.update(fields)
    return ticket


def _money(ticket: dict[str, Any]) -> TicketMoney:
    """Parse through Ticket, as the integration does, and return its money."""
    parsed = Ticket.from_dict(ticket)
    assert parsed.money_error is None
    assert parsed.money is not None
    return parsed.money


# --- the cases the issue names -------------------------------------------------------------------


def test_docs_example_paid_in_cash() -> None:
    """The docs' example as a ticket: 5.82 paid 5.80 in cash with roundingAmount -0.02."""
    money = _money(_ticket([_item()], discountRate=20, roundingAmount=-0.02, payments=[_cash(5.8)]))
    assert money.currency == "EUR"
    assert money.closed is True
    assert (money.total_before_discount, money.discount, money.total) == (
        D("7.28"),
        D("1.46"),
        D("5.82"),
    )
    assert (money.rounding, money.payable, money.paid, money.take) == (
        D("-0.02"),
        D("5.80"),
        D("5.80"),
        D("5.80"),
    )
    assert dict(money.by_payment_type) == {CASH_KEY: D("5.80")}
    assert money.open_value is None
    assert money.mismatch == 0
    assert money.null_vat_items == 0


def test_storno_lines_subtract() -> None:
    """A Negative line (sign on the quantity or not) and a negative quantity take an item back."""
    items = [
        _item("2.000000", 3, vat=23),
        _item("2.000000", -1, vat=23, type="Negative"),
        _item("2.000000", 1, vat=23, type="negative"),
        _item("1.000000", -1, vat=0),
    ]
    money = _money(_ticket(items, closed=False))
    # 3 x 2.46 - 2.46 - 2.46 - 1.00
    assert money.total == D("1.46")
    assert money.open_value == D("1.46")
    assert money.take is None
    assert dict(money.by_payment_type) == {}


def test_storno_of_the_whole_ticket_is_zero() -> None:
    """An item and its storno line cancel to the cent."""
    items = [_item(), _item(type="NEGATIVE")]
    money = _money(_ticket(items, discountRate=20, payments=[]))
    assert money.total == money.total_before_discount == money.take == 0


@pytest.mark.parametrize("vat_info", [{"category": 9, "rate": None}, None, {}])
def test_a_null_vat_rate_counts_as_zero(vat_info: dict[str, Any] | None) -> None:
    """A null VAT rate (nullable since PORTOS 4.1), or no vatInfo, is 0 % and counted (D2)."""
    item = _item("0.150000", 2)
    item["plu"]["vatInfo"] = vat_info
    money = _money(_ticket([item, _item("1.000000", 1, vat=23)], payments=[_card(1.53)]))
    assert money.total == D("1.53")
    assert money.null_vat_items == 1
    assert TicketItem.from_dict(item).vat_rate is None


def test_discounts_skip_items_that_do_not_allow_them() -> None:
    """Ticket and item discounts apply only where isDiscountAllowed; a missing flag allows (D3)."""
    fixed = _item("5.000000", 1, vat=0, discount=50, allowed=False)
    free = _item("5.000000", 1, vat=0)
    unflagged = _item("5.000000", 1, vat=0)
    del unflagged["plu"]["isDiscountAllowed"]
    money = _money(_ticket([fixed, free, unflagged], closed=False, discountRate=10))
    assert money.total_before_discount == D("15.00")
    assert money.total == D("14.00")
    assert money.discount == D("1.00")


@pytest.mark.parametrize(
    ("total", "paid", "rounding"),
    [("0.01", "0.05", "0.04"), ("0.02", "0.05", "0.03")],
)
def test_one_or_two_cent_cash_totals_become_five_cents(
    total: str, paid: str, rounding: str
) -> None:
    """A 1-2 cent ticket paid in cash is 0.05; without payments its rounding still counts."""
    item = _item(total, 1, vat=0)
    money = _money(_ticket([item], roundingAmount=float(rounding), payments=[_cash(float(paid))]))
    assert money.total == D(total)
    assert money.take == money.payable == D(paid)
    assert dict(money.by_payment_type) == {CASH_KEY: D(paid)}
    assert money.mismatch == 0
    unpaid = _money(_ticket([item], roundingAmount=float(rounding)))
    assert unpaid.paid is None
    assert unpaid.take == D(paid)
    assert dict(unpaid.by_payment_type) == {PAYMENT_TYPE_UNKNOWN: D(paid)}


def test_mixed_cash_and_card() -> None:
    """12.33 paid 10.00 by card and 2.35 in cash: only the cash part was rounded."""
    money = _money(
        _ticket(
            [_item("10.024390", 1, vat=23)],
            roundingAmount=0.02,
            payments=[_card(10), _cash(2.35)],
        )
    )
    assert money.total == D("12.33")
    assert money.payable == money.paid == money.take == D("12.35")
    assert dict(money.by_payment_type) == {"card": D("10"), CASH_KEY: D("2.35")}
    assert sum(money.by_payment_type.values()) == money.take


def test_a_closed_ticket_without_payments() -> None:
    """No payments: the take is the total including rounding, filed under `unknown` (D7, D8)."""
    money = _money(_ticket([_item()], discountRate=20, roundingAmount=-0.02))
    assert money.paid is None
    assert money.mismatch is None
    assert money.take == D("5.80")
    assert dict(money.by_payment_type) == {PAYMENT_TYPE_UNKNOWN: D("5.80")}


# --- more of the figures -------------------------------------------------------------------------


def test_open_ticket_value_ignores_rounding_and_partial_payments() -> None:
    """An open ticket is worth its total before rounding; payments on it are not subtracted."""
    money = _money(
        _ticket([_item()], closed=False, discountRate=20, roundingAmount=-0.02, payments=[_card(1)])
    )
    assert money.open_value == money.total == D("5.82")
    assert money.payable == D("5.80")
    assert money.paid == D("1")
    assert money.take is None
    assert dict(money.by_payment_type) == {}


def test_a_tip_shows_as_a_mismatch() -> None:
    """Payments above the payable are what the shop took; the difference is reported."""
    money = _money(_ticket([_item("1.000000", 1, vat=0)], payments=[_card(1.5)]))
    assert money.take == D("1.5")
    assert money.mismatch == D("0.50")


def test_an_empty_ticket() -> None:
    """No items (and no currency): everything is zero, nothing is unreadable."""
    money = _money(_ticket([], closed=False, currencyLabel=None, discountRate=None))
    assert money.currency is None
    assert money.total == money.open_value == 0
    assert str(money.total) == "0.00"


@pytest.mark.parametrize(
    ("payment_type", "key"),
    [
        ({"number": 3, "name": "Stravné lístky", "category": "MealVoucher"}, "mealvoucher"),
        ({"name": " Karta ", "category": None}, "karta"),
        ({"name": "Karta", "category": "  "}, "karta"),
        ({"category": 7}, PAYMENT_TYPE_UNKNOWN),
        ("Hotovosť", "hotovosť"),
        (None, PAYMENT_TYPE_UNKNOWN),
        (5, PAYMENT_TYPE_UNKNOWN),
    ],
)
def test_payment_type_keys(payment_type: object, key: str) -> None:
    """Payments group by category, else name, in lower case, else `unknown` (D7)."""
    payment = Payment.from_dict({"amount": 1, "paymentType": payment_type})
    assert payment.key == key


def test_payments_of_one_type_add_up() -> None:
    """Two card payments are one `card` figure; the payment-type number is kept."""
    sale = TicketSale.from_dict(_ticket([], payments=[_card("1.10"), _card({"amount": "2.20"})]))
    assert [p.type_number for p in sale.payments] == [2, 2]
    money = TicketMoney.of(sale, closed=True)
    assert dict(money.by_payment_type) == {"card": D("3.30")}


def test_tolerant_shapes() -> None:
    """Bare numbers, numeric strings and objects with amount are all read exactly (D5)."""
    item = TicketItem.from_dict(
        {
            "name": "Wine",
            "plu": {"vatInfo": {"rate": "23"}},
            "unitPrice": 13.00813,
            "quantity": 0.2,
            "type": None,
        }
    )
    assert item == TicketItem(
        name="Wine",
        type=ItemType.POSITIVE,
        unit_price=D("13.00813"),
        quantity=D("0.2"),
        unit=None,
        discount_rate=D(0),
        vat_rate=D(23),
        discount_allowed=True,
    )
    assert TicketItem.from_dict({**_item(), "quantity": {"amount": 0.5, "unit": 3}}).unit is None
    assert TicketItem.from_dict(_item()).name == "Bryndzové halušky"
    sale = TicketSale.from_dict({"roundingAmount": {"amount": "-0.02"}, "discountRate": "12.5"})
    assert (sale.rounding_amount, sale.discount_rate, sale.items, sale.payments) == (
        D("-0.02"),
        D("12.5"),
        (),
        (),
    )


@pytest.mark.parametrize(
    ("ticket", "message"),
    [
        ({"items": {}}, "ticket.items: expected a list, got dict"),
        ({"items": ["x"]}, "ticket.items[0]: expected an object, got str"),
        ({"items": [{"unitPrice": 1.5}]}, "ticket.items[0].plu: expected an object, got NoneType"),
        (
            {"items": [_item(vat=None) | {"plu": {"vatInfo": 19}}]},
            "ticket.items[0].plu.vatInfo: expected an object, got int",
        ),
        ({"items": [_item(vat=101)]}, "ticket.items[0].plu.vatInfo.rate: not a rate from 0 to 100"),
        ({"items": [_item(vat="x")]}, "ticket.items[0].plu.vatInfo.rate: not a number: 'x'"),
        (
            {"items": [_item(allowed="yes")]},
            "ticket.items[0].plu.isDiscountAllowed: expected a boolean, got str",
        ),
        ({"items": [_item(type="Returned")]}, "ticket.items[0].type: unknown item type 'Returned'"),
        ({"items": [_item(unitPrice=None)]}, "ticket.items[0].unitPrice: missing"),
        ({"items": [{**_item(), "quantity": None}]}, "ticket.items[0].quantity: missing"),
        (
            {"items": [{**_item(), "quantity": {"unit": "kg"}}]},
            "ticket.items[0].quantity.amount: expected a number, got NoneType",
        ),
        ({"items": [_item(price=True)]}, "ticket.items[0].unitPrice.amount: expected a number"),
        ({"items": [_item(price="NaN")]}, "ticket.items[0].unitPrice.amount: out of range"),
        ({"items": [_item(price=float("inf"))]}, "ticket.items[0].unitPrice.amount: out of range"),
        ({"items": [_item(price=10**12)]}, "ticket.items[0].unitPrice.amount: out of range"),
        (
            {"items": [_item(discount=150)]},
            "ticket.items[0].discountRate: not a rate from 0 to 100",
        ),
        ({"discountRate": -1}, "ticket.discountRate: not a rate from 0 to 100: -1"),
        ({"payments": "cash"}, "ticket.payments: expected a list, got str"),
        ({"payments": [{"paymentType": "cash"}]}, "ticket.payments[0].amount: missing"),
        ({"payments": [{"amount": [1]}]}, "ticket.payments[0].amount: expected a number, got list"),
        ({"roundingAmount": "x"}, "ticket.roundingAmount: not a number: 'x'"),
        ([], "ticket: expected an object, got list"),
    ],
)
def test_unreadable_money(ticket: object, message: str) -> None:
    """A field a figure depends on that is missing, ill-typed or out of range is a parse error."""
    with pytest.raises(PortosParseError) as err:
        ticket_money(ticket, closed=True)
    assert str(err.value).startswith(message)


def test_bad_money_loses_no_ticket() -> None:
    """A ticket whose items are odd still parses and counts as closed; only its money is unknown."""
    parsed = Ticket.from_dict(_ticket([_item(), {"unitPrice": "a lot"}]))
    assert parsed.closed is True
    assert parsed.id == "635f70e1fa3dab15784a0b45"
    assert parsed.version == 3
    assert parsed.money is None
    error = parsed.money_error
    assert isinstance(error, PortosParseError)
    assert str(error) == "ticket.items[1].plu: expected an object, got NoneType"
    # Computed once: the same error object every time it is asked for.
    assert parsed.money_error is error
    open_ = Ticket.from_dict(_ticket([{"plu": {}}], closed=False))
    assert open_.closed is False
    assert open_.money is None
    assert str(open_.money_error) == "ticket.items[0].unitPrice: missing"


def test_money_is_computed_once_and_not_compared() -> None:
    """The figures are cached; tickets compare by their fields, not by their objects or money."""
    raw = _ticket([_item()], discountRate=20, payments=[_cash(5.8)], roundingAmount=-0.02)
    parsed = Ticket.from_dict(raw)
    first = parsed.money
    assert first is parsed.money
    assert parsed.money_error is None
    assert parsed.raw is raw
    other = Ticket.from_dict(_ticket([], payments=[]))
    assert other == parsed
    assert "raw" not in repr(parsed)
    assert "_money" not in repr(parsed)


def test_a_ticket_built_by_hand_has_no_money() -> None:
    """Without the object it came from, a ticket has neither figures nor an error."""
    ticket = Ticket(
        id="t",
        name=None,
        version=None,
        open_date=None,
        close_date=None,
        closed=False,
        origin_device_name=None,
    )
    assert ticket.money is None
    assert ticket.money_error is None


# --- the item cache ------------------------------------------------------------------------------


def test_an_item_read_again_comes_from_the_cache() -> None:
    """Equal items are one object; a different value or JSON type is a different item."""
    first = TicketItem.from_dict(_item())
    assert TicketItem.from_dict(_item()) is first
    assert TicketItem.from_dict(_item(quantity=1.234)) is not first
    assert TicketItem.from_dict(_item(quantity=2)).quantity == 2


@pytest.mark.parametrize(
    ("item", "message"),
    [
        # Each is a cached valid item's look-alike that differs only in a shape or a JSON type.
        ({**_item(), "plu": "Bryndzové halušky"}, "item.plu: expected an object, got str"),
        (_item() | {"plu": {"vatInfo": 10, "name": "Bryndzové halušky"}}, "item.plu.vatInfo:"),
        (_item(discount=False), "item.discountRate: expected a number, got bool"),
        (_item(allowed=1), "item.plu.isDiscountAllowed: expected a boolean, got int"),
        ({**_item(), "unitPrice": {"amount": {"amount": 5.363636}}}, "item.unitPrice.amount:"),
    ],
)
def test_the_cache_never_hides_an_error(item: dict[str, Any], message: str) -> None:
    """What differs from a cached item only in shape or type is read, and refused, on its own."""
    TicketItem.from_dict(_item())
    TicketItem.from_dict(_item(discount=0.0, allowed=True))
    with pytest.raises(PortosParseError) as err:
        TicketItem.from_dict(item)
    assert str(err.value).startswith(message)


def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A full cache starts over; items that are not plain JSON are never cached."""
    monkeypatch.setattr(money_module, "ITEM_CACHE_SIZE", 3)
    monkeypatch.setattr(money_module, "_ITEM_CACHE", {})
    items = [TicketItem.from_dict(_item(quantity=n)) for n in range(1, 5)]
    assert len(money_module._ITEM_CACHE) == 1
    assert TicketItem.from_dict(_item(quantity=4)) is items[3]
    odd = _item(name=["not", "text"])
    assert TicketItem.from_dict(odd) is not TicketItem.from_dict(odd)
    assert TicketItem.from_dict(MappingProxyType(_item())).quantity == D("1.234")
    assert len(money_module._ITEM_CACHE) == 1


def test_any_mapping_is_an_object() -> None:
    """Objects that are Mappings but not dicts are read the same way."""
    ticket = _ticket([MappingProxyType(_item())], discountRate=20)
    ticket["items"][0] = MappingProxyType(
        {**_item(), "unitPrice": MappingProxyType({"amount": 5.363636})}
    )
    assert ticket_money(MappingProxyType(ticket), closed=False).total == D("5.82")


# --- properties ----------------------------------------------------------------------------------

CENTS = st.integers(0, 100_000).map(lambda n: D(n).scaleb(-2))
ITEM_OBJECTS = st.builds(
    _item,
    price=st.integers(0, 10**9).map(lambda n: float(D(n).scaleb(-6))),
    quantity=st.integers(0, 50_000).map(lambda n: float(D(n).scaleb(-3))),
    vat=st.sampled_from([None, 0, 5, 19, 23]),
    discount=st.integers(0, 10_000).map(lambda n: float(D(n).scaleb(-2))),
    allowed=st.booleans(),
)


@PROPERTIES
@given(
    items=st.lists(ITEM_OBJECTS, max_size=8),
    discount=st.integers(0, 100),
    payments=st.lists(st.tuples(st.sampled_from([_cash, _card]), CENTS), max_size=3),
    closed=st.booleans(),
)
def test_ticket_figures_hold_together(
    items: list[dict[str, Any]],
    discount: int,
    payments: list[tuple[Any, Decimal]],
    closed: bool,
) -> None:
    """Sold tickets never go negative, and their figures hold together.

    A 100 % ticket discount leaves only the fixed-price items; the split adds up to the take; open
    and closed figures exclude each other.
    """
    ticket = _ticket(
        items,
        closed=closed,
        discountRate=discount,
        payments=[make(float(amount)) for make, amount in payments],
    )
    money = _money(ticket)
    assert money.total >= 0
    assert money.total_before_discount >= money.total
    assert money.null_vat_items == sum(
        1 for item in items if item["plu"]["vatInfo"]["rate"] is None
    )
    if discount == 100:
        fixed = _money(
            _ticket([item for item in items if not item["plu"]["isDiscountAllowed"]], closed=closed)
        )
        assert money.total == fixed.total_before_discount
    if closed:
        assert money.take is not None
        assert money.open_value is None
        assert sum(money.by_payment_type.values()) == money.take
    else:
        assert money.take is None
        assert money.open_value == money.total
        assert not money.by_payment_type
