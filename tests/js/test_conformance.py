"""The official @microsoft/signalr client under Node against the simulator: real SignalR."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
import shutil
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from simulator.server import Simulator

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("conformance.mjs")
SIGNALR = ROOT / "node_modules" / "@microsoft" / "signalr" / "package.json"
NODE = shutil.which("node")

# Every check the script must report, so a check silently dropped from it fails here.
EXPECTED_CHECKS = (
    "started",
    "connection_id",
    "subscribe_completed",
    "delivery",
    "envelope_e",
    "envelope_s",
    "envelope_r",
    "envelope_ca",
    "envelope_ea",
    "payload_u",
    "payload_n",
    "payload_a",
    "payload_i",
    "payload_r",
    "update_reaches_all_actions",
    "filter_action",
    "delete_delivered",
    "filter_resource",
    "license_event",
    "license_filter",
    "unsubscribe_reference_delivered",
    "unsubscribe",
    "large_event_whole",
    "invalid_subscribe_rejected",
    "connection_survives_error",
    "stopped",
)


async def _run_node(url: str) -> tuple[int, dict[str, Any], str]:
    """Run the conformance script on the URL; return its exit code, verdict and stderr."""
    if NODE is None:
        pytest.skip("node is not installed")
    if not SIGNALR.is_file():
        pytest.skip("node_modules/@microsoft/signalr is missing (run npm ci)")
    process = await asyncio.create_subprocess_exec(
        NODE,
        str(SCRIPT),
        url,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    lines = stdout.decode().strip().splitlines()
    assert lines, f"no verdict from node; stderr: {stderr.decode()[-2000:]}"
    return process.returncode or 0, json.loads(lines[-1]), stderr.decode()


async def test_official_client_conformance(simulator: Simulator) -> None:
    """Delivery, envelopes, resource/action filters, unsubscribe and the license event."""
    code, verdict, stderr = await _run_node(simulator.url)
    checks = verdict["checks"]
    failed = {name: check["detail"] for name, check in checks.items() if not check["ok"]}
    assert not failed, f"failed checks: {failed}; stderr: {stderr[-2000:]}"
    assert sorted(checks) == sorted(EXPECTED_CHECKS)
    assert verdict["ok"] is True
    assert code == 0
    # The server saw what the client saw: three connections, each past its handshake.
    assert simulator.state.hub.stats.connections_opened == 3
    # create: A+C, update: C, delete: A+C, license: A, create after unsubscribe: C, large
    # update: C.
    assert simulator.state.hub.stats.notifications_sent == 8
    # The large update went out as a text frame and continuation frames (default 4096 bytes).
    assert simulator.state.hub.stats.messages_fragmented == 1


async def test_conformance_fails_against_a_broken_server(simulator: Simulator) -> None:
    """The script is not a rubber stamp: with the hub paused it reports failure."""
    simulator.state.hub.paused = True
    code, verdict, _ = await _run_node(simulator.url)
    assert verdict["ok"] is False
    assert verdict["checks"]["no_exception"]["ok"] is False
    assert code == 1
