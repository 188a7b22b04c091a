"""HTTP/1.x: streaming request/response framing, pairing in order, Pixie's row rendering.

Supported: keep-alive and pipelining (responses paired with requests in order), Content-Length
and chunked bodies (decoded), responses delimited by connection close, HEAD/1xx/204/304 without
body, 100-continue interim responses (skipped, not paired), 101 and CONNECT tunnels (parsing
stops), gzip response bodies (inflated, like Pixie), truncated captures (body gaps are counted,
header gaps resync on the next request line / status line).
"""

from __future__ import annotations

import zlib
from collections import deque
from dataclasses import dataclass, field

from ._common import (
    MAX_PENDING_REQUESTS,
    TRUNCATED_SUFFIX,
    ByteStream,
    ConnectionParser,
    Protocol,
    Record,
    Role,
    json_string,
    text,
    truncate,
)

__all__ = ["HttpParser", "HttpRecord"]

_METHODS = (b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"CONNECT", b"OPTIONS", b"TRACE", b"PATCH")
_REQUEST_STARTS = tuple(m + b" " for m in _METHODS)
_RESPONSE_START = b"HTTP/1."

# Largest header block we wait for. Servers cap theirs at 8-16 KiB (nginx 4x8 KiB, Node 16 KiB);
# anything past 64 KiB without a blank line is not HTTP we can use.
MAX_HEADER_BYTES = 64 * 1024
# gzip bodies are inflated for display; keep this much compressed input (inflates to far more
# than any max_body_bytes worth showing).
GZIP_KEEP_BYTES = 64 * 1024
# Pixie's kMaxHTTPHeadersBytes: the header JSON columns are cut here.
MAX_HEADERS_JSON_BYTES = 8192
# A chunk-size line is a hex number plus optional extensions; 1 KiB is far more than real ones.
_MAX_CHUNK_LINE = 1024
_HEX_DIGITS = b"0123456789abcdefABCDEF"
# What bytes.strip() strips (str.strip() would also take Unicode spaces).
_ASCII_SPACE = " \t\n\r\x0b\x0c"

JSON_CONTENT = 1  # Pixie's HTTPContentType::kJSON (0 unknown, 1 JSON, 2 gRPC)
UNKNOWN_CONTENT = 0

_HEAD, _BODY_LEN, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_CRLF, _TRAILERS, _BODY_CLOSE, _RESYNC, _DEAD = (
    range(9)
)


@dataclass(slots=True)
class _Message:
    start_ts: int
    minor: int
    headers: list[tuple[str, str]]
    method: str = ""
    path: str = ""
    status: int = 0
    reason: str = ""
    keep: int = 0
    end_ts: int = 0
    body_size: int = 0
    body: bytearray = field(default_factory=bytearray)
    # Lower-cased name -> value of its first occurrence, built once the head is parsed.
    by_name: dict[str, str] = field(default_factory=dict)

    def header(self, lower_name: str) -> str | None:
        return self.by_name.get(lower_name)


def _header_sort_key(header: tuple[str, str]) -> str:
    return header[0].lower()


def _headers_json(headers: list[tuple[str, str]]) -> str:
    # Pixie serialises a case-insensitive std::multimap: keys sorted ignoring case, repeated keys
    # written repeatedly, in arrival order.
    ordered = sorted(headers, key=_header_sort_key)
    body = ",".join([f"{json_string(k)}:{json_string(v)}" for k, v in ordered])
    return truncate("{" + body + "}", MAX_HEADERS_JSON_BYTES)


@dataclass(slots=True)
class HttpRecord(Record):
    request_timestamp_ns: int
    response_timestamp_ns: int
    request: _Message
    response: _Message
    max_body_bytes: int

    def to_row(self) -> dict[str, object]:
        req, resp = self.request, self.response
        content_type = resp.header("content-type")
        return {
            "major_version": 1,
            "minor_version": resp.minor,
            "content_type": JSON_CONTENT
            if content_type is not None and "json" in content_type
            else UNKNOWN_CONTENT,
            "req_headers": _headers_json(req.headers),
            "req_method": req.method,
            "req_path": req.path,
            "req_body": _body_text(req.body, req.body_size, self.max_body_bytes),
            "req_body_size": req.body_size,
            "resp_headers": _headers_json(resp.headers),
            "resp_status": resp.status,
            "resp_message": resp.reason,
            "resp_body": _response_body(resp, content_type, self.max_body_bytes),
            "resp_body_size": resp.body_size,
        }


