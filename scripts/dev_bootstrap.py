"""Dev-only: prepares a Home Assistant configuration and brings it to "PORTOS added", over HTTP.

`prepare` (before Home Assistant starts) writes the configuration folder: `configuration.yaml`, the
link to this repository's integration and, on a fresh folder only, onboarding storage that marks
every onboarding step except the owner account as done. Home Assistant's own onboarding of the
"core config" step would set up Shopping list, Google Translate, Met.no and Radio Browser, which
need libraries (hassil, mutagen) and an internet connection that a dev machine or CI does not have.

`start` (while Home Assistant starts) talks to it as the UI does: it creates the owner `dev`/`dev`
through the onboarding API on the first run, or logs in through the auth login flow on later runs,
then adds PORTOS through its real config flow against the simulator unless an entry exists already.
"""

from __future__ import annotations

import argparse
import asyncio
from http import HTTPStatus
import json
import os
from pathlib import Path
import sys
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
INTEGRATION = ROOT / "custom_components" / "portos"

CLIENT_ID = "http://127.0.0.1/"
DEV_USER = "dev"
DEV_PASSWORD = "dev"  # noqa: S105 - a throwaway local dev login, printed by scripts/develop

# The onboarding steps Home Assistant 2026.2 knows; `user` is left to the onboarding API.
ONBOARDING_STORE_VERSION = 4
ONBOARDING_DONE_BEFORE_START = ("core_config", "analytics", "integration")

# What an older scripts/develop let Home Assistant's onboarding add; they cannot load here.
ONBOARDING_EXTRAS = frozenset({"google_translate", "met", "radio_browser", "shopping_list"})

CONFIGURATION_YAML = """\
# Dev-only Home Assistant configuration made by scripts/develop (delete the folder to start over).
# Not default_config: on a bare machine some of its parts (go2rtc, ffmpeg, dhcp, conversation)
# cannot start.
homeassistant:
  name: PORTOS dev
  country: SK
  currency: EUR
  time_zone: Europe/Bratislava
  unit_system: metric
frontend:
config:
history:
logbook:
automation: !include automations.yaml
http:
  server_host: 127.0.0.1
  server_port: !env_var HA_PORT 8123
logger:
  default: info
  logs:
    custom_components.portos: debug
"""


class BootstrapError(Exception):
    """Home Assistant answered something the bootstrap cannot continue from."""


# --- prepare ---------------------------------------------------------------------------------


def prepare(config: Path) -> list[str]:
    """Create what Home Assistant needs in `config` that is still missing; return what was done."""
    done: list[str] = []
    config.mkdir(parents=True, exist_ok=True)
    link = config / "custom_components" / "portos"
    link.parent.mkdir(exist_ok=True)
    target = os.path.relpath(INTEGRATION, link.parent)
    if not link.is_symlink() or str(link.readlink()) != target:
        if link.is_symlink():
            link.unlink()
        link.symlink_to(target, target_is_directory=True)
        done.append(f"linked {link} -> {target}")
    configuration = config / "configuration.yaml"
    if not configuration.exists():
        configuration.write_text(CONFIGURATION_YAML, encoding="utf-8")
        done.append(f"wrote {configuration}")
    automations = config / "automations.yaml"
    if not automations.exists():
        automations.write_text("[]\n", encoding="utf-8")
    storage = config / ".storage"
    onboarding = storage / "onboarding"
    # Only a Home Assistant that never ran here: an existing one keeps its own onboarding state.
    if not onboarding.exists() and not (storage / "auth").exists():
        storage.mkdir(exist_ok=True)
        onboarding.write_text(
            json.dumps(
                {
                    "version": ONBOARDING_STORE_VERSION,
                    "minor_version": 1,
                    "key": "onboarding",
                    "data": {"done": list(ONBOARDING_DONE_BEFORE_START)},
                },
                indent=2,
            ),
            encoding="utf-8",
        )
        done.append("marked onboarding done except the owner account")
    return done


