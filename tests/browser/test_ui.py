"""A newcomer's first hour, in a real browser: scripts/develop, then PORTOS in Home Assistant's UI.

Runs `scripts/develop` as a person does (its own config folder, free ports, the simulator without
its demo day), drives Debian's Chromium through tests/browser/ui_flow.mjs, presses Ctrl-C, and
runs `scripts/develop` again on the same folder: both starts must leave no ERROR in Home
Assistant's log, and Ctrl-C must stop everything. Screenshots, logs and the downloaded
diagnostics are kept in screenshots/browser/ (git-ignored; BROWSER_ARTIFACTS overrides).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import IO, TYPE_CHECKING

import pytest

from tests.common import free_port

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[2]
FLOW = Path(__file__).with_name("ui_flow.mjs")
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
PLAYWRIGHT = ROOT / "node_modules" / "playwright-core" / "package.json"
NODE = shutil.which("node")
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS", ROOT / "screenshots" / "browser"))

START_TIMEOUT = 300.0  # a cold Home Assistant on a busy 2-core machine
FLOW_TIMEOUT = 480.0
STOP_TIMEOUT = 120.0
READY = "Ctrl-C stops."
# A log record at ERROR or worse, or a traceback Home Assistant printed with one.
LOG_PROBLEM = re.compile(r"^(\S+ \S+ (ERROR|CRITICAL) |Traceback \(most recent call last\))")

# Run the script with SIGINT at its default, so a Ctrl-C reaches its trap even when this test
# itself runs in the background (a shell starts background jobs with SIGINT ignored, and bash
# cannot trap a signal that was ignored when it started).
_EXEC_WITH_DEFAULT_SIGINT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


def _missing() -> str | None:
    """Say what this machine lacks for the browser test, or None."""
    if not CHROMIUM.is_file():
        return (
            f"no browser at {CHROMIUM}: install Debian's chromium (apt-get install chromium; "
            "scripts/setup does it when run as root) or set CHROMIUM"
        )
    if NODE is None:
        return "node is not installed"
    if not PLAYWRIGHT.is_file():
        return "node_modules/playwright-core is missing (run scripts/setup)"
    return None


def _listening(port: int) -> bool:
    """Tell whether something accepts connections on 127.0.0.1:port."""
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _processes_mentioning(text: str) -> list[str]:
    """Return the command lines of running processes that mention `text` (this test's folder)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            if text in cmdline:
                found.append(f"{proc.name}: {cmdline}")
    return found


def _log_problems(log: Path) -> list[str]:
    """Return the ERROR records and tracebacks of a Home Assistant log."""
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    return [line for line in lines if LOG_PROBLEM.match(line)]


class Develop:
    """One `scripts/develop` run, in a session of its own: Ctrl-C is sent as a terminal does."""

    def __init__(self, config: Path, ha_port: int, sim_port: int, output: Path) -> None:
        """Remember where it runs; nothing starts yet."""
        self.config = config
        self.ha_port = ha_port
        self.sim_port = sim_port
        self.output = output
        self.process: subprocess.Popen[bytes] | None = None
        self._out: IO[bytes] | None = None

    @property
    def text(self) -> str:
        """Return what the script printed so far."""
        return self.output.read_text(encoding="utf-8", errors="replace")

    def start(self, **env: str) -> None:
        """Start the script and wait until it says Home Assistant is ready."""
        self._out = self.output.open("wb")
        self.process = subprocess.Popen(  # noqa: S603 - our own script, fixed arguments
            [sys.executable, "-c", _EXEC_WITH_DEFAULT_SIGINT, str(ROOT / "scripts" / "develop")],
            cwd=ROOT,
            env={
                **os.environ,
                "HA_PORT": str(self.ha_port),
                "SIM_PORT": str(self.sim_port),
                "HA_CONFIG": str(self.config),
                "SIM_DEMO": "0",
                **env,
            },
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while READY not in self.text:
            if self.process.poll() is not None:
                pytest.fail(
                    f"scripts/develop ended ({self.process.returncode}):\n{self.text[-3000:]}"
                )
            if "bootstrap failed" in self.text:
                pytest.fail(f"scripts/develop could not bootstrap:\n{self.text[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(
                    f"scripts/develop not ready in {START_TIMEOUT:.0f} s:\n{self.text[-3000:]}"
                )
            time.sleep(0.5)

    def ctrl_c(self) -> float:
        """Press Ctrl-C (SIGINT to the script's process group); return how long stopping took."""
        assert self.process is not None
        began = time.monotonic()
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(STOP_TIMEOUT)
        finally:
            if self._out is not None:
                self._out.close()
        return time.monotonic() - began

    def kill(self) -> None:
        """Stop whatever is left after a failure (the script's trap stops its children)."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(STOP_TIMEOUT)
        if self._out is not None:
            self._out.close()


# Never a failure for lack of a browser: skipped, with what to install.
pytestmark = pytest.mark.skipif(_missing() is not None, reason=str(_missing()))


@pytest.fixture
def artifacts() -> Path:
    """Return the folder for screenshots and logs, emptied for this run."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    print(f"\nbrowser test artifacts: {ARTIFACTS}")  # noqa: T201 - where to look, also in CI
    return ARTIFACTS


@pytest.fixture
def develop(tmp_path: Path, artifacts: Path, socket_enabled: None) -> Iterator[Develop]:
    """Return a scripts/develop on free ports with its own config folder; stop it after."""
    run = Develop(tmp_path / "config", free_port(), free_port(), artifacts / "develop-1.txt")
    yield run
    run.kill()


def _assert_stopped(run: Develop, seconds: float) -> None:
    """Everything the script started is gone, and it said so."""
    assert run.process is not None
    assert run.process.returncode == 128 + signal.SIGINT, run.text[-2000:]
    assert "Stopping..." in run.text
    assert "PORTOS simulator stopped" in run.text
    assert not _listening(run.ha_port)
    assert not _listening(run.sim_port)
    assert not _processes_mentioning(str(run.config)), _processes_mentioning(str(run.config))
    print(f"Ctrl-C stopped everything in {seconds:.1f} s")  # noqa: T201


@pytest.mark.timeout(START_TIMEOUT * 2 + FLOW_TIMEOUT + STOP_TIMEOUT * 2 + 60)
def test_first_hour(develop: Develop, artifacts: Path) -> None:
    """Set up, add PORTOS in the UI, watch a till, automate, options, diagnostics; twice a start."""
    began = time.monotonic()
    develop.start(ADD_PORTOS="0")
    assert "Home Assistant onboarded" in develop.text
    print(f"first start ready in {time.monotonic() - began:.0f} s")  # noqa: T201

    flow_began = time.monotonic()
    assert NODE is not None
    try:
        result = subprocess.run(  # noqa: S603 - our own script, fixed arguments
            [
                NODE,
                str(FLOW),
                f"http://127.0.0.1:{develop.ha_port}",
                f"http://127.0.0.1:{develop.sim_port}",
                str(artifacts),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=FLOW_TIMEOUT,
            check=False,
        )
    finally:
        shutil.copy(develop.config / "home-assistant.log", artifacts / "home-assistant-1.log")
    (artifacts / "ui_flow.txt").write_text(result.stdout + result.stderr, encoding="utf-8")
    print(result.stdout)  # noqa: T201 - the steps and their times
    assert result.returncode == 0, f"UI flow failed:\n{result.stdout}\n{result.stderr[-3000:]}"
    print(f"UI flow took {time.monotonic() - flow_began:.0f} s")  # noqa: T201

    _assert_stopped(develop, develop.ctrl_c())
    shutil.copy(develop.config / "home-assistant.log", artifacts / "home-assistant-1.log")
    assert not _log_problems(develop.config / "home-assistant.log")

    # The second run: onboarded already, PORTOS added (through the UI above).
    again = Develop(develop.config, develop.ha_port, develop.sim_port, artifacts / "develop-2.txt")
    try:
        again.start()
        assert "logged in as dev" in again.text
        assert "PORTOS is already added (PORTOS 12345)" in again.text
        _assert_stopped(again, again.ctrl_c())
    finally:
        again.kill()
        shutil.copy(again.config / "home-assistant.log", artifacts / "home-assistant-2.log")
    assert not _log_problems(again.config / "home-assistant.log")
    print(f"browser test took {time.monotonic() - began:.0f} s")  # noqa: T201
