"""MongoDB wire protocol: captured pymongo traffic and pymongo-encoded messages -> mongodb_events.

The capture (tests/data/mongodb_client.txt) is pymongo 4.20 talking to
pyxie_testing.wire.mongo_server through a recording proxy; other messages are encoded with
pymongo's own ``message._op_msg`` / ``_op_msg_compressed`` and ``bson``.
"""

from __future__ import annotations

import datetime
import decimal
import json
import struct
from pathlib import Path
from typing import Any

import bson
import pymongo.message
from bson import json_util
from bson.codec_options import DEFAULT_CODEC_OPTIONS
from hypothesis import given, settings
from hypothesis import strategies as st
from pymongo.compression_support import ZlibContext
from pyxie_stirling.protocols import (
    Direction,
    MongoParser,
    Protocol,
    Role,
    infer_protocol,
    infer_role,
)
from pyxie_stirling.protocols._common import TRUNCATED_SUFFIX
from pyxie_stirling.protocols._mongodb import bson_to_relaxed

EGRESS, INGRESS = Direction.EGRESS, Direction.INGRESS
CAPTURE = Path(__file__).parent / "data" / "mongodb_client.txt"
Chunks = list[tuple[Direction, bytes]]


def _captured() -> Chunks:
    out = []
    for line in CAPTURE.read_text().splitlines():
        if not line.startswith("#"):
            arrow, hexdata = line.split()
            out.append((EGRESS if arrow == ">" else INGRESS, bytes.fromhex(hexdata)))
    return out


def _server_view(chunks: Chunks) -> Chunks:
    return [(INGRESS if d is EGRESS else EGRESS, data) for d, data in chunks]


def _rows(parser: MongoParser, chunks: Chunks) -> list[dict[str, Any]]:
    for ts, (direction, data) in enumerate(chunks, start=1):
        parser.feed(direction, data, ts * 1000)
    out = []
    for record in parser.records():
        row = record.to_row()
        row["_ts"] = (record.request_timestamp_ns, record.response_timestamp_ns)
        out.append(row)
    return out


def _msg(command: dict[str, Any], flags: int = 0) -> tuple[int, bytes]:
    request_id, data, _, _ = pymongo.message._op_msg(
        flags, command, "shop", None, DEFAULT_CODEC_OPTIONS
    )
    return request_id, data


_reply_ids = iter(range(1, 1 << 30))


def _reply(response_to: int, doc: dict[str, Any], flags: int = 0) -> bytes:
    payload = struct.pack("<I", flags) + b"\x00" + bson.encode(doc)
    return struct.pack("<iiii", 16 + len(payload), next(_reply_ids), response_to, 2013) + payload


EXPECTED = [
    ("ping", "ok"),
    ("insert", "ok"),
    ("insert", "ok"),
    ("find", "ok"),
    ("find", "ok"),
    ("getMore", "ok"),
    ("getMore", "ok"),
    ("find", "ok"),
    ("killCursors", "ok"),
    ("update", "ok"),
    ("delete", "ok"),
    ("bogus", "no such command: 'bogus'"),
    ("insert", ""),  # w: 0 (moreToCome): no reply
    ("endSessions", "ok"),
]


def _check(rows: list[dict[str, Any]]) -> None:
    assert [(r["req_cmd"], r["resp_status"]) for r in rows] == EXPECTED
    insert = rows[1]
    body = json.loads(insert["req_body"])
    assert body["insert"] == "orders" and body["$db"] == "shop"
    # The kind 1 document sequence is folded into the body under its identifier.
    (doc,) = body["documents"]
    assert {k: doc[k] for k in ("order_id", "item", "qty", "price")} == {
        "order_id": 1,
        "item": "socks",
        "qty": 2,
        "price": 4.5,
    }
    assert set(doc["_id"]) == {"$oid"}
    assert json.loads(insert["resp_body"]) == {"n": 1, "ok": 1.0}
    find = json.loads(rows[3]["resp_body"])
    assert [d["order_id"] for d in find["cursor"]["firstBatch"]] == [5, 4]
    error = json.loads(rows[11]["resp_body"])
    assert error["code"] == 59 and error["ok"] == 0.0
    assert rows[12]["resp_body"] == "" and rows[12]["_ts"][1] == 0
    for row in rows[:12] + rows[13:]:
        request_ts, response_ts = row["_ts"]
        assert 0 < request_ts < response_ts