# --- start -----------------------------------------------------------------------------------


async def _wait_for_health(session: aiohttp.ClientSession, url: str, within: float) -> None:
    """Poll the simulator's health until it answers."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            async with session.get(url) as resp:
                if resp.status == HTTPStatus.OK:
                    return
        except aiohttp.ClientError:
            pass
        if loop.time() > deadline:
            raise BootstrapError(f"{url} did not answer within {within:.0f} s")
        await asyncio.sleep(0.5)


async def _wait_for_auth(session: aiohttp.ClientSession, ha: str, within: float) -> bool:
    """Wait until Home Assistant's auth answers; return whether its owner exists already.

    `/auth/providers` is a 404 until the auth component is up, then a 400 `onboarding_required`
    until the owner account exists, then 200.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            async with session.get(f"{ha}/auth/providers") as resp:
                if resp.status == HTTPStatus.OK:
                    return True
                if resp.status == HTTPStatus.BAD_REQUEST:
                    body = await resp.json(content_type=None)
                    if body.get("code") == "onboarding_required":
                        return False
        except (aiohttp.ClientError, ValueError):
            pass
        if loop.time() > deadline:
            raise BootstrapError(f"Home Assistant at {ha} did not come up within {within:.0f} s")
        await asyncio.sleep(1)


async def _json(resp: aiohttp.ClientResponse, what: str) -> Any:  # noqa: ANN401 - any JSON
    """Return a JSON reply, or raise with what was asked and what came back."""
    if resp.status >= HTTPStatus.BAD_REQUEST:
        raise BootstrapError(f"{what}: HTTP {resp.status} {(await resp.text())[:300]}")
    return await resp.json(content_type=None)


async def _tokens(session: aiohttp.ClientSession, ha: str, code: str) -> dict[str, Any]:
    """Exchange an authorization code for tokens."""
    form = {"grant_type": "authorization_code", "code": code, "client_id": CLIENT_ID}
    async with session.post(f"{ha}/auth/token", data=form) as resp:
        tokens: dict[str, Any] = await _json(resp, "token")
    return tokens


async def _onboard(session: aiohttp.ClientSession, ha: str) -> dict[str, Any]:
    """Create the owner dev/dev (the one onboarding step left) and return its tokens."""
    body = {
        "client_id": CLIENT_ID,
        "name": "Developer",
        "username": DEV_USER,
        "password": DEV_PASSWORD,
        "language": "en",
    }
    async with session.post(f"{ha}/api/onboarding/users", json=body) as resp:
        code = (await _json(resp, "onboarding: create the owner"))["auth_code"]
    return await _tokens(session, ha, code)


async def _log_in(session: aiohttp.ClientSession, ha: str) -> dict[str, Any]:
    """Log in as dev/dev through the auth login flow, as the login page does."""
    start = {
        "client_id": CLIENT_ID,
        "handler": ["homeassistant", None],
        "redirect_uri": CLIENT_ID,
    }
    async with session.post(f"{ha}/auth/login_flow", json=start) as resp:
        flow = await _json(resp, "login flow")
    answer = {"client_id": CLIENT_ID, "username": DEV_USER, "password": DEV_PASSWORD}
    async with session.post(f"{ha}/auth/login_flow/{flow['flow_id']}", json=answer) as resp:
        result = await _json(resp, "login")
    if result.get("type") != "create_entry":
        raise BootstrapError(
            f"cannot log in as {DEV_USER}/{DEV_PASSWORD} ({result.get('errors')}); "
            "was the password changed? Delete the config folder to start over."
        )
    return await _tokens(session, ha, result["result"])


async def _revoke(session: aiohttp.ClientSession, ha: str, refresh_token: str) -> None:
    """Revoke the bootstrap's own session: it is not needed once PORTOS is added."""
    async with session.post(f"{ha}/auth/revoke", data={"token": refresh_token}) as resp:
        await resp.read()


