"""Benchmark the live hub: notifications/s, end-to-end latency, losses and memory growth.

Starts the simulator in this process on 127.0.0.1 (a free port), connects a PortosHub through a
PortosClient token provider, subscribes to tickets, then asks the simulator (`/_sim/load`) for
`--count` ticket changes at `--rate` per second, `--rounds` times. Latency is the receive time on
the asyncio loop (where the hub delivers callbacks) minus the notification's `ca` timestamp
(millisecond resolution). Everything started is stopped at the end.

Run from the repository root: `.venv/bin/python -m bench.hub_throughput [--count N] [--rate R]`.
"""

from __future__ import annotations

import argparse
import asyncio
from contextlib import suppress
from dataclasses import dataclass, field
import logging
import sys
import threading
import time

import aiohttp

from bench.machine import describe_machine, percentile, rss_kib
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
from simulator.config import SimulatorConfig
from simulator.server import Simulator

CONNECT_TIMEOUT = 15.0
DRAIN_TIMEOUT = 10.0  # how long to wait for stragglers after the load request returned


@dataclass(slots=True)
class Round:
    """What one round of load delivered."""

    sent: int
    started: float = 0.0  # time.perf_counter() when the load request went out
    load_elapsed: float = 0.0  # the simulator's own duration of the load
    received: int = 0
    last_received: float = 0.0  # perf_counter() of the latest notification
    latencies_ms: list[float] = field(default_factory=list)
    seen: dict[tuple[str, int | None], int] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    out_of_order: int = 0
    unique: int = 0  # distinct (ticket id, version) notifications, set by close()
    duplicates: int = 0  # notifications repeating a seen (id, version), set by close()
    rss_after_kib: int = 0  # VmRSS once the round drained and its bookkeeping was dropped
    complete: asyncio.Event = field(default_factory=asyncio.Event)

    def record(self, notification: Notification) -> None:
        """Count one delivered notification (called on the event loop)."""
        now_wall = time.time()
        self.received += 1
        self.last_received = time.perf_counter()
        self.latencies_ms.append((now_wall - notification.created_at.timestamp()) * 1000.0)
        payload = notification.payload
        if isinstance(payload, ResourceChangedPayload):
            key = (payload.info.id, payload.info.version)
            self.seen[key] = self.seen.get(key, 0) + 1
            version = payload.info.version or 0
            if version < self.versions.get(payload.info.id, 0):
                self.out_of_order += 1
            self.versions[payload.info.id] = max(version, self.versions.get(payload.info.id, 0))
            if len(self.seen) >= self.sent:
                self.complete.set()

    def close(self) -> None:
        """Keep the counts, drop the per-notification bookkeeping (so RSS shows the hub's)."""
        self.unique = len(self.seen)
        self.duplicates = sum(self.seen.values()) - len(self.seen)
        self.seen.clear()
        self.versions.clear()
        self.latencies_ms.sort()


async def run(count: int, rate: float, rounds: int) -> int:
    """Run the benchmark; return a process exit status (1 if anything was lost)."""
    print(describe_machine())
    threads_before = threading.active_count()
    rss_start = rss_kib()
    simulator = Simulator(SimulatorConfig(host="127.0.0.1", port=0))
    await simulator.start()
    current: Round | None = None

    def on_notification(notification: Notification) -> None:
        if current is not None:
            current.record(notification)

    results: list[Round] = []
    rss_connected = rss_after = 0
    try:
        async with aiohttp.ClientSession() as session:
            client = PortosClient(session, simulator.url, "admin", "portos")
            hub = PortosHub(
                session, client.hub_url, client.get_token, on_notification=on_notification
            )
            await hub.subscribe(
                Subscription(EVENT_RESOURCES_CHANGED, (SubscriptionResource(TICKETS),))
            )
            await hub.start()
            try:
                if not await hub.wait_connected(CONNECT_TIMEOUT):
                    print(f"hub did not connect within {CONNECT_TIMEOUT} s", file=sys.stderr)
                    return 2
                rss_connected = rss_kib()
                for _ in range(rounds):
                    current = Round(sent=count)
                    await _load(session, simulator.url, current, rate)
                    current.close()
                    # The simulator keeps every ticket it made; forget them, so that memory
                    # growth is the client side's (hub, client, this bookkeeping).
                    simulator.state.tickets.clear()
                    current.rss_after_kib = rss_kib()
                    results.append(current)
                    current = None
                rss_after = rss_kib()
                stats = hub.stats
            finally:
                await hub.stop()
                await client.logout()
    finally:
        await simulator.stop()
    _report(results, rate, stats.malformed, stats.connects)
    rss_end = rss_kib()
    print(
        f"memory: VmRSS start {rss_start / 1024:.1f} MiB, connected {rss_connected / 1024:.1f} MiB,"
        f" after {rounds} round(s) {rss_after / 1024:.1f} MiB "
        f"(growth {(rss_after - rss_connected) / 1024:+.1f} MiB), after stop "
        f"{rss_end / 1024:.1f} MiB, peak VmHWM {rss_kib('VmHWM') / 1024:.1f} MiB"
    )
    # Executor threads idle out on their own; the hub starts none.
    left = sorted(t.name for t in threading.enumerate() if t is not threading.main_thread())
    print(f"threads: {threads_before} before, {threading.active_count()} after stop {left}")
    lost = sum(r.sent - r.unique for r in results)
    return 1 if lost else 0


