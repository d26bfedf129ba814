"""--state-file: tickets, versions, receipt numbers and the license survive restarts and kill -9."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from pathlib import Path
import signal
import sys
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from simulator import journal as journal_module
from simulator.config import SimulatorConfig
from simulator.journal import Journal, Stored
from simulator.money import MENU
from simulator.state import SimulatorState
from simulator.store import Actor
from tests.simulator.hubclient import HubClient, login
from tests.till import Till, TillError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from tests.common import SimulatorFactory

ROOT = Path(__file__).resolve().parents[2]
CASHIER = Actor("admin", "P01")


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def _shop_day(till: Till) -> dict[str, str]:
    """Open, order, pay, delete; return the ids by what happened to them."""
    paid = await till.create_ticket("Table 1", items=[MENU[6].item(2)])
    await till.update_ticket(paid["id"], items=[MENU[6].item(2), MENU[3].item(1)])
    await till.close_ticket(
        paid["id"], [{"paymentType": "card", "amount": 10}, {"paymentType": "cash"}]
    )
    seated = await till.create_ticket("Table 2", items=[MENU[0].item(1)], discountRate=10)
    gone = await till.create_ticket("Table 3")
    await till.delete_ticket(gone["id"])
    await till.set_license_days(12)
    return {"paid": paid["id"], "seated": seated["id"], "gone": gone["id"]}


async def test_a_restart_keeps_the_shop_but_not_the_sessions(
    simulator_factory: SimulatorFactory, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    """A new simulator on the same file has the same tickets, license and receipt numbering.

    Its tokens are new: an old one gets 401 on REST and on the hub, as after a real restart.
    """
    path = tmp_path / "shop.jsonl"
    first = await simulator_factory(state_file=str(path))
    till = Till(http, first.url)
    ids = await _shop_day(till)
    tickets = json.loads(json.dumps(first.state.tickets))
    license_before = first.state.shop_license.to_dict()
    token = str((await login(http, first.url))["tokenId"])
    await first.stop()

    second = await simulator_factory(state_file=str(path))
    assert second.state.tickets == tickets
    assert set(tickets) == {ids["paid"], ids["seated"]}
    assert second.state.tickets[ids["paid"]]["_v"] == 3
    assert second.state.shop_license.to_dict() == license_before
    assert license_before["remainingDays"] == 12
    assert second.state.auth.sessions == []
    again = Till(http, second.url)
    again.token = till.token
    # The till's old token is refused, so it logs in again by itself and carries on.
    next_ticket = await again.create_ticket("Table 4", items=[MENU[0].item(1)])
    closed = await again.close_ticket(next_ticket["id"])
    assert closed["closeInfo"]["receiptNumber"] == 2
    async with http.get(
        f"{second.url}/api/v1/tickets", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        assert response.status == 401
    refused = await HubClient(http, second.url, token).negotiate_request()
    assert refused.status == 401


async def test_without_a_state_file_a_restart_is_a_new_shop(
    simulator_factory: SimulatorFactory, http: aiohttp.ClientSession
) -> None:
    """Without --state-file every new simulator starts wiped (the same object keeps its state)."""
    first = await simulator_factory()
    await _shop_day(Till(http, first.url))
    await first.stop()
    await first.start()
    assert len(first.state.tickets) == 2
    assert first.state.journal is None
    second = await simulator_factory()
    assert second.state.tickets == {}
    assert second.state.shop_license.remaining_days == 365


async def test_stopped_and_started_in_process(
    simulator_factory: SimulatorFactory, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    """stop()/start() keeps the state; changes made while stopped are journaled too."""
    path = tmp_path / "shop.jsonl"
    simulator = await simulator_factory(state_file=str(path))
    await simulator.stop()
    simulator.state.create_ticket({"name": "Bar 1"}, CASHIER)
    await simulator.start()
    await simulator.stop()
    restored = SimulatorState(SimulatorConfig(state_file=str(path)))
    assert [t["name"] for t in restored.tickets.values()] == ["Bar 1"]


def test_the_file_is_compacted_when_opened(tmp_path: Path) -> None:
    """Opening keeps one line per live record, whatever the history was."""
    path = tmp_path / "shop.jsonl"
    state = SimulatorState(SimulatorConfig(state_file=str(path)))
    ticket = state.create_ticket({"name": "Table 1"}, CASHIER)
    for n in range(20):
        state.update_ticket(ticket["id"], {"items": [MENU[1].item(n + 1)]}, CASHIER)
    state.close_ticket(ticket["id"], CASHIER)
    gone = state.create_ticket({"name": "Table 2"}, CASHIER)
    state.delete_ticket(gone["id"], CASHIER)
    state.activate_license()
    assert len(_lines(path)) > 25
    assert state.journal is not None
    state.close()
    restored = SimulatorState(SimulatorConfig(state_file=str(path)))
    assert restored.tickets == state.tickets
    assert restored.store.last_receipt == 1
    kinds = [line["kind"] for line in _lines(path)]
    assert kinds == ["header", "license", "receipt", "ticket"]
    assert _lines(path)[0] == {"kind": "header", "format": 1}


def test_a_journal_that_outgrows_the_shop_is_compacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While running, a journal far longer than the live state is rewritten."""
    monkeypatch.setattr(journal_module, "COMPACT_SLACK", 10)
    path = tmp_path / "shop.jsonl"
    state = SimulatorState(SimulatorConfig(state_file=str(path)))
    ticket = state.create_ticket({"name": "Table 1"}, CASHIER)
    for n in range(40):
        state.update_ticket(ticket["id"], {"note": str(n)}, CASHIER)
    # 3 state lines plus a header, then at most 3 + 10 appended before the next compaction.
    assert len(_lines(path)) <= 4 + 13
    assert state.journal is not None
    state.close()
    assert SimulatorState(SimulatorConfig(state_file=str(path))).tickets == state.tickets


