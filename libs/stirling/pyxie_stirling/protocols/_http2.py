"""HTTP/2 (and gRPC over it): frames, HPACK, streams -> ``http_events`` rows (major_version 2).

Per connection: each direction has a frame reader and its own HPACK decoder (the dynamic table
of header blocks sent that way). Streams are keyed by id; a row is emitted when both the request
and the response ended (END_STREAM; gRPC trailers are merged into the response headers, so
``grpc-status`` is in ``resp_headers``), or when the stream was reset after a response started.

HPACK state is connection-wide: a header block that was not seen (the connection started before
tracing, or bytes were lost inside HEADERS) makes every later block undecodable or, worse,
decodable into wrong names. So the parser decodes only when it saw both directions from their
start (the client preface / the server's first SETTINGS), and stops at the first gap that is not
inside a DATA payload. Such a connection produces no rows; ``parse_errors`` counts it and
``error_note`` says why (the socket tracer reports both in ``stirling_error``).

Not supported: HTTP/1.1 ``Upgrade: h2c`` (prior knowledge and TLS ALPN are what gRPC uses), and
PUSH_PROMISE streams (their header block is decoded to keep HPACK in sync, then ignored).
"""

from __future__ import annotations

import http
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import ClassVar, cast

import hpack

from ._common import (
    MAX_BUFFER_BYTES,
    MAX_PENDING_REQUESTS,
    ByteStream,
    ConnectionParser,
    Protocol,
    Record,
    Role,
    json_compact,
    text,
    truncate,
)
from ._grpc import render_grpc_body

__all__ = [
    "CLIENT_PREFACE",
    "GRPC_CONTENT",
    "Http2Parser",
    "Http2Record",
    "looks_like_http2_frames",
]

CLIENT_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_HEADER = 9

_DATA, _HEADERS, _PRIORITY, _RST_STREAM, _SETTINGS, _PUSH_PROMISE, _PING, _GOAWAY = range(8)
_WINDOW_UPDATE, _CONTINUATION = 8, 9
_END_STREAM, _END_HEADERS, _PADDED, _PRIORITY_FLAG = 0x1, 0x4, 0x8, 0x20
_SETTINGS_HEADER_TABLE_SIZE = 1
# Valid flag bits per frame type (RFC 9113 section 6).
_FLAGS = {
    _DATA: _END_STREAM | _PADDED,
    _HEADERS: _END_STREAM | _END_HEADERS | _PADDED | _PRIORITY_FLAG,
    _PRIORITY: 0,
    _RST_STREAM: 0,
    _SETTINGS: 0x1,
    _PUSH_PROMISE: _END_HEADERS | _PADDED,
    _PING: 0x1,
    _GOAWAY: 0,
    _WINDOW_UPDATE: 0,
    _CONTINUATION: _END_HEADERS,
}
# The largest frame a peer may allow (SETTINGS_MAX_FRAME_SIZE upper bound is 2^24-1); header
# blocks are buffered whole, so they are also bounded by MAX_BUFFER_BYTES.
_MAX_FRAME = (1 << 24) - 1
# Raw body bytes kept per stream direction for rendering (rendering cuts at max_body_bytes).
_KEEP_BODY_BYTES = 4096
# Pixie's HTTPContentType numbering.
UNKNOWN_CONTENT, JSON_CONTENT, GRPC_CONTENT = 0, 1, 2
MAX_HEADERS_JSON_BYTES = 8192

NOTE_START_MISSED = (
    "HTTP/2 connection start not seen: HPACK dynamic table unknown, no rows for this connection"
)
NOTE_GAP = "HTTP/2 bytes lost outside DATA payloads: HPACK state lost, no more rows"
NOTE_BAD_FRAME = "malformed HTTP/2 frame: parsing of this connection stopped"
NOTE_HPACK = "HPACK decoding failed: parsing of this connection stopped"


