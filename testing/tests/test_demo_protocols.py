"""The demo shop's gRPC, NATS, AMQP, Mux, MySQL, Redis, DNS and MongoDB pieces, with real
servers."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import grpc
import pytest
from pyxie_testing.demo._grpc import (
    GET_PRODUCT,
    ProductClient,
    decode_fields,
    encode_fields,
    new_traceparent,
    serve_products,
)


def test_fields_round_trip() -> None:
    fields: dict[int, int | str] = {1: 300, 2: "teapot", 3: 0}
    assert decode_fields(encode_fields(fields)) == fields


def test_product_lookup_over_h2c_with_traceparent() -> None:
    seen: list[int] = []

    def lookup(product_id: int) -> tuple[int, str, int] | None:
        seen.append(product_id)
        return (product_id, "mug", 1000) if product_id == 3 else None

    server, port = serve_products(lookup, "127.0.0.1")
    client = ProductClient("127.0.0.1", lambda: port)
    traceparent = new_traceparent()
    try:
        assert client.get_product(3, traceparent) == {"id": 3, "name": "mug", "price": 1000}
        assert client.get_product(9, traceparent) is None
    finally:
        server.stop(None)
    assert seen == [3, 9]
    version, trace_id, span_id, flags = traceparent.split("-")
    assert (version, len(trace_id), len(span_id), flags) == ("00", 32, 16, "01")


def test_bad_request_is_not_found_not_a_crash() -> None:
    server, port = serve_products(lambda _id: None, "127.0.0.1")
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = channel.unary_unary(GET_PRODUCT, None, None)
            with pytest.raises(grpc.RpcError) as info:
                call(encode_fields({2: "not an id"}), timeout=5)
    finally:
        server.stop(None)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


def test_order_events_go_through_the_shops_own_nats_server() -> None:
    from pyxie_testing.demo._events import OrderEvents

    events = OrderEvents()
    try:
        for i in range(3):
            events.publish(i, "buyer@example.com", new_traceparent())
        deadline = time.monotonic() + 10
        while events.delivered < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert events.delivered == 3
    finally:
        events.close()


@pytest.mark.slow
def test_shipments_go_through_a_private_rabbitmq(tmp_path: Path) -> None:
    from pyxie_testing.demo._events import ShipmentQueue

    shipments = ShipmentQueue.start(str(tmp_path / "rabbitmq"))
    if shipments is None:
        pytest.skip("rabbitmq-server not installed (tools/setup_bpf.sh installs it)")
    try:
        for i in range(3):
            shipments.publish(i, new_traceparent())
        deadline = time.monotonic() + 60
        while shipments.shipped < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert shipments.shipped == 3
    finally:
        shipments.close()


def test_recommendations_come_over_a_mux_session_with_one_tinit() -> None:
    from pyxie_testing.demo._mux import RecommenderClient, serve_recommender

    listener, port = serve_recommender()
    client = RecommenderClient("127.0.0.1", port)
    try:
        picks = [client.recommend(n, new_traceparent()) for n in (3, 2, 5)]
    finally:
        client.close()
        listener.close()
    assert [len(p) for p in picks] == [3, 2, 5]
    assert all(1 <= i <= 8 and len(set(p)) == len(p) for p in picks for i in p)


def test_the_mux_bytes_the_demo_sends_are_inferred_as_mux() -> None:
    import socket

    from pyxie_stirling.protocols import Direction, Protocol, Role, infer_protocol
    from pyxie_testing.demo import _mux

    # The exact bytes of a Tinit and a Tdispatch as the demo's client writes them.
    a, b = socket.socketpair()
    with a, b:
        _mux._send(a, _mux.TINIT, 1, _mux._init_body())
        _mux._send(a, _mux.TDISPATCH, 2, _mux._dispatch_body(new_traceparent(), b'{"count":3}'))
        a.shutdown(socket.SHUT_WR)
        tinit, tdispatch = _mux._recv(b), _mux._recv(b)
        assert tinit[:2] == (_mux.TINIT, 1) and tdispatch[:2] == (_mux.TDISPATCH, 2)
        assert _mux._dispatch_payload(tdispatch[2]) == b'{"count":3}'
    wire = struct.pack(">Ib", 4 + len(tdispatch[2]), 2) + (2).to_bytes(3, "big") + tdispatch[2]
    assert infer_protocol(wire, Direction.EGRESS, Role.CLIENT, 0) == Protocol.MUX


@pytest.mark.slow
def test_stock_is_kept_in_a_private_mariadb(tmp_path: Path) -> None:
    from pyxie_testing.demo._inventory import Inventory

    inventory = Inventory.start(str(tmp_path / "mariadb"), products=3)
    if inventory is None:
        pytest.skip("mariadb-server not installed (tools/setup_bpf.sh installs it)")
    try:
        assert inventory.wait_ready(120)
        assert inventory.in_stock(2) == 1000
        inventory.take(2, 3)
        inventory.take(2, 1)
        assert inventory.in_stock(2) == 996
        assert inventory.in_stock(4) is None  # no such product
    finally:
        inventory.close()
    assert not (tmp_path / "mariadb" / "mariadb.sock").exists()  # the server is gone


def test_products_are_cached_in_a_private_redis(tmp_path: Path) -> None:
    from pyxie_testing.demo._cache import ProductCache

    cache = ProductCache.start(str(tmp_path / "redis"))
    if cache is None:
        pytest.skip("redis-server not installed (tools/setup_bpf.sh installs it)")
    loads: list[int] = []

    def load(product_id: int) -> tuple[int, str, int] | None:
        loads.append(product_id)
        return (product_id, "kettle", 750) if product_id < 9 else None

    try:
        assert cache.wait_ready(10)
        assert cache.product(2, load) == (2, "kettle", 750)
        assert cache.product(2, load) == (2, "kettle", 750)
        assert cache.product(9, load) is None
        assert cache.product(9, load) is None  # misses are not cached
        assert loads == [2, 9, 9]
        assert (cache.hits, cache.misses) == (1, 3)
        assert [cache.count_checkout("a@example.com") for _ in range(3)] == [1, 2, 3]
        assert cache.count_checkout("b@example.com") == 1
    finally:
        cache.close()


def test_shop_names_resolve_through_the_private_dnsmasq() -> None:
    from pyxie_testing.demo._dns import SHOP_NAMES, ShopResolver

    resolver = ShopResolver.start()
    if resolver is None:
        pytest.skip("dnsmasq not installed (tools/setup_bpf.sh installs dnsmasq-base)")
    try:
        assert resolver.wait_ready(10)
        for name, address in SHOP_NAMES.items():
            assert resolver.resolve(name) == address
        assert resolver.resolve("unknown.shop.pyxie") is None  # no upstream: NXDOMAIN
        assert resolver.resolve("example.com") is None
    finally:
        resolver.close()


def test_order_archive_writes_and_reads_back_through_the_shops_mongodb() -> None:
    from pyxie_testing.demo._mongo import READ_BACK_EVERY, OrderArchive

    archive = OrderArchive()
    try:
        for i in range(READ_BACK_EVERY):
            archive.publish(i, "buyer@example.com", new_traceparent())
        deadline = time.monotonic() + 20
        while archive.read_back == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert archive.archived == READ_BACK_EVERY
        assert archive.read_back == 5  # the five most recent orders came back
    finally:
        archive.close()
    assert archive._server.returncode is not None
