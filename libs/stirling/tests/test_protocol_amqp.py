"""AMQP 0-9-1: captured pika <-> RabbitMQ bytes and hand-made frames -> amqp_events rows."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from pyxie_stirling.protocols import AmqpParser, Direction, Protocol, Role, infer_protocol

EGRESS, INGRESS = Direction.EGRESS, Direction.INGRESS
CAPTURE = Path(__file__).parent / "data" / "amqp_client.txt"

Row = tuple[int, int, int, int, int, int]


def _captured() -> list[tuple[Direction, bytes]]:
    out = []
    for line in CAPTURE.read_text().splitlines():
        if not line.startswith("#"):
            arrow, hexdata = line.split()
            out.append((EGRESS if arrow == ">" else INGRESS, bytes.fromhex(hexdata)))
    return out


def _rows(parser: AmqpParser, chunks: list[tuple[Direction, bytes]]) -> list[dict[str, object]]:
    for ts, (direction, data) in enumerate(chunks, start=1):
        parser.feed(direction, data, ts)
    out = []
    for record in parser.records():
        row = record.to_row()
        row["_ts"] = (record.request_timestamp_ns, record.response_timestamp_ns)
        out.append(row)
    return out


def _ids(row: dict[str, object]) -> Row:
    keys = ("frame_type", "channel", "req_class_id", "req_method_id", "resp_class_id")
    return (*(int(str(row[k])) for k in keys), int(str(row["resp_method_id"])))  # type: ignore[return-value]


EXPECTED_IDS: list[Row] = [
    (1, 0, 10, 10, 10, 11),  # Connection.Start / Start-Ok
    (1, 0, 10, 30, 10, 31),  # Tune / Tune-Ok
    (1, 0, 10, 40, 10, 41),  # Open / Open-Ok
    (1, 1, 20, 10, 20, 11),  # Channel.Open
    (1, 1, 50, 10, 50, 11),  # Queue.Declare
    (1, 1, 60, 40, 0, 0),  # Basic.Publish (client, async)
    (2, 1, 60, 0, 0, 0),  # its content header
    (3, 1, 0, 0, 0, 0),  # its body
    (1, 1, 60, 70, 60, 71),  # Basic.Get / Get-Ok
    (2, 1, 0, 0, 60, 0),  # the delivered content header (server)
    (3, 1, 0, 0, 0, 0),  # the delivered body (server)
    (1, 1, 60, 80, 0, 0),  # Basic.Ack
    (1, 1, 20, 40, 20, 41),  # Channel.Close
    (1, 0, 10, 50, 10, 51),  # Connection.Close
]


def _check(rows: list[dict[str, object]]) -> None:
    assert [_ids(r) for r in rows] == EXPECTED_IDS
    start = json.loads(str(rows[0]["req_msg"]))
    assert (start["version_major"], start["version_minor"]) == (0, 9)
    assert start["server_properties"]["product"] == "RabbitMQ"
    start_ok = json.loads(str(rows[0]["resp_msg"]))
    assert start_ok["client_properties"]["product"] == "Pika Python Client Library"
    assert start_ok["mechanism"] == "PLAIN" and "response" not in start_ok  # credentials hidden
    assert rows[4]["req_msg"] == (
        '{"queue":"orders","passive":0,"durable":0,"exclusive":0,"auto_delete":0,'
        '"no_wait":0,"arguments":{}}'
    )
    assert rows[4]["resp_msg"] == '{"queue":"orders","message_count":0,"consumer_count":0}'
    assert rows[5]["req_msg"] == (
        '{"exchange":"","routing_key":"orders","mandatory":0,"immediate":0}'
    )
    assert rows[6]["req_msg"] == (
        '{"class_id":60,"body_size":14,"content_type":"application/json",'
        '"headers":{"traceparent":"00-abc-def-01"}}'
    )
    assert rows[7]["req_msg"] == '{"order_id":7}'
    assert rows[8]["resp_msg"] == (
        '{"delivery_tag":1,"redelivered":0,"exchange":"","routing_key":"orders","message_count":0}'
    )
    assert rows[10]["resp_msg"] == '{"order_id":7}' and rows[10]["req_msg"] == ""
    assert rows[11]["req_msg"] == '{"delivery_tag":1,"multiple":0}'
    for row in rows:
        timestamps = row["_ts"]
        assert isinstance(timestamps, tuple)
        request_ts, response_ts = timestamps
        assert (response_ts > request_ts) == (row["resp_method_id"] != 0)


def test_captured_session_gives_exact_rows() -> None:
    chunks = _captured()
    assert infer_protocol(chunks[0][1], EGRESS, Role.CLIENT) is Protocol.AMQP
    server_first = next(d for direction, d in chunks if direction is INGRESS)
    assert infer_protocol(server_first, INGRESS, Role.CLIENT) is Protocol.AMQP
    parser = AmqpParser(Role.CLIENT)
    _check(_rows(parser, chunks))
    assert parser.parse_errors == 0


def test_server_view_and_unknown_role_give_the_same_rows() -> None:
    swapped = [(INGRESS if d is EGRESS else EGRESS, b) for d, b in _captured()]
    _check(_rows(AmqpParser(Role.SERVER), swapped))
    _check(_rows(AmqpParser(Role.UNKNOWN), _captured()))


def _method(channel: int, class_id: int, method_id: int, args: bytes = b"") -> bytes:
    payload = struct.pack(">HH", class_id, method_id) + args
    return struct.pack(">BHI", 1, channel, len(payload)) + payload + b"\xce"


def test_frames_split_and_merged_across_chunks_and_heartbeats() -> None:
    parser = AmqpParser(Role.CLIENT, max_body_bytes=4)
    qos = _method(1, 60, 10, struct.pack(">IHB", 0, 10, 0))
    qos_ok = _method(1, 60, 11)
    heartbeat = b"\x08\x00\x00\x00\x00\x00\x00\xce"
    body = b"\x03\x00\x01\x00\x00\x00\x0aabcdefghij\xce"
    parser.feed(EGRESS, qos[:5], 1)
    parser.feed(EGRESS, qos[5:] + heartbeat + body, 2)
    parser.feed(INGRESS, qos_ok + heartbeat, 3)
    rows = _rows(parser, [])
    assert [(_ids(r), r["req_msg"], r["resp_msg"]) for r in rows] == [
        ((8, 0, 0, 0, 0, 0), "", ""),
        ((3, 1, 0, 0, 0, 0), "abcd... [TRUNCATED]", ""),
        ((1, 1, 60, 10, 60, 11), '{"prefetch_size":0,"prefetch_count":10,"global":0}', "{}"),
        ((8, 0, 0, 0, 0, 0), "", ""),
    ]
    assert rows[2]["_ts"] == (1, 3)


def test_no_wait_methods_are_rows_of_their_own() -> None:
    parser = AmqpParser(Role.CLIENT)
    declare = struct.pack(">H", 0) + b"\x01q" + bytes([0b10000]) + b"\0\0\0\0"
    parser.feed(EGRESS, _method(1, 50, 10, declare), 1)
    rows = _rows(parser, [])
    assert [_ids(r) for r in rows] == [(1, 1, 50, 10, 0, 0)]
    assert json.loads(str(rows[0]["req_msg"]))["no_wait"] == 1


def test_garbage_and_lost_bytes_resync_on_the_next_frame() -> None:
    parser = AmqpParser(Role.CLIENT)
    ack = _method(1, 60, 80, struct.pack(">QB", 5, 0))
    parser.feed(EGRESS, b"\x07garbage!" + ack, 1)
    parser.feed(EGRESS, ack[4:] + ack, 2, lost_bytes=4)
    rows = _rows(parser, [])
    assert [r["req_msg"] for r in rows] == ['{"delivery_tag":5,"multiple":0}'] * 2
    assert parser.parse_errors == 2


def test_unanswered_sync_methods_expire() -> None:
    parser = AmqpParser(Role.CLIENT)
    parser.feed(EGRESS, _method(1, 85, 10, b"\0"), 1)
    parser.flush(now_ns=10**12)
    assert parser.records() == [] and parser.dropped_requests == 1
