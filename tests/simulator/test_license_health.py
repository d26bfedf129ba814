"""The license (read without login, activation, remaining days) and the health report."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from tests.till import Till, TillError

if TYPE_CHECKING:
    import aiohttp

    from simulator.server import Simulator
    from tests.common import SimulatorFactory


async def _get(http: aiohttp.ClientSession, url: str) -> Any:
    async with http.get(url) as response:
        assert response.status == 200
        return await response.json()


async def test_license_without_login(http: aiohttp.ClientSession, simulator: Simulator) -> None:
    """GET /license needs no login and has the documented fields."""
    shop_license = await _get(http, f"{simulator.url}/api/v1/license")
    assert set(shop_license) == {
        "shopId",
        "activationTime",
        "expirationTime",
        "verificationTime",
        "verificationInterval",
        "features",
        "remainingDays",
        "isExpired",
    }
    assert shop_license["shopId"] == 12345
    assert shop_license["remainingDays"] == 365
    assert shop_license["isExpired"] is False
    assert shop_license["verificationInterval"] == "1.00:00:00"
    assert {f["productSku"] for f in shop_license["features"]} == {"PORTOS-GASTRO", "PORTOS-API"}
    expires = datetime.fromisoformat(shop_license["expirationTime"])
    activated = datetime.fromisoformat(shop_license["activationTime"])
    assert expires - activated >= timedelta(days=365)


@pytest.mark.parametrize(
    ("days", "remaining", "expired"), [(10, 10, False), (0, 0, True), (-3, 0, True)]
)
async def test_license_days_flag(
    simulator_factory: SimulatorFactory,
    http: aiohttp.ClientSession,
    days: int,
    remaining: int,
    expired: bool,
) -> None:
    """--license-days and --shop-id shape the license; 0 or less is expired."""
    simulator = await simulator_factory(license_days=days, shop_id=777)
    shop_license = await _get(http, f"{simulator.url}/api/v1/license")
    assert shop_license["shopId"] == 777
    assert shop_license["remainingDays"] == remaining
    assert shop_license["isExpired"] is expired


async def test_activate_renews(
    http: aiohttp.ClientSession, simulator: Simulator, till: Till
) -> None:
    """POST /license/activate renews to 365 days with a new expiration; it needs a login."""
    expired = await till.set_license_days(0)
    assert expired["isExpired"] is True
    async with http.post(f"{simulator.url}/api/v1/license/activate") as response:
        assert response.status == 401
    shop_license = await till.activate_license()
    assert shop_license["remainingDays"] == 365
    assert shop_license["isExpired"] is False
    assert shop_license["expirationTime"] > expired["expirationTime"]
    assert await _get(http, f"{simulator.url}/api/v1/license") == shop_license


@pytest.mark.parametrize("body", [{"days": "many"}, {"days": True}, [], {}])
async def test_license_control_validation(till: Till, body: Any) -> None:
    """/_sim/license needs an integer number of days."""
    with pytest.raises(TillError) as err:
        await till._control("license", body)
    assert err.value.status == 400


async def test_health_default(http: aiohttp.ClientSession, simulator: Simulator) -> None:
    """Health is 200 without login, Healthy, with a license entry spelling remaningDays."""
    report = await _get(http, f"{simulator.url}/api/v2/health")
    assert report["status"] == "Healthy"
    assert set(report["entries"]) == {"diskstorage", "license", "fiscalPrinters", "orderEndpoints"}
    shop_license = report["entries"]["license"]
    assert shop_license["status"] == "Healthy"
    assert shop_license["data"]["remaningDays"] == 365
    assert "expirationDate" in shop_license["data"]


@pytest.mark.parametrize(("days", "status"), [(5, "Degraded"), (0, "Unhealthy"), (100, "Healthy")])
async def test_health_follows_the_license(
    http: aiohttp.ClientSession, simulator: Simulator, till: Till, days: int, status: str
) -> None:
    """A license near expiry degrades health; an expired one makes it unhealthy (still 200)."""
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
