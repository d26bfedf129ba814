"""`python -m simulator`: run the PORTOS simulator until Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
import contextlib
import logging
import signal
import sys

from .config import SimulatorConfig, parse_args
from .server import Simulator

_LOGGER = logging.getLogger("simulator")

StartedHook = Callable[[Simulator], Awaitable[None]]


async def serve(config: SimulatorConfig, started: StartedHook | None = None) -> None:
    """Run a simulator until SIGINT or SIGTERM (or the `started` hook returns, if it stops it)."""
    simulator = Simulator(config)
    await simulator.start()
    sys.stdout.write(
        f"PORTOS simulator listening on {simulator.url} "
        f"(user {config.user!r}, resources under {config.api_prefix})\n"
    )
    sys.stdout.flush()
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Signal handlers only work in the main thread; elsewhere the caller stops us.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stopping.set)
            installed.append(sig)
    try:
        if started is not None:
            await started(simulator)
        await stopping.wait()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        await simulator.stop()
        sys.stdout.write("PORTOS simulator stopped\n")
        sys.stdout.flush()


def main(argv: Sequence[str] | None = None, *, started: StartedHook | None = None) -> int:
    """Parse the command line and serve; return the process exit code."""
    config = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        # A private loop: never replace the caller's current event loop.
        asyncio.run(serve(config, started), loop_factory=asyncio.new_event_loop)
    except OSError as err:
        _LOGGER.error("Cannot listen on %s:%s: %s", config.host, config.port, err)  # noqa: TRY400
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover - run as a process in test_cli
    sys.exit(main())