def looks_like_http2_frames(
    data: bytes, min_frames: int = 1, *, partial_last: bool = False
) -> bool:
    """Is ``data`` a whole sequence of well-formed HTTP/2 frames (no preface)?

    ``partial_last`` also accepts a last frame whose payload goes on past the chunk (writers such
    as grpcio send a frame header and its payload as separate iovecs), and then asks for small
    stream ids, which keeps random and other binary data out.
    """
    pos = 0
    frames = 0
    n = len(data)
    while pos < n:
        if pos + _HEADER > n:
            return False
        length = int.from_bytes(data[pos : pos + 3], "big")
        ftype = data[pos + 3]
        flags = data[pos + 4]
        sid_raw = int.from_bytes(data[pos + 5 : pos + 9], "big")
        if sid_raw & 0x80000000 or ftype > _CONTINUATION or flags & ~_FLAGS[ftype]:
            return False
        connection_level = ftype in (_SETTINGS, _PING, _GOAWAY)
        if connection_level != (sid_raw == 0) and ftype != _WINDOW_UPDATE:
            return False
        fixed = {_PRIORITY: 5, _RST_STREAM: 4, _PING: 8, _WINDOW_UPDATE: 4}.get(ftype)
        if fixed is not None and length != fixed:
            return False
        if ftype == _SETTINGS and (length % 6 or (flags and length)):
            return False
        if ftype == _GOAWAY and length < 8:
            return False
        if partial_last and (sid_raw >= 1 << 20 or length > 1 << 14):
            return False
        pos += _HEADER + length
        frames += 1
    if partial_last and pos > n:
        return frames >= min_frames
    return pos == n and frames >= min_frames


@dataclass(slots=True)
class _Half:
    """One direction of one stream."""

    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)
    body_size: int = 0
    body_lost: bool = False
    started: bool = False
    ended: bool = False
    first_ts: int = 0
    last_ts: int = 0

    def add_body(self, data: bytes | bytearray | memoryview, ts: int) -> None:
        room = _KEEP_BODY_BYTES - len(self.body)
        if room > 0:
            self.body += data[:room]
        self.body_size += len(data)
        self.last_ts = ts


@dataclass(slots=True)
class _Stream:
    stream_id: int
    request: _Half = field(default_factory=_Half)
    response: _Half = field(default_factory=_Half)


def _headers_json(headers: list[tuple[str, str]]) -> str:
    # Like HTTP/1 (a case-insensitive multimap): sorted by name, repeats in arrival order.
    # Pseudo-headers (":method", ":path", ...) sort first.
    ordered = sorted(headers, key=lambda kv: kv[0].lower())
    body = ",".join(f"{json_compact(k)}:{json_compact(v)}" for k, v in ordered)
    return truncate("{" + body + "}", MAX_HEADERS_JSON_BYTES)


def _header(headers: list[tuple[str, str]], name: str) -> str:
    for key, value in headers:
        if key == name:
            return value
    return ""


@dataclass(slots=True)
class Http2Record(Record):
    request_timestamp_ns: int
    response_timestamp_ns: int
    stream: _Stream
    max_body_bytes: int

    def to_row(self) -> dict[str, object]:
        req, resp = self.stream.request, self.stream.response
        req_type = _header(req.headers, "content-type")
        resp_type = _header(resp.headers, "content-type") or req_type
        grpc = req_type.startswith("application/grpc")
        if grpc:
            content_type = GRPC_CONTENT
        elif "json" in resp_type:
            content_type = JSON_CONTENT
        else:
            content_type = UNKNOWN_CONTENT
        status_text = _header(resp.headers, ":status")
        status = int(status_text) if status_text.isdigit() else 0
        try:
            message = http.HTTPStatus(status).phrase
        except ValueError:
            message = ""
        return {
            "major_version": 2,
            "minor_version": 0,
            "content_type": content_type,
            "req_headers": _headers_json(req.headers),
            "req_method": _header(req.headers, ":method"),
            "req_path": _header(req.headers, ":path"),
            "req_body": self._body(req, grpc),
            "req_body_size": req.body_size,
            "resp_headers": _headers_json(resp.headers),
            "resp_status": status,
            "resp_message": message,
            "resp_body": self._body(resp, grpc),
            "resp_body_size": resp.body_size,
        }

    def _body(self, half: _Half, grpc: bool) -> str:
        if half.body_size == 0:
            return ""
        complete = not half.body_lost and half.body_size == len(half.body)
        if grpc:
            return truncate(render_grpc_body(bytes(half.body), complete), self.max_body_bytes)
        limit = self.max_body_bytes
        body = text(half.body[:limit])
        return body + "... [TRUNCATED]" if half.body_size > limit else body


