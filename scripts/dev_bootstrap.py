"""Dev-only: onboards a fresh Home Assistant and adds PORTOS through its config flow, over HTTP.

It talks to HA exactly as the UI does (onboarding API, then the config-entry flow API), so the
integration is set up by its real config flow against the simulator.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import aiohttp

CLIENT_ID = "http://127.0.0.1/"
DEV_USER = "dev"
DEV_PASSWORD = "dev"  # noqa: S105 - a throwaway local dev login, printed by scripts/develop


async def _wait_for(session: aiohttp.ClientSession, url: str, within: float) -> None:
    """Poll until the URL answers at all."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            async with session.get(url) as resp:
                if resp.status < 500:  # noqa: PLR2004
                    return
        except aiohttp.ClientError:
            pass
        if asyncio.get_running_loop().time() > deadline:
            raise SystemExit(f"{url} did not come up within {within:.0f} s")
        await asyncio.sleep(1)


async def _token(session: aiohttp.ClientSession, ha: str) -> str | None:
    """Onboard the owner on a fresh HA and return an access token; None if already onboarded."""
    async with session.get(f"{ha}/api/onboarding") as resp:
        steps = await resp.json()
    if any(step["step"] == "user" and step["done"] for step in steps):
        return None
    body = {
        "client_id": CLIENT_ID,
        "name": "Developer",
        "username": DEV_USER,
        "password": DEV_PASSWORD,
        "language": "en",
    }
    async with session.post(f"{ha}/api/onboarding/users", json=body) as resp:
        resp.raise_for_status()
        code = (await resp.json())["auth_code"]
    form = {"grant_type": "authorization_code", "code": code, "client_id": CLIENT_ID}
    async with session.post(f"{ha}/auth/token", data=form) as resp:
        resp.raise_for_status()
        token: str = (await resp.json())["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    for step, payload in (
        ("core_config", {}),
        ("analytics", {}),
        ("integration", {"client_id": CLIENT_ID, "redirect_uri": CLIENT_ID}),
    ):
        async with session.post(
            f"{ha}/api/onboarding/{step}", json=payload, headers=headers
        ) as resp:
            await resp.read()
    return token


async def _add_portos(session: aiohttp.ClientSession, ha: str, token: str, portos: str) -> None:
    """Run the PORTOS config flow with the simulator's default login."""
    headers = {"Authorization": f"Bearer {token}"}
    async with session.post(
        f"{ha}/api/config/config_entries/flow", json={"handler": "portos"}, headers=headers
    ) as resp:
        resp.raise_for_status()
        flow: dict[str, Any] = await resp.json()
    data = {
        "url": portos,
        "username": "admin",
        "password": "portos",
        "device_name": "HomeAssistant",
        "verify_ssl": True,
    }
    async with session.post(
        f"{ha}/api/config/config_entries/flow/{flow['flow_id']}", json=data, headers=headers
    ) as resp:
        resp.raise_for_status()
        result: dict[str, Any] = await resp.json()
    print(f"PORTOS config flow: {result.get('type')} {result.get('title') or result.get('errors')}")


async def _main(ha: str, portos: str) -> int:
    """Wait for both servers, onboard HA and add PORTOS (first run only)."""
    async with aiohttp.ClientSession() as session:
        await _wait_for(session, f"{portos}/api/v2/health", 60)
        await _wait_for(session, f"{ha}/api/onboarding", 600)
        token = await _token(session, ha)
        if token is None:
            print("Home Assistant is already onboarded; PORTOS was added on the first run.")
            return 0
        await _add_portos(session, ha, token, portos)
    return 0


def main() -> int:
    """Parse the two addresses and bootstrap."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ha", required=True, help="Home Assistant base URL")
    parser.add_argument("--portos", required=True, help="PORTOS (simulator) base URL")
    args = parser.parse_args()
    return asyncio.run(_main(args.ha, args.portos))


if __name__ == "__main__":
    sys.exit(main())
