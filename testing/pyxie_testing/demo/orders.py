"""The orders service: orders and products in PostgreSQL, stock in MySQL, a Redis cache."""

from __future__ import annotations

import os
import random
import re
import shutil
import tempfile
import threading
import time
from http.server import ThreadingHTTPServer
from typing import Any

import psycopg

from ._cache import ProductCache
from ._cql import OrderLedger
from ._dns import ShopResolver
from ._events import OrderEvents, ShipmentQueue
from ._grpc import serve_products
from ._http import JSONHandler
from ._inventory import Inventory
from ._kafka import OrderRecords
from ._mongo import OrderArchive

__all__ = ["serve_orders"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS products (
    id SERIAL PRIMARY KEY, name TEXT NOT NULL, price_cents INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
    id SERIAL PRIMARY KEY, product_id INTEGER NOT NULL REFERENCES products(id),
    quantity INTEGER NOT NULL, email TEXT NOT NULL, created_at TIMESTAMPTZ DEFAULT now());
"""
_PRODUCTS = ["teapot", "kettle", "mug", "saucer", "spoon", "strainer", "cosy", "tray"]
_ORDER_PATH = re.compile(r"^/orders/(\d+)$")
_PRODUCT_PATH = re.compile(r"^/products/(\d+)$")


def _prepare(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(_SCHEMA)
        if conn.execute("SELECT count(*) FROM products").fetchone() == (0,):
            for i, name in enumerate(_PRODUCTS):
                conn.execute(
                    "INSERT INTO products (name, price_cents) VALUES (%s, %s)",
                    (name, 500 + 250 * i),
                )


def serve_orders(port: int, dsn: str, host: str = "0.0.0.0") -> None:
    """Serve until interrupted."""
    _prepare(dsn)
    local = threading.local()

    def db() -> psycopg.Connection[Any]:
        conn = getattr(local, "conn", None)
        if conn is None or conn.closed:
            conn = psycopg.connect(dsn, autocommit=True)
            local.conn = conn
        return conn

    def load(product_id: int) -> tuple[int, str, int] | None:
        row = (
            db()
            .execute("SELECT id, name, price_cents FROM products WHERE id = %s", (product_id,))
            .fetchone()
        )
        return None if row is None else (int(row[0]), str(row[1]), int(row[2]))

    # Stock in a private MariaDB, a product cache in a private Redis, the mailer's address
    # from a private DNS resolver: each optional (None when its server is not installed).
    state = tempfile.mkdtemp(prefix="pyxie-demo-orders-")
    inventory = Inventory.start(os.path.join(state, "mariadb"), len(_PRODUCTS))
    cache = ProductCache.start(os.path.join(state, "redis"))
    resolver = ShopResolver.start()

    def lookup(product_id: int) -> tuple[int, str, int] | None:
        if inventory is not None:
            inventory.in_stock(product_id)
        return load(product_id) if cache is None else cache.product(product_id, load)

    grpc_server, grpc_port = serve_products(lookup, host)
    events = OrderEvents()
    ledger = OrderLedger()
    archive = OrderArchive()
    records = OrderRecords()
    shipments = ShipmentQueue.start(tempfile.mkdtemp(prefix="pyxie-demo-rabbitmq-"))

    class Handler(JSONHandler):
        def do_GET(self) -> None:
            if self.path == "/health":
                self.send_json(200, {"ok": True})
            elif self.path == "/grpc":
                # Where the gRPC product service listens (an ephemeral port).
                self.send_json(200, {"port": grpc_port})
            elif self.path == "/products":
                rows = db().execute("SELECT id, name, price_cents FROM products ORDER BY id")
                self.send_json(
                    200, [dict(zip(("id", "name", "price"), r, strict=True)) for r in rows]
                )
            elif m := _PRODUCT_PATH.match(self.path):
                row = (
                    db()
                    .execute(
                        "SELECT id, name, price_cents FROM products WHERE id = %s", (int(m[1]),)
                    )
                    .fetchone()
                )
                if row is None:
                    self.send_json(404, {"error": f"no product {m[1]}"})
                else:
                    self.send_json(200, dict(zip(("id", "name", "price"), row, strict=True)))
            elif m := _ORDER_PATH.match(self.path):
                row = (
                    db()
                    .execute(
                        "SELECT id, product_id, quantity FROM orders WHERE id = %s", (int(m[1]),)
                    )
                    .fetchone()
                )
                self.send_json(404 if row is None else 200, {"order": row})
            else:
                self.send_json(404, {"error": "not found"})

        def do_POST(self) -> None:
            if self.path != "/orders":
                self.send_json(404, {"error": "not found"})
                return
            order = self.read_json() or {}
            if random.random() < 0.03:  # the database "times out" now and then
                time.sleep(random.uniform(0.2, 0.5))
                self.send_json(503, {"error": "database busy, try again"})
                return
            try:
                row = (
                    db()
                    .execute(
                        "INSERT INTO orders (product_id, quantity, email) VALUES (%s, %s, %s) "
                        "RETURNING id",
                        (int(order["product_id"]), int(order.get("quantity", 1)), order["email"]),
                    )
                    .fetchone()
                )
            except (KeyError, ValueError, TypeError):
                self.send_json(400, {"error": "product_id and email are required"})
            except psycopg.errors.ForeignKeyViolation:
                self.send_json(422, {"error": "unknown product"})
            else:
                order_id = row[0] if row else None
                if order_id is not None:
                    if inventory is not None:
                        inventory.take(int(order["product_id"]), int(order.get("quantity", 1)))
                    if cache is not None:
                        cache.count_checkout(order["email"])
                    if resolver is not None:
                        resolver.resolve("mail.shop.pyxie")  # where the mailer listens
                    traceparent = self.headers.get("traceparent")
                    events.publish(order_id, order["email"], traceparent)
                    ledger.publish(order_id, order)
                    archive.publish(order_id, order["email"], traceparent)
                    records.publish(order_id, order["email"], traceparent)
                    if shipments is not None:
                        shipments.publish(order_id, traceparent)
                self.send_json(201, {"order_id": order_id})

    try:
        ThreadingHTTPServer((host, port), Handler).serve_forever()
    finally:
        grpc_server.stop(None)
        events.close()
        ledger.close()
        archive.close()
        records.close()
        if shipments is not None:
            shipments.close()
        for extra in (inventory, cache, resolver):
            if extra is not None:
                extra.close()
        shutil.rmtree(state, ignore_errors=True)
