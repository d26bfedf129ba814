"""The /_sim/ controls: load, emit validation, and the state summary."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.till import Till, TillError

if TYPE_CHECKING:
    from simulator.server import Simulator
    from tests.simulator.hubclient import HubFactory


async def test_load_makes_changes_and_notifies(
    hub_factory: HubFactory, till: Till, simulator: Simulator
) -> None:
    """`/_sim/load` makes N changes and, before it replies, queues exactly one event per change.

    The events come in order: each ticket is created at `_v` 1, updated at 2 and closed at 3.
    """
    client = await hub_factory()
    await client.subscribe({"e": "portos.resources.changed"})
    reply = await till.load(7)
    assert reply["count"] == 7
    assert isinstance(reply["elapsed"], float)
    events = [await client.event() for _ in range(7)]
    # A marker emitted after the reply is the very next record: the load sent 7, not more.
    await till.emit({"e": "test.marker", "s": None, "r": None, "ca": None, "p": None})
    assert (await client.event())["e"] == "test.marker"
    assert [e["p"]["a"] for e in events] == [1, 2, 2, 1, 2, 2, 1]
    ids = [e["p"]["i"]["i"] for e in events]
    assert ids[0] == ids[1] == ids[2] != ids[3] == ids[4] == ids[5] != ids[6]
    assert [e["p"]["i"]["v"] for e in events] == [1, 2, 3, 1, 2, 3, 1]
    assert [e["p"]["r"][0]["_v"] for e in events] == [1, 2, 3, 1, 2, 3, 1]
    assert [e["p"]["r"][0]["closeDate"] is not None for e in events] == [
        False,
        False,
        True,
        False,
        False,
        True,
        False,
    ]
    assert {e["p"]["u"]["d"] for e in events} == {"P01"}
    assert len(simulator.state.tickets) == 3
    closed = [t for t in simulator.state.tickets.values() if t["closeDate"] is not None]
    assert len(closed) == 2
    assert simulator.state.hub.stats.notifications_sent == 7


@pytest.mark.parametrize("rate", [200, 1e9])
async def test_paced_load(till: Till, simulator: Simulator, rate: float) -> None:
    """A rate paces the changes (a rate too high to keep up with never sleeps); all are made."""
    reply = await till.load(6, rate=rate)
    assert reply["count"] == 6
    assert len(simulator.state.tickets) == 2


async def test_unpaced_load_yields(till: Till, simulator: Simulator) -> None:
    """An unpaced burst larger than one yield step completes."""
    assert (await till.load(120, rate=0))["count"] == 120
    assert len(simulator.state.tickets) == 40


@pytest.mark.parametrize(
    "body",
    [
        {"count": -1},
        {"count": "10"},
        {"count": True},
        {"count": 10_000_000},
        {"count": 1, "rate": -5},
        {"count": 1, "rate": "fast"},
        {"count": 1, "rate": False},
        [],
    ],
)
async def test_load_validation(till: Till, body: Any) -> None:
    """Bad load requests are 400 problems."""
    with pytest.raises(TillError) as err:
        await till._control("load", body)
    assert err.value.status == 400
    assert err.value.body["errorCode"] == 3


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"unknown": 1},
        {"negotiate_version": 2},
        {"negotiate_version": True},
        {"websocket_token": "header"},
        {"handshake_error": ""},
        {"handshake_error": 5},
    ],
)
async def test_hub_mode_validation(till: Till, body: Any) -> None:
    """Bad hub mode requests are 400 problems and change nothing."""
    with pytest.raises(TillError) as err:
        await till._control("hub/mode", body)
    assert err.value.status == 400
    assert err.value.body["errorCode"] == 3
    assert await till.hub_mode() == {
        "negotiate_version": 1,
        "websocket_token": "any",
        "handshake_error": None,
    }


async def test_emit_with_no_connections(till: Till) -> None:
    """Emits report how many connections got them."""
    assert await till.emit({"e": "x"}) == {"sent": 0}
    assert await till.emit_raw("x") == {"sent": 0}
    # An object that merely contains "raw" among other keys is a notification, not raw text.
    assert await till.emit({"raw": "x", "e": "y"}) == {"sent": 0}


async def test_state_summary(hub_factory: HubFactory, till: Till) -> None:
    """`GET /_sim/state` reports tickets, sessions, pause and each connection."""
    client = await hub_factory()
    await client.subscribe({"e": "portos.resources.changed"})
    await till.create_ticket("Table 1")
    await client.event()
    state = await till.state()
    assert state["tickets"] == 1
    assert state["sessions"] == 2
    assert state["paused"] is False
    assert state["connections"] == [
        {
            "id": client.connection_id,
            "ready": True,
            "user": "admin",
            "device": "HomeAssistant",
            "subscriptions": 1,
            "fragmented": 0,
        }
    ]
    assert state["stats"] == {
        "connectionsOpened": 1,
        "notificationsSent": 1,
        "invocations": 1,
        "messagesFragmented": 0,
    }
