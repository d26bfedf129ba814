"""Login, refresh, profile, logout, expiry and the one-session rule of till devices."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
import json
import time
from typing import TYPE_CHECKING, Any

import pytest

from tests.simulator.hubclient import login

if TYPE_CHECKING:
    import aiohttp
    from freezegun.api import FrozenDateTimeFactory

    from simulator.server import Simulator
    from tests.common import SimulatorFactory
    from tests.till import Till


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


async def _get(
    http: aiohttp.ClientSession, url: str, token: str | None, path: str = "/api/auth"
) -> tuple[int, Any]:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    async with http.get(f"{url}{path}", headers=headers) as response:
        return response.status, await response.json(content_type=None)


async def _post(http: aiohttp.ClientSession, url: str, path: str, body: Any) -> tuple[int, Any]:
    async with http.post(f"{url}{path}", json=body) as response:
        return response.status, await response.json(content_type=None)


async def test_login_reply(http: aiohttp.ClientSession, simulator: Simulator) -> None:
    """Login returns a JWT with exp, a refresh token and the user with the device's envName."""
    before = time.time()
    reply = await login(http, simulator.url)
    assert set(reply) == {"tokenId", "refreshToken", "user"}
    assert reply["user"]["userName"] == "admin"
    assert reply["user"]["device"] == {
        "name": "HomeAssistant",
        "envName": "Tool",
        "description": "Home Assistant integration",
        "settings": {},
    }
    claims = _claims(reply["tokenId"])
    assert before + 3600 <= claims["exp"] <= time.time() + 3601
    assert claims["unique_name"] == "admin"
    assert claims["device"] == "HomeAssistant"
    till = await login(http, simulator.url, "P01")
    assert till["user"]["device"]["envName"] == "CashRegister"


async def test_login_field_names_ignore_case(
    http: aiohttp.ClientSession, simulator: Simulator
) -> None:
    """ASP.NET model binding ignores case: camelCase bodies log in too."""
    status, reply = await _post(
        http,
        simulator.url,
        "/api/auth",
        {"userName": "admin", "password": "portos", "deviceName": "HomeAssistant"},
    )
    assert status == 200
    assert reply["user"]["device"]["name"] == "HomeAssistant"


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"UserName": "admin", "Password": "wrong", "DeviceName": "HomeAssistant"}, "Invalid user"),
        ({"UserName": "eve", "Password": "portos", "DeviceName": "HomeAssistant"}, "Invalid user"),
        ({"UserName": "admin", "Password": "portos", "DeviceName": "Nowhere"}, "Unknown device"),
        ({"UserName": "admin", "Password": "portos"}, "Unknown device"),
    ],
)
async def test_login_refused_with_401_errorcode_1(
    http: aiohttp.ClientSession, simulator: Simulator, body: dict[str, str], detail: str
) -> None:
    """Bad credentials and unknown devices are 401 problems with errorCode 1."""
    status, problem = await _post(http, simulator.url, "/api/auth", body)
    assert status == 401
    assert problem["errorCode"] == 1
    assert problem["status"] == 401
    assert detail in problem["detail"]


@pytest.mark.parametrize("body", [[1, 2], "text", None])
async def test_login_with_a_non_object_body_is_400(
    http: aiohttp.ClientSession, simulator: Simulator, body: Any
) -> None:
    """A body that is not an object fails validation (errorCode 3)."""
    status, problem = await _post(http, simulator.url, "/api/auth", body)
    assert status == 400
    assert problem["errorCode"] == 3


async def test_other_credentials(
    simulator_factory: SimulatorFactory, http: aiohttp.ClientSession
) -> None:
    """--user and --password set who can log in."""
    simulator = await simulator_factory(user="manager", password="s3cret")
    status, _ = await _post(
        http,
        simulator.url,
        "/api/auth",
        {"UserName": "manager", "Password": "s3cret", "DeviceName": "HomeAssistant"},
    )
    assert status == 200


async def test_profile_and_logout(http: aiohttp.ClientSession, simulator: Simulator) -> None:
    """GET /api/auth returns the profile; DELETE ends the session (token then 401)."""
    reply = await login(http, simulator.url)
    status, profile = await _get(http, simulator.url, reply["tokenId"])
    assert status == 200
    assert profile == reply["user"]
    async with http.delete(
        f"{simulator.url}/api/auth", headers={"Authorization": f"Bearer {reply['tokenId']}"}
    ) as response:
        assert response.status == 204
    status, problem = await _get(http, simulator.url, reply["tokenId"])
    assert status == 401
    assert problem["errorCode"] == 1
    status, _ = await _post(
        http,
        simulator.url,
        "/api/auth/refresh",
        {"tokenId": reply["tokenId"], "refreshToken": reply["refreshToken"]},
    )
    assert status == 401


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer x.y.z"},
        {"Authorization": "Bearer a.b.\u00e9"},
    ],
)
async def test_profile_without_a_valid_token(
    http: aiohttp.ClientSession, simulator: Simulator, headers: dict[str, str]
) -> None:
    """No token, an empty or other scheme, or a forged token: 401 errorCode 1 with a challenge."""
    async with http.get(f"{simulator.url}/api/auth", headers=headers) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.content_type == "application/problem+json"
        assert (await response.json())["errorCode"] == 1


