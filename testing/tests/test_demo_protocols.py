"""The demo shop's gRPC, NATS, AMQP and MongoDB pieces with real servers and clients."""

from __future__ import annotations

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