def test_captured_session_gives_exact_rows_and_no_handshake() -> None:
    parser = MongoParser(Role.CLIENT, max_body_bytes=4096)
    rows = _rows(parser, _captured())
    _check(rows)
    assert (parser.parse_errors, parser.unmatched_responses) == (0, 0)
    # The capture opens with the isMaster handshake: paired, but not a row (as in Pixie).
    assert next(iter(bson_to_relaxed(_captured()[0][1], 21)[0])) == "ismaster"


def test_server_view_and_unknown_role_give_the_same_rows() -> None:
    client = _rows(MongoParser(Role.CLIENT, max_body_bytes=4096), _captured())
    server = _rows(MongoParser(Role.SERVER, max_body_bytes=4096), _server_view(_captured()))
    unknown = _rows(MongoParser(Role.UNKNOWN, max_body_bytes=4096), _server_view(_captured()))
    assert client == server == unknown


def test_bodies_match_pymongo_relaxed_extended_json() -> None:
    for direction, data in _captured():
        offset = 21
        doc, _ = bson_to_relaxed(data, offset)
        reference = json.loads(
            json_util.dumps(
                bson.decode(data[offset : offset + int.from_bytes(data[21:25], "little")]),
                json_options=json_util.RELAXED_JSON_OPTIONS,
            )
        )
        assert doc == reference, direction


def test_every_chunking_gives_the_same_rows() -> None:
    whole = _rows(MongoParser(Role.CLIENT, max_body_bytes=4096), _captured())
    # Byte by byte.
    bytewise: Chunks = [(d, data[i : i + 1]) for d, data in _captured() for i in range(len(data))]
    parser = MongoParser(Role.CLIENT, max_body_bytes=4096)
    got = _rows(parser, bytewise)
    assert [(r["req_cmd"], r["req_body"], r["resp_body"]) for r in got] == [
        (r["req_cmd"], r["req_body"], r["resp_body"]) for r in whole
    ]
    # Pipelined: all requests in one chunk, all replies in another.
    chunks = _captured()
    merged = [
        (EGRESS, b"".join(d for x, d in chunks if x is EGRESS)),
        (INGRESS, b"".join(d for x, d in chunks if x is INGRESS)),
    ]
    piped = _rows(MongoParser(Role.CLIENT, max_body_bytes=4096), merged)
    # The w: 0 insert needs no reply, so it is a row as soon as its request is seen.
    assert sorted(r["req_body"] for r in piped) == sorted(r["req_body"] for r in whole)


def test_replies_pair_by_response_to_not_by_order() -> None:
    parser = MongoParser(Role.CLIENT)
    first_id, first = _msg({"find": "orders", "filter": {"a": 1}})
    second_id, second = _msg({"ping": 1})
    parser.feed(EGRESS, first + second, 10)
    parser.feed(INGRESS, _reply(second_id, {"ok": 1.0}), 20)
    parser.feed(INGRESS, _reply(first_id, {"ok": 0.0, "errmsg": "boom", "code": 2}), 30)
    rows = [(r.to_row()["req_cmd"], r.to_row()["resp_status"], r.response_timestamp_ns)
            for r in parser.records()]  # fmt: skip
    assert rows == [("ping", "ok", 20), ("find", "boom", 30)]


def test_bodies_are_cut_at_max_body_bytes() -> None:
    parser = MongoParser(Role.CLIENT, max_body_bytes=40)
    request_id, data = _msg({"insert": "orders", "documents": [{"x": "y" * 200}]})
    parser.feed(EGRESS, data, 1)
    parser.feed(INGRESS, _reply(request_id, {"n": 1, "ok": 1}), 2)
    (record,) = parser.records()
    row = record.to_row()
    assert str(row["req_body"]).endswith(TRUNCATED_SUFFIX)
    assert len(str(row["req_body"])) == 40 + len(TRUNCATED_SUFFIX)
    assert row["resp_body"] == '{"n":1,"ok":1}'


