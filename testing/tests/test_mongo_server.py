"""The bson-based MongoDB test server, driven by pymongo and by raw wire messages."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from typing import Any

import bson
import pymongo
import pytest
from pymongo.errors import OperationFailure
from pyxie_testing.wire.mongo_server import MAX_WIRE_VERSION, MongoServer


@pytest.fixture
def server() -> Iterator[MongoServer]:
    with MongoServer() as running:
        yield running


@pytest.fixture
def client(server: MongoServer) -> Iterator[Any]:
    conn: Any = pymongo.MongoClient(
        "127.0.0.1", server.port, directConnection=True, serverSelectionTimeoutMS=5000
    )
    try:
        yield conn
    finally:
        conn.close()


def test_crud_round_trip_through_pymongo(server: MongoServer, client: Any) -> None:
    orders = client.shop.orders
    orders.insert_many([{"order_id": i, "qty": i % 3} for i in range(7)])
    got = list(orders.find({"qty": {"$gte": 1}}, {"_id": 0}).sort("order_id", -1).limit(3))
    assert got == [{"order_id": 5, "qty": 2}, {"order_id": 4, "qty": 1}, {"order_id": 2, "qty": 2}]
    # A small batch size goes through getMore until the cursor is exhausted.
    assert [d["order_id"] for d in orders.find({}, batch_size=2)] == list(range(7))
    assert orders.update_many({"qty": 0}, {"$inc": {"qty": 10}}).modified_count == 3
    assert orders.update_one({"order_id": 99}, {"$set": {"qty": 1}}, upsert=True).upserted_id
    assert orders.delete_one({"order_id": 0}).deleted_count == 1
    assert orders.estimated_document_count() == 7
    assert sorted(d["qty"] for d in server.collection("shop.orders")) == [1, 1, 1, 2, 2, 10, 10]
    assert client.admin.command("buildInfo")["version"] == "7.0.0"
    client.shop.orders.drop()
    assert server.collection("shop.orders") == []


def test_errors_are_ok_0_with_code_and_message(client: Any) -> None:
    with pytest.raises(OperationFailure) as info:
        client.shop.command("frobnicate")
    assert (info.value.code, (info.value.details or {}).get("codeName")) == (59, "CommandNotFound")
    with pytest.raises(OperationFailure) as info:
        client.shop.command("getMore", bson.Int64(424242), collection="orders")
    assert info.value.code == 43
    client.shop.orders.insert_one({"qty": 1})
    with pytest.raises(OperationFailure) as info:
        list(client.shop.orders.find({"qty": {"$regexp": "x"}}))
    assert info.value.code == 2
    # The connection is still usable after each error.
    assert client.admin.command("ping")["ok"] == 1.0


def _roundtrip(port: int, message: bytes) -> tuple[int, int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(message)
        header = sock.recv(16, socket.MSG_WAITALL)
        length, _, response_to, opcode = struct.unpack("<iiii", header)
        return response_to, opcode, sock.recv(length - 16, socket.MSG_WAITALL)


def test_legacy_op_query_handshake_gets_an_op_reply(server: MongoServer) -> None:
    body = struct.pack("<i", 0) + b"admin.$cmd\0" + struct.pack("<ii", 0, -1)
    body += bson.encode({"isMaster": 1})
    response_to, opcode, payload = _roundtrip(
        server.port, struct.pack("<iiii", 16 + len(body), 77, 0, 2004) + body
    )
    assert (response_to, opcode) == (77, 1)
    returned = struct.unpack_from("<i", payload, 16)[0]
    reply = bson.decode(payload[20:])
    assert returned == 1 and reply["ismaster"] is True
    assert reply["maxWireVersion"] == MAX_WIRE_VERSION


def test_malformed_bson_is_answered_as_an_error_not_a_dropped_connection(
    server: MongoServer,
) -> None:
    body = struct.pack("<I", 0) + b"\x00" + b"\x10\x00\x00\x00\x02ab\x00garbage"
    response_to, opcode, payload = _roundtrip(
        server.port, struct.pack("<iiii", 16 + len(body), 5, 0, 2013) + body
    )
    assert (response_to, opcode) == (5, 2013)
    reply = bson.decode(payload[5:])
    assert reply["ok"] == 0.0 and reply["code"] == 22
