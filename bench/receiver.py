"""A benchmark receiver process: the bare PortosHub, or Home Assistant with a PORTOS entry.

`--mode hub`: a PortosClient and a PortosHub on one aiohttp session, subscribed to tickets;
latency is taken in the hub's notification callback.
`--mode ha`: a Home Assistant instance in this process (the test harness's
`async_test_home_assistant`, custom integrations enabled) with a PORTOS config entry set up
against the server, and a listener on the `portos_event` bus event, where latency is taken. Only
public surfaces are used: config entry setup, the bus event, the entity registry and states.

It prints `{"ready": true}` and obeys JSON commands on stdin, one per line (bench/README.md):
`round`, `finish` (as bench/official_client.mjs), `resync` (ha only: wait until the entry's
ticket sensors show the given counts; answers how long that took since the given wall-clock
time), `profile` (ha only: cProfile on or off; off prints the top lines) and `quit`.
Latency is receipt wall time minus the notification's `ca`, both in whole milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
from datetime import datetime
import io
import json
import math
import pstats
import sys
import time
from typing import TYPE_CHECKING, Any

import aiohttp

from bench.machine import percentile, rss_kib
from custom_components.portos.api import (
    EVENT_RESOURCES_CHANGED,
    TICKETS,
    Notification,
    PortosClient,
    PortosHub,
    ResourceChangedPayload,
    Subscription,
    SubscriptionResource,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from homeassistant.core import Event, HomeAssistant

PROFILE_LINES = 30


class Round:
    """The notifications one round delivered."""

    def __init__(self) -> None:
        """Start counting now."""
        self.latencies_ms: list[float] = []
        self.seen: dict[tuple[str, object], int] = {}
        self.cpu = time.process_time()

    def record(self, created_at: float, key: tuple[str, object]) -> None:
        """Count one delivered ticket change.

        The receipt time is truncated to whole milliseconds, as `ca` is (and as Node's
        Date.now() is): both sides of the difference have the same resolution.
        """
        received_ms = math.floor(time.time() * 1000)
        self.latencies_ms.append(received_ms - round(created_at * 1000))
        self.seen[key] = self.seen.get(key, 0) + 1

    def result(self, round_id: str) -> dict[str, Any]:
        """Return the round's figures."""
        latencies = self.latencies_ms
        tenth = max(1, len(latencies) // 10)
        return {
            "id": round_id,
            "received": len(latencies),
            "unique": len(self.seen),
            "latency_ms": _summary(latencies),
            "first_tenth_p50": _summary(latencies[:tenth])["p50"],
            "last_tenth_p50": _summary(latencies[-tenth:])["p50"],
            "cpu_s": time.process_time() - self.cpu,
            "rss_kib": rss_kib(),
            "hwm_kib": rss_kib("VmHWM"),
        }


def _summary(values: list[float]) -> dict[str, float]:
    """Return p50, p99 and max of the values."""
    ordered = sorted(values)
    return {
        "p50": percentile(ordered, 0.5),
        "p99": percentile(ordered, 0.99),
        "max": ordered[-1] if ordered else 0.0,
    }


def say(obj: object) -> None:
    """Write one JSON line to the orchestrator."""
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class Receiver:
    """Round bookkeeping shared by both modes."""

    def __init__(self) -> None:
        """No round yet."""
        self.round: Round | None = None
        self.profiler: cProfile.Profile | None = None

    def record(self, created_at: float, key: tuple[str, object]) -> None:
        """Count a notification if a round is on."""
        if self.round is not None:
            self.round.record(created_at, key)

    async def finish(self, round_id: str, count: int, grace: float) -> None:
        """Wait for `count` distinct changes (at most `grace` s), then report the round."""
        current = self.round
        if current is None:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                while len(current.seen) < count:  # noqa: ASYNC110 - bench polling, bounded
                    await asyncio.sleep(0.02)
        self.round = None
        say(current.result(round_id))

    def profile(self, *, on: bool) -> None:
        """Start cProfile, or stop it and print its top lines (tottime, then cumulative)."""
        if on:
            self.profiler = cProfile.Profile()
            self.profiler.enable()
            return
        if self.profiler is None:
            return
        self.profiler.disable()
        lines = []
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            stats = pstats.Stats(self.profiler, stream=out).strip_dirs().sort_stats(order)
            stats.print_stats(PROFILE_LINES)
            lines.append(out.getvalue())
        self.profiler = None
        say({"profile": lines})


async def _commands() -> AsyncIterator[dict[str, Any]]:
    """Yield the JSON commands read from stdin."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        yield json.loads(line)


async def _serve(receiver: Receiver, resync: Callable[[dict[str, Any]], Any] | None = None) -> None:
    """Obey commands until quit."""
    say({"ready": True})
    async for command in _commands():
        name = command["cmd"]
        if name == "round":
            receiver.round = Round()
            say({"armed": command["id"]})
        elif name == "finish":
            await receiver.finish(command["id"], command["count"], command["grace"])
        elif name == "profile":
            receiver.profile(on=command["on"])
        elif name == "resync" and resync is not None:
            await resync(command)
        elif name == "quit":
            return


# --- the bare hub ---------------------------------------------------------------------------------


async def run_hub(url: str) -> None:
    """Receive with a bare PortosHub."""
    receiver = Receiver()

    def on_notification(notification: Notification) -> None:
        payload = notification.payload
        if isinstance(payload, ResourceChangedPayload):
            key = (payload.info.id, payload.info.version)
            receiver.record(notification.created_at.timestamp(), key)

    async with aiohttp.ClientSession() as session:
        client = PortosClient(session, url, "admin", "portos")
        hub = PortosHub(session, client.hub_url, client.get_token, on_notification=on_notification)
        await hub.subscribe(Subscription(EVENT_RESOURCES_CHANGED, (SubscriptionResource(TICKETS),)))
        await hub.start()
        try:
            if not await hub.wait_connected(30):
                raise SystemExit("the hub did not connect")
            await _serve(receiver)
        finally:
            await hub.stop()
            await client.logout()


# --- Home Assistant with the integration --------------------------------------------------------


async def run_ha(url: str) -> None:
    """Receive through a real Home Assistant with a PORTOS config entry."""
    # Imported here: the hub mode must not pay for (or be disturbed by) Home Assistant.
    from unittest.mock import patch  # noqa: PLC0415

    from aiohttp.resolver import AsyncResolver  # noqa: PLC0415

    receiver = Receiver()
    async with aiohttp.ClientSession() as session:
        shop_id = str((await PortosClient(session, url, "admin", "portos").get_license()).shop_id)

    # As the Home Assistant test harness does for every test: HA's own resolver needs zeroconf
    # (multicast sockets); the server is an IP address, so no name is resolved anyway.
    resolver = AsyncResolver()
    resolver.real_close = resolver.close  # type: ignore[attr-defined]
    with patch("homeassistant.helpers.aiohttp_client._async_make_resolver", return_value=resolver):
        await _run_ha(url, shop_id, receiver)


async def _run_ha(url: str, shop_id: str, receiver: Receiver) -> None:
    """Set the entry up in a fresh Home Assistant and serve commands."""
    from homeassistant import loader  # noqa: PLC0415
    from homeassistant.core import callback  # noqa: PLC0415
    from homeassistant.helpers import entity_registry as er  # noqa: PLC0415
    from pytest_homeassistant_custom_component.common import (  # noqa: PLC0415
        MockConfigEntry,
        async_test_home_assistant,
    )

    from custom_components.portos.const import DOMAIN, EVENT_PORTOS  # noqa: PLC0415

    async with async_test_home_assistant() as hass:
        hass.data.pop(loader.DATA_CUSTOM_COMPONENTS)  # as enable_custom_integrations does
        entry = MockConfigEntry(
            domain=DOMAIN,
            title="PORTOS bench",
            unique_id=shop_id,
            data={
                "url": url,
                "username": "admin",
                "password": "portos",
                "device_name": "HomeAssistant",
                "verify_ssl": True,
            },
            options={"resources": [TICKETS], "event_detail": "summary"},
        )
        entry.add_to_hass(hass)

        # A callback runs on the event loop, as an automation's event trigger does; a plain
        # function would be run in the executor for every event.
        @callback
        def on_event(event: Event) -> None:
            data = event.data
            if data["resource"] == TICKETS:
                created_at = datetime.fromisoformat(data["created_at"]).timestamp()
                receiver.record(created_at, (data["resource_id"], data["version"]))

        hass.bus.async_listen(EVENT_PORTOS, on_event)
        if not await hass.config_entries.async_setup(entry.entry_id):
            raise SystemExit("the PORTOS entry did not set up")
        await hass.async_block_till_done()
        registry = er.async_get(hass)
        await _wait_live(hass, registry, shop_id)

        async def resync(command: dict[str, Any]) -> None:
            await _resync(hass, registry, shop_id, command)

        try:
            await _serve(receiver, resync)
        finally:
            await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_stop(force=True)


def _state(hass: HomeAssistant, registry: Any, platform: str, unique_id: str) -> str | None:  # noqa: ANN401
    """Return the state of the entity with that unique id."""
    entity_id = registry.async_get_entity_id(platform, "portos", unique_id)
    state = None if entity_id is None else hass.states.get(entity_id)
    return None if state is None else state.state


async def _wait_live(hass: HomeAssistant, registry: Any, shop_id: str) -> None:  # noqa: ANN401
    """Wait until the entry's Live updates sensor is on."""
    async with asyncio.timeout(60):
        while _state(hass, registry, "binary_sensor", f"{shop_id}_hub_connected") != "on":  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def _resync(
    hass: HomeAssistant,
    registry: Any,  # noqa: ANN401
    shop_id: str,
    command: dict[str, Any],
) -> None:
    """Report when the ticket sensors first show the server's counts after `since` (wall)."""
    wanted = (str(command["open"]), str(command["closed"]))
    found = None
    shown: tuple[str | None, str | None] = (None, None)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(command["timeout"]):
            while True:
                shown = (
                    _state(hass, registry, "sensor", f"{shop_id}_open_tickets"),
                    _state(hass, registry, "sensor", f"{shop_id}_tickets_closed_today"),
                )
                if shown == wanted:
                    found = time.time() - command["since"]
                    break
                await asyncio.sleep(0.01)
    say({"resync_s": found, "shown": list(shown)})


def main() -> None:
    """Parse the flags and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mode", choices=("hub", "ha"), required=True)
    parser.add_argument(
        "--url", required=True, help="the PORTOS server, e.g. http://127.0.0.1:3000"
    )
    args = parser.parse_args()
    run = run_hub if args.mode == "hub" else run_ha
    asyncio.run(run(args.url))


if __name__ == "__main__":
    main()
