"""The demo's CQL order ledger, and the CQL test server it runs, driven by cassandra-driver."""

from __future__ import annotations

import socket
import time
import warnings
from collections.abc import Iterator

import pytest
from cassandra import InvalidRequest, ProtocolVersion
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, NoHostAvailable
from cassandra.policies import RoundRobinPolicy
from cassandra.protocol import ProtocolHandler, StartupMessage
from cassandra.query import BatchStatement
from pyxie_testing.demo._cql import OrderLedger
from pyxie_testing.wire.cql_server import CqlServer


def _cluster(port: int, **kwargs: object) -> Cluster:
    profile = ExecutionProfile(load_balancing_policy=RoundRobinPolicy(), request_timeout=5)
    options: dict[str, object] = {
        "port": port,
        "protocol_version": 4,
        "schema_metadata_enabled": False,
        "token_metadata_enabled": False,
        "execution_profiles": {EXEC_PROFILE_DEFAULT: profile},
        "connect_timeout": 5,
        "control_connection_timeout": 5,
    }
    options.update(kwargs)
    if options["protocol_version"] is None:
        del options["protocol_version"]
    return Cluster(["127.0.0.1"], **options)  # type: ignore[arg-type]


@pytest.fixture
def server() -> Iterator[CqlServer]:
    with CqlServer() as srv:
        yield srv


def test_ledger_records_each_order_and_reads_it_back() -> None:
    ledger = OrderLedger()
    try:
        for i in range(1, 4):
            ledger.publish(i, {"product_id": i + 10, "quantity": 2, "email": f"b{i}@example.com"})
        deadline = time.monotonic() + 15
        while ledger.read_back < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (ledger.recorded, ledger.read_back, ledger.failed) == (3, 3, 0)
    finally:
        ledger.close()


def test_server_answers_queries_prepared_statements_and_batches(server: CqlServer) -> None:
    cluster = _cluster(server.port)
    try:
        session = cluster.connect("shop")
        insert = session.prepare(
            "INSERT INTO orders (id, product_id, quantity, email) VALUES (?, ?, ?, ?)"
        )
        session.execute(insert, (1, 5, 1, "a@example.com"))
        batch = BatchStatement()
        batch.add(insert, (2, 6, 2, "b@example.com"))
        batch.add("INSERT INTO orders (id, product_id, quantity, email) VALUES (3, 7, 3, 'c''s@x')")
        session.execute(batch)
        rows = session.execute("SELECT id, email FROM shop.orders").all()
        assert sorted((r.id, r.email) for r in rows) == [
            (1, "a@example.com"), (2, "b@example.com"), (3, "c's@x"),
        ]  # fmt: skip
        select = session.prepare("SELECT * FROM orders WHERE id = ?")
        assert session.execute(select, (2,)).one().quantity == 2
        assert session.execute(select, (99,)).one() is None
    finally:
        cluster.shutdown()


def test_bad_statements_are_client_errors_not_server_errors(server: CqlServer) -> None:
    cluster = _cluster(server.port)
    try:
        session = cluster.connect()
        with pytest.raises(InvalidRequest, match="No keyspace has been specified"):
            session.execute("SELECT * FROM orders")
        with pytest.raises(InvalidRequest, match="unconfigured table nope"):
            session.execute("SELECT * FROM shop.nope")
        with pytest.raises(InvalidRequest, match="Undefined column name price"):
            session.execute("SELECT price FROM shop.orders")
        with pytest.raises(InvalidRequest, match="Missing PRIMARY KEY"):
            session.execute("INSERT INTO shop.orders (email) VALUES ('x')")
        with pytest.raises(Exception, match="Syntax error"):
            session.execute("DROP TABLE shop.orders")
        with pytest.raises(InvalidRequest, match="Invalid STRING constant"):
            session.execute("INSERT INTO shop.orders (id) VALUES ('one')")
    finally:
        cluster.shutdown()


def test_a_statement_unknown_to_the_server_is_reprepared(server: CqlServer) -> None:
    cluster = _cluster(server.port)
    try:
        session = cluster.connect("shop")
        select = session.prepare("SELECT * FROM orders WHERE id = ?")
        server.store.prepared.clear()  # as after a server restart
        # The server answers UNPREPARED with the id; the driver prepares again and retries.
        assert session.execute(select, (1,)).one() is None
        assert server.store.prepared
    finally:
        cluster.shutdown()


def test_other_protocol_versions_and_compression_are_refused(server: CqlServer) -> None:
    # A v5 client is told the supported version (the driver would then downgrade; pinned here).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = _cluster(server.port, protocol_version=ProtocolVersion.V5)
    with pytest.raises(NoHostAvailable, match="ProtocolError returned from server"):
        cluster.connect()
    cluster.shutdown()
    # Left to choose, the driver starts with v5, is refused, and settles on v4.
    cluster = _cluster(server.port, protocol_version=None)
    try:
        cluster.connect("shop")
        assert cluster.protocol_version == 4
    finally:
        cluster.shutdown()


def test_compression_is_refused_at_startup(server: CqlServer) -> None:
    startup = StartupMessage("3.4.5", {"COMPRESSION": "lz4"})
    frame = ProtocolHandler.encode_message(startup, 1, 4, None, False)
    with socket.create_connection(("127.0.0.1", server.port), 5) as sock:
        sock.sendall(frame)
        reply = sock.recv(1024)
    assert reply[:5] == b"\x84\x00\x00\x01\x00"  # ERROR on stream 1
    assert int.from_bytes(reply[9:13], "big") == 0x000A
    assert b"Unknown compression lz4" in reply


def test_garbage_frames_get_an_error_or_a_close_never_a_crash(server: CqlServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), 5) as sock:
        # RESULT is not a request: ERROR (protocol error), same stream id.
        sock.sendall(b"\x04\x00\x00\x07\x08\x00\x00\x00\x00")
        reply = sock.recv(1024)
        assert reply[:5] == b"\x84\x00\x00\x07\x00"
        assert int.from_bytes(reply[9:13], "big") == 0x000A
        # A QUERY whose body is cut short: a server error for that stream, the connection lives.
        sock.sendall(b"\x04\x00\x00\x08\x07\x00\x00\x00\x04\x00\x00\x00\x40")
        reply = sock.recv(1024)
        assert reply[:5] == b"\x84\x00\x00\x08\x00"
        sock.sendall(b"\x04\x00\x00\x09\x05\x00\x00\x00\x00")  # OPTIONS still answered
        assert sock.recv(1024)[:5] == b"\x84\x00\x00\x09\x06"
    # The server still serves a real client afterwards.
    cluster = _cluster(server.port)
    try:
        assert cluster.connect("shop").execute("SELECT * FROM orders").all() == []
    finally:
        cluster.shutdown()
