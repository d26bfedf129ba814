"""`python -m simulator`: flags, --help, main() in-process, and the real process."""

from __future__ import annotations

import asyncio
from pathlib import Path
import signal
import socket
import sys
import threading
from typing import TYPE_CHECKING

import aiohttp
import pytest

from simulator.__main__ import main, serve
from simulator.config import SimulatorConfig, parse_args

if TYPE_CHECKING:
    from simulator.server import Simulator

ROOT = Path(__file__).resolve().parents[2]
FLAGS = (
    "--host",
    "--port",
    "--user",
    "--password",
    "--shop-id",
    "--token-lifetime",
    "--keepalive",
    "--client-timeout",
    "--api-prefix",
    "--license-days",
    "--demo",
    "--demo-interval",
    "--ws-fragment-size",
    "--state-file",
)


def test_help_lists_every_flag_with_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    """--help documents each flag and its default."""
    with pytest.raises(SystemExit) as exit_:
        parse_args(["--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for flag in FLAGS:
        assert flag in text
    assert "0 never fragments" in text
    assert "even a kill -9" in text
    for default in (
        "(default: 127.0.0.1)",
        "(default: 3000)",
        "(default: admin)",
        "(default: portos)",
        "(default: 12345)",
        "(default: 3600.0)",
        "(default: 15.0)",
        "(default: 30.0)",
        "(default: /api/v1)",
        "(default: 365)",
        "(default: False)",
        "(default: 3.0)",
        "(default: 4096)",
        "(default: None)",
    ):
        assert default in text


def test_defaults() -> None:
    """No flags give the documented defaults."""
    assert parse_args([]) == SimulatorConfig()


def test_every_flag() -> None:
    """Each flag lands in its config field."""
    config = parse_args(
        [
            "--host=0.0.0.0",
            "--port=4000",
            "--user=boss",
            "--password=pw",
            "--shop-id=9",
            "--token-lifetime=2",
            "--keepalive=1.5",
            "--client-timeout=3",
            "--api-prefix=/api",
            "--license-days=-1",
            "--demo",
            "--demo-interval=0.5",
            "--ws-fragment-size=0",
            "--state-file=/var/lib/portos/shop.jsonl",
        ]
    )
    assert config == SimulatorConfig(
        host="0.0.0.0",  # noqa: S104 - only parsed, never bound
        port=4000,
        user="boss",
        password="pw",
        shop_id=9,
        token_lifetime=2,
        keepalive=1.5,
        client_timeout=3,
        api_prefix="/api",
        license_days=-1,
        demo=True,
        demo_interval=0.5,
        ws_fragment_size=0,
        state_file="/var/lib/portos/shop.jsonl",
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["--keepalive=0"],
        ["--client-timeout=-1"],
        ["--api-prefix=/v2"],
        ["--port=x"],
        ["--ws-fragment-size=-1"],
        ["--ws-fragment-size=1.5"],
    ],
)
def test_bad_flags(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Non-positive intervals and unknown prefixes are usage errors."""
    with pytest.raises(SystemExit) as exit_:
        parse_args(argv)
    assert exit_.value.code == 2
    assert "error" in capsys.readouterr().err


def test_main_serves_until_sigterm(
    socket_enabled: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """main() serves on its own loop and stops cleanly on SIGTERM, returning 0."""
    seen: list[int] = []

    async def started(simulator: Simulator) -> None:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{simulator.url}/api/v1/license") as response,
        ):
            seen.append((await response.json())["shopId"])
        signal.raise_signal(signal.SIGTERM)

    assert main(["--port=0", "--shop-id=4242", "--license-days=9"], started=started) == 0
    assert seen == [4242]
    out = capsys.readouterr().out
    assert "PORTOS simulator listening on http://127.0.0.1:" in out
    assert "PORTOS simulator stopped" in out


def test_main_on_a_busy_port(socket_enabled: None, caplog: pytest.LogCaptureFixture) -> None:
    """A port already in use is reported and main() returns 1."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main([f"--port={port}"]) == 1
    assert f"Cannot listen on 127.0.0.1:{port}" in caplog.text


async def test_the_real_process(socket_enabled: None) -> None:
    """`python -m simulator --port 0` prints its URL, serves, and exits 0 on SIGTERM."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulator",
        "--port=0",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        assert line.startswith("PORTOS simulator listening on http://127.0.0.1:")
        url = line.split()[4]
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{url}/api/v2/health") as response,
        ):
            assert (await response.json())["status"] == "Healthy"
        process.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(process.communicate(), 20)
        assert "PORTOS simulator stopped" in out.decode()
        assert process.returncode == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def test_serve_off_the_main_thread(socket_enabled: None) -> None:
    """Off the main thread no signal handlers can be set; serve() still runs and stops."""

    class StopServingError(Exception):
        """Ends the server from its started hook."""

    outcome: list[str] = []

    async def started(simulator: Simulator) -> None:
        assert simulator.running
        raise StopServingError

    def run() -> None:
        try:
            asyncio.run(
                serve(SimulatorConfig(port=0), started), loop_factory=asyncio.new_event_loop
            )
        except StopServingError:
            outcome.append("stopped")

    thread = threading.Thread(target=run, name="serve-off-main")
    thread.start()
    thread.join(20)
    assert outcome == ["stopped"]


async def test_serve_stops_on_sigterm(socket_enabled: None) -> None:
    """serve() without a hook runs until SIGTERM, then stops and returns."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    task = asyncio.create_task(serve(SimulatorConfig(port=port)))
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            try:
                async with session.get(f"http://127.0.0.1:{port}/api/v2/health") as response:
                    if response.status == 200:
                        break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.02)
    # The handlers are installed before serve() first yields, so this cannot kill pytest.
    signal.raise_signal(signal.SIGTERM)
    await asyncio.wait_for(task, 10)
