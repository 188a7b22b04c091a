"""The C HTTP/1 parser (protocols/_http_native.c) against the Python one: same input, same output.

Randomized HTTP/1 conversations (fixed seeds) go through both parsers step by step; after every
step the counters must agree, and every batch of records must agree field by field (timestamps,
table name, ``to_row()`` with its key order and value types). The leak checks make sure the C
parser frees what it allocates per exchange and per connection.
"""

from __future__ import annotations

import gc
import gzip
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyxie_stirling.protocols import (
    MAX_PENDING_REQUESTS,
    PENDING_REQUEST_TIMEOUT_NS,
    Direction,
    HttpParser,
    Protocol,
    Role,
)
from pyxie_stirling.protocols import _http as _http_module
from stirling_native_support import http_native

EGRESS, INGRESS = Direction.EGRESS, Direction.INGRESS
COUNTERS = ("parse_errors", "dropped_requests", "unmatched_responses", "internal_errors", "closed")


@pytest.fixture(scope="module")
def native(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    yield http_native(tmp_path_factory.mktemp("native"))


# -- comparing the two parsers ------------------------------------------------------------------


def _typed_row(row: dict[str, object]) -> list[tuple[str, type, object]]:
    return [(key, type(value), value) for key, value in row.items()]


def _records(parser: Any) -> list[tuple[object, ...]]:
    return [
        (r.table_name, r.request_timestamp_ns, r.response_timestamp_ns, _typed_row(r.to_row()))
        for r in parser.records()
    ]


class _Pair:
    """The Python parser and the native one, driven in lockstep and compared after every step."""

    def __init__(self, native: ModuleType, role: int | Role, max_body_bytes: int) -> None:
        self.py = HttpParser(role, max_body_bytes=max_body_bytes)  # type: ignore[arg-type]
        self.c = native.HttpParser(role, max_body_bytes=max_body_bytes)
        self.log: list[tuple[object, ...]] = []

    def check(self) -> None:
        for name in COUNTERS:
            py_value, c_value = getattr(self.py, name), getattr(self.c, name)
            assert (type(c_value), c_value) == (type(py_value), py_value), (name, self.log[-5:])
        py_records, c_records = _records(self.py), _records(self.c)
        assert c_records == py_records, self.log[-5:]

    def feed(self, direction: Direction, data: bytes, ts: int, lost: int = 0) -> None:
        self.log.append(("feed", direction, data, ts, lost))
        self.py.feed(direction, data, ts, lost_bytes=lost)
        self.c.feed(direction, data, ts, lost_bytes=lost)
        self.check()

    def flush(self, now_ns: int) -> None:
        self.log.append(("flush", now_ns))
        self.py.flush(now_ns)
        self.c.flush(now_ns)
        self.check()

    def close(self) -> None:
        self.log.append(("close",))
        self.py.close()
        self.c.close()
        self.check()


# -- generating conversations -------------------------------------------------------------------

METHODS = [b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"CONNECT", b"OPTIONS", b"TRACE", b"PATCH"]
ODD_METHODS = [b"FOO", b"get", b"G3T", b""]
PATHS = [b"/", b"/api/v1/items?id=7", "/café/ü".encode(), b"/\xff\xfe\x80", b"/\xe2\x82", b""]
NAMES = [
    b"Host",
    b"User-Agent",
    b"Accept",
    b"X-Request-Id",
    b"x-request-id",
    b"X-REQUEST-ID",
    b"b-h",
    b"A-h",
    "Ünïcode".encode(),
    "Ärger".encode(),
    "İd".encode(),
    "\u212aelvin".encode(),
    b"\xffbad",
    b"Zz",
    b"_under",
    b"a b",
]
VALUES = [
    b"x",
    b"catalog:8080",
    b'say "hi"',
    b"back\\slash",
    b"ctl\x01\x08\x0c\x1f\x7f",
    b"tab\tin",
    "café ☕".encode(),
    b"bad\xc3\x28\xe2\x82\xa1\xf0\x90\x80",
    b"\xed\xa0\x80\xf4\x90\x80\x80\xc0\xaf",
    b"",
    b"  padded  ",
    b"lone\rcr",
    b"lone\nlf",
]
CONTENT_TYPES = [
    b"application/json",
    b"text/plain; charset=utf-8",
    b"text/html",
    b"image/png",
    b"application/octet-stream",
    b"APPLICATION/JSON",
]
BAD_LENGTHS = [b" 5 ", b"abc", "²".encode(), "٣".encode(), b"1" * 25, b"9" * 5000, b"-1", b"\x1c3"]


def _body(rng: random.Random) -> bytes:
    kind = rng.random()
    if kind < 0.3:
        return b'{"id":%d,"name":"item"}' % rng.randrange(1000)
    if kind < 0.5:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(40)))
    if kind < 0.7:
        return ("é" * rng.randrange(1, 400)).encode()
    if kind < 0.8:
        return b""
    return b"x" * rng.randrange(500, 2000)


