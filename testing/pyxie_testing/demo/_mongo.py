"""The demo's MongoDB: orders keeps an archive of every order in ``shop.orders``.

No MongoDB server can be installed here, so the shop runs pyxie_testing.wire.mongo_server (a
small server on pymongo's own bson codec and OP_MSG framing, with real in-memory collections) as
a child of the orders process on an ephemeral loopback port. One worker thread owns the pymongo
client: it inserts each archived order and, every few orders, reads the most recent ones back
(a ``find`` with sort and limit), so mongodb_events sees both writes and reads.
"""

from __future__ import annotations

import datetime
import queue
import subprocess
import sys
import threading
from typing import Any

__all__ = ["OrderArchive"]

COLLECTION = "orders"
DATABASE = "shop"
READ_BACK_EVERY = 5


class OrderArchive:
    """A private MongoDB-speaking server and a pymongo client writing ``shop.orders``."""

    def __init__(self) -> None:
        self._server = subprocess.Popen(
            [sys.executable, "-m", "pyxie_testing.wire.mongo_server", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        assert self._server.stdout is not None
        line = self._server.stdout.readline()
        if not line.startswith("listening "):
            self._server.kill()
            self._server.wait()
            raise RuntimeError(f"the demo's MongoDB server did not come up: {line!r}")
        self.port = int(line.split()[1])
        self.archived = 0
        self.read_back = 0
        self._pending: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="order-archive", daemon=True)
        self._thread.start()

    def publish(self, order_id: int, email: str, traceparent: str | None) -> None:
        """Archive one order (asynchronously: the HTTP handler never waits for MongoDB)."""
        self._pending.put(
            {
                "order_id": order_id,
                "email": email,
                "traceparent": traceparent or "",
                "created": datetime.datetime.now(datetime.UTC),
            }
        )

    def _run(self) -> None:
        import pymongo

        client: Any = pymongo.MongoClient(
            "127.0.0.1", self.port, directConnection=True, appname="pyxie-demo-orders"
        )
        orders = client[DATABASE][COLLECTION]
        try:
            while True:
                doc = self._pending.get()
                if doc is None:
                    return
                try:
                    orders.insert_one(doc)
                    self.archived += 1
                    if self.archived % READ_BACK_EVERY == 0:
                        recent = orders.find({}, {"_id": 0, "order_id": 1, "email": 1})
                        self.read_back += len(list(recent.sort("order_id", -1).limit(5)))
                except pymongo.errors.PyMongoError:
                    continue  # the archive is best effort: an order is never refused for it
        finally:
            client.close()

    def close(self) -> None:
        self._pending.put(None)
        self._thread.join(10)
        self._server.terminate()
        try:
            self._server.wait(5)
        except subprocess.TimeoutExpired:
            self._server.kill()
            self._server.wait()
        if self._server.stdout is not None:
            self._server.stdout.close()