def test_torn_and_unreadable_lines_are_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A torn last line (a kill mid-write) and lines of unknown kinds are dropped and logged."""
    path = tmp_path / "shop.jsonl"
    good = {"kind": "ticket", "ticket": {"id": "a", "name": "Table 1", "closeDate": None, "_v": 1}}
    path.write_text(
        "\n".join(
            [
                json.dumps({"kind": "header", "format": 1}),
                json.dumps(good),
                json.dumps({"kind": "ticket", "ticket": {"id": 5}}),
                json.dumps({"kind": "spaceship"}),
                "[1, 2]",
                json.dumps({"kind": "deleted", "id": "nothing-here"}),
                '{"kind": "ticket", "ticket": {"id": "b", "na',
            ]
        )
    )
    with caplog.at_level(logging.WARNING):
        state = SimulatorState(SimulatorConfig(state_file=str(path)))
    assert list(state.tickets) == ["a"]
    assert "Skipped 4 unreadable line(s)" in caplog.text
    assert json.dumps(good, separators=(",", ":")) + "\n" in path.read_text()
    assert "spaceship" not in path.read_text()


def test_the_state_file_wins_over_the_flags(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The stored license (and shop id) is the shop's; a broken license record is replaced."""
    path = tmp_path / "shop.jsonl"
    state = SimulatorState(SimulatorConfig(state_file=str(path), shop_id=1, license_days=3))
    assert state.journal is not None
    state.close()
    with caplog.at_level(logging.WARNING):
        other = SimulatorState(SimulatorConfig(state_file=str(path), shop_id=2, license_days=99))
    assert (other.shop_license.shop_id, other.shop_license.remaining_days) == (1, 3)
    assert "The state file's shop 1 wins over --shop-id 2" in caplog.text
    assert other.journal is not None
    other.close()
    path.write_text(json.dumps({"kind": "license", "license": {"shopId": 7}}) + "\n")
    with caplog.at_level(logging.WARNING):
        broken = SimulatorState(SimulatorConfig(state_file=str(path), shop_id=7))
    assert broken.shop_license.remaining_days == 365
    assert "The state file's license is unreadable" in caplog.text


def test_journal_misuse_and_records() -> None:
    """A journal compacts only once loaded; records that are not ours are refused."""
    with pytest.raises(RuntimeError):
        Journal(Path("/nonexistent/shop.jsonl")).compact()
    stored = Stored()
    assert not stored.apply(["ticket"])
    assert not stored.apply({"kind": "receipt", "last": "7"})
    assert stored.apply({"kind": "receipt", "last": 7})
    assert stored.last_receipt == 7


# --- a real process, killed ----------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _process(state_file: Path) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """Run `python -m simulator --state-file ...` on a free port; kill it if still running."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulator",
        "--port=0",
        f"--state-file={state_file}",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        assert line.startswith("PORTOS simulator listening on http://127.0.0.1:"), line
        yield process, line.split()[4]
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def _sigkill(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGKILL)
    assert await asyncio.wait_for(process.wait(), 20) == -signal.SIGKILL


async def test_kill_9_loses_nothing_acknowledged(
    socket_enabled: None, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    """A process killed right after its last reply restarts on its file with everything in it."""
    path = tmp_path / "shop.jsonl"
    async with _process(path) as (process, url):
        till = Till(http, url)
        ids = await _shop_day(till)
        seated = await till.update_ticket(ids["seated"], items=[MENU[0].item(2)])
        await _sigkill(process)
    async with _process(path) as (process, url):
        again = Till(http, url)
        again.token = till.token
        assert (await again.get_ticket(ids["seated"])) == seated
        paid = await again.get_ticket(ids["paid"])
        assert (paid["_v"], paid["closeInfo"]["receiptNumber"]) == (3, 1)
        assert [p["paymentType"]["category"] for p in paid["payments"]] == ["Card", "Cash"]
        with pytest.raises(TillError) as err:
            await again.get_ticket(ids["gone"])
        assert err.value.status == 404
        async with http.get(f"{url}/api/v1/license") as response:
            assert (await response.json())["remainingDays"] == 12
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 20) == 0


async def test_kill_9_during_a_load_keeps_every_notified_change(
    socket_enabled: None, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    """Changes are journaled before they are notified: whatever a subscriber saw is on disk."""
    path = tmp_path / "shop.jsonl"
    seen: dict[str, int] = {}
    async with _process(path) as (process, url):
        token = str((await login(http, url))["tokenId"])
        client = HubClient(http, url, token)
        await client.connect()
        await client.subscribe({"e": "portos.resources.changed", "r": [{"n": "tickets"}]})
        load = asyncio.create_task(Till(http, url).load(1_000_000))
        while len(seen) < 300:
            payload = (await client.event())["p"]
            seen[payload["i"]["i"]] = payload["i"]["v"]
        await _sigkill(process)
        with contextlib.suppress(AssertionError, TimeoutError, aiohttp.ClientError):
            while True:
                payload = (await client.event())["p"]
                seen[payload["i"]["i"]] = payload["i"]["v"]
        with contextlib.suppress(aiohttp.ClientError):
            await load
        await client.close()
    restored = SimulatorState(SimulatorConfig(state_file=str(path)))
    for ticket_id, version in seen.items():
        assert restored.tickets[ticket_id]["_v"] >= version
    receipts = [
        t["closeInfo"]["receiptNumber"] for t in restored.tickets.values() if t["closeInfo"]
    ]
    assert restored.store.last_receipt == max(receipts) == len(receipts)