def _headers(rng: random.Random, extra: list[tuple[bytes, bytes]], faults: float) -> bytes:
    lines = [(rng.choice(NAMES), rng.choice(VALUES)) for _ in range(rng.randrange(6))]
    lines += extra
    rng.shuffle(lines)
    out = b""
    for name, value in lines:
        out += name + b":" + rng.choice([b"", b" ", b"\t ", b"  "]) + value + b"\r\n"
        if rng.random() < 0.05:
            out += rng.choice([b" folded", b"\tmore \t", b"   ", b" \xff\x01"]) + b"\r\n"
    if rng.random() < faults:
        out += b"no colon here\r\n"
    if rng.random() < faults:
        out += b":empty name\r\n"
    return out


def _framed_body(
    rng: random.Random, body: bytes, allow_close: bool, faults: float
) -> tuple[bytes, bytes, bool]:
    """(headers, body bytes on the wire, close_delimited)."""
    mode = rng.random()
    if mode < 0.45:
        name = rng.choice([b"Content-Length", b"content-length", b"CONTENT-LENGTH"])
        length = str(len(body)).encode()
        if rng.random() < faults:
            length = rng.choice(BAD_LENGTHS)
        elif rng.random() < 0.05:
            length = b" \x0b" + length + b"\x1f "
        return name + b": " + length + b"\r\n", body, False
    if mode < 0.75:
        te = rng.choice([b"chunked", b"gzip, chunked", b"Chunked", "chun\u212aed".encode()])
        wire = b""
        pos = 0
        while pos < len(body):
            step = rng.randrange(1, 300)
            part = body[pos : pos + step]
            size = b"%x" % len(part)
            if rng.random() < 0.2:
                size = size.upper()
            if rng.random() < 0.1:
                size = b"0" * rng.randrange(1, 10) + size
            ext = rng.choice([b"", b"", b";ext=1", b" ; a=b", b"\t"])
            wire += size + ext + b"\r\n" + part + b"\r\n"
            pos += step
        if rng.random() < faults:
            wire += rng.choice([b"g\r\n", b"12345678901234567\r\n", b"; x\r\n", b"1" * 1100])
        wire += b"0\r\n"
        if rng.random() < 0.3:
            wire += b"Trailer-A: 1\r\nTrailer-B: 2\r\n\r\n"
        else:
            wire += b"\r\n"
        return b"Transfer-Encoding: " + te + b"\r\n", wire, False
    if allow_close and mode < 0.9:
        return b"", body, True
    if allow_close or rng.random() < 0.5:
        return b"Content-Length: %d\r\n" % len(body), body, False
    return b"", b"", False  # no body and no framing: a response's runs until the close


def _request(rng: random.Random, faults: float) -> tuple[bytes, bytes]:
    method = rng.choice(ODD_METHODS) if rng.random() < faults else rng.choice(METHODS)
    if rng.random() < 0.8 and method == b"CONNECT":
        method = b"GET"  # a CONNECT tunnel ends the conversation: keep them rarer
    version = rng.choice([b"HTTP/1.1", b"HTTP/1.1", b"HTTP/1.0"])
    if rng.random() < faults:
        version = rng.choice([b"HTTP/1.x", b"HTTP/2.0", b"HTTP/1.10"])
    first = method + b" " + rng.choice(PATHS) + b" " + version
    if rng.random() < faults:
        first = method + b" /a b " + version
    body = _body(rng) if method in (b"POST", b"PUT", b"PATCH") else b""
    framing, wire, _ = _framed_body(rng, body, allow_close=False, faults=faults)
    if not body and rng.random() < 0.6:
        framing, wire = b"", b""
    return first + b"\r\n" + _headers(rng, [], faults) + framing + b"\r\n" + wire, method