def test_op_compressed_is_a_parse_error_not_a_row() -> None:
    parser = MongoParser(Role.CLIENT)
    request_id, data, _, _ = pymongo.message._op_msg_compressed(
        0, {"ping": 1, "$db": "admin"}, "", None, DEFAULT_CODEC_OPTIONS, ZlibContext(-1)
    )
    parser.feed(EGRESS, data, 1)
    parser.feed(INGRESS, _reply(request_id, {"ok": 1}), 2)
    assert parser.records() == []
    assert (parser.parse_errors, parser.compressed_messages, parser.unmatched_responses) == (
        1,
        1,
        1,
    )
    # The stream stays in sync: the next exchange is a row.
    next_id, nxt = _msg({"ping": 1})
    parser.feed(EGRESS, nxt, 3)
    parser.feed(INGRESS, _reply(next_id, {"ok": 1}), 4)
    assert [r.to_row()["req_cmd"] for r in parser.records()] == ["ping"]


def test_legacy_op_query_handshake_is_paired_and_not_a_row_other_queries_are() -> None:
    def op_query(request_id: int, command: dict[str, Any]) -> bytes:
        body = struct.pack("<i", 0) + b"admin.$cmd\0" + struct.pack("<ii", 0, -1)
        body += bson.encode(command)
        return struct.pack("<iiii", 16 + len(body), request_id, 0, 2004) + body

    def op_reply(response_to: int, doc: dict[str, Any]) -> bytes:
        body = struct.pack("<iqii", 8, 0, 0, 1) + bson.encode(doc)
        return struct.pack("<iiii", 16 + len(body), 99, response_to, 1) + body

    hello = op_query(7, {"isMaster": 1, "client": {"driver": {"name": "x"}}})
    assert infer_protocol(hello, EGRESS, Role.UNKNOWN) is Protocol.MONGO
    reply = op_reply(7, {"ismaster": True, "maxWireVersion": 21, "ok": 1.0})
    assert infer_protocol(reply, INGRESS, Role.CLIENT) is Protocol.MONGO
    assert infer_role(Protocol.MONGO, reply, INGRESS) is Role.CLIENT
    parser = MongoParser(Role.CLIENT)
    parser.feed(EGRESS, hello, 1)
    parser.feed(INGRESS, reply, 2)
    parser.feed(EGRESS, op_query(8, {"buildInfo": 1}), 3)
    parser.feed(INGRESS, op_reply(8, {"version": "7.0.0", "ok": 1.0}), 4)
    rows = [r.to_row() for r in parser.records()]
    assert [(r["req_cmd"], r["resp_status"]) for r in rows] == [("buildInfo", "ok")]
    assert json.loads(str(rows[0]["resp_body"]))["version"] == "7.0.0"
    assert parser.parse_errors == 0


def test_exhaust_replies_each_answer_the_previous_one() -> None:
    parser = MongoParser(Role.CLIENT)
    request_id, data = _msg({"getMore": bson.Int64(5), "collection": "orders"}, flags=1 << 16)
    parser.feed(EGRESS, data, 1)
    first = _reply(request_id, {"cursor": {"nextBatch": [1]}, "ok": 1}, flags=2)
    first_id = struct.unpack_from("<i", first, 4)[0]
    parser.feed(INGRESS, first, 2)
    parser.feed(INGRESS, _reply(first_id, {"cursor": {"nextBatch": [2]}, "ok": 1}), 3)
    rows = [r.to_row() for r in parser.records()]
    assert [json.loads(str(r["resp_body"]))["cursor"]["nextBatch"] for r in rows] == [[1], [2]]
    assert {r["req_cmd"] for r in rows} == {"getMore"}


def test_garbage_and_lost_bytes_resync_on_the_next_message() -> None:
    parser = MongoParser(Role.CLIENT)
    request_id, data = _msg({"find": "orders"})
    parser.feed(EGRESS, b"\x13\x37garbage that is not mongo at all!" + data, 1)
    parser.feed(INGRESS, _reply(request_id, {"ok": 1}), 2)
    assert [r.to_row()["req_cmd"] for r in parser.records()] == ["find"]
    assert parser.parse_errors >= 1
    # A message whose start was lost: the tail is dropped, the next message parses.
    errors = parser.parse_errors
    lost_id, lost = _msg({"insert": "orders", "documents": [{"a": 1}]})
    next_id, nxt = _msg({"delete": "orders", "deletes": []})
    parser.feed(EGRESS, lost[30:] + nxt, 3, lost_bytes=30)
    parser.feed(INGRESS, _reply(lost_id, {"ok": 1}) + _reply(next_id, {"ok": 1}), 4)
    assert [r.to_row()["req_cmd"] for r in parser.records()] == ["delete"]
    assert parser.parse_errors == errors + 1
    assert parser.unmatched_responses == 1


