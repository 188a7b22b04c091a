"""Redis and DNS parsers on hand-built byte streams."""

from __future__ import annotations

import json
import socket
import struct

from hypothesis import given, settings
from hypothesis import strategies as st
from pyxie_stirling.protocols import ConnectionParser, Direction, Protocol, Role, make_parser
from pyxie_types.tables import DNS_EVENTS, REDIS_EVENTS

EGRESS, INGRESS = Direction.EGRESS, Direction.INGRESS


def _cmd(*parts: str) -> bytes:
    out = b"*%d\r\n" % len(parts)
    for part in parts:
        raw = part.encode()
        out += b"$%d\r\n%s\r\n" % (len(raw), raw)
    return out


def _protocol_columns(schema: object) -> list[str]:
    names = [c.name for c in schema.relation.columns][8:]  # type: ignore[attr-defined]
    names.remove("latency")
    return names


def _rows(parser: ConnectionParser) -> list[dict[str, object]]:
    return [r.to_row() for r in parser.records()]


# -- Redis ---------------------------------------------------------------------------------


def test_redis_row_columns_and_argument_rendering_follow_pixie() -> None:
    parser = make_parser(Protocol.REDIS, Role.CLIENT)
    parser.feed(EGRESS, _cmd("SET", "k", "v", "EX", "10", "NX"), 1)
    parser.feed(INGRESS, b"+OK\r\n", 2)
    (record,) = parser.records()
    assert list(record.to_row()) == _protocol_columns(REDIS_EVENTS)
    assert record.to_row() == {
        "req_cmd": "SET",
        "req_args": '{"key":"k","value":"v","options":["EX 10","NX"]}',
        "resp": "OK",
    }
    assert (record.request_timestamp_ns, record.response_timestamp_ns) == (1, 2)


def test_redis_pipelined_commands_pair_in_order_with_all_reply_types() -> None:
    parser = make_parser(Protocol.REDIS, Role.CLIENT)
    requests = (
        _cmd("get", "a")
        + _cmd("DEL", "a", "b")
        + _cmd("config", "get", "maxmemory")
        + _cmd("LRANGE", "l", "0", "-1")
        + _cmd("GET", "missing")
        + _cmd("BOGUS", "x")
        + _cmd("HSET", "h", "f1", "v1", "f2", "v2")
    )
    replies = (
        b"$5\r\nhello\r\n:2\r\n*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n*2\r\n$1\r\nx\r\n*1\r\n:1\r\n"
        b"$-1\r\n-ERR unknown command 'BOGUS'\r\n:2\r\n"
    )
    parser.feed(EGRESS, requests, 1)
    for i in range(0, len(replies), 7):  # replies split mid-token
        parser.feed(INGRESS, replies[i : i + 7], 2 + i)
    rows = _rows(parser)
    assert [(r["req_cmd"], r["req_args"], r["resp"]) for r in rows] == [
        ("GET", '{"key":"a"}', "hello"),
        ("DEL", '{"key":["a","b"]}', "2"),
        ("CONFIG GET", '{"parameter":"maxmemory"}', '["maxmemory","0"]'),
        ("LRANGE", '{"key":"l","start":"0","stop":"-1"}', '["x","[\\"1\\"]"]'),
        ("GET", '{"key":"missing"}', "<NULL>"),
        ("", '["BOGUS","x"]', "ERR unknown command 'BOGUS'"),
        (
            "HSET",
            '{"key":"h","field value":[{"field":"f1"},{"value":"v1"},'
            '{"field":"f2"},{"value":"v2"}]}',
            "2",
        ),
    ]


