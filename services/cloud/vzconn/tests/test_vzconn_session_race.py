"""A bridge stream that ends while vzconn waits for cloud traffic leaves no stray LanesClosed.

Seen once mid-suite: "Task exception was never retrieved ... LanesClosed". The session waits
on a `get` from its cloud-to-vizier lanes; when the stream ended right then (the vizier hung
up, vzconn stopping), the session closed the lanes, which woke that orphaned `get` into a
LanesClosed nobody awaited. Here the race is made to happen every time: the session's
generator is cancelled exactly while it waits.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from typing import Any

from prometheus_client import CollectorRegistry
from pyxie_proto.cloud.vzconnpb import vzconn_pb2 as pb
from pyxie_service import NatsBus
from pyxie_vzconn.controllers.bridge import _BridgeMetrics, _Session


async def _silent_vizier(stop: asyncio.Event) -> AsyncIterator[pb.V2CBridgeMessage]:
    await stop.wait()
    return
    yield  # pragma: no cover - makes this an async generator


async def test_ending_a_stream_while_it_waits_leaves_no_unretrieved_lanes_closed(
    nats_server: Any,
) -> None:
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    bus = await NatsBus.connect(nats_server.url, name="race")
    try:
        for _ in range(20):
            stop = asyncio.Event()
            session = _Session(
                "00000000-0000-0000-0000-000000000001",
                bus,
                8,
                _BridgeMetrics(CollectorRegistry()),
            )
            outgoing = session.run(_silent_vizier(stop))
            waiting = asyncio.ensure_future(anext(outgoing))
            # Let the session subscribe and park in its wait for cloud traffic.
            for _ in range(20):
                await asyncio.sleep(0)
            waiting.cancel()
            await asyncio.gather(waiting, return_exceptions=True)
            await outgoing.aclose()
            stop.set()
        gc.collect()
        for _ in range(5):
            await asyncio.sleep(0)
        gc.collect()
    finally:
        loop.set_exception_handler(previous)
        await bus.drain()
    stray = [e for e in errors if "LanesClosed" in repr(e.get("exception"))]
    assert stray == [], stray