async def _load(session: aiohttp.ClientSession, url: str, round_: Round, rate: float) -> None:
    """Ask the simulator for one round of changes and wait until they arrived (bounded)."""
    round_.started = time.perf_counter()
    async with session.post(
        f"{url}/_sim/load", json={"count": round_.sent, "rate": rate or None}
    ) as response:
        response.raise_for_status()
        body = await response.json()
    round_.load_elapsed = float(body["elapsed"])
    with suppress(TimeoutError):
        async with asyncio.timeout(DRAIN_TIMEOUT):
            await round_.complete.wait()
    # Let duplicates, if any, arrive before counting.
    await asyncio.sleep(0.05)


def _report(results: list[Round], rate: float, malformed: int, connects: int) -> None:
    """Print one line per round and the totals."""
    pace = f"{rate:g}/s" if rate else "unpaced"
    print(f"load: {len(results)} round(s) of {results[0].sent if results else 0} changes, {pace}")
    all_latencies: list[float] = []
    for number, round_ in enumerate(results, 1):
        span = (round_.last_received - round_.started) if round_.received else 0.0
        throughput = round_.received / span if span > 0 else 0.0
        latencies = round_.latencies_ms
        all_latencies += latencies
        print(
            f"  round {number}: delivered {round_.unique}/{round_.sent} "
            f"(lost {round_.sent - round_.unique}, duplicates {round_.duplicates}, "
            f"out of order {round_.out_of_order}) in {span:.2f} s = {throughput:.0f} notif/s "
            f"(server produced them in {round_.load_elapsed:.2f} s); latency ms "
            f"p50 {percentile(latencies, 0.5):.1f} p90 {percentile(latencies, 0.9):.1f} "
            f"p99 {percentile(latencies, 0.99):.1f} max {max(latencies, default=0.0):.1f}; "
            f"VmRSS {round_.rss_after_kib / 1024:.1f} MiB"
        )
    all_latencies.sort()
    print(
        f"overall latency ms: p50 {percentile(all_latencies, 0.5):.1f} "
        f"p90 {percentile(all_latencies, 0.9):.1f} p99 {percentile(all_latencies, 0.99):.1f} "
        f"max {max(all_latencies, default=0.0):.1f}; hub connects {connects}, malformed {malformed}"
    )


def main() -> None:
    """Parse the flags and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=500, help="ticket changes per round")
    parser.add_argument(
        "--rate", type=float, default=250.0, help="changes per second (0: as fast as possible)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds (memory growth shows)")
    args = parser.parse_args()
    if not 1 <= args.count <= 200_000 or not 1 <= args.rounds <= 20 or args.rate < 0:
        parser.error("--count 1..200000, --rounds 1..20, --rate >= 0")
    logging.basicConfig(level=logging.WARNING)
    sys.exit(asyncio.run(run(args.count, args.rate, args.rounds)))


if __name__ == "__main__":
    main()