def test_oversized_message_is_decoded_from_its_start_and_the_rest_skipped() -> None:
    parser = MongoParser(Role.CLIENT)
    big_id, big = _msg({"insert": "orders", "documents": [{"blob": b"x" * (1 << 20)}]})
    next_id, nxt = _msg({"ping": 1})
    for pos in range(0, len(big), 65536):
        parser.feed(EGRESS, big[pos : pos + 65536], 1)
    parser.feed(EGRESS, nxt, 2)
    parser.feed(INGRESS, _reply(big_id, {"n": 1, "ok": 1}) + _reply(next_id, {"ok": 1}), 3)
    rows = [r.to_row() for r in parser.records()]
    assert [(r["req_cmd"], r["resp_status"]) for r in rows] == [("insert", "ok"), ("ping", "ok")]
    assert str(rows[0]["req_body"]).startswith('{"insert":"orders"')
    assert str(rows[0]["req_body"]).endswith(TRUNCATED_SUFFIX)
    assert (parser.parse_errors, parser.truncated_messages) == (0, 1)


def test_messages_captured_only_in_part_still_pair() -> None:
    # The tracer captures the first 4 KiB of a write and reports the rest as lost bytes.
    parser = MongoParser(Role.CLIENT)
    docs = [{"order_id": i, "note": "n" * 100} for i in range(100)]
    insert_id, insert = _msg({"insert": "orders", "documents": docs})
    find_id, find = _msg({"find": "orders", "filter": {}})
    parser.feed(EGRESS, insert[:4096], 1)
    parser.feed(EGRESS, b"", 1, lost_bytes=len(insert) - 4096)
    parser.feed(EGRESS, find, 2)
    parser.feed(INGRESS, _reply(insert_id, {"n": 100, "ok": 1.0}), 3)
    reply = _reply(find_id, {"cursor": {"firstBatch": docs, "id": 0, "ns": "shop.orders"}, "ok": 1})
    # A reply cut twice: a second write carried part of its tail (skipped too).
    parser.feed(INGRESS, reply[:4096], 4)
    parser.feed(INGRESS, b"", 4, lost_bytes=4000)
    parser.feed(INGRESS, reply[8096:], 5)
    next_id, nxt = _msg({"ping": 1})
    parser.feed(EGRESS, nxt, 6)
    parser.feed(INGRESS, _reply(next_id, {"ok": 1}), 7)
    rows = [r.to_row() for r in parser.records()]
    # The find reply's "ok" was not captured: its status is unknown, not a failure.
    assert [(r["req_cmd"], r["resp_status"]) for r in rows] == [
        ("insert", "ok"),
        ("find", ""),
        ("ping", "ok"),
    ]
    assert str(rows[0]["req_body"]).endswith(TRUNCATED_SUFFIX)
    assert str(rows[1]["resp_body"]).startswith('{"cursor":{"firstBatch":[{"order_id":0,')
    assert (parser.parse_errors, parser.truncated_messages) == (0, 2)


def test_unanswered_requests_expire() -> None:
    parser = MongoParser(Role.CLIENT)
    _, data = _msg({"find": "orders"})
    parser.feed(EGRESS, data, 1_000)
    parser.flush(now_ns=1_000 + 11_000_000_000)
    assert parser.dropped_requests == 1 and parser.records() == []


