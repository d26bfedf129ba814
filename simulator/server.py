"""The Simulator: builds the aiohttp app, starts and stops it, restartable on the same port."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Self

from aiohttp import web

from . import controls, rest
from .config import SimulatorConfig
from .demo import DemoDay
from .hub import HUB_PATH
from .state import SimulatorState

if TYPE_CHECKING:
    from types import TracebackType


def create_app(state: SimulatorState) -> web.Application:
    """Return a fresh aiohttp application serving `state`."""
    app = web.Application(middlewares=[rest.problem_middleware])
    app[rest.STATE_KEY] = state
    rest.add_routes(app, state.config.api_prefix)
    app.router.add_post(f"{HUB_PATH}/negotiate", state.hub.negotiate)
    app.router.add_get(HUB_PATH, state.hub.websocket)
    controls.add_routes(app)
    return app


class Simulator:
    """A PORTOS server on a TCP port; its state survives stop() and start()."""

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        """Prepare (but do not start) a simulator."""
        self.config = config or SimulatorConfig()
        self.state = SimulatorState(self.config)
        self._port = self.config.port
        self._runner: web.AppRunner | None = None
        self._demo: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """Return whether the server is listening."""
        return self._runner is not None

    @property
    def port(self) -> int:
        """Return the bound port (the configured one until the first start)."""
        return self._port

    @property
    def url(self) -> str:
        """Return the server URL, e.g. http://127.0.0.1:3000."""
        return f"http://{self.config.host}:{self._port}"

    async def start(self) -> None:
        """Bind and serve; port 0 picks a free port, kept for later restarts."""
        if self._runner is not None:
            raise RuntimeError("The simulator is already running")
        # The short shutdown timeout keeps stop() bounded when a client holds a request open.
        runner = web.AppRunner(
            create_app(self.state), handle_signals=False, access_log=None, shutdown_timeout=2.0
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, self.config.host, self._port).start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        if self.config.demo:
            demo = DemoDay(self.state, self.config.demo_interval)
            if not self.state.tickets:
                demo.seed()
            self._demo = asyncio.get_running_loop().create_task(demo.run(), name="portos-sim-demo")

    async def stop(self) -> None:
        """Stop the demo, close hub connections, stop listening and close the state file."""
        if self._demo is not None:
            self._demo.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._demo
            self._demo = None
        runner, self._runner = self._runner, None
        if runner is not None:
            await self.state.hub.close_all()
            await runner.cleanup()
        # Also when not running: changes made while stopped (tests drive the state directly)
        # open the file again.
        self.state.close()

    async def __aenter__(self) -> Self:
        """Start on entering."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop on leaving."""
        await self.stop()
