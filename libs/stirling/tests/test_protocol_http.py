"""HTTP/1.x parser: hand-built streams and real traffic captured through a userspace proxy."""

from __future__ import annotations

import contextlib
import functools
import gzip
import http.client
import http.server
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyxie_stirling.protocols import (
    TRUNCATED_SUFFIX,
    ConnectionParser,
    Direction,
    HttpRecord,
    Protocol,
    Role,
    make_parser,
)
from pyxie_types.tables import HTTP_EVENTS
from stirling_native_support import http_native

EGRESS, INGRESS = Direction.EGRESS, Direction.INGRESS

# HttpParser(role, *, max_body_bytes=...) of either implementation.
ParserFactory = Callable[..., ConnectionParser]


def _rows(parser: ConnectionParser) -> list[dict[str, object]]:
    return [r.to_row() for r in parser.records()]


@pytest.fixture(scope="module", params=["python", "native"])
def new_parser(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> ParserFactory:
    """Every test runs against the Python parser and its C twin (protocols/_http_native.c)."""
    if request.param == "python":
        return functools.partial(make_parser, Protocol.HTTP)
    factory: ParserFactory = http_native(tmp_path_factory.mktemp("native")).HttpParser
    return factory


def _client(new_parser: ParserFactory) -> ConnectionParser:
    return new_parser(Role.CLIENT)


def _resp(body: bytes, ctype: str = "text/plain", extra: str = "") -> bytes:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


def test_row_has_exactly_the_http_events_protocol_columns(new_parser: ParserFactory) -> None:
    parser = _client(new_parser)
    parser.feed(EGRESS, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 1)
    parser.feed(INGRESS, _resp(b"hi"), 2)
    (record,) = parser.records()
    expected = [c.name for c in HTTP_EVENTS.relation.columns][8:]
    expected.remove("latency")
    assert list(record.to_row()) == expected
    assert record.table_name == "http_events"


def test_keep_alive_requests_pair_in_order_with_timestamps(new_parser: ParserFactory) -> None:
    parser = _client(new_parser)
    for i in range(3):
        parser.feed(EGRESS, f"GET /{i} HTTP/1.1\r\nHost: a\r\n\r\n".encode(), 100 * i + 1)
        parser.feed(INGRESS, _resp(f"body{i}".encode()), 100 * i + 50)
    records = parser.records()
    assert [r.to_row()["req_path"] for r in records] == ["/0", "/1", "/2"]
    assert [r.to_row()["resp_body"] for r in records] == ["body0", "body1", "body2"]
    assert [(r.request_timestamp_ns, r.response_timestamp_ns) for r in records] == [
        (1, 50),
        (101, 150),
        (201, 250),
    ]


def test_pipelined_requests_match_responses_in_order(new_parser: ParserFactory) -> None:
    parser = _client(new_parser)
    parser.feed(EGRESS, b"".join(f"GET /{i} HTTP/1.1\r\n\r\n".encode() for i in range(4)), 1)
    parser.feed(INGRESS, b"".join(_resp(f"r{i}".encode()) for i in range(4)), 2)
    rows = _rows(parser)
    assert [(r["req_path"], r["resp_body"]) for r in rows] == [(f"/{i}", f"r{i}") for i in range(4)]


def test_request_timestamp_is_first_byte_and_response_timestamp_is_last_byte(
    new_parser: ParserFactory,
) -> None:
    parser = new_parser(Role.SERVER)
    request = b"POST /x HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd"
    parser.feed(INGRESS, request[:10], 1000)
    parser.feed(INGRESS, request[10:], 2000)
    response = _resp(b"done")
    parser.feed(EGRESS, response[:5], 3000)
    parser.feed(EGRESS, response[5:], 4000)
    (record,) = parser.records()
    assert (record.request_timestamp_ns, record.response_timestamp_ns) == (1000, 4000)
    assert record.to_row()["req_body"] == "abcd"


def test_chunked_body_is_decoded_and_sized(new_parser: ParserFactory) -> None:
    parser = _client(new_parser)
    parser.feed(EGRESS, b"GET / HTTP/1.1\r\n\r\n", 1)
    parser.feed(
        INGRESS,
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'4;ext=1\r\n{"a"\r\n3\r\n:1}\r\n0\r\nTrailer: x\r\n\r\n',
        2,
    )
    (row,) = _rows(parser)
    assert row["resp_body"] == '{"a":1}'
    assert row["resp_body_size"] == 7
    assert row["content_type"] == 1


def test_head_204_and_304_responses_have_no_body(new_parser: ParserFactory) -> None:
    parser = _client(new_parser)
    parser.feed(EGRESS, b"HEAD / HTTP/1.1\r\n\r\nGET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n", 1)
    parser.feed(
        INGRESS,
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: text/html\r\n\r\n"
        b"HTTP/1.1 204 No Content\r\n\r\n"
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
        2,
    )
    rows = _rows(parser)
    assert [(r["req_method"], r["resp_status"], r["resp_body_size"]) for r in rows] == [
        ("HEAD", 200, 0),
        ("GET", 204, 0),
        ("GET", 304, 0),
    ]


def test_100_continue_is_skipped_and_final_response_is_paired(new_parser: ParserFactory) -> None:
    parser = _client(new_parser)
    parser.feed(EGRESS, b"POST /u HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n", 1)
    parser.feed(INGRESS, b"HTTP/1.1 100 Continue\r\n\r\n", 2)
    parser.feed(EGRESS, b"ok", 3)
    parser.feed(INGRESS, _resp(b"stored"), 4)
    (row,) = _rows(parser)
    assert (row["req_body"], row["resp_status"], row["resp_body"]) == ("ok", 200, "stored")


def test_body_delimited_by_connection_close_is_emitted_on_close(new_parser: ParserFactory) -> None:
    parser = _client(new_parser)
    parser.feed(EGRESS, b"GET / HTTP/1.0\r\n\r\n", 1)
    parser.feed(INGRESS, b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\npart1 ", 2)
    parser.feed(INGRESS, b"part2", 3)
    assert parser.records() == []
    parser.close()
    (record,) = parser.records()
    assert record.to_row()["resp_body"] == "part1 part2"
    assert record.to_row()["minor_version"] == 0
    assert record.response_timestamp_ns == 3


def test_bodies_are_truncated_with_pixies_suffix_and_full_size_reported(
    new_parser: ParserFactory,
) -> None:
    parser = new_parser(Role.CLIENT, max_body_bytes=8)
    parser.feed(EGRESS, b"POST / HTTP/1.1\r\nContent-Length: 20\r\n\r\n" + b"x" * 20, 1)
    parser.feed(INGRESS, _resp(b"y" * 30), 2)
    (row,) = _rows(parser)
    assert row["req_body"] == "x" * 8 + TRUNCATED_SUFFIX
    assert row["req_body_size"] == 20
    assert row["resp_body"] == "y" * 8 + TRUNCATED_SUFFIX
    assert row["resp_body_size"] == 30


def test_response_body_filtering_follows_pixie(new_parser: ParserFactory) -> None:
    parser = _client(new_parser)
    parser.feed(EGRESS, b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n", 1)
    parser.feed(INGRESS, _resp(b"\x89PNG", "image/png"), 2)
    parser.feed(INGRESS, b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", 3)
    zipped = gzip.compress(b'{"k":"v"}')
    parser.feed(INGRESS, _resp(zipped, "application/json", "Content-Encoding: gzip\r\n"), 4)
    rows = _rows(parser)
    assert [r["resp_body"] for r in rows] == [
        "<removed: non-text content-type>",
        "<removed: unknown content-type>",
        '{"k":"v"}',
    ]
    assert rows[2]["resp_body_size"] == len(zipped)


def test_headers_json_is_sorted_case_insensitively_with_repeated_keys(
    new_parser: ParserFactory,
) -> None:
    parser = _client(new_parser)
    parser.feed(EGRESS, b"GET / HTTP/1.1\r\nb-h: 1\r\nA-h: 2\r\nb-h: 3\r\n\r\n", 1)
    parser.feed(INGRESS, _resp(b""), 2)
    (row,) = _rows(parser)
    assert row["req_headers"] == '{"A-h":"2","b-h":"1","b-h":"3"}'


def test_upgrade_101_ends_http_parsing(new_parser: ParserFactory) -> None:
    parser = _client(new_parser)
    parser.feed(EGRESS, b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", 1)
    parser.feed(INGRESS, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", 2)
    parser.feed(EGRESS, b"\x81\x05hello GET / HTTP/1.1\r\n\r\n", 3)
    parser.feed(INGRESS, _resp(b"nope"), 4)
    rows = _rows(parser)
    assert [r["resp_status"] for r in rows] == [101]


def test_lost_bytes_in_headers_resync_on_next_request(new_parser: ParserFactory) -> None:
    parser = _client(new_parser)
    parser.feed(EGRESS, b"GET /lost HTTP/1.1\r\nHo", 1)
    parser.feed(EGRESS, b"x\r\n\r\nGET /next HTTP/1.1\r\n\r\n", 2, lost_bytes=7)
    parser.feed(INGRESS, _resp(b"n"), 3)
    rows = _rows(parser)
    assert [r["req_path"] for r in rows] == ["/next"]
    assert parser.parse_errors >= 1


def test_lost_bytes_inside_a_known_length_body_keep_the_stream_aligned(
    new_parser: ParserFactory,
) -> None:
    parser = _client(new_parser)
    parser.feed(EGRESS, b"GET / HTTP/1.1\r\n\r\n", 1)
    parser.feed(INGRESS, _resp(b"a" * 100)[:-60], 2)
    parser.feed(INGRESS, b"a" * 20, 3, lost_bytes=40)
    parser.feed(EGRESS, b"GET /2 HTTP/1.1\r\n\r\n", 4)
    parser.feed(INGRESS, _resp(b"second"), 5)
    rows = _rows(parser)
    assert [(r["resp_body_size"], r["resp_body"]) for r in rows][1] == (6, "second")
    assert rows[0]["resp_body_size"] == 100


def test_flush_drops_requests_without_responses(new_parser: ParserFactory) -> None:
    parser = _client(new_parser)
    parser.feed(EGRESS, b"GET / HTTP/1.1\r\n\r\n", 1)
    parser.flush(now_ns=1 + 60_000_000_000)
    parser.feed(INGRESS, _resp(b"late"), 60_000_000_002)
    assert parser.records() == []
    assert parser.dropped_requests == 1


def test_unknown_role_learns_the_request_direction_from_the_first_bytes(
    new_parser: ParserFactory,
) -> None:
    parser = new_parser(Role.UNKNOWN)
    parser.feed(INGRESS, b"GET / HTTP/1.1\r\n\r\n", 1)
    parser.feed(EGRESS, _resp(b"x"), 2)
    assert [r["resp_body"] for r in _rows(parser)] == ["x"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=200)), max_size=20))
def test_random_bytes_never_raise(
    new_parser: ParserFactory, chunks: list[tuple[bool, bytes]]
) -> None:
    parser = _client(new_parser)
    for i, (egress, data) in enumerate(chunks):
        parser.feed(EGRESS if egress else INGRESS, data, i, lost_bytes=i % 3)
        parser.records()
    parser.flush(10**12)
    parser.close()
    assert parser.internal_errors == 0


# -- real traffic -------------------------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"alpha", b"beta"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        body = json.dumps({"path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        data = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(201, "Made")
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data.upper())


@dataclass
class _Capture:
    chunks: list[tuple[Direction, bytes]]


def _pump(
    src: socket.socket,
    dst: socket.socket,
    direction: Direction,
    capture: _Capture,
    lock: threading.Lock,
) -> None:
    while True:
        try:
            data = src.recv(65536)
        except OSError:
            data = b""
        if not data:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)
            return
        with lock:  # the proxy sees both directions in one order, as the tracer would
            capture.chunks.append((direction, data))
        dst.sendall(data)


@pytest.fixture(scope="module")
def captured_http() -> Iterator[_Capture]:
    """Run a real http.server and http.client through a recording TCP proxy."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server_thread = threading.Thread(target=server.serve_forever, daemon=True)
    server_thread.start()
    listener = socket.create_server(("127.0.0.1", 0))
    capture = _Capture([])
    lock = threading.Lock()
    threads: list[threading.Thread] = []
    sockets: list[socket.socket] = []

    def accept() -> None:
        client_side, _ = listener.accept()
        upstream = socket.create_connection(server.server_address[:2])
        sockets.extend((client_side, upstream))
        # Seen from the client: what it sends is EGRESS, what it receives INGRESS.
        for args in ((client_side, upstream, EGRESS), (upstream, client_side, INGRESS)):
            t = threading.Thread(target=_pump, args=(*args, capture, lock), daemon=True)
            t.start()
            threads.append(t)

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    conn = http.client.HTTPConnection("127.0.0.1", listener.getsockname()[1], timeout=10)
    for path in ("/a", "/chunked", "/b?q=1"):
        conn.request("GET", path)
        conn.getresponse().read()
    conn.request("POST", "/upload", body=b"payload-bytes", headers={"Content-Type": "text/plain"})
    conn.getresponse().read()
    conn.close()
    acceptor.join(10)
    for t in threads:
        t.join(10)
    for sock in sockets:
        sock.close()
    listener.close()
    server.shutdown()
    server.server_close()
    yield capture


def _check_real_rows(rows: list[dict[str, object]]) -> None:
    assert [(r["req_method"], r["req_path"], r["resp_status"]) for r in rows] == [
        ("GET", "/a", 200),
        ("GET", "/chunked", 200),
        ("GET", "/b?q=1", 200),
        ("POST", "/upload", 201),
    ]
    assert rows[0]["resp_body"] == '{"path": "/a"}'
    assert rows[0]["content_type"] == 1
    assert rows[1]["resp_body"] == "alphabeta"
    assert rows[3]["req_body"] == "payload-bytes"
    assert rows[3]["resp_body"] == "PAYLOAD-BYTES"
    assert rows[3]["resp_message"] == "Made"
    assert json.loads(str(rows[0]["req_headers"]))["Host"].startswith("127.0.0.1")


def test_real_http_traffic_produces_one_record_per_exchange(
    new_parser: ParserFactory, captured_http: _Capture
) -> None:
    parser = _client(new_parser)
    for i, (direction, data) in enumerate(captured_http.chunks):
        parser.feed(direction, data, i)
    parser.close()
    _check_real_rows(_rows(parser))


@settings(max_examples=50, deadline=None)
@given(cuts=st.lists(st.integers(min_value=1, max_value=400), max_size=40))
def test_real_http_traffic_split_anywhere_gives_the_same_records(
    new_parser: ParserFactory, captured_http: _Capture, cuts: list[int]
) -> None:
    parser = _client(new_parser)
    ts = 0
    cut_iter = iter(cuts)
    for direction, data in captured_http.chunks:
        pos = 0
        while pos < len(data):
            step = next(cut_iter, len(data))
            parser.feed(direction, data[pos : pos + step], ts)
            ts += 1
            pos += step
    parser.close()
    records = parser.records()
    assert all(isinstance(r, HttpRecord) or type(r).__name__ == "HttpRecord" for r in records)
    _check_real_rows([r.to_row() for r in records])