async def test_rest_does_not_take_the_query_token(
    http: aiohttp.ClientSession, simulator: Simulator, token: str
) -> None:
    """The access_token query is for the hub only; REST needs the header."""
    status, _ = await _get(http, simulator.url, None, f"/api/auth?access_token={token}")
    assert status == 401


async def test_refresh_rotates_both_tokens(
    http: aiohttp.ClientSession, simulator: Simulator
) -> None:
    """Refresh returns a new pair in the login shape; the old pair stops working."""
    first = await login(http, simulator.url)
    status, second = await _post(
        http,
        simulator.url,
        "/api/auth/refresh",
        {"tokenId": first["tokenId"], "refreshToken": first["refreshToken"]},
    )
    assert status == 200
    assert set(second) == {"tokenId", "refreshToken", "user"}
    assert second["tokenId"] != first["tokenId"]
    assert second["refreshToken"] != first["refreshToken"]
    assert (await _get(http, simulator.url, second["tokenId"]))[0] == 200
    assert (await _get(http, simulator.url, first["tokenId"]))[0] == 401
    status, _ = await _post(
        http,
        simulator.url,
        "/api/auth/refresh",
        {"tokenId": first["tokenId"], "refreshToken": first["refreshToken"]},
    )
    assert status == 401


@pytest.mark.parametrize(
    "body",
    [
        {"tokenId": "x.y.z", "refreshToken": "r"},
        {"tokenId": None, "refreshToken": "r"},
        {"tokenId": "t"},
    ],
)
async def test_refresh_refused(
    http: aiohttp.ClientSession, simulator: Simulator, body: Any
) -> None:
    """A forged token or a missing field is refused with 401 errorCode 1."""
    status, problem = await _post(http, simulator.url, "/api/auth/refresh", body)
    assert status == 401
    assert problem["errorCode"] == 1


async def test_refresh_needs_the_matching_pair(
    http: aiohttp.ClientSession, simulator: Simulator
) -> None:
    """Another session's refresh token does not refresh this token."""
    first = await login(http, simulator.url)
    second = await login(http, simulator.url)
    status, _ = await _post(
        http,
        simulator.url,
        "/api/auth/refresh",
        {"tokenId": first["tokenId"], "refreshToken": second["refreshToken"]},
    )
    assert status == 401


@pytest.mark.freeze_time("2026-11-27 18:30:00.600+00:00")
async def test_token_expiry_and_refresh_after_it(
    freezer: FrozenDateTimeFactory, simulator_factory: SimulatorFactory, http: aiohttp.ClientSession
) -> None:
    """A token is refused once its exp has passed; refresh still works with the expired token."""
    simulator = await simulator_factory(token_lifetime=0.5)
    reply = await login(http, simulator.url)
    exp = _claims(reply["tokenId"])["exp"]
    assert isinstance(exp, int)
    status, _ = await _get(http, simulator.url, reply["tokenId"])
    assert status == 200
    freezer.move_to(datetime.fromtimestamp(exp, UTC))
    status, problem = await _get(http, simulator.url, reply["tokenId"])
    assert status == 401
    assert "expired" in problem["detail"]
    status, fresh = await _post(
        http,
        simulator.url,
        "/api/auth/refresh",
        {"tokenId": reply["tokenId"], "refreshToken": reply["refreshToken"]},
    )
    assert status == 200
    assert (await _get(http, simulator.url, fresh["tokenId"]))[0] == 200


@pytest.mark.parametrize(
    ("device", "single"),
    [("P01", True), ("PDA01", True), ("HomeAssistant", False), ("BackOffice", False)],
)
async def test_one_session_per_till_device(
    http: aiohttp.ClientSession, simulator: Simulator, device: str, single: bool
) -> None:
    """A login on a CashRegister/PDA device ends that device's previous session; others do not."""
    first = await login(http, simulator.url, device)
    other = await login(
        http, simulator.url, "HomeAssistant" if device != "HomeAssistant" else "P01"
    )
    second = await login(http, simulator.url, device)
    assert (await _get(http, simulator.url, first["tokenId"]))[0] == (401 if single else 200)
    assert (await _get(http, simulator.url, second["tokenId"]))[0] == 200
    assert (await _get(http, simulator.url, other["tokenId"]))[0] == 200


async def test_expire_tokens_control(
    http: aiohttp.ClientSession, simulator: Simulator, till: Till
) -> None:
    """/_sim/tokens/expire invalidates every access and refresh token; new logins work."""
    first = await login(http, simulator.url)
    await till.login()
    assert (await till.expire_tokens()) == {"expired": 2}
    assert (await _get(http, simulator.url, first["tokenId"]))[0] == 401
    status, _ = await _post(
        http,
        simulator.url,
        "/api/auth/refresh",
        {"tokenId": first["tokenId"], "refreshToken": first["refreshToken"]},
    )
    assert status == 401
    second = await login(http, simulator.url)
    assert (await _get(http, simulator.url, second["tokenId"]))[0] == 200
    assert len(simulator.state.auth.sessions) == 1