HttpRecord.table_name = "http_events"  # not in the dataclass: mypyc/mypyc#1122


def _body_text(kept: bytearray | bytes, full_size: int, limit: int) -> str:
    body = text(kept[:limit])
    if full_size > limit:
        return body + TRUNCATED_SUFFIX
    return body


def _response_body(resp: _Message, content_type: str | None, limit: int) -> str:
    # Pixie's PreProcessMessage: only text and JSON bodies are kept; gzip is inflated.
    if content_type is None:
        return "<removed: unknown content-type>" if resp.body_size > 0 else ""
    if "json" not in content_type and "text/" not in content_type:
        return "<removed: non-text content-type>"
    if resp.header("content-encoding") == "gzip":
        try:
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            inflated = inflater.decompress(bytes(resp.body), limit + 1)
        except zlib.error:
            return "<Failed to gunzip body>"
        return _body_text(inflated, len(inflated), limit)
    return _body_text(resp.body, resp.body_size, limit)


class _Half:
    """Framing state of one direction."""

    __slots__ = ("is_request", "msg", "remaining", "state", "stream")

    def __init__(self, is_request: bool) -> None:
        self.is_request = is_request
        self.stream = ByteStream()
        self.state = _HEAD
        self.msg: _Message | None = None
        self.remaining = 0

    def reset(self, state: int = _HEAD) -> None:
        self.stream.clear()
        self.state = state
        self.msg = None
        self.remaining = 0


def _parse_head(head: bytes, is_request: bool, start_ts: int) -> _Message | None:
    eol = head.find(b"\r\n")
    first = head if eol < 0 else head[:eol]
    if is_request:
        parts = first.split(b" ")
        if len(parts) != 3 or not parts[0].isalpha() or not parts[0].isupper():
            return None
        version = parts[2]
        if len(version) != 8 or not version.startswith(b"HTTP/1.") or not version[7:].isdigit():
            return None
        msg = _Message(start_ts, version[7] - 48, [], method=parts[0].decode(), path=text(parts[1]))
    else:
        if (
            len(first) < 12
            or not first.startswith(_RESPONSE_START)
            or not first[7:8].isdigit()
            or first[8] != 32
            or not first[9:12].isdigit()
        ):
            return None
        msg = _Message(
            start_ts, first[7] - 48, [], status=int(first[9:12]), reason=text(first[13:])
        )
    if eol < 0:
        return msg
    # The header lines are decoded at once: splitting on ASCII delimiters before or after
    # decoding gives the same text (UTF-8 never hides an ASCII byte inside a sequence).
    headers = msg.headers
    for line in head[eol + 2 :].decode("utf-8", "replace").split("\r\n"):
        if line[:1] in (" ", "\t") and headers:  # obsolete line folding
            name, value = headers[-1]
            headers[-1] = (name, value + " " + line.strip(_ASCII_SPACE))
            continue
        colon = line.find(":")
        if colon <= 0:
            return None
        headers.append((line[:colon], line[colon + 1 :].strip(" \t")))
    by_name = msg.by_name
    for name, value in reversed(headers):
        by_name[name.lower()] = value
    return msg


def _plausible_start(buf: bytearray, is_request: bool) -> bool:
    if is_request:
        head = bytes(buf[:8])
        return any(s.startswith(head[: len(s)]) for s in _REQUEST_STARTS)
    return _RESPONSE_START.startswith(bytes(buf[:7]))