def _response(rng: random.Random, faults: float, last: bool, method: bytes) -> tuple[bytes, bool]:
    status = rng.choice([200, 200, 200, 201, 204, 304, 404, 500, 103, 299, 199])
    if rng.random() < 0.03:
        status = 101
    reason = rng.choice([b"OK", b"Not Found", "Très bien".encode(), b"\xff", b""])
    minor = rng.choice([b"1", b"1", b"0", b"9"])
    first = b"HTTP/1." + minor + b" %03d " % status + reason
    if rng.random() < faults:
        first = b"HTTP/1.1 20x OK"
    extra = []
    body = _body(rng)
    if rng.random() < 0.8:
        extra.append((b"Content-Type", rng.choice(CONTENT_TYPES)))
    if rng.random() < 0.2:
        extra.append((b"Content-Encoding", b"gzip"))
        body = gzip.compress(body) if rng.random() < 0.8 else body[:20] + b"\x1f\x8b junk"
    framing, wire, close = _framed_body(
        rng, body, allow_close=last or rng.random() < faults, faults=faults
    )
    if (method == b"HEAD" or status // 100 == 1 or status in (204, 304)) and rng.random() >= faults:
        wire = b""  # framing headers describe a body that is not sent
    head = first + b"\r\n" + _headers(rng, extra, faults) + framing + b"\r\n"
    return head + wire, close


def _chunks(rng: random.Random, data: bytes, steps: list[int]) -> Iterator[bytes]:
    pos = 0
    while pos < len(data):
        step = rng.choice(steps) or len(data)
        yield data[pos : pos + step]
        pos += step


# Plain ints as roles (both parsers take them for "unknown": they compare by identity) only while
# the Python parser is interpreted: compiled by mypyc (make mypyc) it accepts Role members only.
_PY_COMPILED = not (_http_module.__file__ or "").endswith(".py")
_ROLES: list[int | Role] = [Role.CLIENT, Role.SERVER, Role.UNKNOWN]
if not _PY_COMPILED:
    _ROLES += [1, 2, 4]


def _conversation(rng: random.Random, native: ModuleType) -> None:
    role = rng.choice(_ROLES)
    max_body = rng.choice([512, 512, 8, 0, 100, 70_000])
    # Most conversations are clean HTTP; the rest have more and more capture faults.
    faults = rng.choice([0.0, 0.0, 0.0, 0.002, 0.01, 0.05])
    # How the captures cut the streams (0: one chunk per message).
    steps = rng.choice([[0], [0, 0, 64, 500], [1, 2, 3, 7, 16, 64, 500, 0]])
    pair = _Pair(native, role, max_body)
    if role in (Role.CLIENT, 1):
        req_dir, resp_dir = EGRESS, INGRESS
    else:
        req_dir, resp_dir = INGRESS, EGRESS
    if rng.random() < (0.5 if role in (Role.UNKNOWN, 4) else faults):
        req_dir, resp_dir = resp_dir, req_dir
    ts = rng.randrange(1, 10**12)
    exchanges = rng.randrange(1, 8)
    for exchange in range(exchanges):
        sent = [_request(rng, faults) for _ in range(rng.choice([1, 1, 1, 2, 4]))]
        requests = [r for r, _ in sent]
        last = exchange == exchanges - 1
        responses = [
            _response(rng, faults, last and i == len(sent) - 1, method)
            for i, (_, method) in enumerate(sent)
        ]
        if rng.random() < 0.1:
            responses.insert(0, (b"HTTP/1.1 100 Continue\r\n\r\n", False))
        if rng.random() < 0.03:
            requests = [b"CONNECT db:5432 HTTP/1.1\r\n\r\n"]
            responses = [(b"HTTP/1.1 200 Connection established\r\n\r\n\x00\x01tunnel", False)]
        stream: list[tuple[Direction, bytes]] = [(req_dir, r) for r in requests]
        stream += [(resp_dir, r) for r, _ in responses]
        if rng.random() < 0.1:
            rng.shuffle(stream)
        for direction, data in stream:
            if rng.random() < faults:
                data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 30))) + data
            for chunk in _chunks(rng, data, steps):
                ts += rng.choice([0, 1, 1000, 1000, 1000, 2 * PENDING_REQUEST_TIMEOUT_NS])
                lost = 0
                roll = rng.random()
                if roll < faults:
                    lost = rng.randrange(1, 200)
                    chunk = chunk[min(lost, len(chunk)) :]
                elif roll < 2 * faults:
                    lost = rng.randrange(1, 5)
                if rng.random() < faults / 5:
                    direction = EGRESS if direction is INGRESS else INGRESS
                pair.feed(direction, chunk, ts, lost)
                if rng.random() < faults:
                    pair.feed(direction, b"", ts, rng.choice([0, 0, 1, 40, 5000]))
                if rng.random() < 0.02:
                    pair.flush(ts + rng.choice([0, PENDING_REQUEST_TIMEOUT_NS + 1, 10**13]))
        if rng.random() < 0.05:
            pair.close()
    if rng.random() < 0.5:
        pair.flush(ts + rng.choice([1, 10 * PENDING_REQUEST_TIMEOUT_NS]))
    pair.close()
    pair.feed(req_dir, b"GET / HTTP/1.1\r\n\r\n", ts + 1)  # ignored after close
    pair.close()


