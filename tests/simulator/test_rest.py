"""Tickets over REST: CRUD, close, versions, NData filters, paging, sorting, counting, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from tests.simulator.hubclient import login
from tests.till import Till, TillError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    import aiohttp

    from simulator.server import Simulator
    from tests.common import SimulatorFactory


async def _list(http: aiohttp.ClientSession, simulator: Simulator, token: str, query: str) -> Any:
    async with http.get(
        f"{simulator.url}/api/v1/tickets?{query}", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        body = await response.json(content_type=None)
        if response.status != 200:
            raise TillError(response.status, body)
        return body


async def test_create_get_update_close(till: Till, simulator: Simulator) -> None:
    """A ticket is created open at _v 1; updates and the close bump _v; close sets closeInfo."""
    ticket = await till.create_ticket("Table 1", note="birthday", externalId="ext-1")
    assert ticket["_v"] == 1
    assert ticket["name"] == "Table 1"
    assert ticket["note"] == "birthday"
    assert ticket["externalId"] == "ext-1"
    assert ticket["closeDate"] is None
    assert ticket["closeInfo"] is None
    assert ticket["originDeviceName"] == "P01"
    assert ticket["employee"] == {"userName": "admin"}
    assert len(ticket["id"]) == 24
    assert await till.get_ticket(ticket["id"]) == ticket
    item = {"name": "Espresso", "unitPrice": 1.6, "quantity": {"amount": 2}}
    updated = await till.update_ticket(ticket["id"], items=[item], _v=1)
    assert updated["_v"] == 2
    assert updated["items"] == [item]
    assert updated["openDate"] == ticket["openDate"]
    closed = await till.close_ticket(ticket["id"])
    assert closed["_v"] == 3
    assert closed["closeDate"] is not None
    assert closed["closeInfo"]["deviceName"] == "P01"
    assert closed["closeInfo"]["receiptNumber"] == 1
    assert simulator.state.tickets[ticket["id"]] == closed


async def test_put_creates_with_the_given_id(till: Till) -> None:
    """PUT on an unknown id creates the ticket (201)."""
    ticket = await till._api("PUT", "/tickets/my-own-id", {"name": "Bar 1"})
    assert ticket["id"] == "my-own-id"
    assert ticket["_v"] == 1


async def test_delete(till: Till, simulator: Simulator) -> None:
    """DELETE removes an open ticket (204); then it is 404."""
    ticket = await till.create_ticket("Table 2")
    await till.delete_ticket(ticket["id"])
    assert ticket["id"] not in simulator.state.tickets
    with pytest.raises(TillError) as err:
        await till.get_ticket(ticket["id"])
    assert err.value.status == 404
    assert "errorCode" not in err.value.body


@pytest.mark.parametrize("operation", ["update", "close", "delete"])
async def test_closed_tickets_are_read_only(till: Till, operation: str) -> None:
    """Updating, closing again or deleting a closed ticket is 400 errorCode 3."""
    ticket = await till.create_ticket("Table 3")
    await till.close_ticket(ticket["id"])
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "update": lambda: till.update_ticket(ticket["id"], note="late"),
        "close": lambda: till.close_ticket(ticket["id"]),
        "delete": lambda: till.delete_ticket(ticket["id"]),
    }
    with pytest.raises(TillError) as err:
        await calls[operation]()
    assert err.value.status == 400
    assert err.value.body["errorCode"] == 3
    assert err.value.body["errors"][0]["memberName"] == "CloseDate"


@pytest.mark.parametrize("operation", ["get", "close", "delete"])
async def test_unknown_ticket_is_404(till: Till, operation: str) -> None:
    """Reading, closing or deleting an unknown id is a 404 problem (PUT would create it)."""
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "get": lambda: till.get_ticket("missing"),
        "close": lambda: till.close_ticket("missing"),
        "delete": lambda: till.delete_ticket("missing"),
    }
    with pytest.raises(TillError) as err:
        await calls[operation]()
    assert err.value.status == 404
    assert err.value.body["status"] == 404
    assert "missing" in err.value.body["detail"]


async def test_version_mismatch(till: Till) -> None:
    """An update naming an old _v is refused with errorCode 6."""
    ticket = await till.create_ticket("Table 4")
    await till.update_ticket(ticket["id"], note="a")
    with pytest.raises(TillError) as err:
        await till.update_ticket(ticket["id"], note="b", _v=1)
    assert err.value.status == 400
    assert err.value.body["errorCode"] == 6


@pytest.mark.parametrize(
    ("body", "member"),
    [
        ({}, "Name"),
        ({"name": ""}, "Name"),
        ({"name": 5}, "Name"),
        ({"name": "T", "items": "espresso"}, "Items"),
        ([1], "body"),
    ],
)
async def test_create_validation(till: Till, body: Any, member: str) -> None:
    """A create needs a name; items must be a list; the body must be an object."""
    with pytest.raises(TillError) as err:
        await till._api("POST", "/tickets", body)
    assert err.value.status == 400
    assert err.value.body["errorCode"] == 3
    assert err.value.body["errors"][0]["memberName"] == member


async def test_bad_json_body(http: aiohttp.ClientSession, simulator: Simulator, token: str) -> None:
    """A body that is not JSON is a validation problem."""
    async with http.post(
        f"{simulator.url}/api/v1/tickets",
        data=b"{nope",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    ) as response:
        assert response.status == 400
        assert (await response.json(content_type=None))["errorCode"] == 3


async def test_tickets_need_a_token(http: aiohttp.ClientSession, simulator: Simulator) -> None:
    """Every resource route is 401 errorCode 1 without a token."""
    async with http.get(f"{simulator.url}/api/v1/tickets") as response:
        problem = await response.json(content_type=None)
    assert response.status == 401
    assert problem["errorCode"] == 1
    assert problem["instance"] == "/api/v1/tickets"
    assert problem["title"] == "Unauthorized"
    assert problem["traceId"].startswith("00-")


async def test_unknown_route_and_method(http: aiohttp.ClientSession, simulator: Simulator) -> None:
    """Unknown routes are 404 and wrong methods 405, both as problem+json."""
    async with http.get(f"{simulator.url}/api/v1/nothing") as response:
        assert response.status == 404
        assert response.content_type == "application/problem+json"
    async with http.patch(f"{simulator.url}/api/v1/tickets") as response:
        assert response.status == 405
        assert (await response.json(content_type=None))["status"] == 405


async def test_expired_license_refuses_tickets(till: Till) -> None:
    """With the license expired, resource calls are 403 errorCode 4."""
    await till.set_license_days(0)
    with pytest.raises(TillError) as err:
        await till.create_ticket("Table 5")
    assert err.value.status == 403
    assert err.value.body["errorCode"] == 4
    await till.activate_license()
    await till.create_ticket("Table 5")


@pytest.mark.parametrize(("prefix", "other"), [("/api/v1", "/api"), ("/api", "/api/v1")])
async def test_api_prefix(
    simulator_factory: SimulatorFactory, http: aiohttp.ClientSession, prefix: str, other: str
) -> None:
    """Resources are served under the configured prefix only; the other one is 404."""
    simulator = await simulator_factory(api_prefix=prefix)
    till = Till(http, simulator.url, api_prefix=prefix)
    await till.create_ticket("Table 6")
    async with http.get(f"{simulator.url}{prefix}/license") as response:
        assert response.status == 200
    token = (await login(http, simulator.url))["tokenId"]
    for path in ("/tickets", "/license"):
        async with http.get(
            f"{simulator.url}{other}{path}", headers={"Authorization": f"Bearer {token}"}
        ) as response:
            assert response.status == 404, path


# --- lists ---------------------------------------------------------------------------------------


@pytest.fixture
async def four_tickets(till: Till, simulator: Simulator) -> list[dict[str, Any]]:
    """Two open and two closed tickets with known dates."""
    tickets = [await till.create_ticket(name) for name in ("B", "A", "D", "C")]
    base = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    for index, ticket in enumerate(tickets):
        stored = simulator.state.tickets[ticket["id"]]
        stored["openDate"] = (base + timedelta(hours=index)).isoformat().replace("+00:00", "Z")
    for ticket in tickets[2:]:
        await till.close_ticket(ticket["id"])
    simulator.state.tickets[tickets[2]["id"]]["closeDate"] = "2026-11-27T20:00:00.000Z"
    simulator.state.tickets[tickets[3]["id"]]["closeDate"] = "2026-11-28T01:00:00.000Z"
    return [simulator.state.tickets[t["id"]] for t in tickets]


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("", ["B", "A", "D", "C"]),
        ("IsClosed=false", ["B", "A"]),
        ("IsClosed=eq:true", ["D", "C"]),
        ("isclosed=TRUE", ["D", "C"]),
        ("CloseDate=gte:2026-11-28T00:00:00Z", ["C"]),
        ("CloseDate=gt:2026-11-27T20:00:00Z", ["C"]),
        ("CloseDate=lt:2026-11-28T00:00:00%2B00:00", ["D"]),
        ("CloseDate=lte:2026-11-27T20:00:00", ["D"]),
        ("CloseDate=eq:null", ["B", "A"]),
        ("CloseDate=2026-11-27T20:00:00Z", ["D"]),
        ("OpenDate=gte:2026-11-27T09:00:00Z;lt:2026-11-27T11:00:00Z", ["A", "D"]),
        ("OpenDate=gte:2026-11-27T09:00:00Z&IsClosed=false", ["A"]),
        ("DeviceName=P01", ["B", "A", "D", "C"]),
        ("DeviceName=PDA01", []),
    ],
)
async def test_filters(
    http: aiohttp.ClientSession,
    simulator: Simulator,
    token: str,
    four_tickets: list[dict[str, Any]],
    *,
    query: str,
    names: list[str],
) -> None:
    """NData filters: eq/gt/gte/lt/lte, a bare value as eq, several conditions and fields."""
    reply = await _list(http, simulator, token, query)
    assert [t["name"] for t in reply["items"]] == names
    assert reply["count"] == reply["totalCount"] == len(names)


@pytest.mark.parametrize(
    "query",
    [
        "IsClosed=maybe",
        "IsClosed=gt:true",
        "CloseDate=gte:yesterday",
        "Colour=red",
        "$skip=-1",
        "$take=lots",
        "$sort=colour",
        "$sort=name:sideways",
    ],
)
async def test_bad_queries_are_400(
    http: aiohttp.ClientSession, simulator: Simulator, token: str, query: str
) -> None:
    """Unknown fields, bad values, operators, paging or sorting fail validation."""
    with pytest.raises(TillError) as err:
        await _list(http, simulator, token, query)
    assert err.value.status == 400
    assert err.value.body["errorCode"] == 3


async def test_count(
    http: aiohttp.ClientSession,
    simulator: Simulator,
    token: str,
    four_tickets: list[dict[str, Any]],
) -> None:
    """$count=true returns the number (totalCount, and count) without items."""
    reply = await _list(http, simulator, token, "IsClosed=false&$count=true")
    assert reply == {"items": [], "count": 2, "totalCount": 2}


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("$sort=name", ["A", "B", "C", "D"]),
        ("$sort=name:desc", ["D", "C", "B", "A"]),
        ("$sort=openDate:desc", ["C", "D", "A", "B"]),
        ("$sort=closeDate", ["D", "C", "B", "A"]),
        ("$sort=closeDate:desc", ["C", "D", "B", "A"]),
        ("$sort=closeDate:desc,name", ["C", "D", "A", "B"]),
        ("$sort=name:asc&$skip=1&$take=2", ["B", "C"]),
        ("$skip=3", ["C"]),
        ("$take=0", []),
    ],
)
async def test_sort_and_paging(
    http: aiohttp.ClientSession,
    simulator: Simulator,
    token: str,
    four_tickets: list[dict[str, Any]],
    *,
    query: str,
    names: list[str],
) -> None:
    """$sort (nulls last, several keys), $skip and $take; totalCount counts every match."""
    reply = await _list(http, simulator, token, query)
    assert [t["name"] for t in reply["items"]] == names
    assert reply["count"] == len(names)
    assert reply["totalCount"] == 4


async def test_take_is_capped(
    http: aiohttp.ClientSession, simulator: Simulator, token: str, till: Till
) -> None:
    """A page holds at most 100 items; totalCount tells the client to page on."""
    await till.load(3 * 101)
    reply = await _list(http, simulator, token, "$take=1000")
    assert reply["count"] == 100
    assert reply["totalCount"] == 101
    rest = await _list(http, simulator, token, "$skip=100")
    assert rest["count"] == 1