async def _entries(
    session: aiohttp.ClientSession, ha: str, headers: dict[str, str], domain: str | None = None
) -> list[dict[str, Any]]:
    """List config entries (of one domain)."""
    params = {"domain": domain} if domain else {}
    async with session.get(
        f"{ha}/api/config/config_entries/entry", params=params, headers=headers
    ) as resp:
        entries: list[dict[str, Any]] = await _json(resp, "list config entries")
    return entries


async def _remove_onboarding_extras(
    session: aiohttp.ClientSession, ha: str, headers: dict[str, str]
) -> None:
    """Remove what an older scripts/develop let onboarding add (it cannot load here)."""
    for entry in await _entries(session, ha, headers):
        if entry["domain"] in ONBOARDING_EXTRAS and entry.get("source") == "onboarding":
            async with session.delete(
                f"{ha}/api/config/config_entries/entry/{entry['entry_id']}", headers=headers
            ) as resp:
                await _json(resp, f"remove {entry['domain']}")
            print(
                f"Removed {entry['title']!r} ({entry['domain']}), which an older scripts/develop "
                "added through onboarding and which cannot load here; restart to be rid of its "
                "errors in this run."
            )


async def _add_portos(
    session: aiohttp.ClientSession, ha: str, headers: dict[str, str], portos: str
) -> str:
    """Add PORTOS through its config flow with the simulator's login; return the entry's title."""
    async with session.post(
        f"{ha}/api/config/config_entries/flow", json={"handler": "portos"}, headers=headers
    ) as resp:
        flow: dict[str, Any] = await _json(resp, "start the PORTOS config flow")
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
        result: dict[str, Any] = await _json(resp, "PORTOS config flow")
    if result.get("type") != "create_entry":
        raise BootstrapError(f"the PORTOS config flow answered {result}")
    return str(result.get("title"))


async def start(ha: str, portos: str | None, within: float) -> None:
    """Wait for the servers, onboard or log in, and add PORTOS unless it is there already."""
    async with aiohttp.ClientSession() as session:
        if portos is not None:
            await _wait_for_health(session, f"{portos}/api/v2/health", 60)
        if await _wait_for_auth(session, ha, within):
            tokens = await _log_in(session, ha)
            print(f"Home Assistant is onboarded; logged in as {DEV_USER}.")
        else:
            tokens = await _onboard(session, ha)
            print(f"Home Assistant onboarded: owner {DEV_USER} / password {DEV_PASSWORD}.")
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        try:
            await _remove_onboarding_extras(session, ha, headers)
            if portos is None:
                return
            if existing := await _entries(session, ha, headers, "portos"):
                titles = ", ".join(entry["title"] for entry in existing)
                print(f"PORTOS is already added ({titles}).")
            else:
                title = await _add_portos(session, ha, headers, portos)
                print(f"PORTOS added: {title}, against {portos}.")
        finally:
            await _revoke(session, ha, tokens["refresh_token"])


def main(argv: list[str] | None = None) -> int:
    """Run `prepare` or `start`."""
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    prepare_cmd = commands.add_parser("prepare", help="write the configuration folder")
    prepare_cmd.add_argument("--config", required=True, type=Path, help="configuration folder")
    start_cmd = commands.add_parser("start", help="onboard or log in, then add PORTOS")
    start_cmd.add_argument("--ha", required=True, help="Home Assistant base URL")
    start_cmd.add_argument("--portos", help="PORTOS (simulator) base URL; omit to add nothing")
    start_cmd.add_argument(
        "--within", type=float, default=600, help="seconds to wait for Home Assistant"
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "prepare":
            for line in prepare(args.config):
                print(line)
        else:
            asyncio.run(start(args.ha.rstrip("/"), args.portos, args.within))
    except BootstrapError as err:
        print(f"dev_bootstrap: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
