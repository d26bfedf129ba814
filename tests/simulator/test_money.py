"""The simulator's own ticket maths, closing with payments, and the /_sim/sales truth control."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from simulator.money import (
    CARD,
    CASH,
    LOAD_ITEM,
    MEAL_VOUCHER,
    MENU,
    NO_PAYMENTS_KEY,
    cash_round,
    line_cents,
    money_text,
    parse_number,
    rescale,
    sales_report,
    settle,
    takings,
    ticket_cents,
)
from simulator.problems import ProblemError
from tests.till import Till, TillError

if TYPE_CHECKING:
    from simulator.server import Simulator

ESPRESSO, WINE, LUNCH, DEPOSIT = MENU[0], MENU[4], MENU[8], MENU[11]


def _docs_item(**extra: Any) -> dict[str, Any]:
    """Return the PORTOS docs' example line (5.363636 x 1.234 at 10 % VAT)."""
    item: dict[str, Any] = {
        "plu": {"vatInfo": {"rate": 10}, "isDiscountAllowed": True},
        "unitPrice": {"amount": 5.363636},
        "quantity": {"amount": 1.234, "unit": "ks"},
        "discountRate": 0,
    }
    item.update(extra)
    return item


def _ticket(items: list[Any], **fields: Any) -> dict[str, Any]:
    return {"items": items, "discountRate": 0, **fields}


# --- numbers and rounding ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "number"),
    [
        (3, (3, 0)),
        (1.234, (1234, 3)),
        (12.0, (120, 1)),
        (1e-07, (1, 7)),
        (1e20, (10**20, 0)),
        ({"amount": -0.02}, (-2, 2)),
        (True, None),
        (float("nan"), None),
        ("1.5", None),
        (None, None),
        ({"unit": "kg"}, None),
    ],
)
def test_parse_number(value: object, number: tuple[int, int] | None) -> None:
    """JSON numbers are read exactly; anything else is not a number."""
    assert parse_number(value) == number


@pytest.mark.parametrize(
    ("cents", "rounded"),
    [(582, 580), (583, 585), (0, 0), (1, 5), (2, 5), (-1, -5), (-582, -580), (7, 5), (8, 10)],
)
def test_cash_round(cents: int, rounded: int) -> None:
    """Cash rounds to 5 cents, 1-2 cents become 5, refunds round symmetrically."""
    assert cash_round(cents) == rounded


def test_rescale_and_text() -> None:
    """Rescaling rounds half away from zero; amounts print with two decimals."""
    assert rescale(125, 3, 2) == 13
    assert rescale(-125, 3, 2) == -13
    assert rescale(5, 0, 2) == 500
    assert money_text(-5) == "-0.05"
    assert money_text(123456) == "1234.56"


# --- the menu and ticket sums --------------------------------------------------------------------


def test_menu_items_as_a_till_stores_them() -> None:
    """A PLU's net price is its gross price less VAT to 6 decimals; lines carry a PLU snapshot."""
    assert ESPRESSO.net_price == 1.596639
    assert DEPOSIT.net_price == 0.15
    item = WINE.item(0.2, discount=10)
    assert item == {
        "type": "Positive",
        "name": "Domáce víno",
        "plu": {
            "code": 5,
            "name": "Domáce víno",
            "vatInfo": {"category": 1, "rate": 23},
            "isDiscountAllowed": True,
        },
        "unitPrice": {"amount": 13.00813},
        "quantity": {"amount": 0.2, "unit": "l"},
        "discountRate": 10,
    }
    back = WINE.item(0.2, negative=True)
    assert back["type"] == "Negative"
    assert back["quantity"]["amount"] == -0.2
    assert line_cents(item, (0, 0)) == 288
    assert line_cents(back, (0, 0)) == -320
    assert ESPRESSO.item(1) == LOAD_ITEM
    assert line_cents(LOAD_ITEM, (0, 0)) == 190


def test_docs_example() -> None:
    """The docs' example with 20 % on the ticket is 5.82, paid 5.80 in cash."""
    ticket = _ticket([_docs_item()], discountRate=20)
    assert ticket_cents(ticket) == 582
    payments, rounding = settle(ticket, None)
    assert payments == [{"amount": 5.8, "paymentType": CASH.to_dict()}]
    assert rounding == -2


def test_discounts_and_fixed_prices() -> None:
    """Ticket and item discounts stack; a fixed-price PLU ignores both."""
    assert ticket_cents(_ticket([_docs_item(discountRate=5)], discountRate=10)) == 622
    assert ticket_cents(_ticket([LUNCH.item(1, discount=20)], discountRate=100)) == 750
    assert ticket_cents(_ticket([ESPRESSO.item(2)], discountRate=100)) == 0


