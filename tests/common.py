"""What tests of every kind share: simulator factory type, free port, polled wait, script import."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import importlib.util
from pathlib import Path
import socket
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import ModuleType

    from simulator.server import Simulator

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"

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


def load_script(name: str) -> ModuleType:
    """Import scripts/<name>.py (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered before running it: dataclasses look their module up in sys.modules.
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