@pytest.mark.parametrize("seed", range(12))
def test_random_conversations_give_identical_records_and_counters(
    native: ModuleType, seed: int
) -> None:
    rng = random.Random(seed)
    for _ in range(400):
        _conversation(rng, native)


_FRAGMENTS = [
    b"GET / HTTP/1.1\r\n",
    b"HEAD /h HTTP/1.1\r\n",
    b"CONNECT host:443 HTTP/1.1\r\n",
    b"POST /p HTTP/1.0\r\n",
    b"HTTP/1.1 200 OK\r\n",
    b"HTTP/1.1 101 Switching\r\n",
    b"HTTP/1.1 100 Continue\r\n",
    b"HTTP/1.0 304 NM\r\n",
    b"Content-Length: 3\r\n",
    b"Content-Length: 00\r\n",
    b"Transfer-Encoding: chunked\r\n",
    b"Content-Type: application/json\r\n",
    b"Content-Encoding: gzip\r\n",
    b"3;x\r\nabc\r\n",
    b"0\r\n",
    b"ffffffffffffffff\r\n",
    b"\r\n",
    b" folded\r\n",
    b"abc",
    b"\xff\xc3",
    b"GE",
    b"HTTP/1.",
]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    steps=st.lists(
        st.tuples(
            st.booleans(),
            st.lists(st.sampled_from(_FRAGMENTS), max_size=6).map(b"".join),
            st.integers(min_value=0, max_value=20),
            st.sampled_from([0, 0, 0, 1, 3, 100]),
        ),
        max_size=25,
    ),
    role=st.sampled_from([Role.CLIENT, Role.SERVER, Role.UNKNOWN]),
)
def test_fragment_soup_gives_identical_records_and_counters(
    native: ModuleType, steps: list[tuple[bool, bytes, int, int]], role: Role
) -> None:
    pair = _Pair(native, role, 16)
    ts = 0
    for egress, data, advance, lost in steps:
        ts += advance * 1_000_000_000
        pair.feed(EGRESS if egress else INGRESS, data, ts, lost)
        if advance == 20:
            pair.flush(ts)
    pair.close()