def test_lenient_with_what_clients_store() -> None:
    """Odd items count what can be read: no PLU is 0 % VAT, no quantity is 1, no price is 0."""
    assert line_cents("espresso", (0, 0)) == 0
    assert line_cents({"unitPrice": 2.5, "quantity": {"amount": 2}}, (0, 0)) == 500
    assert line_cents({"unitPrice": 2.5}, (0, 0)) == 250
    assert line_cents({"unitPrice": "2.5"}, (0, 0)) == 0
    assert line_cents({"unitPrice": 2.5, "quantity": "two"}, (0, 0)) == 0
    assert line_cents({"plu": {"vatInfo": 19}, "unitPrice": 1}, (0, 0)) == 100
    assert ticket_cents({"items": None}) == 0
    assert ticket_cents({"items": [{"unitPrice": 1}], "discountRate": "x"}) == 100


# --- settling a close ----------------------------------------------------------------------------

TOTAL_1233 = _ticket([{"plu": {"vatInfo": {"rate": 23}}, "unitPrice": 10.02439, "quantity": 1}])


@pytest.mark.parametrize(
    ("payments", "recorded", "rounding"),
    [
        (None, [(CASH, 12.35)], 2),
        ([{"paymentType": "card"}], [(CARD, 12.33)], 0),
        (
            [{"paymentType": "Card", "amount": 10}, {"paymentType": "cash"}],
            [(CARD, 10), (CASH, 2.35)],
            2,
        ),
        (
            [{"paymentType": "Hotovosť", "amount": 5}, {"paymentType": 2}],
            [(CASH, 5), (CARD, 7.33)],
            0,
        ),
        (
            [
                {"paymentType": {"category": "MealVoucher"}, "amount": 10},
                {"paymentType": {"number": 2}},
            ],
            [(MEAL_VOUCHER, 10), (CARD, 2.33)],
            0,
        ),
        ([{"paymentType": {"name": "platobná karta"}, "amount": 12.33}], [(CARD, 12.33)], 0),
        ([{"paymentType": "cash", "amount": 12.35}], [(CASH, 12.35)], 2),
        ([], [], 0),
    ],
)
def test_settle(payments: object, recorded: list[tuple[Any, float]], rounding: int) -> None:
    """Payments settle the ticket; only the cash part is rounded; [] records no payments."""
    got, got_rounding = settle(TOTAL_1233, payments)
    assert got == [{"amount": amount, "paymentType": t.to_dict()} for t, amount in recorded]
    assert got_rounding == rounding


def test_one_and_two_cent_cash_totals() -> None:
    """A 2-cent ticket paid in cash is 5 cents, roundingAmount +0.03."""
    ticket = _ticket([{"plu": {}, "unitPrice": 0.02, "quantity": 1}])
    assert settle(ticket, None) == ([{"amount": 0.05, "paymentType": CASH.to_dict()}], 3)


@pytest.mark.parametrize(
    ("payments", "member", "text"),
    [
        ("cash", "Payments", "must be a list"),
        (["cash"], "Payments[0]", "must be an object"),
        ([{"paymentType": "cheque"}], "Payments[0].PaymentType", "Unknown payment type"),
        ([{"paymentType": {"number": True}}], "Payments[0].PaymentType", "Unknown payment type"),
        ([{"paymentType": "card", "amount": "12"}], "Payments[0].Amount", "at most two decimals"),
        ([{"paymentType": "card", "amount": 1.005}], "Payments[0].Amount", "at most two decimals"),
        ([{"paymentType": "cash", "amount": 12.33}], "Payments[0].Amount", "multiple of 0.05"),
        ([{"paymentType": "cash"}, {"paymentType": "card"}], "Payments", "At most one payment"),
        ([{"paymentType": "card", "amount": 12}], "Payments", "do not settle"),
        ([{"paymentType": "cash", "amount": 12.30}], "Payments", "do not settle"),
        (
            [{"paymentType": "card", "amount": 10}, {"paymentType": "cash", "amount": 2.30}],
            "Payments",
            "do not settle",
        ),
    ],
)
def test_settle_refuses(payments: object, member: str, text: str) -> None:
    """Payments that cannot be recorded are 400 validation problems naming the member."""
    with pytest.raises(ProblemError) as err:
        settle(TOTAL_1233, payments)
    assert err.value.status == 400
    assert err.value.errors is not None
    assert err.value.errors[0]["memberName"] == member
    assert text in err.value.errors[0]["message"]


# --- takings -------------------------------------------------------------------------------------


def test_takings() -> None:
    """Takings split by category; without payments the total plus rounding is `unknown`."""
    unpaid = _ticket([_docs_item()], discountRate=20, roundingAmount=-0.02, payments=[])
    assert takings(unpaid) == {NO_PAYMENTS_KEY: 580}
    paid = _ticket(
        [],
        payments=[
            {"amount": 1.5, "paymentType": CARD.to_dict()},
            {"amount": 2, "paymentType": CARD.to_dict()},
            {"amount": 0.5, "paymentType": {"name": "Tip jar"}},
            {"amount": "x", "paymentType": None},
        ],
    )
    assert takings(paid) == {"card": 350, NO_PAYMENTS_KEY: 50}


