"""HTTP/2 and gRPC: captured grpcio bytes and h2-encoded streams -> exact http_events rows."""

from __future__ import annotations

from pathlib import Path

import h2.config
import h2.connection
import h2.settings
import pytest
from pyxie_stirling.protocols import (
    Direction,
    Http2Parser,
    Protocol,
    Role,
    infer_protocol,
    make_parser,
)
from pyxie_stirling.protocols._grpc import render_grpc_body, render_protobuf
from pyxie_stirling.protocols._http2 import NOTE_GAP, NOTE_START_MISSED

EGRESS, INGRESS = Direction.EGRESS, Direction.INGRESS
CAPTURE = Path(__file__).parent / "data" / "grpc_h2c_client.txt"
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _captured() -> list[tuple[Direction, bytes]]:
    """The client side of a real grpcio 1.85 h2c exchange, as the socket tracer captured it."""
    out = []
    for line in CAPTURE.read_text().splitlines():
        if line.startswith("#"):
            continue
        arrow, hexdata = line.split()
        out.append((EGRESS if arrow == ">" else INGRESS, bytes.fromhex(hexdata)))
    return out


def _run(parser: Http2Parser, chunks: list[tuple[Direction, bytes]]) -> list[dict[str, object]]:
    for ts, (direction, data) in enumerate(chunks, start=1):
        parser.feed(direction, data, ts)
    rows = []
    for record in parser.records():
        row = record.to_row()
        row["_ts"] = (record.request_timestamp_ns, record.response_timestamp_ns)
        rows.append(row)
    return rows


def _request_headers(authority: str) -> str:
    return (
        f'{{":authority":"{authority}",":method":"POST",":path":"/pyxie.test.Greeter/Hello",'
        '":scheme":"http","content-type":"application/grpc",'
        '"grpc-accept-encoding":"identity, deflate, gzip","te":"trailers",'
        f'"traceparent":"{TRACEPARENT}",'
        '"user-agent":"grpc-python/1.85.3 grpc-c/58.0.0 (linux; chttp2)"}'
    )


OK_TRAILERS = (
    '{":status":"200","content-type":"application/grpc",'
    '"grpc-accept-encoding":"identity, deflate, gzip","grpc-message":"","grpc-status":"0"}'
)


def test_captured_grpcio_exchange_gives_exact_rows() -> None:
    chunks = _captured()
    assert infer_protocol(chunks[0][1], EGRESS, Role.CLIENT) is Protocol.HTTP2
    parser = make_parser(Protocol.HTTP2, Role.CLIENT)
    assert isinstance(parser, Http2Parser)
    rows = _run(parser, chunks)
    common = {
        "major_version": 2,
        "minor_version": 0,
        "content_type": 2,
        "req_headers": _request_headers("127.0.0.1:41057"),
        "req_method": "POST",
        "req_path": "/pyxie.test.Greeter/Hello",
        "resp_status": 200,
        "resp_message": "OK",
    }
    assert rows == [
        {
            **common,
            "req_body": '1: "alice"',
            "req_body_size": 12,
            "resp_headers": OK_TRAILERS,
            "resp_body": '1: "hello alice"',
            "resp_body_size": 18,
            "_ts": (6, 37),
        },
        {
            **common,
            "req_body": '1: "bob"',
            "req_body_size": 10,
            "resp_headers": OK_TRAILERS,
            "resp_body": '1: "hello bob"',
            "resp_body_size": 16,
            "_ts": (40, 46),
        },
        {
            **common,
            "req_body": '1: "nobody"',
            "req_body_size": 13,
            # A trailers-only response: gRPC status 5 (NOT_FOUND) with its message.
            "resp_headers": '{":status":"200","content-type":"application/grpc",'
            '"grpc-message":"no such user","grpc-status":"5"}',
            "resp_body": "",
            "resp_body_size": 0,
            "_ts": (47, 54),
        },
    ]
    assert parser.parse_errors == 0


def test_unknown_role_finds_the_request_side_from_the_preface() -> None:
    parser = make_parser(Protocol.HTTP2, Role.UNKNOWN)
    assert isinstance(parser, Http2Parser)
    rows = _run(parser, _captured())
    assert [r["req_body"] for r in rows] == ['1: "alice"', '1: "bob"', '1: "nobody"']


def test_server_side_view_of_the_same_bytes() -> None:
    # The server sees the client's egress as ingress: same rows.
    swapped = [(INGRESS if d is EGRESS else EGRESS, data) for d, data in _captured()]
    parser = make_parser(Protocol.HTTP2, Role.SERVER)
    assert isinstance(parser, Http2Parser)
    rows = _run(parser, swapped)
    assert [r["resp_body"] for r in rows] == ['1: "hello alice"', '1: "hello bob"', ""]


