"""What tests of every kind share: the simulator factory's type and a free port."""

from __future__ import annotations

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
