"""What the benchmarks print about the machine and the process, and how they time a call."""

from __future__ import annotations

from importlib import metadata
import os
from pathlib import Path
import platform
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable


def describe_machine() -> str:
    """Return one line: CPU count and model, Python and signalrcore versions, load average."""
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    try:
        signalrcore = metadata.version("signalrcore")
    except metadata.PackageNotFoundError:
        signalrcore = "not installed"
    # Other work on a shared machine skews the figures: the load average says how busy it was.
    load = load_average()
    return (
        f"machine: nproc={os.cpu_count()}, CPU {model}, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}, signalrcore {signalrcore}, load average {load}"
    )


def load_average() -> str:
    """Return the 1, 5 and 15 minute load averages (other work on a shared machine)."""
    loadavg = Path("/proc/loadavg")
    return " ".join(loadavg.read_text().split()[:3]) if loadavg.is_file() else "unknown"


def rss_kib(field: str = "VmRSS") -> int:
    """Return this process's resident set size (or another /proc/self/status field) in KiB."""
    status = Path("/proc/self/status")
    if not status.is_file():
        return 0
    for line in status.read_text(encoding="utf-8").splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Return the nearest-rank percentile of an ascending list (0.0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[rank]


def best_rate(work: Callable[[], object], count: int, repeat: int) -> float:
    """Return the best calls-per-second of `repeat` timed runs of `count` calls."""
    best = 0.0
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(count):
            work()
        elapsed = time.perf_counter() - started
        best = max(best, count / elapsed if elapsed > 0 else 0.0)
    return best