@pytest.mark.parametrize("skip", [1, 4, 10, 30])
def test_a_connection_traced_from_its_middle_gives_no_rows_and_says_why(skip: int) -> None:
    chunks = _captured()[skip:]
    parser = make_parser(Protocol.HTTP2, Role.CLIENT)
    assert isinstance(parser, Http2Parser)
    rows = _run(parser, chunks)
    assert rows == []
    assert parser.parse_errors == 1
    assert parser.error_note == NOTE_START_MISSED


def test_mid_stream_frames_are_inferred_so_the_loss_is_reported() -> None:
    chunks = _captured()
    # A chunk of whole frames from the middle (no preface, no leading SETTINGS).
    middle = chunks[39][1]  # HEADERS frame header + the first 10 bytes of its block (grpcio)
    assert len(middle) == 19
    assert infer_protocol(middle, EGRESS, Role.CLIENT) is Protocol.HTTP2


# -- streams encoded by the h2 library ---------------------------------------------------------


class _Pair:
    """An h2 client and server talking; every byte also goes to the parser (client's view)."""

    def __init__(self, parser: Http2Parser, **client_settings: int) -> None:
        self.parser = parser
        self.client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.server = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        )
        self.client.initiate_connection()
        if client_settings:
            self.client.update_settings(
                {h2.settings.SettingCodes[k.upper()]: v for k, v in client_settings.items()}
            )
        self.server.initiate_connection()
        self.ts = 0
        self.flush()

    def flush(self, lose_from_server: slice | None = None) -> None:
        for _ in range(3):
            self.ts += 1
            out = self.client.data_to_send()
            if out:
                self.parser.feed(EGRESS, out, self.ts)
                self.server.receive_data(out)
            out = self.server.data_to_send()
            if out:
                if lose_from_server is not None:
                    kept = bytearray(out)
                    lost = len(kept[lose_from_server])
                    del kept[lose_from_server]
                    start = lose_from_server.start or 0
                    self.parser.feed(INGRESS, bytes(kept[:start]), self.ts)
                    self.parser.feed(INGRESS, bytes(kept[start:]), self.ts, lost_bytes=lost)
                    lose_from_server = None
                else:
                    self.parser.feed(INGRESS, out, self.ts)
                self.client.receive_data(out)


def _request(pair: _Pair, path: str, extra: list[tuple[str, str]], body: bytes = b"") -> int:
    sid = pair.client.get_next_available_stream_id()
    headers = [(":method", "POST" if body else "GET"), (":path", path), (":scheme", "http")]
    headers += [(":authority", "svc"), *extra]
    pair.client.send_headers(sid, headers, end_stream=not body)
    if body:
        pair.client.send_data(sid, body, end_stream=True)
    pair.flush()
    return sid


def test_dynamic_table_continuation_padding_and_json() -> None:
    parser = Http2Parser(Role.CLIENT, max_body_bytes=16)
    pair = _Pair(parser)
    big = "x" * 20000  # forces CONTINUATION frames (max frame size 16 KiB)
    for i in range(3):
        sid = _request(pair, f"/items/{i}", [("x-big", big), ("a-tenant", "acme")])
        pair.server.send_headers(sid, [(":status", "404"), ("content-type", "application/json")])
        pair.server.send_data(sid, b'{"error":"no such item, really"}', pad_length=7)
        pair.server.send_data(sid, b"", end_stream=True)
        pair.flush()
    rows = _run(parser, [])
    assert len(rows) == 3
    for i, row in enumerate(rows):
        assert row["req_method"] == "GET"
        assert row["req_path"] == f"/items/{i}"
        assert row["req_body"] == ""
        assert row["content_type"] == 1
        assert row["resp_status"] == 404
        assert row["resp_message"] == "Not Found"
        assert row["resp_body"] == '{"error":"no suc... [TRUNCATED]'
        assert row["resp_body_size"] == 32
        assert row["resp_headers"] == '{":status":"404","content-type":"application/json"}'
        req_headers = str(row["req_headers"])
        assert '"a-tenant":"acme"' in req_headers
        assert req_headers.endswith("... [TRUNCATED]")  # 20 KB header cut at 8 KiB
    assert parser.parse_errors == 0


def test_bigger_header_table_announced_in_settings_is_honoured() -> None:
    parser = Http2Parser(Role.CLIENT)
    pair = _Pair(parser, header_table_size=65536)
    # The server's encoder may now use a 64 KiB table; fill it beyond 4 KiB with indexed values.
    pair.server.encoder.header_table_size = 65536
    for i in range(40):
        sid = _request(pair, "/", [])
        value = f"{i:03d}" + "v" * 200
        pair.server.send_headers(sid, [(":status", "200"), (f"x-h{i}", value)], end_stream=True)
        pair.flush()
    rows = _run(parser, [])
    assert len(rows) == 40
    assert parser.parse_errors == 0
    assert f'"x-h39":"039{"v" * 200}"' in str(rows[-1]["resp_headers"])


