"""CQL: captured cassandra-driver traffic and frames made by the driver's codec -> cql_events rows.

The captures (tests/data/cql_*.txt) are cassandra-driver 3.30 (protocol v4) talking to the CQL
test server of pyxie_testing.wire (built on the driver's own codec), recorded through a proxy:
the control connection and one session connection.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

from cassandra import ConsistencyLevel
from cassandra.protocol import (
    ExecuteMessage,
    OptionsMessage,
    PrepareMessage,
    ProtocolHandler,
    QueryMessage,
    RegisterMessage,
    StartupMessage,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from pyxie_stirling.protocols import (
    CqlParser,
    Direction,
    Protocol,
    Role,
    infer_protocol,
    infer_role,
)

EGRESS, INGRESS = Direction.EGRESS, Direction.INGRESS
DATA = Path(__file__).parent / "data"
Row = tuple[int, str, int, str]


def _captured(name: str) -> list[tuple[Direction, bytes]]:
    out = []
    for line in (DATA / name).read_text().splitlines():
        if not line.startswith("#"):
            arrow, hexdata = line.split()
            out.append((EGRESS if arrow == ">" else INGRESS, bytes.fromhex(hexdata)))
    return out


def _swap(chunks: list[tuple[Direction, bytes]]) -> list[tuple[Direction, bytes]]:
    return [(INGRESS if d is EGRESS else EGRESS, b) for d, b in chunks]


def _rows(parser: CqlParser, chunks: list[tuple[Direction, bytes]]) -> list[Row]:
    for ts, (direction, data) in enumerate(chunks, start=1):
        parser.feed(direction, data, ts * 1000)
    out = []
    for record in parser.records():
        row = record.to_row()
        out.append((row["req_op"], row["req_body"], row["resp_op"], row["resp_body"]))
    return out  # type: ignore[return-value]


def _request(msg: object, stream: int, compressor: object = None) -> bytes:
    return bytes(ProtocolHandler.encode_message(msg, stream, 4, compressor, False))


def _response(opcode: int, stream: int, body: bytes, flags: int = 0) -> bytes:
    return (
        bytes([0x84, flags])
        + stream.to_bytes(2, "big", signed=True)
        + bytes([opcode])
        + (len(body).to_bytes(4, "big") + body)
    )


OPTIONS_RESP = (
    5, "", 6, '{"CQL_VERSION":["3.4.5"],"COMPRESSION":[],"PROTOCOL_VERSIONS":["3/v3","4/v4"]}'
)  # fmt: skip
STARTUP_BODY = (
    '{"DRIVER_NAME":"Apache Cassandra Python Driver","DRIVER_VERSION":"3.30.1",'
    '"CQL_VERSION":"3.4.5"}'
)
INSERT = "INSERT INTO orders (id, product_id, quantity, email) VALUES (?, ?, ?, ?)"


def _check_session(rows: list[Row]) -> None:
    assert rows[0] == OPTIONS_RESP
    assert rows[1] == (1, STARTUP_BODY, 2, "")
    assert rows[2] == (7, 'USE "shop"', 8, "Response type = SET_KEYSPACE\nKeyspace = shop")
    assert rows[3][:3] == (9, INSERT, 8)
    assert rows[3][3].startswith("Response type = PREPARED\nQuery id = ")
    insert_id = rows[3][3].rsplit(" ", 1)[1]
    execute = json.loads(rows[4][1])
    assert execute == {
        "query_id": insert_id,
        "query": INSERT,
        "values": ["00000001", "00000007", "00000002", b"a@example.com".hex()],
    }
    assert rows[4][2:] == (8, "Response type = VOID")
    assert rows[5] == (
        7,
        "INSERT INTO shop.orders (id, product_id, quantity, email) "
        "VALUES (2, 3, 1, 'b@example.com')",
        8,
        "Response type = VOID",
    )
    batch = json.loads(rows[6][1])
    assert rows[6][0] == 13 and batch["type"] == "LOGGED"
    assert batch["queries"] == [
        {
            "query_id": insert_id,
            "query": INSERT,
            "values": ["00000003", "00000004", "00000005", b"c@example.com".hex()],
        }
    ]
    assert rows[7][:2] == (9, "SELECT * FROM orders WHERE id = ?")
    # The EXECUTE asked the server to skip the result metadata: the column names come from the
    # PREPARED result seen earlier on this connection.
    assert json.loads(rows[8][1])["values"] == ["00000001"]
    assert rows[8][2:] == (
        8,
        'Response type = ROWS\nNumber of columns = 4\n["id","product_id","quantity","email"]\n'
        "Number of rows = 1",
    )
    assert rows[9] == (
        7,
        "SELECT id, email FROM shop.orders",
        8,
        'Response type = ROWS\nNumber of columns = 2\n["id","email"]\nNumber of rows = 3',
    )
    assert rows[10] == (7, "SELECT * FROM shop.missing", 0, "[8704] unconfigured table missing")
    assert len(rows) == 11


def test_captured_session_gives_exact_rows() -> None:
    chunks = _captured("cql_session.txt")
    assert infer_protocol(chunks[0][1], EGRESS, Role.CLIENT) is Protocol.CQL
    assert infer_protocol(chunks[1][1], INGRESS, Role.CLIENT) is Protocol.CQL
    assert infer_role(Protocol.CQL, chunks[0][1], EGRESS) is Role.CLIENT
    assert infer_role(Protocol.CQL, chunks[1][1], EGRESS) is Role.SERVER
    parser = CqlParser(Role.CLIENT)
    _check_session(_rows(parser, chunks))
    assert (parser.parse_errors, parser.unmatched_responses, parser.dropped_requests) == (0, 0, 0)


def test_captured_control_connection() -> None:
    parser = CqlParser(Role.CLIENT)
    rows = _rows(parser, _captured("cql_control.txt"))
    assert rows[0] == OPTIONS_RESP
    assert rows[2] == (11, '["TOPOLOGY_CHANGE","STATUS_CHANGE","SCHEMA_CHANGE"]', 2, "")
    assert rows[3][2:] == (0, "[8704] unconfigured table peers_v2")
    assert rows[4][3].startswith("Response type = ROWS\nNumber of columns = 7\n")
    assert rows[4][3].endswith("Number of rows = 1")
    assert [r[1] for r in rows[5:]] == [
        "SELECT * FROM system.peers",
        "SELECT rpc_address FROM system.local WHERE key='local'",
    ]
    assert parser.parse_errors == 0


def test_server_side_unknown_role_and_byte_by_byte_feeding_give_the_same_rows() -> None:
    chunks = _captured("cql_session.txt")
    _check_session(_rows(CqlParser(Role.SERVER), _swap(chunks)))
    _check_session(_rows(CqlParser(Role.UNKNOWN), chunks))
    dribble = [(d, data[i : i + 1]) for d, data in chunks for i in range(len(data))]
    _check_session(_rows(CqlParser(Role.CLIENT), dribble))


def test_pipelined_requests_pair_by_stream_id_out_of_order() -> None:
    parser = CqlParser(Role.CLIENT)
    one = _request(QueryMessage("SELECT 1", ConsistencyLevel.ONE), 5)
    two = _request(QueryMessage("SELECT 2", ConsistencyLevel.ONE), 6)
    parser.feed(EGRESS, one + two, 1)
    void = (1).to_bytes(4, "big")
    parser.feed(INGRESS, _response(0x08, 6, void) + _response(0x08, 5, void)[:5], 2)
    parser.feed(INGRESS, _response(0x08, 5, void)[5:], 3)
    records = parser.records()
    assert [(r.to_row()["req_body"], r.response_timestamp_ns) for r in records] == [
        ("SELECT 2", 2),
        ("SELECT 1", 3),
    ]
    assert all(r.request_timestamp_ns == 1 for r in records)


def test_error_event_and_response_flags() -> None:
    parser = CqlParser(Role.CLIENT)
    parser.feed(EGRESS, _request(RegisterMessage(["SCHEMA_CHANGE"]), 1), 1)
    parser.feed(INGRESS, _response(0x02, 1, b""), 2)
    # A server push: SCHEMA_CHANGE CREATED TABLE shop.orders, stream -1.
    event = b"".join(
        len(s).to_bytes(2, "big") + s
        for s in (b"SCHEMA_CHANGE", b"CREATED", b"TABLE", b"shop", b"orders")
    )
    parser.feed(INGRESS, _response(0x0C, -1, event), 3)
    status = b"".join(len(s).to_bytes(2, "big") + s for s in (b"STATUS_CHANGE", b"UP"))
    status += b"\x04\x0a\x00\x00\x02" + (9042).to_bytes(4, "big")
    parser.feed(INGRESS, _response(0x0C, -1, status), 3)
    # A QUERY with bound values: the values follow the text on a line of their own.
    query = QueryMessage("SELECT * FROM t WHERE k = ?", ConsistencyLevel.ONE)
    query.query_params = [b"\x00\x00\x00\x07", None]
    parser.feed(EGRESS, _request(query, 3), 3)
    parser.feed(INGRESS, _response(0x08, 3, (1).to_bytes(4, "big")), 3)
    # A QUERY answered with a warning (flag 0x08) and a tracing id (0x02) before the error.
    parser.feed(EGRESS, _request(QueryMessage("SELEC 1", ConsistencyLevel.ONE), 2), 4)
    warning = (1).to_bytes(2, "big") + (4).to_bytes(2, "big") + b"slow"
    error = (0x2000).to_bytes(4, "big") + (12).to_bytes(2, "big") + b"syntax error"
    parser.feed(INGRESS, _response(0x00, 2, b"\x11" * 16 + warning + error, flags=0x0A), 5)
    rows = _rows(parser, [])
    assert rows == [
        (11, '["SCHEMA_CHANGE"]', 2, ""),
        (11, "-", 12, "SCHEMA_CHANGE CREATED keyspace=shop name=orders"),
        (11, "-", 12, "STATUS_CHANGE UP 10.0.0.2:9042"),
        (7, 'SELECT * FROM t WHERE k = ?\n["00000007",null]', 8, "Response type = VOID"),
        (7, "SELEC 1", 0, "[8192] syntax error"),
    ]
    assert parser.parse_errors == 0


def test_startup_options_and_prepare_execute_from_the_drivers_encoder() -> None:
    parser = CqlParser(Role.CLIENT)
    parser.feed(EGRESS, _request(OptionsMessage(), 0), 1)
    parser.feed(INGRESS, _response(0x06, 0, b"\x00\x00"), 2)
    parser.feed(EGRESS, _request(StartupMessage("3.0.0", {}), 1), 3)
    parser.feed(INGRESS, _response(0x02, 1, b""), 4)
    parser.feed(EGRESS, _request(PrepareMessage("SELECT a FROM t WHERE k = ?"), 2), 5)
    # An EXECUTE of a statement prepared before tracing began: id and values, no query.
    execute = ExecuteMessage(b"\xab\xcd", [b"\x00\x00\x00\x07", None], ConsistencyLevel.ONE)
    parser.feed(EGRESS, _request(execute, 3), 6)
    parser.feed(INGRESS, _response(0x00, 2, (0x2200).to_bytes(4, "big") + b"\x00\x02no"), 7)
    parser.feed(INGRESS, _response(0x08, 3, (1).to_bytes(4, "big")), 8)
    assert _rows(parser, []) == [
        (5, "", 6, "{}"),
        (1, '{"CQL_VERSION":"3.0.0"}', 2, ""),
        (9, "SELECT a FROM t WHERE k = ?", 0, "[8704] no"),
        (10, '{"query_id":"abcd","values":["00000007",null]}', 8, "Response type = VOID"),
    ]


def test_compressed_frames_are_counted_not_shown() -> None:
    parser = CqlParser(Role.CLIENT)

    def compress(body: bytes) -> bytes:  # the framing of lz4 (size first), any codec inside
        return len(body).to_bytes(4, "big") + zlib.compress(body)

    query = QueryMessage("SELECT * FROM shop.orders", ConsistencyLevel.ONE)
    parser.feed(EGRESS, _request(query, 4, compress), 1)
    parser.feed(INGRESS, _response(0x08, 4, compress((1).to_bytes(4, "big")), flags=0x01), 2)
    parser.feed(EGRESS, _request(QueryMessage("SELECT 1", ConsistencyLevel.ONE), 5), 3)
    parser.feed(INGRESS, _response(0x08, 5, (1).to_bytes(4, "big")), 4)
    assert _rows(parser, []) == [(7, "SELECT 1", 8, "Response type = VOID")]
    assert parser.parse_errors == 1


def test_connection_seen_from_its_middle_resyncs_on_whole_frames() -> None:
    chunks = _captured("cql_session.txt")
    parser = CqlParser(Role.CLIENT)
    # The tracer starts in the middle of a request frame: half a PREPARE, then the rest.
    direction, prepare = chunks[6]
    assert prepare[4] == 0x09
    rows = _rows(parser, [(direction, prepare[20:]), *chunks[7:]])
    assert [r[0] for r in rows] == [10, 7, 13, 9, 10, 7, 7]
    assert "query" not in json.loads(rows[0][1])  # its PREPARE was not seen
    assert parser.parse_errors == 1
    assert parser.unmatched_responses == 1  # the PREPARE's result
    # Lost bytes inside the stream count as an error and resynchronise on the next frame.
    parser = CqlParser(Role.CLIENT)
    feed = [*chunks[:8]]
    d, data = chunks[8]
    parser_rows = _rows(parser, feed)
    parser.feed(d, data[3:] + chunks[10][1], 9_000, lost_bytes=3)
    parser.feed(INGRESS, chunks[9][1], 10_000)
    parser.feed(INGRESS, chunks[11][1], 11_000)
    later = _rows(parser, [])
    assert len(parser_rows) == 4
    assert [r[1] for r in later] == [
        "INSERT INTO shop.orders (id, product_id, quantity, email) "
        "VALUES (2, 3, 1, 'b@example.com')"
    ]
    assert parser.parse_errors == 1
    assert parser.unmatched_responses == 1


def test_garbage_and_unanswered_requests() -> None:
    parser = CqlParser(Role.CLIENT)
    parser.feed(EGRESS, b"hello, this is not CQL at all", 1)
    query = _request(QueryMessage("SELECT 1", ConsistencyLevel.ONE), 9)
    parser.feed(EGRESS, query, 2)
    assert parser.parse_errors >= 1
    parser.flush(now_ns=2 + 10_000_000_001)
    assert parser.dropped_requests == 1
    parser.feed(INGRESS, _response(0x08, 9, (1).to_bytes(4, "big")), 3)
    assert parser.records() == [] and parser.unmatched_responses == 1


def test_long_bodies_are_truncated_and_oversized_frames_skipped() -> None:
    parser = CqlParser(Role.CLIENT)
    long_query = "SELECT " + "x" * 2000 + " FROM t"
    parser.feed(EGRESS, _request(QueryMessage(long_query, ConsistencyLevel.ONE), 1), 1)
    parser.feed(INGRESS, _response(0x08, 1, (1).to_bytes(4, "big")), 2)
    (row,) = _rows(parser, [])
    assert row[1] == long_query[:1024] + "... [TRUNCATED]"
    # A 2 MiB request: skipped as it streams by (parse error), the next exchange still parses.
    big = _request(QueryMessage("SELECT '" + "y" * (2 << 20) + "'", ConsistencyLevel.ONE), 2)
    for start in range(0, len(big), 65536):
        parser.feed(EGRESS, big[start : start + 65536], 3)
    parser.feed(INGRESS, _response(0x08, 2, (1).to_bytes(4, "big")), 4)
    parser.feed(EGRESS, _request(QueryMessage("SELECT 3", ConsistencyLevel.ONE), 3), 5)
    parser.feed(INGRESS, _response(0x08, 3, (1).to_bytes(4, "big")), 6)
    assert _rows(parser, []) == [(7, "SELECT 3", 8, "Response type = VOID")]
    assert parser.parse_errors == 1 and parser.unmatched_responses == 1
    # A 2 MiB response and the next one in a single chunk: the first dropped, the second paired.
    parser.feed(EGRESS, _request(QueryMessage("SELECT 4", ConsistencyLevel.ONE), 4), 7)
    parser.feed(EGRESS, _request(QueryMessage("SELECT 5", ConsistencyLevel.ONE), 5), 8)
    huge = _response(0x08, 4, (1).to_bytes(4, "big") + b"z" * (2 << 20))
    parser.feed(INGRESS, huge + _response(0x08, 5, (1).to_bytes(4, "big")), 9)
    assert _rows(parser, []) == [(7, "SELECT 5", 8, "Response type = VOID")]
    assert parser.parse_errors == 2 and parser.unmatched_responses == 1


def test_protocol_v5_stops_after_startup() -> None:
    parser = CqlParser(Role.CLIENT)
    startup = bytearray(_request(StartupMessage("3.0.0", {}), 0))
    startup[0] = 5
    parser.feed(EGRESS, bytes(startup), 1)
    parser.feed(INGRESS, b"\x85\x00\x00\x00\x02\x00\x00\x00\x00", 2)
    parser.feed(EGRESS, b"\x10\x00\x02\x55\x66\x77segment-framed bytes", 3)
    assert _rows(parser, []) == [(1, '{"CQL_VERSION":"3.0.0"}', 2, "")]
    assert parser.parse_errors == 1


def test_inference_is_conservative() -> None:
    options = _request(OptionsMessage(), 0)
    assert infer_protocol(options, EGRESS, Role.UNKNOWN) is Protocol.CQL
    assert infer_protocol(options[:5], EGRESS, Role.UNKNOWN) is None  # header incomplete
    assert infer_protocol(options + b"\x00", EGRESS, Role.CLIENT) is None  # length mismatch
    bad_opcode = options[:4] + b"\x08" + options[5:]  # RESULT is not a request
    assert infer_protocol(bad_opcode, EGRESS, Role.CLIENT) is None
    bad_flags = options[:1] + b"\x40" + options[2:]
    assert infer_protocol(bad_flags, EGRESS, Role.CLIENT) is None
    negative_stream = options[:2] + b"\xff\xff" + options[4:]
    assert infer_protocol(negative_stream, EGRESS, Role.CLIENT) is None
    v2 = b"\x02" + options[1:]
    assert infer_protocol(v2, EGRESS, Role.CLIENT) is None


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.binary(max_size=64), st.booleans()), max_size=12),
    st.sampled_from(list(Role)),
)
def test_arbitrary_chunks_never_raise_or_break_the_parser(
    chunks: list[tuple[bool, bytes, bool]], role: Role
) -> None:
    parser = CqlParser(role)
    session = _captured("cql_session.txt")[:4]
    for ts, (egress, data, lost) in enumerate(chunks, start=1):
        parser.feed(EGRESS if egress else INGRESS, data, ts, lost_bytes=int(lost))
    for record in parser.records():
        record.to_row()
    parser.flush(now_ns=10**15)
    assert parser.internal_errors == 0
    # Real frames after the noise (with a gap marked as lost) still parse.
    parser = CqlParser(Role.CLIENT)
    for ts, (egress, data, _) in enumerate(chunks, start=1):
        parser.feed(EGRESS if egress else INGRESS, data, ts)
    for index, (direction, data) in enumerate(session):
        parser.feed(direction, data, 1000 + index, lost_bytes=1 if index < 2 else 0)
    assert parser.internal_errors == 0
