"""Benchmark hub latency: the official SignalR client, the bare PortosHub and Home Assistant.

One run on one machine: the simulator runs in its own process (`python -m simulator`), and
three receivers, each in its own process, take the same `/_sim/load` stream at the same time:
the official `@microsoft/signalr` client under Node (bench/official_client.mjs), a bare
`PortosHub` (bench/receiver.py --mode hub) and a Home Assistant instance with a PORTOS config
entry, measured at the `portos_event` bus event (bench/receiver.py --mode ha). Per load level it
prints, per receiver: delivered and lost, latency p50/p99/max (receipt wall time minus the
notification's `ca`, which has millisecond resolution), the p50 of the first and the last tenth
of the round (a growing backlog shows as a rising p50), CPU seconds per 1,000 notifications and
memory (RSS after the round, peak VmHWM). Then it kills the simulator, keeps it down, starts it
again on the same port (a wiped restart: no tickets, no sessions), makes a few ticket changes
over REST and prints how long Home Assistant took to show the server's counts. With
`--profile`, one more round at 1,000/s runs under cProfile in the Home Assistant process and
its top lines are printed (and the bare hub's, when it runs).

Run from the repository root: `.venv/bin/python -m bench.hub_latency` (see bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from dataclasses import dataclass
import json
import os
from pathlib import Path
import re
import shutil
import signal
import sys
import tempfile
import time
from typing import Any

import aiohttp

from bench.machine import describe_machine, load_average

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
URL_LINE = re.compile(r"listening on (http://\S+)")
START_TIMEOUT = 90.0
# (name, notifications per second or 0 for an unpaced burst, how many)
LEVELS = (
    ("100/s", 100, 1_000),
    ("1000/s", 1_000, 10_000),
    ("5000/s", 5_000, 25_000),
    ("burst", 0, 20_000),
)
GRACE = 20.0  # how long receivers wait for stragglers after the load request returned


@dataclass
class Process:
    """A child process speaking JSON lines on stdin/stdout."""

    name: str
    proc: asyncio.subprocess.Process

    async def send(self, command: dict[str, Any]) -> None:
        """Write one command."""
        stdin = _pipe(self.proc.stdin)
        stdin.write((json.dumps(command) + "\n").encode())
        await stdin.drain()

    async def read(self, timeout: float = START_TIMEOUT) -> dict[str, Any]:
        """Return the next JSON line (other output is skipped)."""
        stdout = _pipe(self.proc.stdout)
        async with asyncio.timeout(timeout):
            while True:
                line = await stdout.readline()
                if not line:
                    raise SystemExit(f"{self.name} ended (exit {await self.proc.wait()})")
                if line.startswith(b"{"):
                    reply: dict[str, Any] = json.loads(line)
                    return reply


def _pipe[T](pipe: T | None) -> T:
    """Return a child's pipe (always there: every child is started with pipes)."""
    if pipe is None:
        raise SystemExit("a child process has no pipe")
    return pipe


async def start_simulator(port: int, log: Path) -> tuple[asyncio.subprocess.Process, str]:
    """Start `python -m simulator` and return it with its URL once it listens."""
    proc = await asyncio.create_subprocess_exec(
        PYTHON,
        "-m",
        "simulator",
        "--port",
        str(port),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=log.open("ab"),
    )
    stdout = _pipe(proc.stdout)
    url: str | None = None
    try:
        async with asyncio.timeout(START_TIMEOUT):
            while line := await stdout.readline():
                if match := URL_LINE.search(line.decode()):
                    url = match.group(1)
                    break
    finally:
        if url is None:
            # Not started in time (or interrupted): nothing else would stop it.
            if proc.returncode is None:
                proc.kill()
            await proc.wait()
    if url is None:
        raise SystemExit("the simulator did not start")
    return proc, url


async def start_receivers(
    url: str, names: list[str], log: Path, node_modules: Path, started: list[Process]
) -> None:
    """Start the receivers (into `started`) and wait until each is connected and subscribed."""
    commands = {
        "node": ["node", str(ROOT / "bench" / "official_client.mjs"), url],
        "hub": [PYTHON, "-m", "bench.receiver", "--mode", "hub", "--url", url],
        "ha": [PYTHON, "-m", "bench.receiver", "--mode", "ha", "--url", url],
    }
    for name in names:
        proc = await asyncio.create_subprocess_exec(
            *commands[name],
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=(log.parent / f"{name}.log").open("ab"),
            env={
                **os.environ,
                "PYTHONPATH": str(ROOT),
                "PORTOS_SIGNALR": str(node_modules / "@microsoft" / "signalr"),
            },
        )
        started.append(Process(name, proc))
    for receiver in started:
        reply = await receiver.read()
        if not reply.get("ready"):
            raise SystemExit(f"{receiver.name} is not ready: {reply}")


