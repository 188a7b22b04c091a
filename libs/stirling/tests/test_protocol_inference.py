"""Protocol inference: each protocol found from its first bytes, nothing mistaken for one."""

from __future__ import annotations

import random
import struct

import pymongo.message
import pytest
from bson.codec_options import DEFAULT_CODEC_OPTIONS
from hypothesis import given, settings
from hypothesis import strategies as st
from pyxie_stirling.protocols import Direction, Protocol, Role, infer_protocol, infer_role

EGRESS, INGRESS = Direction.EGRESS, Direction.INGRESS

_PG_STARTUP_BODY = struct.pack(">i", 196608) + b"user\0app\0\0"
_DNS_QUERY = (
    struct.pack(">HHHHHH", 0xBEEF, 0x0100, 1, 0, 0, 0) + b"\x07example\x03com\0" + b"\0\x01\0\x01"
)

# A SETTINGS frame (stream 0) with SETTINGS_MAX_CONCURRENT_STREAMS = 100.
_H2_SETTINGS = b"\x00\x00\x06\x04\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x64"

# pymongo's own OP_MSG encoding of a find command.
_MONGO_FIND = pymongo.message._op_msg(
    0, {"find": "orders", "filter": {}}, "shop", None, DEFAULT_CODEC_OPTIONS
)[1]
_KAFKA_API_VERSIONS = (
    "00000026001200040000000100066f7264657273000d6b61666b612d707974686f6e07332e302e313200"
)

SAMPLES: list[tuple[bytes, Protocol]] = [
    (b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n", Protocol.HTTP),
    (b"POST /api HTTP/1.0\r\n", Protocol.HTTP),
    (struct.pack(">i", len(_PG_STARTUP_BODY) + 4) + _PG_STARTUP_BODY, Protocol.PGSQL),
    (struct.pack(">ii", 8, 80877103), Protocol.PGSQL),
    (b"Q" + struct.pack(">i", 13) + b"SELECT 1\0", Protocol.PGSQL),
    (b"\x10\x00\x00\x00\x03SELECT * FROM t", Protocol.MYSQL),
    (b"\x01\x00\x00\x00\x0e", Protocol.MYSQL),
    (b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", Protocol.REDIS),
    (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", Protocol.TLS),
    (_DNS_QUERY, Protocol.DNS),
    (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + _H2_SETTINGS, Protocol.HTTP2),
    # CQL v4 OPTIONS on stream 0, and a QUERY frame ("SELECT 1", consistency ONE, no flags).
    (b"\x04\x00\x00\x00\x05\x00\x00\x00\x00", Protocol.CQL),
    (
        b"\x04\x00\x00\x01\x07\x00\x00\x00\x0f\x00\x00\x00\x08SELECT 1\x00\x01\x00",
        Protocol.CQL,
    ),
    (_MONGO_FIND, Protocol.MONGO),
    # kafka-python's first request: ApiVersions v4, client id "orders".
    (bytes.fromhex(_KAFKA_API_VERSIONS), Protocol.KAFKA),
]


@pytest.mark.parametrize(("data", "protocol"), SAMPLES, ids=[p.name for _, p in SAMPLES])
def test_client_first_bytes_are_recognised(data: bytes, protocol: Protocol) -> None:
    assert infer_protocol(data, EGRESS, Role.CLIENT) is protocol
    assert infer_protocol(data, INGRESS, Role.UNKNOWN) is protocol


@pytest.mark.parametrize(
    ("data", "protocol"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", Protocol.HTTP),
        (b"+OK\r\n", Protocol.REDIS),
        (b"-ERR unknown command\r\n", Protocol.REDIS),
        (b"R" + struct.pack(">ii", 8, 0), Protocol.PGSQL),
        (b"\x0d\x00\x00\x00\x0a8.0.36\x00\x01\x02\x03\x04\x05", Protocol.MYSQL),
        (_H2_SETTINGS + b"\x00\x00\x04\x08\x00\x00\x00\x00\x00\x00\x0f\x00\x01", Protocol.HTTP2),
        (b"\x84\x00\x00\x01\x02\x00\x00\x00\x00", Protocol.CQL),  # READY
    ],
)
def test_server_first_bytes_are_recognised_on_the_response_side(
    data: bytes, protocol: Protocol
) -> None:
    assert infer_protocol(data, INGRESS, Role.CLIENT) is protocol
    assert infer_protocol(data, EGRESS, Role.SERVER) is protocol


def test_requests_are_not_accepted_on_the_response_side() -> None:
    assert infer_protocol(b"GET / HTTP/1.1\r\n\r\n", INGRESS, Role.CLIENT) is None
    assert infer_protocol(b"+OK\r\n", EGRESS, Role.CLIENT) is None
    # A CQL request header (direction bit clear) is not a response, and the reverse.
    assert infer_protocol(b"\x04\x00\x00\x00\x05\x00\x00\x00\x00", INGRESS, Role.CLIENT) is None
    assert infer_protocol(b"\x84\x00\x00\x01\x02\x00\x00\x00\x00", EGRESS, Role.CLIENT) is None


def test_dns_needs_the_port_hint_for_unusual_messages() -> None:
    odd = struct.pack(">HHHHHH", 1, 0x2800, 0, 0, 0, 0)  # UPDATE opcode, no questions
    assert infer_protocol(odd, EGRESS, Role.CLIENT) is None
    assert infer_protocol(odd, EGRESS, Role.CLIENT, port_hint=53) is Protocol.DNS


def test_plain_text_and_other_protocols_are_not_misdetected() -> None:
    others = [
        b"SSH-2.0-OpenSSH_9.6\r\n",
        b"220 smtp.example.com ESMTP ready\r\n",
        b'INFO {"x":1}\r\n',
        b"hello world",
        b'{"json": true}',
        b"\x00\x00\x00\x00",
    ]
    for data in others:
        assert infer_protocol(data, EGRESS, Role.UNKNOWN) is None, data


def test_infer_role_from_direction_of_a_request() -> None:
    request = b"GET / HTTP/1.1\r\n\r\n"
    assert infer_role(Protocol.HTTP, request, EGRESS) is Role.CLIENT
    assert infer_role(Protocol.HTTP, request, INGRESS) is Role.SERVER
    assert infer_role(Protocol.DNS, _DNS_QUERY, INGRESS) is Role.SERVER
    assert infer_role(Protocol.HTTP, b"???", EGRESS) is Role.UNKNOWN


def test_random_bytes_are_almost_never_detected() -> None:
    # Seeded so the test is reproducible; 20k random chunks of typical first-read sizes.
    rng = random.Random(1234)
    hits = 0
    for _ in range(20_000):
        data = rng.randbytes(rng.choice((8, 16, 64, 512)))
        if infer_protocol(data, EGRESS, Role.UNKNOWN) is not None:
            hits += 1
    assert hits <= 2  # TLS's 6-byte signature has a ~1/2M chance per chunk


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(list(Role)), st.sampled_from(list(Direction)))
def test_inference_never_raises(data: bytes, role: Role, direction: Direction) -> None:
    infer_protocol(data, direction, role, port_hint=53 if len(data) % 2 else None)
    for protocol in Protocol:
        infer_role(protocol, data, direction)
