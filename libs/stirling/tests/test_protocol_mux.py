"""Finagle Mux: framing, tag pairing, fragments, Rerr, loss -> mux_events rows."""

from __future__ import annotations

import struct

from pyxie_stirling.protocols import Direction, MuxParser, Protocol, Role, infer_protocol

EGRESS, INGRESS = Direction.EGRESS, Direction.INGRESS


def msg(mtype: int, tag: int, body: bytes = b"") -> bytes:
    return struct.pack(">Ib", 4 + len(body), mtype) + tag.to_bytes(3, "big") + body


TINIT = msg(68, 1, b"\x00\x01" + b"\x00\x00\x00\x03abc\x00\x00\x00\x01x")
RINIT = msg(-68, 1, b"\x00\x01")


def _rows(parser: MuxParser) -> list[tuple[int, int, int]]:
    return [
        (int(str(r.to_row()["req_type"])), r.request_timestamp_ns, r.response_timestamp_ns)
        for r in parser.records()
    ]


def test_init_dispatch_ping_and_errors_pair_by_tag() -> None:
    parser = MuxParser(Role.CLIENT)
    parser.feed(EGRESS, TINIT, 1)
    parser.feed(INGRESS, RINIT, 2)
    # Two dispatches in flight, answered out of order; one ping; one Rerr; a lease (no row).
    parser.feed(EGRESS, msg(2, 2, b"req-a") + msg(2, 3, b"req-b"), 3)
    parser.feed(INGRESS, msg(67, 0, b"\x00" + bytes(8)), 4)
    parser.feed(INGRESS, msg(-2, 3, b"resp-b"), 5)
    parser.feed(EGRESS, msg(65, 4), 6)
    parser.feed(INGRESS, msg(-65, 4) + msg(-2, 2, b"resp-a"), 7)
    parser.feed(EGRESS, msg(2, 5, b"bad"), 8)
    parser.feed(INGRESS, msg(-128, 5, b"no such service"), 9)
    assert _rows(parser) == [(68, 1, 2), (2, 3, 5), (65, 6, 7), (2, 3, 7), (2, 8, 9)]
    assert parser.parse_errors == 0


def test_fragmented_reply_completes_at_its_last_fragment() -> None:
    parser = MuxParser(Role.CLIENT)
    parser.feed(EGRESS, msg(2, 7, b"x" * 10), 1)
    parser.feed(INGRESS, msg(-2, 7 | 0x800000, b"part1"), 2)
    parser.feed(INGRESS, msg(-2, 7, b"part2"), 3)
    assert _rows(parser) == [(2, 1, 3)]


def test_bodies_split_across_chunks_and_lost_inside_a_body() -> None:
    parser = MuxParser(Role.CLIENT)
    request = msg(2, 9, b"y" * 5000)
    parser.feed(EGRESS, request[:100], 1)
    parser.feed(EGRESS, request[4196:], 2, lost_bytes=4096)  # lost inside the body
    parser.feed(INGRESS, msg(-2, 9, b"ok"), 3)
    assert _rows(parser) == [(2, 1, 3)]
    assert parser.parse_errors == 0


def test_lost_framing_waits_for_a_message_start() -> None:
    parser = MuxParser(Role.CLIENT)
    parser.feed(EGRESS, msg(2, 1, b"a")[:6], 1)
    parser.feed(EGRESS, b"\x01\x02garbage", 2, lost_bytes=3)
    parser.feed(EGRESS, msg(2, 2, b"b"), 3)
    parser.feed(INGRESS, msg(-2, 2), 4)
    assert _rows(parser) == [(2, 3, 4)]
    assert parser.parse_errors == 1


def test_server_side_and_inference() -> None:
    assert infer_protocol(TINIT, EGRESS, Role.CLIENT) is Protocol.MUX
    assert infer_protocol(RINIT, INGRESS, Role.CLIENT) is Protocol.MUX
    assert infer_protocol(TINIT, INGRESS, Role.UNKNOWN) is Protocol.MUX
    assert infer_protocol(TINIT[:8], INGRESS, Role.SERVER) is Protocol.MUX  # header read first
    assert infer_protocol(msg(2, 1, b"x")[:8], EGRESS, Role.CLIENT) is None
    assert infer_protocol(msg(2, 1, b"x")[:-1], EGRESS, Role.CLIENT) is None  # size mismatch
    assert infer_protocol(msg(99, 1), EGRESS, Role.CLIENT) is None  # unknown type
    parser = MuxParser(Role.SERVER)
    parser.feed(INGRESS, msg(2, 1, b"q"), 1)
    parser.feed(EGRESS, msg(-2, 1, b"r"), 2)
    assert _rows(parser) == [(2, 1, 2)]