def cpu_seconds(pid: int) -> float:
    """Return a process's CPU time (user + system) from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


async def run_level(
    session: aiohttp.ClientSession,
    url: str,
    receivers: list[Process],
    simulator_pid: int,
    level: tuple[str, int, int],
) -> list[dict[str, Any]]:
    """Run one load level; return each receiver's figures."""
    name, rate, count = level
    for receiver in receivers:
        await receiver.send({"cmd": "round", "id": name})
        await receiver.read()
    sim_cpu = cpu_seconds(simulator_pid)
    started = time.perf_counter()
    async with session.post(
        f"{url}/_sim/load", json={"count": count, "rate": rate or None}
    ) as response:
        response.raise_for_status()
        produced = float((await response.json())["elapsed"])
    results = []
    for receiver in receivers:
        await receiver.send({"cmd": "finish", "id": name, "count": count, "grace": GRACE})
    for receiver in receivers:
        result = await receiver.read(GRACE + 30)
        result["receiver"] = receiver.name
        results.append(result)
    wall = time.perf_counter() - started
    sim = cpu_seconds(simulator_pid) - sim_cpu
    print(
        f"\n{name}: {count} changes, produced in {produced:.2f} s by the simulator "
        f"(its CPU {sim:.2f} s), round {wall:.2f} s"
    )
    for result in results:
        latency = result["latency_ms"]
        per_1000 = 1000 * result["cpu_s"] / max(result["received"], 1)
        print(
            f"  {result['receiver']:>4}: delivered {result['unique']}/{count} "
            f"(lost {count - result['unique']}, received {result['received']}); latency ms "
            f"p50 {latency['p50']:.1f} p99 {latency['p99']:.1f} max {latency['max']:.1f}; "
            f"p50 first/last tenth {result['first_tenth_p50']:.1f}/{result['last_tenth_p50']:.1f}; "
            f"CPU {per_1000:.3f} s per 1,000; RSS {result['rss_kib'] / 1024:.1f} MiB, "
            f"peak {result['hwm_kib'] / 1024:.1f} MiB"
        )
    return results


async def restart(
    session: aiohttp.ClientSession,
    simulator: asyncio.subprocess.Process,
    *,
    url: str,
    ha: Process,
    outage: float,
    log: Path,
) -> asyncio.subprocess.Process:
    """Kill the simulator, keep it down, restart it; print when HA shows its counts again."""
    port = int(url.rsplit(":", 1)[1])
    simulator.send_signal(signal.SIGKILL)
    await simulator.wait()
    await asyncio.sleep(outage)
    restarted, _ = await start_simulator(port, log)
    answering = time.time()
    # A wiped restart: the new server knows no ticket. Two stay open, one is closed.
    token = await _till_login(session, url)
    headers = {"Authorization": f"Bearer {token}"}
    ids = []
    for table in ("Table 1", "Table 2", "Table 3"):
        async with session.post(
            f"{url}/api/v1/tickets", json={"name": table}, headers=headers
        ) as response:
            ids.append((await response.json())["id"])
    async with session.post(f"{url}/api/v1/tickets/{ids[0]}/close", headers=headers) as response:
        response.raise_for_status()
    await ha.send({"cmd": "resync", "open": 2, "closed": 1, "since": answering, "timeout": 120})
    result = await ha.read(150)
    took = result["resync_s"]
    shown = "never (within 120 s)" if took is None else f"{took:.2f} s"
    print(
        f"  server down {outage:g} s (SIGKILL), restarted wiped: Home Assistant shows its counts "
        f"{shown} after it answers again (shown {result['shown']})"
    )
    return restarted


async def _till_login(session: aiohttp.ClientSession, url: str) -> str:
    """Log in on the P01 till and return the token."""
    body = {"UserName": "admin", "Password": "portos", "DeviceName": "P01"}
    async with session.post(f"{url}/api/auth", json=body) as response:
        response.raise_for_status()
        token: str = (await response.json())["tokenId"]
    return token