Http2Record.table_name = "http_events"  # not in the dataclass: mypyc/mypyc#1122


class _Reader:
    """Frame reader of one direction."""

    __slots__ = (
        "block",
        "block_end_stream",
        "block_stream",
        "block_ts",
        "block_type",
        "buf",
        "data_end_stream",
        "data_pad",
        "data_remaining",
        "data_stream",
        "decoder",
        "is_request",
        "started",
    )

    def __init__(self, is_request: bool) -> None:
        self.is_request = is_request
        self.buf = ByteStream()
        self.decoder = hpack.Decoder()
        self.started = False  # the preface (client) / first SETTINGS (server) was seen
        self.block: bytearray | None = None  # header block waiting for CONTINUATION
        self.block_stream = 0
        self.block_type = _HEADERS
        self.block_end_stream = False
        self.block_ts = 0
        self.data_remaining = 0  # bytes of the current DATA payload still to come
        self.data_pad = 0  # padding at its end
        self.data_stream = 0
        self.data_end_stream = False


class Http2Parser(ConnectionParser):
    protocol: ClassVar[Protocol] = Protocol.HTTP2
    table_name: ClassVar[str] = "http_events"

    def __init__(self, role: Role, *, max_body_bytes: int = 512) -> None:
        super().__init__(role, max_body_bytes=max_body_bytes)
        self.error_note = ""
        self._dead = False
        self._readers = {True: _Reader(True), False: _Reader(False)}
        self._streams: dict[int, _Stream] = {}

    def _looks_like_request(self, data: bytes) -> bool:
        return data.startswith(CLIENT_PREFACE[: len(data)])

    # -- feeding ------------------------------------------------------------------------------

    def _fail(self, note: str) -> None:
        self.parse_errors += 1
        self.error_note = note
        self.dropped_requests += len(self._streams)
        self._dead = True
        self._reset()

    def _feed(self, is_request: bool, data: bytes, timestamp_ns: int, lost_bytes: int) -> None:
        if self._dead:
            return
        reader = self._readers[is_request]
        if lost_bytes > 0 and not self._skip_lost(reader, lost_bytes):
            self._fail(NOTE_GAP if reader.started else NOTE_START_MISSED)
            return
        if data:
            reader.buf.append(data, timestamp_ns)
        if not reader.started and not self._start(reader):
            return
        self._parse(reader)

    def _skip_lost(self, reader: _Reader, lost: int) -> bool:
        """Account lost bytes that fall inside the current DATA payload; False if they cannot."""
        if reader.buf.buf:  # a partial frame header or non-DATA payload is waiting
            return False
        inside = reader.data_remaining + reader.data_pad
        if lost > inside:
            return False
        stream = self._streams.get(reader.data_stream)
        take = min(lost, reader.data_remaining)
        reader.data_remaining -= take
        reader.data_pad -= lost - take
        if stream is not None:
            half = stream.request if reader.is_request else stream.response
            half.body_size += take
            half.body_lost = True
        if reader.data_remaining == 0 and reader.data_pad == 0:
            self._data_done(reader, 0)
        return True

    def _start(self, reader: _Reader) -> bool:
        buf = reader.buf.buf
        if reader.is_request:
            if len(buf) < len(CLIENT_PREFACE):
                if CLIENT_PREFACE.startswith(bytes(buf)):
                    return False
                self._fail(NOTE_START_MISSED)
                return False
            if not buf.startswith(CLIENT_PREFACE):
                self._fail(NOTE_START_MISSED)
                return False
            reader.buf.consume(len(CLIENT_PREFACE))
            reader.started = True
            return True
        if len(buf) < _HEADER:
            return False
        if buf[3] != _SETTINGS or buf[4] & 0x1 or any(buf[5:9]):
            self._fail(NOTE_START_MISSED)
            return False
        reader.started = True
        return True

    def _parse(self, reader: _Reader) -> None:
        stream_buf = reader.buf
        buf = stream_buf.buf
        while not self._dead:
            if reader.data_remaining or reader.data_pad:
                if not buf:
                    return
                self._data_bytes(reader)
                continue
            if len(buf) < _HEADER:
                return
            length = int.from_bytes(buf[0:3], "big")
            ftype = buf[3]
            flags = buf[4]
            sid = int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
            if length > _MAX_FRAME:
                self._fail(NOTE_BAD_FRAME)
                return
            if reader.block is not None and ftype != _CONTINUATION:
                self._fail(NOTE_BAD_FRAME)  # RFC 9113 6.10: nothing may interleave a block
                return
            if ftype == _DATA:
                if flags & _PADDED and len(buf) < _HEADER + 1:
                    return
                pad = buf[_HEADER] + 1 if flags & _PADDED else 0
                if pad > length:
                    self._fail(NOTE_BAD_FRAME)
                    return
                ts = stream_buf.ts_at(0)
                stream_buf.consume(_HEADER + (1 if pad else 0))
                reader.data_remaining = length - pad
                reader.data_pad = max(0, pad - 1)
                reader.data_stream = sid
                reader.data_end_stream = bool(flags & _END_STREAM)
                stream = self._streams.get(sid)
                if stream is not None:
                    half = stream.request if reader.is_request else stream.response
                    half.last_ts = ts
                if reader.data_remaining == 0 and reader.data_pad == 0:
                    self._data_done(reader, ts)
                continue
            if len(buf) < _HEADER + length:
                if _HEADER + length > MAX_BUFFER_BYTES:
                    self._fail(NOTE_BAD_FRAME)
                return
            first_ts = stream_buf.ts_at(0)
            last_ts = stream_buf.ts_at(_HEADER + length - 1)
            payload = bytes(buf[_HEADER : _HEADER + length])
            stream_buf.consume(_HEADER + length)
            self._frame(reader, ftype, flags, sid, payload, first_ts, last_ts)

    def _data_bytes(self, reader: _Reader) -> None:
        stream_buf = reader.buf
        buf = stream_buf.buf
        ts = stream_buf.ts_at(0)
        if reader.data_remaining:
            take = min(len(buf), reader.data_remaining)
            end_ts = stream_buf.ts_at(take - 1)
            stream = self._streams.get(reader.data_stream)
            if stream is not None:
                half = stream.request if reader.is_request else stream.response
                half.add_body(memoryview(buf)[:take], end_ts)
            stream_buf.consume(take)
            reader.data_remaining -= take
            ts = end_ts
        if reader.data_remaining == 0 and reader.data_pad and buf:
            take = min(len(buf), reader.data_pad)
            ts = stream_buf.ts_at(take - 1)
            stream_buf.consume(take)
            reader.data_pad -= take
        if reader.data_remaining == 0 and reader.data_pad == 0:
            self._data_done(reader, ts)

    def _data_done(self, reader: _Reader, ts: int) -> None:
        if reader.data_end_stream:
            reader.data_end_stream = False
            stream = self._streams.get(reader.data_stream)
            if stream is not None:
                half = stream.request if reader.is_request else stream.response
                if ts:
                    half.last_ts = ts
                self._end_half(stream, reader.is_request)

    def _frame(
        self,
        reader: _Reader,
        ftype: int,
        flags: int,
        sid: int,
        payload: bytes,
        first_ts: int,
        last_ts: int,
    ) -> None:
        if ftype in (_HEADERS, _PUSH_PROMISE):
            pos = 0
            end = len(payload)
            if flags & _PADDED:
                if not payload:
                    self._fail(NOTE_BAD_FRAME)
                    return
                end -= payload[0]
                pos = 1
            if ftype == _HEADERS and flags & _PRIORITY_FLAG:
                pos += 5
            if ftype == _PUSH_PROMISE:
                pos += 4
            if pos > end:
                self._fail(NOTE_BAD_FRAME)
                return
            reader.block = bytearray(payload[pos:end])
            reader.block_stream = sid
            reader.block_type = ftype
            reader.block_end_stream = ftype == _HEADERS and bool(flags & _END_STREAM)
            reader.block_ts = first_ts
            if flags & _END_HEADERS:
                self._header_block(reader, last_ts)
        elif ftype == _CONTINUATION:
            if reader.block is None or sid != reader.block_stream:
                self._fail(NOTE_BAD_FRAME)
                return
            reader.block += payload
            if len(reader.block) > MAX_BUFFER_BYTES:
                self._fail(NOTE_BAD_FRAME)
                return
            if flags & _END_HEADERS:
                self._header_block(reader, last_ts)
        elif ftype == _SETTINGS:
            if flags & 0x1:
                return  # ACK
            for off in range(0, len(payload) - 5, 6):
                ident = int.from_bytes(payload[off : off + 2], "big")
                if ident == _SETTINGS_HEADER_TABLE_SIZE:
                    # The sender's decoder accepts this table size: it bounds the encoder of the
                    # other direction, whose blocks the other reader decodes.
                    value = int.from_bytes(payload[off + 2 : off + 6], "big")
                    self._readers[not reader.is_request].decoder.max_allowed_table_size = value
        elif ftype == _RST_STREAM:
            stream = self._streams.pop(sid, None)
            if stream is not None:
                if stream.response.started and stream.request.started:
                    stream.response.ended = True
                    stream.response.last_ts = last_ts
                    self._emit_stream(stream)
                else:
                    self.dropped_requests += 1
        # PRIORITY, PING, GOAWAY, WINDOW_UPDATE carry nothing for the table.

    def _header_block(self, reader: _Reader, last_ts: int) -> None:
        block = reader.block
        reader.block = None
        assert block is not None
        try:
            # hpack declares (bytes, bytes) pairs but gives str ones (raw=False): cast so that
            # mypyc-compiled code does not check them for bytes.
            headers = cast("Iterable[tuple[object, object]]", reader.decoder.decode(bytes(block)))
        except (hpack.HPACKError, UnicodeDecodeError, IndexError, ValueError):
            self._fail(NOTE_HPACK)
            return
        if reader.block_type == _PUSH_PROMISE:
            return  # decoded only to keep the dynamic table in sync
        sid = reader.block_stream
        stream = self._streams.get(sid)
        if stream is None:
            if not reader.is_request or sid % 2 == 0:
                # A response for a stream we do not know (e.g. expired): HPACK stayed in sync.
                self.unmatched_responses += 1
                return
            if len(self._streams) >= MAX_PENDING_REQUESTS:
                oldest = next(iter(self._streams))
                del self._streams[oldest]
                self.dropped_requests += 1
            stream = _Stream(sid)
            self._streams[sid] = stream
        half = stream.request if reader.is_request else stream.response
        pairs = [(str(k), str(v)) for k, v in headers]
        if not half.started:
            half.started = True
            half.first_ts = reader.block_ts
        half.headers.extend(pairs)  # a second block is the trailers
        half.last_ts = last_ts
        if reader.block_end_stream:
            self._end_half(stream, reader.is_request)

    def _end_half(self, stream: _Stream, is_request: bool) -> None:
        half = stream.request if is_request else stream.response
        half.ended = True
        if stream.request.ended and stream.response.ended:
            self._streams.pop(stream.stream_id, None)
            self._emit_stream(stream)

    def _emit_stream(self, stream: _Stream) -> None:
        if not stream.request.started:
            self.unmatched_responses += 1
            return
        self._emit(
            Http2Record(
                request_timestamp_ns=stream.request.first_ts,
                response_timestamp_ns=stream.response.last_ts,
                stream=stream,
                max_body_bytes=self.max_body_bytes,
            )
        )

    # -- housekeeping ---------------------------------------------------------------------------

    def _expire(self, cutoff_ns: int) -> None:
        for sid, stream in list(self._streams.items()):
            if stream.request.first_ts and stream.request.first_ts < cutoff_ns:
                del self._streams[sid]
                self.dropped_requests += 1

    def _on_close(self) -> None:
        self.dropped_requests += len(self._streams)

    def _reset(self) -> None:
        # Any reset (a failure, a caught parser bug, close) loses HPACK sync for good.
        self._dead = True
        self._streams.clear()
        for reader in self._readers.values():
            reader.buf.clear()
            reader.block = None
            reader.data_remaining = reader.data_pad = 0