def test_lost_bytes_inside_data_keep_the_row_and_mark_the_body() -> None:
    parser = Http2Parser(Role.CLIENT)
    pair = _Pair(parser)
    sid = _request(pair, "/big", [("content-type", "application/grpc")])
    payload = b"\x0a\x80\x08" + b"z" * 1024  # field 1, 1024 bytes
    pair.server.send_headers(sid, [(":status", "200"), ("content-type", "application/grpc")])
    pair.server.send_data(sid, b"\0" + len(payload).to_bytes(4, "big") + payload)
    pair.server.send_headers(sid, [("grpc-status", "0")], end_stream=True)
    # HEADERS frame is ~20 bytes; DATA header 9: lose 500 bytes in the DATA payload.
    out = pair.server.data_to_send()
    data_start = out.index(b"\x0a\x80\x08")
    pair.parser.feed(INGRESS, out[:data_start], 10)
    pair.parser.feed(INGRESS, out[data_start + 500 :], 11, lost_bytes=500)
    rows = _run(parser, [])
    assert len(rows) == 1
    assert rows[0]["resp_body_size"] == 5 + len(payload)
    assert rows[0]["resp_body"] == "<truncated gRPC message>"
    assert '"grpc-status":"0"' in str(rows[0]["resp_headers"])
    assert parser.parse_errors == 0


def test_lost_bytes_in_a_header_block_stop_the_connection() -> None:
    parser = Http2Parser(Role.CLIENT)
    pair = _Pair(parser)
    sid = _request(pair, "/a", [])
    pair.server.send_headers(sid, [(":status", "200"), ("x-new", "indexed")], end_stream=True)
    pair.flush(lose_from_server=slice(3, 8))
    _request(pair, "/b", [])
    rows = _run(parser, [])
    assert rows == []
    assert parser.parse_errors == 1
    assert parser.error_note == NOTE_GAP


def test_reset_after_response_headers_is_a_row_reset_before_is_dropped() -> None:
    parser = Http2Parser(Role.CLIENT)
    pair = _Pair(parser)
    sid = _request(pair, "/stream", [])
    pair.server.send_headers(sid, [(":status", "200")])
    pair.flush()
    pair.client.reset_stream(sid)
    pair.flush()
    sid2 = _request(pair, "/never", [])
    pair.client.reset_stream(sid2)
    pair.flush()
    rows = _run(parser, [])
    assert [r["req_path"] for r in rows] == ["/stream"]
    assert parser.dropped_requests == 1


def test_unanswered_streams_expire() -> None:
    parser = Http2Parser(Role.CLIENT)
    pair = _Pair(parser)
    _request(pair, "/slow", [])
    parser.flush(now_ns=10**12)
    assert parser.dropped_requests == 1


def test_garbage_never_raises_and_never_makes_rows() -> None:
    parser = Http2Parser(Role.CLIENT)
    parser.feed(EGRESS, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 1)
    parser.feed(EGRESS, b"\x00\x00\x05\x01\x05\x00\x00\x00\x01\xff\xff\xff\xff\xff", 2)
    assert parser.records() == []
    assert parser.parse_errors == 1


# -- gRPC body rendering ------------------------------------------------------------------------


def test_protobuf_rendering_of_every_wire_type() -> None:
    nested = b"\x0a\x02hi\x10\x01"
    msg = (
        b"\x08\x96\x01"  # 1: 150
        + b"\x11" + (1).to_bytes(8, "little")  # 2: fixed64
        + b"\x1d" + (7).to_bytes(4, "little")  # 3: fixed32
        + b"\x22" + bytes([len(nested)]) + nested  # 4: nested message
        + b"\x2a\x03\xff\x00\x01"  # 5: bytes
    )  # fmt: skip
    assert render_protobuf(msg) == (
        '1: 150 2: 0x0000000000000001 3: 0x00000007 4 { 1: "hi" 2: 1 } 5: "\\377\\000\\001"'
    )
    assert render_protobuf(b"\x0f") == "<not protobuf: 1 bytes>"


def test_grpc_framing_compressed_and_truncated_messages() -> None:
    one = b"\0\0\0\0\x02\x08\x01"
    assert render_grpc_body(one + one, True) == "1: 1\n1: 1"
    assert render_grpc_body(b"\x01\0\0\0\x03abc", True) == "<compressed gRPC message: 3 bytes>"
    assert render_grpc_body(one + b"\0\0\0\0\x09\x08", False) == "1: 1\n<truncated gRPC message>"
