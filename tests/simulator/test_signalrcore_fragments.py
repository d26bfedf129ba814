"""Fidelity check: signalrcore 1.0.2's own client, a second SignalR client, joins fragments."""

from __future__ import annotations

import asyncio
from functools import partial
import threading
from typing import TYPE_CHECKING, Any

from signalrcore.hub_connection_builder import HubConnectionBuilder

from tests.simulator.hubclient import RS, login

if TYPE_CHECKING:
    import aiohttp

    from simulator.server import Simulator
    from tests.till import Till

TICKETS = {"e": "portos.resources.changed", "r": [{"n": "tickets"}]}


async def test_signalrcore_reassembles_a_fragmented_on_event(
    http: aiohttp.ClientSession, simulator: Simulator, till: Till
) -> None:
    """A ~20 KB OnEvent sent as a text frame and continuation frames reaches signalrcore whole.

    Its fragments are cut every 4096 bytes, some inside a two-byte character: signalrcore joins
    the frames before decoding. Its threads are all ended before the test returns.
    """
    loop = asyncio.get_running_loop()
    token = (await login(http, simulator.url))["tokenId"]
    opened = asyncio.Event()
    subscribed = asyncio.Event()
    received: asyncio.Queue[Any] = asyncio.Queue()
    closed = asyncio.Event()

    def build() -> Any:
        # Building reads certificates and start() blocks on sockets: both off the loop.
        connection = (
            HubConnectionBuilder()
            .with_url(
                f"{simulator.url}/signalr/v1/mainHub",
                options={"access_token_factory": lambda: token},
            )
            .build()
        )
        # Its callbacks run on its reader thread: hand everything to the loop.
        connection.on_open(partial(loop.call_soon_threadsafe, opened.set))
        connection.on_close(partial(loop.call_soon_threadsafe, closed.set))
        connection.on(
            "OnEvent", lambda arguments: loop.call_soon_threadsafe(received.put_nowait, arguments)
        )
        connection.start()
        return connection

    connection = await loop.run_in_executor(None, build)
    try:
        async with asyncio.timeout(10):
            await opened.wait()
        await loop.run_in_executor(
            None,
            partial(
                connection.send,
                "Subscribe",
                [TICKETS],
                on_invocation=lambda _: loop.call_soon_threadsafe(subscribed.set),
            ),
        )
        async with asyncio.timeout(10):
            await subscribed.wait()

        # A notification of ~20 KB (five fragments at the default size), mostly "č" (two bytes).
        notification = {"e": "test.large", "s": None, "r": None, "ca": None, "p": "xč" * 7000}
        assert await till.emit(notification) == {"sent": 1}
        # A real ticket with a long order, through the subscription.
        items = [
            {"name": f"Bryndzové halušky {n}", "unitPrice": 8.9, "quantity": {"amount": 1}}
            for n in range(120)
        ]
        ticket = await till.create_ticket("Table 9", items=items)
        async with asyncio.timeout(10):
            first = await received.get()
            second = await received.get()
        assert first == [notification]
        (event,) = second
        assert event["e"] == "portos.resources.changed"
        assert event["p"]["r"] == [ticket]
        (summary,) = (await till.state())["connections"]
        assert summary["fragmented"] == 2
        # A frame of its own after the fragmented ones still parses (the stream is in step).
        await till.emit_raw('{"type":1,"target":"OnEvent","arguments":[{"e":"after"}]}' + RS)
        async with asyncio.timeout(10):
            assert await received.get() == [{"e": "after"}]
    finally:
        # stop() would block until the server's next frame: cut the connection from the server
        # side instead, so the reader thread sees the end of the stream and exits.
        await till.drop_hub()
        async with asyncio.timeout(10):
            await closed.wait()
        await loop.run_in_executor(None, connection.stop)
        client = connection.transport._client
        reader: threading.Thread | None = client.recv_thread
        if reader is not None:
            await loop.run_in_executor(None, partial(reader.join, 10))
            assert not reader.is_alive()
        client.sock.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("Signalrcore")]