class HttpParser(ConnectionParser):
    protocol = Protocol.HTTP
    table_name = "http_events"

    def __init__(self, role: Role, *, max_body_bytes: int = 512) -> None:
        super().__init__(role, max_body_bytes=max_body_bytes)
        self._req = _Half(True)
        self._resp = _Half(False)
        self._pending: deque[_Message] = deque()

    def _looks_like_request(self, data: bytes) -> bool:
        return data.startswith(_REQUEST_STARTS)

    # -- feeding ------------------------------------------------------------------------

    def _feed(self, is_request: bool, data: bytes, timestamp_ns: int, lost_bytes: int) -> None:
        half = self._req if is_request else self._resp
        if half.state == _DEAD:
            return
        if lost_bytes > 0:
            self._on_gap(half, lost_bytes, timestamp_ns)
        if data:
            half.stream.append(data, timestamp_ns)
            self._parse(half)

    def _on_gap(self, half: _Half, lost: int, timestamp_ns: int) -> None:
        msg = half.msg
        if msg is not None and half.state == _BODY_CLOSE:
            msg.body_size += lost  # the body just has a hole; keep counting
            return
        if msg is not None and half.state == _BODY_LEN and lost <= half.remaining:
            msg.body_size += lost
            half.remaining -= lost
            if half.remaining == 0:
                # The lost bytes were exactly the rest of the body: the message is complete.
                msg.end_ts = timestamp_ns
                self._complete(half)
            return
        self.parse_errors += 1
        half.reset(_RESYNC)
        if not half.is_request:
            # Responses to requests sent before the gap may be among the lost bytes; pairing the
            # next response with them would be wrong.
            while self._pending and self._pending[0].start_ts < timestamp_ns:
                self._pending.popleft()
                self.dropped_requests += 1

    def _parse(self, half: _Half) -> None:
        stream = half.stream
        buf = stream.buf
        while True:
            state = half.state
            if state == _HEAD:
                if not buf:
                    return
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(buf) > MAX_HEADER_BYTES or not _plausible_start(buf, half.is_request):
                        self._garbage(half)
                        continue
                    return
                msg = _parse_head(bytes(buf[:end]), half.is_request, stream.ts_at(0))
                if msg is None:
                    self._garbage(half)
                    continue
                msg.end_ts = stream.ts_at(end + 3)
                stream.consume(end + 4)
                half.msg = msg
                self._start_body(half, msg)
            elif state == _BODY_LEN:
                if not buf:
                    return
                msg = half.msg
                assert msg is not None
                take = min(half.remaining, len(buf))
                self._add_body(msg, buf, take)
                msg.end_ts = stream.ts_at(take - 1)
                stream.consume(take)
                half.remaining -= take
                if half.remaining == 0:
                    self._complete(half)
            elif state == _CHUNK_SIZE:
                eol = buf.find(b"\r\n")
                if eol < 0:
                    if len(buf) > _MAX_CHUNK_LINE:
                        self._garbage(half)
                        continue
                    return
                size_text = bytes(buf[:eol]).split(b";", 1)[0].strip(b" \t")
                if not size_text or size_text.strip(_HEX_DIGITS) or len(size_text) > 16:
                    self._garbage(half)
                    continue
                size = int(size_text, 16)
                stream.consume(eol + 2)
                if size == 0:
                    half.state = _TRAILERS
                else:
                    half.remaining = size
                    half.state = _CHUNK_DATA
            elif state == _CHUNK_DATA:
                if not buf:
                    return
                msg = half.msg
                assert msg is not None
                take = min(half.remaining, len(buf))
                self._add_body(msg, buf, take)
                stream.consume(take)
                half.remaining -= take
                if half.remaining == 0:
                    half.state = _CHUNK_CRLF
            elif state == _CHUNK_CRLF:
                if len(buf) < 2:
                    return
                if buf[0] != 13 or buf[1] != 10:
                    self._garbage(half)
                    continue
                stream.consume(2)
                half.state = _CHUNK_SIZE
            elif state == _TRAILERS:
                if len(buf) < 2:
                    return
                msg = half.msg
                assert msg is not None
                if buf[0] == 13 and buf[1] == 10:
                    end = 2
                else:
                    found = buf.find(b"\r\n\r\n")
                    if found < 0:
                        if len(buf) > MAX_HEADER_BYTES:
                            self._garbage(half)
                            continue
                        return
                    end = found + 4
                msg.end_ts = stream.ts_at(end - 1)
                stream.consume(end)
                self._complete(half)
            elif state == _BODY_CLOSE:
                if buf:
                    msg = half.msg
                    assert msg is not None
                    self._add_body(msg, buf, len(buf))
                    msg.end_ts = stream.ts_at(len(buf) - 1)
                    stream.clear()
                return
            elif state == _RESYNC:
                if not self._resync(half):
                    return
            else:  # _DEAD
                stream.clear()
                return

    def _garbage(self, half: _Half) -> None:
        self.parse_errors += 1
        half.msg = None
        half.remaining = 0
        half.stream.consume(1)  # never re-match at the same place
        half.state = _RESYNC

    def _resync(self, half: _Half) -> bool:
        """Skip to the next plausible message start; False when more data is needed."""
        buf = half.stream.buf
        if half.is_request:
            best = -1
            for start in _REQUEST_STARTS:
                pos = buf.find(start)
                if pos >= 0 and (best < 0 or pos < best):
                    best = pos
        else:
            best = buf.find(_RESPONSE_START)
        if best < 0:
            # Keep a tail in case a start pattern straddles this chunk and the next.
            half.stream.consume(max(0, len(buf) - 8))
            return False
        half.stream.consume(best)
        half.state = _HEAD
        return True

    # -- message lifecycle --------------------------------------------------------------

    def _start_body(self, half: _Half, msg: _Message) -> None:
        msg.keep = self.max_body_bytes
        te = msg.header("transfer-encoding")
        chunked = te is not None and "chunked" in te.lower()
        length_text = msg.header("content-length")
        if not half.is_request:
            if msg.header("content-encoding") == "gzip":
                msg.keep = max(self.max_body_bytes, GZIP_KEEP_BYTES)
            request = self._pending[0] if self._pending else None
            status = msg.status
            if (
                (request is not None and request.method == "HEAD")
                or 100 <= status < 200
                or status in (204, 304)
            ):
                self._complete(half)
                return
            if request is not None and request.method == "CONNECT" and 200 <= status < 300:
                self._complete(half)
                return
        if chunked:
            half.state = _CHUNK_SIZE
            return
        if length_text is not None:
            length_text = length_text.strip()
            if not length_text.isdigit():
                self.parse_errors += 1
                half.state = _RESYNC
                half.msg = None
                return
            half.remaining = int(length_text)
            if half.remaining == 0:
                self._complete(half)
            else:
                half.state = _BODY_LEN
            return
        if half.is_request:
            self._complete(half)  # no length, no chunking: a request has no body
        else:
            half.state = _BODY_CLOSE  # the body runs until the connection closes

    def _add_body(self, msg: _Message, buf: bytearray, take: int) -> None:
        msg.body_size += take
        room = msg.keep - len(msg.body)
        if room > 0:
            msg.body += buf[: min(room, take)]

    def _complete(self, half: _Half) -> None:
        msg = half.msg
        assert msg is not None
        half.msg = None
        half.remaining = 0
        half.state = _HEAD
        if half.is_request:
            if len(self._pending) >= MAX_PENDING_REQUESTS:
                self._pending.popleft()
                self.dropped_requests += 1
            self._pending.append(msg)
            return
        status = msg.status
        if 100 <= status < 200 and status != 101:
            return  # interim response (100 Continue, 103 Early Hints): the real one follows
        if not self._pending:
            self.unmatched_responses += 1
            return
        request = self._pending.popleft()
        self._emit(HttpRecord(request.start_ts, msg.end_ts, request, msg, self.max_body_bytes))
        if status == 101 or (request.method == "CONNECT" and 200 <= status < 300):
            # The connection now carries another protocol (WebSocket, h2c, a tunnel).
            self._req.reset(_DEAD)
            self._resp.reset(_DEAD)
            self._pending.clear()

    # -- housekeeping ---------------------------------------------------------------------

    def _expire(self, cutoff_ns: int) -> None:
        resp = self._resp
        if resp.state == _BODY_CLOSE and resp.msg is not None and resp.msg.end_ts < cutoff_ns:
            self._complete(resp)  # a close-delimited body that went quiet: emit what we have
        while self._pending and self._pending[0].start_ts < cutoff_ns:
            self._pending.popleft()
            self.dropped_requests += 1
        for half in (self._req, self._resp):
            started = half.msg.start_ts if half.msg is not None else None
            if started is None and half.stream.buf:
                started = half.stream.ts_at(0)
            if started is not None and started < cutoff_ns:
                half.reset()

    def _on_close(self) -> None:
        if self._resp.state == _BODY_CLOSE and self._resp.msg is not None:
            self._complete(self._resp)
        self.dropped_requests += len(self._pending)

    def _reset(self) -> None:
        self._req.reset()
        self._resp.reset()
        self._pending.clear()