def test_pending_requests_overflow_drops_the_oldest_alike(native: ModuleType) -> None:
    pair = _Pair(native, Role.CLIENT, 512)
    pair.feed(EGRESS, b"GET /x HTTP/1.1\r\n\r\n" * (MAX_PENDING_REQUESTS + 5), 1)
    pair.feed(INGRESS, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" * 3, 2)
    assert pair.c.dropped_requests == 5
    pair.close()


def test_huge_headers_and_chunk_sizes_behave_alike(native: ModuleType) -> None:
    pair = _Pair(native, Role.CLIENT, 512)
    many = b"".join(b"H%d: %s\r\n" % (i, b"v" * (i % 50)) for i in range(3000))
    pair.feed(EGRESS, b"GET /big HTTP/1.1\r\n" + many + b"\r\n", 1)
    pair.feed(INGRESS, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 2)
    wide = b"".join(b"X-%d: %s\r\n" % (i, "é☕\x01".encode() * (i % 7)) for i in range(900))
    pair.feed(EGRESS, b"GET /wide HTTP/1.1\r\n" + wide + b"\r\n", 2)
    pair.feed(INGRESS, b"HTTP/1.1 200 OK\r\n" + wide + b"Content-Length: 0\r\n\r\n", 2)
    assert pair.py.records() == []  # check() compared and consumed them
    pair.feed(EGRESS, b"GET /c HTTP/1.1\r\n\r\n", 2)
    pair.feed(INGRESS, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 2)
    pair.feed(INGRESS, b"FFFFFFFFFFFFFFFF\r\nabc", 3)
    pair.feed(INGRESS, b"", 4, lost=10)
    pair.feed(EGRESS, b"GET / HTTP/1.1\r\nX: " + b"y" * (70 * 1024), 5)
    pair.feed(EGRESS, b"\r\n\r\n", 6)
    pair.close()


def test_a_length_int_refuses_is_caught_by_the_safety_net_alike(native: ModuleType) -> None:
    for length in ("²".encode(), b"1" * 4301):
        pair = _Pair(native, Role.CLIENT, 512)
        pair.feed(EGRESS, b"POST / HTTP/1.1\r\nContent-Length: " + length + b"\r\n\r\n", 1)
        assert (pair.c.internal_errors, pair.c.parse_errors) == (1, 1)
        pair.feed(EGRESS, b"GET / HTTP/1.1\r\n\r\n", 2)
        pair.feed(INGRESS, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 3)
        pair.close()


@pytest.mark.parametrize(
    "length",
    [" 5 ", "\x1c5\x1f", "\x0b5\x0c", "٣", "\u00a05\u2003", "0005", "+5", "5_0", "0x5", "",
     "1" * 25, "18446744073709551615", "18446744073709551616", "5\n"],
)  # fmt: skip
def test_odd_content_lengths_are_read_alike(native: ModuleType, length: str) -> None:
    pair = _Pair(native, Role.SERVER, 512)
    head = b"POST /u HTTP/1.1\r\nContent-Length: " + length.encode() + b"\r\n\r\n"
    pair.feed(INGRESS, head + b"abcdefgh", 1)
    pair.feed(
        EGRESS, b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok", 2
    )
    pair.feed(INGRESS, b"", 3, lost=7)
    pair.close()


@pytest.mark.parametrize(
    "encoding", ["chunked", "CHUNKED", "gzip,chunked", "chun\u212aed", "\u0130chunked", "chunk"]
)
def test_odd_transfer_encodings_are_read_alike(native: ModuleType, encoding: str) -> None:
    pair = _Pair(native, Role.CLIENT, 512)
    pair.feed(EGRESS, b"GET / HTTP/1.1\r\n\r\n", 1)
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: "
    pair.feed(INGRESS, head + encoding.encode() + b"\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 2)
    pair.close()


def test_parser_surface_matches_the_python_parser(native: ModuleType) -> None:
    parser = native.HttpParser(Role.SERVER, max_body_bytes=64)
    assert parser.protocol == Protocol.HTTP
    assert parser.table_name == native.HttpParser.table_name == "http_events"
    assert parser.role is Role.SERVER
    assert parser.max_body_bytes == 64
    assert [getattr(parser, name) for name in COUNTERS] == [0, 0, 0, 0, False]
    parser.feed(INGRESS, memoryview(b"GET / HTTP/1.1\r\n\r\n"), 1)
    parser.feed(EGRESS, bytearray(b"HTTP/1.1 204 No Content\r\n\r\n"), 2)
    (record,) = parser.records()
    assert record.table_name == "http_events"
    with pytest.raises(AttributeError):
        record.request_timestamp_ns = 5


# -- leaks --------------------------------------------------------------------------------------


def _rss_bytes() -> int:
    with Path("/proc/self/statm").open() as statm:
        return int(statm.read().split()[1]) * 4096


EXCHANGE = (
    b"POST /api/items?id=1 HTTP/1.1\r\nHost: catalog\r\nContent-Type: application/json\r\n"
    b"X-Many: 1\r\nx-many: 2\r\nContent-Length: 20\r\n\r\n" + b'{"k":"' + b"v" * 12 + b'"}',
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n",
)
_ZIPPED = gzip.compress(b'{"ok":true}')
RESPONSE_BODY = b"%x\r\n%s\r\n0\r\n\r\n" % (len(_ZIPPED), _ZIPPED)


def _exchanges(native: ModuleType, count: int) -> None:
    parser = native.HttpParser(Role.CLIENT)
    for i in range(count):
        parser.feed(EGRESS, EXCHANGE[0], i)
        parser.feed(INGRESS, EXCHANGE[1], i)
        parser.feed(INGRESS, RESPONSE_BODY, i)
        for record in parser.records():
            record.to_row()
    parser.close()


def _abandoned_parsers(native: ModuleType, count: int) -> None:
    for i in range(count):
        parser = native.HttpParser(Role.CLIENT if i % 2 else Role.UNKNOWN)
        parser.feed(EGRESS, EXCHANGE[0] * 3, i)
        parser.feed(INGRESS, EXCHANGE[1] + b"5\r\nab", i)  # a chunked body in flight
        parser.feed(EGRESS, b"GET /partial HTTP/1.1\r\nHo", i)
        parser.records()
        if i % 3 == 0:
            parser.flush(i)  # keeps everything (not old enough)


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs /proc/self/statm")
def test_native_parser_does_not_leak_per_exchange_or_per_connection(native: ModuleType) -> None:
    # Warm up the allocator's pools first, then the same work must not grow the process. A leak
    # of one message per exchange would be >= 200_000 * ~500 bytes = 100 MB; allow 16 MB.
    _exchanges(native, 20_000)
    _abandoned_parsers(native, 5_000)
    gc.collect()
    before = _rss_bytes()
    _exchanges(native, 200_000)
    _abandoned_parsers(native, 50_000)
    gc.collect()
    grown = _rss_bytes() - before
    assert grown < 16 * 1024 * 1024, f"RSS grew {grown} bytes"


def test_native_parser_keeps_no_references_to_shared_objects(native: ModuleType) -> None:
    shared = [EGRESS, INGRESS, Role.CLIENT, Role.UNKNOWN, sys.intern("http_events")]
    _exchanges(native, 100)
    _abandoned_parsers(native, 100)
    gc.collect()
    before = [sys.getrefcount(obj) for obj in shared]
    _exchanges(native, 1_000)
    _abandoned_parsers(native, 1_000)
    gc.collect()
    assert [sys.getrefcount(obj) for obj in shared] == before


def test_parser_in_a_reference_cycle_is_collected(native: ModuleType) -> None:
    class Holder:
        parser: Any = None

    before = len(gc.get_objects())
    for _ in range(1_000):
        holder = Holder()
        parser = native.HttpParser(holder)  # role is any object: parser -> holder -> parser
        holder.parser = parser
        del holder, parser
    gc.collect()
    assert len(gc.get_objects()) - before < 100


def test_row_values_rejects_a_connection_tuple_of_the_wrong_shape(native: ModuleType) -> None:
    parser = native.HttpParser(Role.CLIENT)
    parser.feed(EGRESS, b"GET / HTTP/1.1\r\n\r\n", 1)
    parser.feed(INGRESS, b"HTTP/1.1 204 No Content\r\n\r\n", 2)
    (record,) = parser.records()
    with pytest.raises(TypeError, match="7 connection columns"):
        record.row_values((1, 2))
    with pytest.raises(TypeError):
        record.row_values([b"", "", 0, "", 0, 1, False])
    assert record.COLUMNS[0] == "time_" and record.COLUMNS[-1] == "latency"
    assert record.row_values((b"", "", 0, "", 0, 1, False))[-1] == 1
