"""Confusion test: real captured traffic of every traced protocol, classified and parsed.

Captures (tests/data, client side, taken by the socket tracer from real clients and servers):
HTTP/1.1 (http.client/http.server), Redis (redis-cli/redis-server), HTTP/2 + gRPC (grpcio),
NATS (nats-py/nats-server), AMQP (pika/RabbitMQ), CQL (cassandra-driver against the CQL test
server on the driver's codec, control and session connections), MongoDB (pymongo/the bson-based
test server), Kafka (kafka-python against the test broker of pyxie_testing.wire, recorded by a
TCP relay). PostgreSQL, MySQL and DNS openings come from the byte-exact samples of
test_protocol_inference. For every chunk of every capture, seen from either side, inference must
answer the capture's protocol or nothing; and every other
protocol's parser fed a whole capture must produce no rows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pyxie_stirling.protocols import (
    SUPPORTED_PROTOCOLS,
    Direction,
    Protocol,
    Role,
    infer_protocol,
    make_parser,
)
from test_protocol_inference import SAMPLES

EGRESS, INGRESS = Direction.EGRESS, Direction.INGRESS
DATA = Path(__file__).parent / "data"

CAPTURES: dict[str, Protocol] = {
    "http1_client.txt": Protocol.HTTP,
    "redis_client.txt": Protocol.REDIS,
    "grpc_h2c_client.txt": Protocol.HTTP2,
    "nats_client.txt": Protocol.NATS,
    "nats_client_verbose.txt": Protocol.NATS,
    "amqp_client.txt": Protocol.AMQP,
    "cql_control.txt": Protocol.CQL,
    "cql_session.txt": Protocol.CQL,
    "mongodb_client.txt": Protocol.MONGO,
    "kafka_producer.txt": Protocol.KAFKA,
    "kafka_consumer.txt": Protocol.KAFKA,
    "kafka_group_coordinator.txt": Protocol.KAFKA,
    "kafka_group_fetch.txt": Protocol.KAFKA,
    "kafka_bootstrap.txt": Protocol.KAFKA,
}
Chunks = list[tuple[Direction, bytes]]

# Messages that are byte for byte the same in two protocols. "+OK\r\n" is NATS's verbose-mode
# acknowledgement and Redis's simple-string reply; it is never the opening of a NATS connection
# (the server's INFO is), so it can only be taken for Redis on a connection traced mid-stream.
AMBIGUOUS = {b"+OK\r\n": {Protocol.NATS, Protocol.REDIS}}


def _load(name: str) -> Chunks:
    out = []
    for line in (DATA / name).read_text().splitlines():
        if not line.startswith("#"):
            arrow, hexdata = line.split()
            out.append((EGRESS if arrow == ">" else INGRESS, bytes.fromhex(hexdata)))
    return out


def _server_view(chunks: Chunks) -> Chunks:
    return [(INGRESS if d is EGRESS else EGRESS, data) for d, data in chunks]


def _all_captures() -> list[tuple[str, Protocol, Chunks]]:
    out = [(name, protocol, _load(name)) for name, protocol in CAPTURES.items()]
    # PostgreSQL, MySQL, DNS: one-chunk openings.
    for data, protocol in SAMPLES:
        if protocol in (Protocol.PGSQL, Protocol.MYSQL, Protocol.DNS):
            out.append((f"sample-{protocol.name}", protocol, [(EGRESS, data)]))
    return out


@pytest.mark.parametrize("name", list(CAPTURES))
def test_each_capture_is_recognised_from_its_opening_on_both_sides(name: str) -> None:
    protocol = CAPTURES[name]
    chunks = _load(name)
    direction, first = chunks[0]
    assert infer_protocol(first, direction, Role.CLIENT) is protocol
    assert infer_protocol(first, _server_view(chunks)[0][0], Role.SERVER) is protocol
    assert infer_protocol(first, direction, Role.UNKNOWN) is protocol


@pytest.mark.parametrize("name", list(CAPTURES))
def test_each_capture_parses_into_rows_without_errors(name: str) -> None:
    parser = make_parser(CAPTURES[name], Role.CLIENT)
    for ts, (direction, data) in enumerate(_load(name), start=1):
        parser.feed(direction, data, ts)
    parser.close()
    assert parser.records()
    assert parser.parse_errors == 0


def test_no_chunk_of_any_capture_is_taken_for_another_protocol() -> None:
    confusions = []
    for name, protocol, chunks in _all_captures():
        for view, role in ((chunks, Role.CLIENT), (_server_view(chunks), Role.SERVER)):
            for index, (direction, data) in enumerate(view):
                for r in (role, Role.UNKNOWN):
                    got = infer_protocol(data, direction, r)
                    if got not in (None, protocol) and got not in AMBIGUOUS.get(data, ()):
                        confusions.append((name, index, r.name, got.name, data[:24]))
    assert confusions == []


@pytest.mark.parametrize("name", list(CAPTURES))
def test_other_parsers_make_no_rows_from_a_capture(name: str) -> None:
    chunks = _load(name)
    for other in sorted(SUPPORTED_PROTOCOLS - {CAPTURES[name]}):
        for role, view in ((Role.CLIENT, chunks), (Role.SERVER, _server_view(chunks))):
            parser = make_parser(other, role)
            for ts, (direction, data) in enumerate(view, start=1):
                parser.feed(direction, data, ts)
            parser.flush(now_ns=10**15)
            parser.close()
            assert parser.records() == [], (other.name, role.name)
