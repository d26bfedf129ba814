"""What tests of every kind share: the simulator factory's type, a free port, a polled wait."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulator.server import Simulator

type SimulatorFactory = Callable[..., Awaitable[Simulator]]


def free_port() -> int:
    """Return a 127.0.0.1 port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def until(predicate: Callable[[], bool], timeout: float = 15.0, what: str = "") -> None:
    """Poll until predicate() holds; fail the test after `timeout` seconds."""
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 - the state lives in callbacks, not events
            await asyncio.sleep(0.02)
    assert predicate(), what