def test_redis_published_messages_become_push_pub_records() -> None:
    parser = make_parser(Protocol.REDIS, Role.CLIENT)
    parser.feed(EGRESS, _cmd("SUBSCRIBE", "news"), 1)
    parser.feed(INGRESS, b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n", 2)
    parser.feed(INGRESS, b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n", 3)
    parser.feed(INGRESS, b">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$3\r\nbye\r\n", 4)
    rows = _rows(parser)
    assert [(r["req_cmd"], r["resp"]) for r in rows] == [
        # Pixie formats any array whose first element names a command, replies included.
        ("SUBSCRIBE", '{"channel":["news","1"]}'),
        ("PUSH PUB", '["message","news","hi"]'),
        ("PUSH PUB", '["message","news","bye"]'),
    ]


def test_redis_resp3_replies_are_rendered() -> None:
    parser = make_parser(Protocol.REDIS, Role.CLIENT)
    parser.feed(EGRESS, _cmd("HELLO", "3") + _cmd("GET", "k") + _cmd("PING"), 1)
    parser.feed(INGRESS, b"%1\r\n+proto\r\n:3\r\n_\r\n|1\r\n+ttl\r\n:5\r\n+PONG\r\n", 2)
    assert [r["resp"] for r in _rows(parser)] == ['["proto","3"]', "<NULL>", "PONG"]


def test_redis_garbage_in_requests_resyncs_on_the_next_command() -> None:
    parser = make_parser(Protocol.REDIS, Role.CLIENT)
    parser.feed(EGRESS, b"\x00\x01garbage*x\r\n" + _cmd("GET", "a"), 1)
    parser.feed(INGRESS, b"$1\r\nA\r\n", 2)
    assert [r["req_args"] for r in _rows(parser)] == ['{"key":"a"}']
    assert parser.parse_errors >= 1


def test_redis_lost_reply_bytes_drop_pending_and_recover_on_next_request() -> None:
    parser = make_parser(Protocol.REDIS, Role.CLIENT)
    parser.feed(EGRESS, _cmd("GET", "a"), 1)
    parser.feed(INGRESS, b"\r\n", 2, lost_bytes=5)
    parser.feed(EGRESS, _cmd("GET", "b"), 3)
    parser.feed(INGRESS, b"$1\r\nB\r\n", 4)
    assert [(r["req_args"], r["resp"]) for r in _rows(parser)] == [('{"key":"b"}', "B")]


# -- DNS -----------------------------------------------------------------------------------


def _name(name: str) -> bytes:
    return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"


def _query(txid: int, name: str, qtype: int = 1) -> bytes:
    return (
        struct.pack(">HHHHHH", txid, 0x0100, 1, 0, 0, 0)
        + _name(name)
        + struct.pack(">HH", qtype, 1)
    )


def _answer(txid: int, name: str) -> bytes:
    """A response with a CNAME, an A and an AAAA record, using name compression."""
    header = struct.pack(">HHHHHH", txid, 0x8180, 1, 3, 0, 0)
    question = _name(name) + struct.pack(">HH", 1, 1)
    cname_target = b"\x04edge" + b"\xc0\x0c"  # edge.<name>, compressed
    records = b"\xc0\x0c" + struct.pack(">HHIH", 5, 1, 60, len(cname_target)) + cname_target
    cname_offset = 12 + len(question) + 12
    pointer = struct.pack(">H", 0xC000 | cname_offset)
    records += pointer + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton("10.1.2.3")
    records += (
        pointer
        + struct.pack(">HHIH", 28, 1, 60, 16)
        + socket.inet_pton(socket.AF_INET6, "2001:db8::1")
    )
    return header + question + records


def test_dns_udp_exchange_renders_pixies_json() -> None:
    parser = make_parser(Protocol.DNS, Role.CLIENT)
    parser.feed(EGRESS, _query(0x1234, "example.com"), 10)
    parser.feed(INGRESS, _answer(0x1234, "example.com"), 25)
    (record,) = parser.records()
    row = record.to_row()
    assert list(row) == _protocol_columns(DNS_EVENTS)
    assert (record.request_timestamp_ns, record.response_timestamp_ns) == (10, 25)
    assert row["req_header"] == (
        '{"txid":4660,"qr":0,"opcode":0,"aa":0,"tc":0,"rd":1,"ra":0,"ad":0,"cd":0,"rcode":0,'
        '"num_queries":1,"num_answers":0,"num_auth":0,"num_addl":0}'
    )
    assert row["req_body"] == '{"queries":[{"name":"example.com","type":"A"}]}'
    assert json.loads(str(row["resp_header"]))["ra"] == 1
    assert json.loads(str(row["resp_body"])) == {
        "answers": [
            {"name": "example.com", "type": "CNAME", "cname": "edge.example.com"},
            {"name": "edge.example.com", "type": "A", "addr": "10.1.2.3"},
            {"name": "edge.example.com", "type": "AAAA", "addr": "2001:db8::1"},
        ]
    }


def test_dns_responses_match_requests_by_txid_out_of_order() -> None:
    parser = make_parser(Protocol.DNS, Role.CLIENT)
    parser.feed(EGRESS, _query(1, "a.test"), 1)
    parser.feed(EGRESS, _query(2, "b.test", qtype=28), 2)
    parser.feed(INGRESS, _answer(2, "b.test"), 3)
    parser.feed(INGRESS, _answer(1, "a.test"), 4)
    rows = _rows(parser)
    assert [json.loads(str(r["req_body"]))["queries"][0]["name"] for r in rows] == [
        "b.test",
        "a.test",
    ]
    assert json.loads(str(rows[0]["req_body"]))["queries"][0]["type"] == "AAAA"


def test_dns_over_tcp_length_prefixed_messages_split_across_chunks() -> None:
    parser = make_parser(Protocol.DNS, Role.SERVER)
    query = _query(7, "tcp.test")
    answer = _answer(7, "tcp.test")
    framed_query = struct.pack(">H", len(query)) + query
    framed_answer = struct.pack(">H", len(answer)) + answer
    parser.feed(INGRESS, framed_query, 1)
    parser.feed(EGRESS, framed_answer[:9], 2)
    parser.feed(EGRESS, framed_answer[9:], 3)
    (record,) = parser.records()
    assert (record.request_timestamp_ns, record.response_timestamp_ns) == (1, 3)


def test_dns_compression_loops_are_rejected_without_raising() -> None:
    parser = make_parser(Protocol.DNS, Role.CLIENT)
    looped = struct.pack(">HHHHHH", 9, 0x0100, 1, 0, 0, 0) + b"\xc0\x0c" + struct.pack(">HH", 1, 1)
    parser.feed(EGRESS, looped, 1)
    assert parser.records() == []
    assert parser.parse_errors == 1


@settings(max_examples=300, deadline=None)
@given(
    protocol=st.sampled_from([Protocol.REDIS, Protocol.DNS]),
    chunks=st.lists(st.tuples(st.booleans(), st.binary(max_size=120)), max_size=20),
)
def test_random_bytes_never_raise(protocol: Protocol, chunks: list[tuple[bool, bytes]]) -> None:
    parser = make_parser(protocol, Role.CLIENT)
    for i, (egress, data) in enumerate(chunks):
        parser.feed(EGRESS if egress else INGRESS, data, i, lost_bytes=(i % 4 == 3) * 5)
        for record in parser.records():
            record.to_row()
    parser.close()
    assert parser.internal_errors == 0
