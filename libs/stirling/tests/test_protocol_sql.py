"""PostgreSQL and MySQL parsers on messages built per the wire protocol specifications."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st
from pyxie_stirling.protocols import ConnectionParser, Direction, Protocol, Role, make_parser
from pyxie_types.tables import MYSQL_EVENTS, PGSQL_EVENTS

EGRESS, INGRESS = Direction.EGRESS, Direction.INGRESS


def _protocol_columns(schema: object) -> list[str]:
    names = [c.name for c in schema.relation.columns][8:]  # type: ignore[attr-defined]
    names.remove("latency")
    return names


def _rows(parser: ConnectionParser) -> list[dict[str, object]]:
    return [r.to_row() for r in parser.records()]


# -- PostgreSQL messages --------------------------------------------------------------------


def _msg(tag: bytes, payload: bytes) -> bytes:
    return tag + struct.pack(">i", len(payload) + 4) + payload


def _cstr(value: str) -> bytes:
    return value.encode() + b"\0"


def _startup() -> bytes:
    body = (
        struct.pack(">i", 196608)
        + _cstr("user")
        + _cstr("app")
        + _cstr("database")
        + _cstr("db")
        + b"\0"
    )
    return struct.pack(">i", len(body) + 4) + body


def _row_desc(*names: str) -> bytes:
    fields = b"".join(
        _cstr(n) + struct.pack(">ihihih", 16384, i + 1, 23, 4, -1, 0) for i, n in enumerate(names)
    )
    return _msg(b"T", struct.pack(">h", len(names)) + fields)


def _data_row(*values: str | None) -> bytes:
    cols = b""
    for v in values:
        cols += struct.pack(">i", -1) if v is None else struct.pack(">i", len(v)) + v.encode()
    return _msg(b"D", struct.pack(">h", len(values)) + cols)


_READY = _msg(b"Z", b"I")
_AUTH_OK = _msg(b"R", struct.pack(">i", 0))


def _complete(tag: str) -> bytes:
    return _msg(b"C", _cstr(tag))


def _error(message: str) -> bytes:
    fields = b"SERROR\0C42P01\0M" + message.encode() + b"\0\0"
    return _msg(b"E", fields)


def test_pgsql_simple_query_after_startup_renders_rows_like_pixie() -> None:
    parser = make_parser(Protocol.PGSQL, Role.CLIENT)
    parser.feed(EGRESS, struct.pack(">ii", 8, 80877103), 1)  # SSLRequest
    parser.feed(INGRESS, b"N", 2)
    parser.feed(EGRESS, _startup(), 3)
    parser.feed(INGRESS, _AUTH_OK + _msg(b"S", _cstr("server_version") + _cstr("16")) + _READY, 4)
    parser.feed(EGRESS, _msg(b"Q", _cstr("SELECT id, name FROM t")), 10)
    response = (
        _row_desc("id", "name")
        + _data_row("1", "a")
        + _data_row("2", None)
        + _complete("SELECT 2")
        + _READY
    )
    parser.feed(INGRESS, response[:13], 20)
    parser.feed(INGRESS, response[13:], 30)
    (record,) = parser.records()
    assert list(record.to_row()) == _protocol_columns(PGSQL_EVENTS)
    assert record.to_row() == {
        "req_cmd": "Query",
        "req": "SELECT id, name FROM t",
        "resp": "id,name\n1,a\n2,[NULL]\nSELECT 2",
    }
    assert (record.request_timestamp_ns, record.response_timestamp_ns) == (10, 30)


def test_pgsql_query_error_and_command_tag_only_responses() -> None:
    parser = make_parser(Protocol.PGSQL, Role.SERVER)
    parser.feed(
        INGRESS,
        _msg(b"Q", _cstr("SELECT * FROM missing")) + _msg(b"Q", _cstr("CREATE TABLE x()")),
        1,
    )
    parser.feed(
        EGRESS,
        _error('relation "missing" does not exist') + _READY + _complete("CREATE TABLE") + _READY,
        2,
    )
    assert [r["resp"] for r in _rows(parser)] == [
        'ERROR RESPONSE [Severity=ERROR Code=42P01 Message=relation "missing" does not exist]',
        "CREATE TABLE",
    ]


def test_pgsql_extended_protocol_records_each_step_with_params_filled() -> None:
    parser = make_parser(Protocol.PGSQL, Role.CLIENT)
    parse = _msg(
        b"P",
        _cstr("")
        + _cstr("SELECT name FROM t WHERE id = $1 AND tag = $2")
        + struct.pack(">hii", 2, 23, 25),
    )
    bind = _msg(
        b"B",
        _cstr("")
        + _cstr("")
        + struct.pack(">hhh", 2, 1, 0)
        + struct.pack(">h", 2)
        + struct.pack(">i", 4)
        + struct.pack(">i", 42)
        + struct.pack(">i", 3)
        + b"red"
        + struct.pack(">h", 0),
    )
    describe = _msg(b"D", b"P\0")
    execute = _msg(b"E", _cstr("") + struct.pack(">i", 0))
    sync = _msg(b"S", b"")
    parser.feed(EGRESS, parse + bind + describe + execute + sync, 100)
    responses = (
        _msg(b"1", b"")
        + _msg(b"2", b"")
        + _row_desc("name")
        + _data_row("alice")
        + _complete("SELECT 1")
        + _READY
    )
    parser.feed(INGRESS, responses, 200)
    rows = _rows(parser)
    assert [r["req_cmd"] for r in rows] == ["Parse", "Bind", "Describe", "Execute"]
    assert rows[0]["resp"] == "PARSE COMPLETE"
    assert rows[1]["req"] == (
        "portal= statement= parameters=[[format=kBinary value=42], [format=kText value=red]] "
        "result_format_codes=[]"
    )
    assert rows[1]["resp"] == "BIND COMPLETE"
    assert rows[2]["req"] == "type=kPortal name="
    assert str(rows[2]["resp"]).startswith("ROW DESCRIPTION [name=name table_oid=16384")
    assert rows[3] == {
        "req_cmd": "Execute",
        "req": "query=[SELECT name FROM t WHERE id = $1 AND tag = $2] params=[42, red]",
        "resp": "alice\nSELECT 1",
    }


def test_pgsql_error_in_extended_batch_skips_to_sync_and_keeps_pairing() -> None:
    parser = make_parser(Protocol.PGSQL, Role.CLIENT)
    bad_parse = _msg(b"P", _cstr("") + _cstr("SELEC 1") + struct.pack(">h", 0))
    bind = _msg(b"B", _cstr("") + _cstr("") + struct.pack(">hhh", 0, 0, 0))
    execute = _msg(b"E", _cstr("") + struct.pack(">i", 0))
    parser.feed(EGRESS, bad_parse + bind + execute + _msg(b"S", b""), 1)
    parser.feed(INGRESS, _error("syntax error") + _READY, 2)
    parser.feed(EGRESS, _msg(b"Q", _cstr("SELECT 1")), 3)
    parser.feed(INGRESS, _row_desc("x") + _data_row("1") + _complete("SELECT 1") + _READY, 4)
    rows = _rows(parser)
    assert [(r["req_cmd"], r["resp"]) for r in rows] == [
        ("Parse", "ERROR RESPONSE [Severity=ERROR Code=42P01 Message=syntax error]"),
        ("Query", "x\n1\nSELECT 1"),
    ]


def test_pgsql_ssl_accepted_stops_parsing_encrypted_bytes() -> None:
    parser = make_parser(Protocol.PGSQL, Role.CLIENT)
    parser.feed(EGRESS, struct.pack(">ii", 8, 80877103), 1)
    parser.feed(INGRESS, b"S", 2)
    parser.feed(EGRESS, b"\x16\x03\x01\x02\x00" + bytes(200), 3)
    assert parser.records() == [] and parser.parse_errors == 0


def test_pgsql_huge_data_row_is_skipped_without_buffering_it() -> None:
    parser = make_parser(Protocol.PGSQL, Role.CLIENT)
    parser.feed(EGRESS, _msg(b"Q", _cstr("SELECT blob FROM t")), 1)
    big = _data_row("z" * 5_000_000)
    parser.feed(INGRESS, _row_desc("blob"), 2)
    for i in range(0, len(big), 65536):
        parser.feed(INGRESS, big[i : i + 65536], 3)
    parser.feed(INGRESS, _complete("SELECT 1") + _READY, 4)
    (row,) = _rows(parser)
    assert str(row["resp"]).startswith("blob\nzzzz") and str(row["resp"]).endswith(
        "... [TRUNCATED]"
    )


def test_pgsql_gap_in_requests_resyncs_on_a_valid_message() -> None:
    parser = make_parser(Protocol.PGSQL, Role.CLIENT)
    query = _msg(b"Q", _cstr("SELECT 2"))
    parser.feed(EGRESS, b"tail of a lost message" + query, 1, lost_bytes=100)
    parser.feed(INGRESS, _complete("SELECT 0") + _READY, 2)
    assert [r["req"] for r in _rows(parser)] == ["SELECT 2"]


# -- MySQL packets --------------------------------------------------------------------------


def _packet(seq: int, payload: bytes) -> bytes:
    return struct.pack("<I", len(payload))[:3] + bytes([seq]) + payload


def _lenenc_str(value: bytes) -> bytes:
    return bytes([len(value)]) + value


def _ok(seq: int, status: int = 0x0002) -> bytes:
    return _packet(seq, b"\x00\x00\x00" + struct.pack("<HH", status, 0))


def _eof(seq: int, status: int = 0x0002) -> bytes:
    return _packet(seq, b"\xfe" + struct.pack("<HH", 0, status))


def _coldef(seq: int, name: str) -> bytes:
    body = b"".join(
        _lenenc_str(x) for x in (b"def", b"db", b"t", b"t", name.encode(), name.encode())
    )
    return _packet(seq, body + b"\x0c\x21\x00\xff\x00\x00\x00\xfd\x00\x00\x00\x00\x00")


def _resultset(
    rows: list[list[bytes]], columns: tuple[str, ...] = ("a",), *, more: bool = False
) -> bytes:
    seq = 1
    out = _packet(seq, bytes([len(columns)]))
    for name in columns:
        seq += 1
        out += _coldef(seq, name)
    seq += 1
    out += _eof(seq)
    for row in rows:
        seq += 1
        out += _packet(seq, b"".join(_lenenc_str(v) for v in row))
    seq += 1
    return out + _eof(seq, 0x000A if more else 0x0002)


_GREETING = _packet(0, b"\x0a8.0.36\0" + bytes(40))


def test_mysql_handshake_is_skipped_and_query_resultset_is_summarised() -> None:
    parser = make_parser(Protocol.MYSQL, Role.CLIENT)
    parser.feed(INGRESS, _GREETING, 1)
    parser.feed(EGRESS, _packet(1, b"\x0f\xa6\x00\x00" + bytes(28) + b"root\0"), 2)
    parser.feed(INGRESS, _ok(2), 3)
    parser.feed(EGRESS, _packet(0, b"\x03SELECT a FROM t"), 10)
    resultset = _resultset([[b"1"], [b"2"], [b"3"]])
    parser.feed(INGRESS, resultset[:7], 20)
    parser.feed(INGRESS, resultset[7:], 30)
    (record,) = parser.records()
    assert list(record.to_row()) == _protocol_columns(MYSQL_EVENTS)
    assert record.to_row() == {
        "req_cmd": 3,
        "req_body": "SELECT a FROM t",
        "resp_status": 2,
        "resp_body": "Resultset rows = 3",
    }
    assert (record.request_timestamp_ns, record.response_timestamp_ns) == (10, 30)


def test_mysql_ok_error_quit_and_multi_resultsets() -> None:
    parser = make_parser(Protocol.MYSQL, Role.SERVER)
    parser.feed(INGRESS, _packet(0, b"\x03UPDATE t SET a=1"), 1)
    parser.feed(EGRESS, _ok(1), 2)
    parser.feed(INGRESS, _packet(0, b"\x03SELEC"), 3)
    parser.feed(EGRESS, _packet(1, b"\xff\x28\x04#42000You have an error in your SQL syntax"), 4)
    parser.feed(INGRESS, _packet(0, b"\x03CALL p()"), 5)
    parser.feed(EGRESS, _resultset([[b"x"]], more=True) + _resultset([], more=True)[0:0], 6)
    parser.feed(EGRESS, _resultset([[b"y"], [b"z"]], more=True) + _ok(9), 7)
    parser.feed(INGRESS, _packet(0, b"\x01"), 8)
    rows = _rows(parser)
    assert [(r["req_cmd"], r["resp_status"], r["resp_body"]) for r in rows] == [
        (3, 2, ""),
        (3, 3, "You have an error in your SQL syntax"),
        (3, 2, "Resultset rows = 1, Resultset rows = 2"),
        (1, 1, ""),
    ]


def test_mysql_prepared_statement_execute_fills_parameters() -> None:
    parser = make_parser(Protocol.MYSQL, Role.CLIENT)
    parser.feed(EGRESS, _packet(0, b"\x16SELECT * FROM t WHERE id = ? AND name = ?"), 1)
    prepare_ok = _packet(1, b"\x00" + struct.pack("<IHHBH", 7, 1, 2, 0, 0))
    parser.feed(
        INGRESS,
        prepare_ok + _coldef(2, "?") + _coldef(3, "?") + _eof(4) + _coldef(5, "id") + _eof(6),
        2,
    )
    params = (
        b"\x00" + b"\x01" + b"\x08\x00" + b"\xfd\x00" + struct.pack("<q", 42) + _lenenc_str(b"bob")
    )
    execute = _packet(0, b"\x17" + struct.pack("<IBI", 7, 0, 1) + params)
    parser.feed(EGRESS, execute, 3)
    parser.feed(INGRESS, _resultset([[b"\x00\x00" + b"x"]]), 4)
    parser.feed(EGRESS, _packet(0, b"\x19" + struct.pack("<I", 7)), 5)
    rows = _rows(parser)
    assert [(r["req_cmd"], r["req_body"], r["resp_status"], r["resp_body"]) for r in rows] == [
        (22, "SELECT * FROM t WHERE id = ? AND name = ?", 2, ""),
        (23, "SELECT * FROM t WHERE id = 42 AND name = bob", 2, "Resultset rows = 1"),
        (25, "", 1, ""),
    ]


def test_mysql_execute_of_unknown_statement_is_reported_by_id() -> None:
    parser = make_parser(Protocol.MYSQL, Role.CLIENT)
    parser.feed(EGRESS, _packet(0, b"\x17" + struct.pack("<IBI", 99, 0, 1)), 1)
    parser.feed(INGRESS, _ok(1), 2)
    assert [r["req_body"] for r in _rows(parser)] == ["Execute stmt_id=99."]


def test_mysql_bodies_are_truncated_at_max_body_bytes() -> None:
    parser = make_parser(Protocol.MYSQL, Role.CLIENT, max_body_bytes=10)
    parser.feed(EGRESS, _packet(0, b"\x03SELECT 'a very long literal'"), 1)
    parser.feed(INGRESS, _ok(1), 2)
    (row,) = _rows(parser)
    assert row["req_body"] == "SELECT 'a ... [TRUNCATED]"


@settings(max_examples=300, deadline=None)
@given(
    protocol=st.sampled_from([Protocol.PGSQL, Protocol.MYSQL]),
    role=st.sampled_from([Role.CLIENT, Role.SERVER, Role.UNKNOWN]),
    chunks=st.lists(st.tuples(st.booleans(), st.binary(max_size=120)), max_size=20),
)
def test_random_bytes_never_raise(
    protocol: Protocol, role: Role, chunks: list[tuple[bool, bytes]]
) -> None:
    parser = make_parser(protocol, role)
    for i, (egress, data) in enumerate(chunks):
        parser.feed(EGRESS if egress else INGRESS, data, i, lost_bytes=(i % 4 == 3) * 5)
        for record in parser.records():
            record.to_row()
    parser.flush(10**12)
    parser.close()
    assert parser.internal_errors == 0


@settings(max_examples=100, deadline=None)
@given(cuts=st.lists(st.integers(min_value=1, max_value=64), min_size=1, max_size=30))
def test_mysql_records_do_not_depend_on_chunk_boundaries(cuts: list[int]) -> None:
    requests = [_packet(0, b"\x03SELECT a FROM t"), _packet(0, b"\x03DELETE FROM t")]
    responses = [_resultset([[b"1"], [b"22"]]), _ok(1)]
    parser = make_parser(Protocol.MYSQL, Role.CLIENT)
    ts = 0
    cut_iter = iter(cuts * 20)
    for direction, data in zip(
        [EGRESS, INGRESS] * 2, [requests[0], responses[0], requests[1], responses[1]], strict=True
    ):
        pos = 0
        while pos < len(data):
            step = next(cut_iter, len(data))
            parser.feed(direction, data[pos : pos + step], ts)
            ts += 1
            pos += step
    rows = _rows(parser)
    assert [(r["req_body"], r["resp_body"]) for r in rows] == [
        ("SELECT a FROM t", "Resultset rows = 2"),
        ("DELETE FROM t", ""),
    ]