async def run(args: argparse.Namespace) -> int:
    """Run the benchmark."""
    # SIGTERM ends the run as Ctrl-C does, through the finally below that stops every child.
    task = asyncio.current_task()
    if task is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    print(describe_machine())
    names = [name for name in ("node", "hub", "ha") if name in args.receivers]
    if "node" in names and shutil.which("node") is None:
        raise SystemExit("node is not installed")
    if "node" in names and not (args.node_modules / "@microsoft" / "signalr").is_dir():
        raise SystemExit(
            f"no @microsoft/signalr in {args.node_modules}: run `npm ci`, or pass "
            "--node-modules with a directory where it is installed"
        )
    with tempfile.TemporaryDirectory(prefix="portos-bench-") as tmp:
        log = Path(tmp) / "simulator.log"
        simulator, url = await start_simulator(0, log)
        print(f"simulator: {url} (pid {simulator.pid}); receivers: {', '.join(names)}")
        receivers: list[Process] = []
        try:
            await start_receivers(url, names, log, args.node_modules, receivers)
            simulator = await _measure(args, url, receivers, simulator, log)
        finally:
            await _stop(receivers, simulator)
    print(f"\nload average at the end: {load_average()}")
    return 0


async def _measure(
    args: argparse.Namespace,
    url: str,
    receivers: list[Process],
    simulator: asyncio.subprocess.Process,
    log: Path,
) -> asyncio.subprocess.Process:
    """Run the load levels, the profile and the restarts; return the simulator running now."""
    levels = [level for level in LEVELS if level[0] in args.levels]
    async with aiohttp.ClientSession() as session:
        for level in levels:
            await run_level(session, url, receivers, simulator.pid, level)
        profiled = [r for r in receivers if r.name in {"hub", "ha"}]
        if args.profile and profiled:
            for receiver in profiled:
                await receiver.send({"cmd": "profile", "on": True})
            await run_level(session, url, receivers, simulator.pid, ("profiled", 1_000, 5_000))
            for receiver in profiled:
                await receiver.send({"cmd": "profile", "on": False})
                profile = await receiver.read()
                print(f"\nprofile of the {receiver.name} process over the profiled round:")
                for block in profile["profile"]:
                    print(block)
        ha = next((r for r in receivers if r.name == "ha"), None)
        if ha is None:
            return simulator
        if args.outages:
            print("\nrecovery after a restart (wall clock, from the server's first answer):")
        for outage in args.outages:
            simulator = await restart(session, simulator, url=url, ha=ha, outage=outage, log=log)
    return simulator


async def _stop(receivers: list[Process], simulator: asyncio.subprocess.Process) -> None:
    """Ask every receiver to quit (kill it if it does not), then stop the simulator."""
    for receiver in receivers:
        if receiver.proc.returncode is None:
            # One that died meanwhile has no stdin left; it is waited for below all the same.
            with contextlib.suppress(ConnectionError):
                await receiver.send({"cmd": "quit"})
    for receiver in receivers:
        try:
            async with asyncio.timeout(30):
                await receiver.proc.wait()
        except TimeoutError:
            receiver.proc.kill()
            await receiver.proc.wait()
    if simulator.returncode is None:
        simulator.send_signal(signal.SIGTERM)
        await simulator.wait()


def main() -> None:
    """Parse the flags and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--receivers",
        default="node,hub,ha",
        type=lambda text: text.split(","),
        help="which receivers: node, hub, ha (comma separated)",
    )
    parser.add_argument(
        "--levels",
        default=",".join(level[0] for level in LEVELS),
        type=lambda text: text.split(","),
        help="which load levels: 100/s,1000/s,5000/s,burst",
    )
    parser.add_argument("--profile", action="store_true", help="profile HA over one more round")
    parser.add_argument(
        "--node-modules",
        type=Path,
        default=ROOT / "node_modules",
        help="a node_modules directory with @microsoft/signalr (default: the repository's)",
    )
    parser.add_argument(
        "--outages",
        default="3",
        type=lambda text: [float(x) for x in text.split(",") if x],
        help="seconds the server stays down before each restart (empty: no restart)",
    )
    args = parser.parse_args()
    try:
        sys.exit(asyncio.run(run(args)))
    except asyncio.CancelledError:
        sys.exit("stopped (SIGTERM); every process it started is stopped too")


if __name__ == "__main__":
    main()
