"""PortosClient against the PORTOS simulator over 127.0.0.1: auth, refresh, prefixes, counts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
import logging
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from custom_components.portos.api import client as client_module
from custom_components.portos.api.client import PortosClient
from custom_components.portos.api.exceptions import (
    PortosAuthenticationError,
    PortosConnectionError,
    PortosLicenseExpiredError,
    PortosServerError,
    PortosWrongDeviceTypeError,
)
from custom_components.portos.api.models import HealthStatus
from tests.till import Till

if TYPE_CHECKING:
    from freezegun.api import FrozenDateTimeFactory

    from simulator.server import Simulator
    from tests.common import SimulatorFactory

PASSWORD = "portos"
# Token lifetimes are 2 s here: the clock is frozen and moved past half of one, not waited for.
FROZEN = "2026-11-27 18:30:00+00:00"


@pytest.fixture
def client(simulator: Simulator, session: aiohttp.ClientSession) -> PortosClient:
    """Return a client for the default simulator, given its URL with a trailing slash."""
    return PortosClient(session, f"{simulator.url}/", "admin", PASSWORD)


def sessions(sim: Simulator) -> list[Any]:
    """Return the simulator's live sessions."""
    return list(sim.state.auth.sessions)


async def bearer_works(session: aiohttp.ClientSession, sim: Simulator, token: str) -> bool:
    """Tell whether the simulator accepts a bearer token (GET /api/auth)."""
    async with session.get(
        f"{sim.url}/api/auth", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        return response.status == 200


# --- login ---------------------------------------------------------------------------------------


async def test_login_on_a_tool_device(client: PortosClient, simulator: Simulator) -> None:
    assert client.url == simulator.url
    assert client.hub_url == f"{simulator.url}/signalr/v1/mainHub"
    auth = await client.login()
    assert auth.user_name == "admin"
    assert (auth.device_name, auth.device_env) == ("HomeAssistant", "Tool")
    assert await client.get_token() == auth.token
    assert len(sessions(simulator)) == 1


@pytest.mark.parametrize(("device", "env"), [("P01", "CashRegister"), ("PDA01", "PDA")])
async def test_till_device_is_refused_and_not_kept(
    simulator: Simulator, session: aiohttp.ClientSession, device: str, env: str
) -> None:
    client = PortosClient(session, simulator.url, "admin", PASSWORD, device)
    with pytest.raises(PortosWrongDeviceTypeError) as err:
        await client.login()
    assert (err.value.device_name, err.value.env_name) == (device, env)
    assert isinstance(err.value, PortosAuthenticationError)
    # The session the login made was ended at once: the device is free again.
    assert sessions(simulator) == []


async def test_till_is_thrown_out_once_at_most(
    simulator: Simulator, session: aiohttp.ClientSession, till: Till
) -> None:
    await till.create_ticket("Table 1")
    kicked = till.token
    client = PortosClient(session, simulator.url, "admin", PASSWORD, "P01")
    with pytest.raises(PortosWrongDeviceTypeError):
        await client.login()
    # That first login ended the till's session (PORTOS does so, and no client can know the
    # device's type before logging in); the cashier logs back in.
    assert kicked is not None
    assert not await bearer_works(session, simulator, kicked)
    await till.create_ticket("Table 2")
    token = till.token
    assert token is not None
    assert token != kicked
    # The same client never logs in on the till again, whatever it is asked.
    for attempt in (client.login, client.get_token, client.get_open_tickets):
        with pytest.raises(PortosWrongDeviceTypeError):
            await attempt()
    assert await bearer_works(session, simulator, token)
    assert [s.device.name for s in sessions(simulator)] == ["P01"]


@pytest.mark.parametrize(
    ("user", "password", "device"),
    [
        ("admin", "wrong-password", "HomeAssistant"),
        ("nobody", PASSWORD, "HomeAssistant"),
        ("admin", PASSWORD, "NoSuchDevice"),
    ],
    ids=["password", "user", "device"],
)
async def test_bad_credentials(
    simulator: Simulator, session: aiohttp.ClientSession, user: str, password: str, device: str
) -> None:
    client = PortosClient(session, simulator.url, user, password, device)
    with pytest.raises(PortosAuthenticationError) as err:
        await client.login()
    assert type(err.value) is PortosAuthenticationError
    assert password not in str(err.value)
    assert "HTTP 401" in str(err.value)


async def test_concurrent_callers_share_one_login(
    client: PortosClient, simulator: Simulator
) -> None:
    tokens = await asyncio.gather(*(client.get_token() for _ in range(5)))
    assert len(set(tokens)) == 1
    assert len(sessions(simulator)) == 1


# --- token refresh -------------------------------------------------------------------------------


@pytest.mark.freeze_time(FROZEN)
async def test_refresh_before_exp(
    freezer: FrozenDateTimeFactory,
    simulator_factory: SimulatorFactory,
    session: aiohttp.ClientSession,
) -> None:
    sim = await simulator_factory(token_lifetime=2)
    client = PortosClient(session, sim.url, "admin", PASSWORD)
    first = await client.get_token()
    assert await client.get_token() == first
    # Past half the lifetime, before exp: every concurrent caller gets the one refreshed token.
    freezer.tick(1.6)
    tokens = await asyncio.gather(*(client.get_token() for _ in range(4)))
    assert len(set(tokens)) == 1
    assert tokens[0] != first
    assert len(sessions(sim)) == 1  # a refresh, not a second login
    assert await bearer_works(session, sim, tokens[0])
    assert not await bearer_works(session, sim, first)
    assert len(await client.get_open_tickets()) == 0


@pytest.mark.freeze_time(FROZEN)
async def test_refresh_refused_logs_in_again(
    freezer: FrozenDateTimeFactory,
    simulator_factory: SimulatorFactory,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="custom_components.portos.api")
    sim = await simulator_factory(token_lifetime=2)
    client = PortosClient(session, sim.url, "admin", PASSWORD)
    first = await client.get_token()
    await Till(session, sim.url).expire_tokens()
    freezer.tick(1.6)
    token = await client.get_token()
    assert token != first
    assert "Token refresh refused (PortosAuthenticationError); logging in again" in caplog.text
    assert await bearer_works(session, sim, token)


@pytest.mark.freeze_time(FROZEN)
async def test_refresh_connection_error_keeps_the_session(
    freezer: FrozenDateTimeFactory,
    simulator_factory: SimulatorFactory,
    session: aiohttp.ClientSession,
) -> None:
    sim = await simulator_factory(token_lifetime=2)
    client = PortosClient(session, sim.url, "admin", PASSWORD)
    first = await client.get_token()
    await sim.stop()
    freezer.tick(1.6)
    with pytest.raises(PortosConnectionError):
        await client.get_token()
    await sim.start()
    # Back up: the kept refresh token still works, no new login.
    token = await client.get_token()
    assert token != first
    assert len(sessions(sim)) == 1


async def test_protected_call_retries_once_after_a_401(
    client: PortosClient, simulator: Simulator, till: Till, session: aiohttp.ClientSession
) -> None:
    first = await client.get_token()
    await till.expire_tokens()
    # The stale token gets a 401; the refresh is refused too; a new login makes the retry work.
    assert len(await client.get_open_tickets()) == 0
    token = await client.get_token()
    assert token != first
    assert await bearer_works(session, simulator, token)


async def test_force_new(client: PortosClient, simulator: Simulator) -> None:
    first = await client.get_token()
    second = await client.get_token(force_new=True)
    assert second != first
    assert len(sessions(simulator)) == 1  # renewed by a refresh
    # Callers that all saw the same rejected token share one renewal.
    tokens = await asyncio.gather(*(client.get_token(force_new=True) for _ in range(3)))
    assert len(set(tokens)) == 1
    assert tokens[0] not in (first, second)
    assert len(sessions(simulator)) == 1


async def test_force_new_without_a_token_logs_in(client: PortosClient) -> None:
    token = await client.get_token(force_new=True)
    assert await client.get_token() == token


async def test_relogin_fails_when_the_password_changed(
    client: PortosClient, simulator: Simulator, till: Till
) -> None:
    await client.get_token()
    await till.expire_tokens()
    simulator.config.password = "changed"
    with pytest.raises(PortosAuthenticationError):
        await client.get_open_tickets()


async def test_logout(
    client: PortosClient, simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    await client.logout()  # nothing to end
    token = await client.get_token()
    await client.logout()
    assert sessions(simulator) == []
    assert not await bearer_works(session, simulator, token)
    # A later call logs in again.
    assert await client.get_token() != token


async def test_logout_after_the_session_expired(
    client: PortosClient, simulator: Simulator, till: Till, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="custom_components.portos.api")
    await client.get_token()
    await till.expire_tokens()
    await client.logout()
    assert "the session had already ended" in caplog.text


# --- prefixes ------------------------------------------------------------------------------------


async def test_prefix_api_v1(client: PortosClient) -> None:
    assert client.api_prefix is None
    await client.get_open_tickets()
    assert client.api_prefix == "/api/v1"


async def test_prefix_falls_back_to_api_once(
    simulator_factory: SimulatorFactory,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="custom_components.portos.api")
    sim = await simulator_factory(api_prefix="/api")
    client = PortosClient(session, sim.url, "admin", PASSWORD)
    shop_license = await client.get_license()
    assert shop_license.shop_id == 12345
    assert client.api_prefix == "/api"
    assert len(await client.get_open_tickets()) == 0
    assert await client.get_open_tickets() == []
    fallbacks = [r for r in caplog.records if "trying the next API prefix" in r.getMessage()]
    assert len(fallbacks) == 1


# --- tickets -------------------------------------------------------------------------------------


async def test_counts_follow_the_till(client: PortosClient, till: Till) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    assert len(await client.get_open_tickets()) == 0
    assert await client.get_tickets_closed_since(start) == []
    assert len(await client.get_tickets_closed_since(start)) == 0
    tickets = [await till.create_ticket(f"Table {n}") for n in range(1, 6)]
    assert len(await client.get_open_tickets()) == 5
    await till.close_ticket(tickets[0]["id"])
    await till.close_ticket(tickets[1]["id"])
    await till.delete_ticket(tickets[2]["id"])
    await till.update_ticket(tickets[3]["id"], name="Table 4b")
    assert len(await client.get_open_tickets()) == 2
    closed = await client.get_tickets_closed_since(start)
    assert [t.id for t in closed] == [tickets[0]["id"], tickets[1]["id"]]
    assert all(t.closed and t.version == 2 for t in closed)
    assert len(await client.get_tickets_closed_since(start)) == 2
    # The same moment in another zone lists the same; a later one lists nothing.
    cest = timezone(timedelta(hours=2))
    assert len(await client.get_tickets_closed_since(start.astimezone(cest))) == 2
    assert len(await client.get_tickets_closed_since(start.astimezone(cest))) == 2
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert await client.get_tickets_closed_since(later) == []
    assert len(await client.get_tickets_closed_since(later)) == 0


@pytest.mark.freeze_time(FROZEN)
async def test_closed_since_filter(
    freezer: FrozenDateTimeFactory, client: PortosClient, till: Till
) -> None:
    early = await till.create_ticket("Early")
    await till.close_ticket(early["id"])
    freezer.tick(0.05)
    cut = datetime.now(UTC)
    freezer.tick(0.05)
    late = await till.create_ticket("Late")
    closed = await till.close_ticket(late["id"])
    assert datetime.fromisoformat(closed["closeDate"]) >= cut
    assert [t.id for t in await client.get_tickets_closed_since(cut)] == [late["id"]]
    earlier = await client.get_tickets_closed_since(cut - timedelta(minutes=5))
    assert {t.id for t in earlier} == {early["id"], late["id"]}


async def test_closed_since_pages(client: PortosClient, till: Till) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    await till.login()  # once: concurrent logins on a till would end each other's sessions
    created = await asyncio.gather(*(till.create_ticket(f"Table {n}") for n in range(105)))
    for ticket in created:
        await till.close_ticket(ticket["id"])
    closed = await client.get_tickets_closed_since(start)
    assert sorted(t.id for t in closed) == sorted(t["id"] for t in created)


async def test_get_open_tickets_pages(
    client: PortosClient, simulator: Simulator, till: Till
) -> None:
    await till.login()  # once: concurrent logins on a till would end each other's sessions
    created = await asyncio.gather(*(till.create_ticket(f"Table {n}") for n in range(130)))
    closed = created[:7]
    for ticket in closed:
        await till.close_ticket(ticket["id"])
    tickets = await client.get_open_tickets()
    # 123 open tickets take two pages of 100.
    assert len(tickets) == 123
    assert {t.id for t in tickets} == {t["id"] for t in created[7:]}
    assert all(not t.closed for t in tickets)
    assert all(t.version == 1 for t in tickets)
    assert len(await client.get_open_tickets()) == 123


async def closing_between_pages(
    simulator: Simulator,
    till: Till,
    monkeypatch: pytest.MonkeyPatch,
    *,
    per_listing: int,
    listings_with_closes: int,
) -> tuple[PortosClient, list[dict[str, Any]], list[int], aiohttp.ClientSession]:
    """Return a client whose open-ticket listings see tickets close after their first page.

    Pages are five tickets long; after the first page of each of the first `listings_with_closes`
    listings, the till closes the `per_listing` oldest open tickets, as a cashier would while the
    listing is under way. Also returns the tickets created (twenty), how many listings started,
    and the session to close.
    """
    monkeypatch.setattr(client_module, "TICKETS_PAGE_SIZE", 5)
    await till.login()
    created = [await till.create_ticket(f"Table {n}") for n in range(20)]
    listings: list[int] = []

    async def after_page(
        _session: aiohttp.ClientSession,
        _context: object,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        query = params.url.query
        if query.get("IsClosed") != "eq:false" or query.get("$skip") != "0":
            return
        listings.append(1)
        if len(listings) > listings_with_closes:
            return
        still_open = [t for t in created if simulator.state.tickets[t["id"]]["closeDate"] is None]
        for ticket in still_open[:per_listing]:
            await till.close_ticket(ticket["id"])

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(after_page)
    traced = aiohttp.ClientSession(trace_configs=[trace])
    return PortosClient(traced, simulator.url, "admin", PASSWORD), created, listings, traced


async def test_open_tickets_listed_while_tickets_close(
    simulator: Simulator, till: Till, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A close shifts the later tickets one place forward: reading on at $skip=5 would miss the
    # one that moved onto the first page. The move is seen and the list read again.
    client, created, listings, traced = await closing_between_pages(
        simulator, till, monkeypatch, per_listing=1, listings_with_closes=1
    )
    async with traced:
        tickets = await client.get_open_tickets()
    server = {i for i, t in simulator.state.tickets.items() if t["closeDate"] is None}
    assert server == {t["id"] for t in created[1:]}
    assert [t.id for t in tickets] == [t["id"] for t in created[1:]]
    assert len(listings) == 2


async def test_open_tickets_still_right_on_the_last_listing(
    simulator: Simulator, till: Till, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The list moves during the first two listings only: the third, last one is complete.
    client, created, listings, traced = await closing_between_pages(
        simulator, till, monkeypatch, per_listing=1, listings_with_closes=2
    )
    async with traced:
        tickets = await client.get_open_tickets()
    assert len(listings) == 3
    assert [t.id for t in tickets] == [t["id"] for t in created[2:]]


async def test_open_tickets_kept_moving_for_every_listing(
    simulator: Simulator,
    till: Till,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Two closes between every first and second page, three listings in all: the last one is
    # kept as it came (missing one ticket; the next resync corrects it), never an endless loop.
    caplog.set_level(logging.DEBUG, logger="custom_components.portos.api")
    client, created, listings, traced = await closing_between_pages(
        simulator, till, monkeypatch, per_listing=2, listings_with_closes=3
    )
    async with traced:
        tickets = await client.get_open_tickets()
    assert len(listings) == 3
    expected = created[4:9] + created[10:]
    assert [t.id for t in tickets] == [t["id"] for t in expected]
    moved = [r for r in caplog.records if "changed while it was read" in r.getMessage()]
    assert len(moved) == 3


# --- license and health --------------------------------------------------------------------------


async def test_license(client: PortosClient, till: Till, simulator: Simulator) -> None:
    shop_license = await client.get_license()
    assert shop_license.shop_id == 12345
    assert shop_license.remaining_days == 365
    assert shop_license.is_expired is False
    assert sessions(simulator) == []  # reading the license needs no login
    await till.set_license_days(3)
    assert (await client.get_license()).remaining_days == 3
    await till.activate_license()
    assert (await client.get_license()).remaining_days == 365


async def test_expired_license(
    simulator_factory: SimulatorFactory, session: aiohttp.ClientSession
) -> None:
    sim = await simulator_factory(license_days=0, shop_id=777)
    client = PortosClient(session, sim.url, "admin", PASSWORD)
    shop_license = await client.get_license()
    assert shop_license.shop_id == 777
    assert shop_license.is_expired is True
    assert shop_license.remaining_days == 0
    with pytest.raises(PortosLicenseExpiredError) as err:
        await client.get_open_tickets()
    assert (err.value.status, err.value.error_code) == (403, 4)
    assert client.api_prefix == "/api/v1"
    # Activating renews it, and the server serves tickets again.
    await Till(session, sim.url).activate_license()
    assert (await client.get_license()).is_expired is False
    assert len(await client.get_open_tickets()) == 0


async def test_health(client: PortosClient, till: Till) -> None:
    health = await client.get_health()
    assert health.status is HealthStatus.HEALTHY
    assert health.entries["license"].status is HealthStatus.HEALTHY
    await till.set_health("Degraded")
    assert (await client.get_health()).status is HealthStatus.DEGRADED


# --- errors --------------------------------------------------------------------------------------


async def test_wrong_base_path_is_a_404(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    client = PortosClient(session, f"{simulator.url}/nothing", "admin", PASSWORD)
    with pytest.raises(PortosServerError) as err:
        await client.get_health()
    assert err.value.status == 404


async def test_stopped_server_is_a_connection_error(
    client: PortosClient, simulator: Simulator
) -> None:
    await client.get_token()
    await simulator.stop()
    with pytest.raises(PortosConnectionError) as err:
        await client.get_open_tickets()
    assert isinstance(err.value.__cause__, aiohttp.ClientError | OSError)
    await simulator.start()
    assert len(await client.get_open_tickets()) == 0


# --- secrets -------------------------------------------------------------------------------------


@pytest.mark.freeze_time(FROZEN)
async def test_no_secret_in_logs_or_errors(
    freezer: FrozenDateTimeFactory,
    simulator_factory: SimulatorFactory,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    sim = await simulator_factory(token_lifetime=2)
    till = Till(session, sim.url)
    client = PortosClient(session, sim.url, "admin", PASSWORD)
    secrets: set[str] = {PASSWORD}
    errors: list[str] = []

    def remember() -> None:
        auth = client._auth
        assert auth is not None
        secrets.update((auth.token, auth.refresh_token))

    await client.login()
    remember()
    await till.create_ticket("Table 1")
    freezer.tick(1.6)
    await client.get_open_tickets()  # refreshed on the way
    remember()
    await till.expire_tokens()
    await client.get_open_tickets()  # 401, refused refresh, new login
    remember()
    await client.get_token(force_new=True)
    remember()
    await client.get_license()
    await client.logout()
    for bad in (
        PortosClient(session, sim.url, "admin", "wrong-" + PASSWORD),
        PortosClient(session, sim.url, "admin", PASSWORD, "P01"),
    ):
        with pytest.raises(PortosAuthenticationError) as err:
            await bad.login()
        errors.append(str(err.value))
        errors.append(repr(err.value))
    secrets.add("wrong-" + PASSWORD)
    assert len(secrets) >= 8
    text = "\n".join([r.getMessage() for r in caplog.records] + errors)
    assert "Logged in to" in text
    assert "Token refreshed" in text
    assert "Token valid for 2 s; refreshing it after 1 s" in text or (
        "Token valid for 3 s; refreshing it after 2 s" in text
    )
    for secret in secrets:
        assert secret not in text
