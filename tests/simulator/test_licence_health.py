"""The licence (read without login, activation, remaining days) and the health report."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from tests.till import Till, TillError

if TYPE_CHECKING:
    import aiohttp

    from simulator.server import Simulator
    from tests.conftest import SimulatorFactory


async def _get(http: aiohttp.ClientSession, url: str) -> Any:
    async with http.get(url) as response:
        assert response.status == 200
        return await response.json()


async def test_licence_without_login(http: aiohttp.ClientSession, simulator: Simulator) -> None:
    """GET /license needs no login and has the documented fields."""
    licence = await _get(http, f"{simulator.url}/api/v1/license")
    assert set(licence) == {
        "shopId",
        "activationTime",
        "expirationTime",
        "verificationTime",
        "verificationInterval",
        "features",
        "remainingDays",
        "isExpired",
    }
    assert licence["shopId"] == 12345
    assert licence["remainingDays"] == 365
    assert licence["isExpired"] is False
    assert licence["verificationInterval"] == "1.00:00:00"
    assert {f["productSku"] for f in licence["features"]} == {"PORTOS-GASTRO", "PORTOS-API"}
    expires = datetime.fromisoformat(licence["expirationTime"])
    activated = datetime.fromisoformat(licence["activationTime"])
    assert expires - activated >= timedelta(days=365)


@pytest.mark.parametrize(
    ("days", "remaining", "expired"), [(10, 10, False), (0, 0, True), (-3, 0, True)]
)
async def test_licence_days_flag(
    simulator_factory: SimulatorFactory,
    http: aiohttp.ClientSession,
    days: int,
    remaining: int,
    expired: bool,
) -> None:
    """--license-days and --shop-id shape the licence; 0 or less is expired."""
    simulator = await simulator_factory(license_days=days, shop_id=777)
    licence = await _get(http, f"{simulator.url}/api/v1/license")
    assert licence["shopId"] == 777
    assert licence["remainingDays"] == remaining
    assert licence["isExpired"] is expired


async def test_activate_renews(
    http: aiohttp.ClientSession, simulator: Simulator, till: Till
) -> None:
    """POST /license/activate renews to 365 days with a new expiration; it needs a login."""
    expired = await till.set_license_days(0)
    assert expired["isExpired"] is True
    async with http.post(f"{simulator.url}/api/v1/license/activate") as response:
        assert response.status == 401
    licence = await till.activate_license()
    assert licence["remainingDays"] == 365
    assert licence["isExpired"] is False
    assert licence["expirationTime"] > expired["expirationTime"]
    assert await _get(http, f"{simulator.url}/api/v1/license") == licence


@pytest.mark.parametrize("body", [{"days": "many"}, {"days": True}, [], {}])
async def test_licence_control_validation(till: Till, body: Any) -> None:
    """/_sim/license needs an integer number of days."""
    with pytest.raises(TillError) as err:
        await till._control("license", body)
    assert err.value.status == 400


async def test_health_default(http: aiohttp.ClientSession, simulator: Simulator) -> None:
    """Health is 200 without login, Healthy, with a licence entry spelling remaningDays."""
    report = await _get(http, f"{simulator.url}/api/v2/health")
    assert report["status"] == "Healthy"
    assert set(report["entries"]) == {"diskstorage", "license", "fiscalPrinters", "orderEndpoints"}
    licence = report["entries"]["license"]
    assert licence["status"] == "Healthy"
    assert licence["data"]["remaningDays"] == 365
    assert "expirationDate" in licence["data"]


@pytest.mark.parametrize(("days", "status"), [(5, "Degraded"), (0, "Unhealthy"), (100, "Healthy")])
async def test_health_follows_the_licence(
    http: aiohttp.ClientSession, simulator: Simulator, till: Till, days: int, status: str
) -> None:
    """A licence near expiry degrades health; an expired one makes it unhealthy (still 200)."""
    await till.set_license_days(days)
    report = await _get(http, f"{simulator.url}/api/v2/health")
    assert report["status"] == status
    assert report["entries"]["license"]["status"] == status
    assert report["entries"]["license"]["data"]["remaningDays"] == max(days, 0)


@pytest.mark.parametrize("status", ["Degraded", "Unhealthy", "Healthy"])
async def test_health_control(
    http: aiohttp.ClientSession, simulator: Simulator, till: Till, status: str
) -> None:
    """/_sim/health forces the overall status; null returns to the computed one."""
    assert await till.set_health(status) == {"status": status}
    assert (await _get(http, f"{simulator.url}/api/v2/health"))["status"] == status
    await till.set_license_days(0)
    assert (await _get(http, f"{simulator.url}/api/v2/health"))["status"] == status
    assert await till.set_health(None) == {"status": None}
    assert (await _get(http, f"{simulator.url}/api/v2/health"))["status"] == "Unhealthy"


@pytest.mark.parametrize("body", [{"status": "healthy"}, {"status": 1}, [], {}])
async def test_health_control_validation(till: Till, body: Any) -> None:
    """/_sim/health takes only the three statuses (exact spelling) or null."""
    with pytest.raises(TillError) as err:
        await till._control("health", body)
    assert err.value.status == 400