def test_sales_report_window() -> None:
    """Only tickets closed in [since, until) count; open tickets are valued whenever opened."""
    day = datetime(2026, 11, 27, 23, tzinfo=UTC)

    def closed(at: datetime, cents: int) -> dict[str, Any]:
        amount = {"amount": cents / 100, "paymentType": CARD.to_dict()}
        return {"closeDate": at.isoformat(), "payments": [amount], "items": []}

    tickets = [
        closed(day - timedelta(seconds=1), 100),
        closed(day, 200),
        closed(day + timedelta(hours=23, minutes=59), 400),
        closed(day + timedelta(days=1), 800),
        {"closeDate": None, "items": [ESPRESSO.item(2)], "discountRate": 0},
    ]
    report = sales_report(tickets, day, day + timedelta(days=1))
    assert report == {
        "currency": "EUR",
        "closed": 2,
        "takings": {"card": "6.00"},
        "total": "6.00",
        "open": {"count": 1, "value": "3.80"},
    }
    assert sales_report(tickets, day, None)["closed"] == 3


# --- over REST -----------------------------------------------------------------------------------


async def test_a_new_ticket_shows_its_money_fields(till: Till) -> None:
    """A new ticket has no payments, no rounding, the shop's currency and no discount."""
    ticket = await till.create_ticket("Table 1")
    assert (ticket["payments"], ticket["roundingAmount"]) == ([], 0)
    assert (ticket["currencyLabel"], ticket["discountRate"]) == ("EUR", 0)


async def test_close_with_payments_over_rest(till: Till, simulator: Simulator) -> None:
    """A close body splits the bill, no body pays cash; payments that do not add up are refused."""
    ticket = await till.create_ticket("Table 4", items=[TOTAL_1233["items"][0]])
    with pytest.raises(TillError) as err:
        await till.close_ticket(ticket["id"], [{"paymentType": "card", "amount": 1}])
    assert err.value.status == 400
    assert (await till.get_ticket(ticket["id"]))["closeDate"] is None
    closed = await till.close_ticket(
        ticket["id"], [{"paymentType": "card", "amount": 10}, {"paymentType": "cash"}]
    )
    assert [p["amount"] for p in closed["payments"]] == [10, 2.35]
    assert closed["roundingAmount"] == 0.02
    assert closed["_v"] == 2
    plain = await till.create_ticket("Table 5", items=[ESPRESSO.item(3)])
    paid = await till.close_ticket(plain["id"])
    assert paid["payments"] == [{"amount": 5.7, "paymentType": CASH.to_dict()}]
    assert paid["roundingAmount"] == 0
    assert simulator.state.tickets[plain["id"]]["payments"] == paid["payments"]


async def test_close_body_must_be_an_object(till: Till) -> None:
    """A close body that is not an object is a 400 problem."""
    ticket = await till.create_ticket("Table 6")
    with pytest.raises(TillError) as err:
        await till._api("POST", f"/tickets/{ticket['id']}/close", ["cash"])
    assert err.value.status == 400
    empty = await till._api("POST", f"/tickets/{ticket['id']}/close", {})
    assert empty["payments"] == [{"amount": 0, "paymentType": CASH.to_dict()}]


async def test_sales_control(till: Till) -> None:
    """`/_sim/sales` reports the takings since an instant, and the open tickets."""
    before = datetime.now(UTC) - timedelta(seconds=1)
    first = await till.create_ticket("Table 1", items=[ESPRESSO.item(1)])
    await till.close_ticket(first["id"], [{"paymentType": "card"}])
    second = await till.create_ticket("Table 2", items=[ESPRESSO.item(2), DEPOSIT.item(1)])
    await till.close_ticket(second["id"])
    await till.create_ticket("Table 3", items=[WINE.item(0.5)])
    # An instant without an offset is UTC.
    since = before.replace(tzinfo=None).isoformat()
    report = await till.sales(since)
    assert report == {
        "since": before.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "until": None,
        "currency": "EUR",
        "closed": 2,
        "takings": {"card": "1.90", "cash": "3.95"},
        "total": "5.85",
        "open": {"count": 1, "value": "8.00"},
    }
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert (await till.sales(later))["closed"] == 0
    window = await till.sales(before.isoformat(), before.isoformat())
    assert (window["closed"], window["takings"], window["total"]) == (0, {}, "0.00")


@pytest.mark.parametrize(
    ("query", "member"),
    [("", "since"), ("since=yesterday", "since"), ("since=2026-11-28T00:00:00Z&until=x", "until")],
)
async def test_sales_control_validation(till: Till, query: str, member: str) -> None:
    """A missing or unreadable instant is a 400 problem."""
    async with till._session.get(f"{till.url}/_sim/sales?{query}") as response:
        assert response.status == 400
        body = await response.json(content_type=None)
    assert body["errors"][0]["memberName"] == member
