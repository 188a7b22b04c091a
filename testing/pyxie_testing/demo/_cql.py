"""The demo's Cassandra: orders keeps an order ledger in a CQL store.

No Cassandra can run here, so the shop starts the CQL test server (pyxie_testing.wire.cql_server,
on cassandra-driver's own codec) as a child process on an ephemeral loopback port, and talks to it
with cassandra-driver (protocol v4): each order is written with a prepared INSERT into
``shop.orders`` and read back with a prepared SELECT by id. One worker thread owns the writes so
the order handler never waits for the ledger.
"""

from __future__ import annotations

import contextlib
import queue
import subprocess
import sys
import threading
from typing import Any

__all__ = ["OrderLedger"]

INSERT = "INSERT INTO orders (id, product_id, quantity, email) VALUES (?, ?, ?, ?)"
SELECT = "SELECT id, product_id, quantity, email FROM orders WHERE id = ?"


class OrderLedger:
    """A private CQL server and one cassandra-driver session that records every order."""

    def __init__(self) -> None:
        self._server = subprocess.Popen(
            [sys.executable, "-m", "pyxie_testing.wire.cql_server"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert self._server.stdout is not None
        line = self._server.stdout.readline()  # the server prints its port once it listens
        if not line.strip().isdigit():
            self._stop_server()
            raise RuntimeError("the demo's CQL server did not come up")
        self.port = int(line)
        self.recorded = 0
        self.read_back = 0
        self.failed = 0
        self._pending: queue.Queue[tuple[int, int, int, str] | None] = queue.Queue()
        self._cluster, self._session = self._connect()
        self._insert = self._session.prepare(INSERT)
        self._select = self._session.prepare(SELECT)
        self._thread = threading.Thread(target=self._run, name="order-ledger", daemon=True)
        self._thread.start()

    def _connect(self) -> tuple[Any, Any]:
        from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
        from cassandra.policies import RoundRobinPolicy

        profile = ExecutionProfile(load_balancing_policy=RoundRobinPolicy(), request_timeout=5)
        cluster = Cluster(
            ["127.0.0.1"],
            port=self.port,
            protocol_version=4,
            schema_metadata_enabled=False,
            token_metadata_enabled=False,
            execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        )
        return cluster, cluster.connect("shop")

    def publish(self, order_id: int, order: dict[str, Any]) -> None:
        """Record a stored order (``product_id``, ``quantity``, ``email``) in the ledger."""
        item = (order_id, int(order["product_id"]), int(order.get("quantity", 1)), order["email"])
        self._pending.put(item)

    def _run(self) -> None:
        while (item := self._pending.get()) is not None:
            try:
                self._session.execute(self._insert, item)
                self.recorded += 1
                row = self._session.execute(self._select, (item[0],)).one()
                if row is not None and row.email == item[3]:
                    self.read_back += 1
            except Exception:  # the ledger is best effort: an order is never lost over it
                self.failed += 1

    def close(self) -> None:
        self._pending.put(None)
        self._thread.join(10)
        try:
            self._cluster.shutdown()
        finally:
            self._stop_server()

    def _stop_server(self) -> None:
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            self._server.communicate(timeout=5)  # closing its stdin stops it
        if self._server.poll() is None:
            self._server.kill()
            self._server.wait()