def test_inference_on_pymongo_messages_both_sides() -> None:
    chunks = _captured()
    request, reply = chunks[2][1], chunks[3][1]
    assert infer_protocol(request, EGRESS, Role.CLIENT) is Protocol.MONGO
    assert infer_protocol(request, INGRESS, Role.SERVER) is Protocol.MONGO
    assert infer_protocol(reply, INGRESS, Role.CLIENT) is Protocol.MONGO
    assert infer_protocol(reply, EGRESS, Role.UNKNOWN) is Protocol.MONGO
    # A request is not a reply and vice versa.
    assert infer_protocol(request, INGRESS, Role.CLIENT) is None
    assert infer_protocol(reply, EGRESS, Role.CLIENT) is None
    assert infer_role(Protocol.MONGO, request, EGRESS) is Role.CLIENT
    assert infer_role(Protocol.MONGO, request, INGRESS) is Role.SERVER
    # The captured start of a large write (the tracer keeps 4 KiB) is enough; a sliver is not.
    _, big = _msg({"insert": "orders", "documents": [{"n": i, "pad": "x" * 90} for i in range(99)]})
    assert infer_protocol(big[:4096], EGRESS, Role.CLIENT) is Protocol.MONGO
    assert infer_protocol(big[:4096], INGRESS, Role.UNKNOWN) is Protocol.MONGO
    assert infer_protocol(big[:500], EGRESS, Role.CLIENT) is None
    # A header alone, a bad opcode, or reserved flag bits: not MongoDB.
    assert infer_protocol(request[:16], EGRESS, Role.CLIENT) is None
    bad_opcode = request[:12] + struct.pack("<i", 2005) + request[16:]
    assert infer_protocol(bad_opcode, EGRESS, Role.CLIENT) is None
    bad_flags = request[:16] + struct.pack("<I", 4) + request[20:]
    assert infer_protocol(bad_flags, EGRESS, Role.CLIENT) is None


def _decimal128(value: decimal.Decimal) -> bson.Decimal128 | None:
    if not value.is_finite():
        return bson.Decimal128(str(value))
    exponent = value.as_tuple().exponent
    if (
        len(value.as_tuple().digits) <= 34
        and isinstance(exponent, int)
        and -6176 <= exponent <= 6111
    ):
        return bson.Decimal128(str(value))
    return None


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.binary(max_size=20).map(lambda b: bson.Binary(b, 0)),
    st.datetimes(
        min_value=datetime.datetime(1, 1, 1), max_value=datetime.datetime(9999, 12, 31)
    ).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)),
    st.binary(min_size=12, max_size=12).map(bson.ObjectId),
    st.builds(bson.Timestamp, st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)),
    st.decimals(allow_nan=False, allow_infinity=True, places=None).map(_decimal128),
    st.just(bson.MinKey()),
    st.just(bson.MaxKey()),
    st.builds(bson.Regex, st.text(max_size=5).filter(lambda s: "\0" not in s), st.just("im")),
)
_keys = st.text(max_size=8).filter(lambda s: "\0" not in s)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=4)),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_keys, _values, max_size=6))
def test_bson_decoder_agrees_with_pymongo_json_util(doc: dict[str, Any]) -> None:
    data = bson.encode(doc)
    ours, end = bson_to_relaxed(data)
    assert end == len(data)
    reference = json.loads(
        json_util.dumps(bson.decode(data), json_options=json_util.RELAXED_JSON_OPTIONS)
    )
    assert json.loads(json.dumps(ours)) == reference


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(list(Role)),
    st.lists(st.tuples(st.booleans(), st.binary(max_size=64), st.integers(0, 3)), max_size=12),
)
def test_parser_never_raises_on_arbitrary_chunks(
    role: Role, chunks: list[tuple[bool, bytes, int]]
) -> None:
    parser = MongoParser(role)
    _, seed = _msg({"find": "orders"})
    parser.feed(EGRESS, seed[:20], 1)
    for ts, (egress, data, lost) in enumerate(chunks, start=2):
        parser.feed(EGRESS if egress else INGRESS, data, ts, lost_bytes=lost)
        for record in parser.records():
            record.to_row()
    parser.flush(10**18)
    parser.close()
    assert parser.internal_errors == 0


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10_000), st.binary(min_size=1, max_size=8))
def test_corrupted_captures_never_break_the_parser(position: int, noise: bytes) -> None:
    chunks = _captured()
    stream = b"".join(d for x, d in chunks if x is EGRESS)
    pos = position % len(stream)
    parser = MongoParser(Role.CLIENT)
    parser.feed(EGRESS, stream[:pos] + noise + stream[pos:], 1)
    parser.feed(INGRESS, b"".join(d for x, d in chunks if x is INGRESS), 2)
    for record in parser.records():
        assert record.to_row()["req_cmd"]
    assert parser.internal_errors == 0
