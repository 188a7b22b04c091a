"""PostgreSQL v3 wire protocol: framing, simple and extended query pairing, Pixie's rendering.

Startup, SSLRequest/GSSENCRequest and CancelRequest are skipped (a server that answers ``S`` to
SSLRequest switches to TLS and parsing stops). Records follow Pixie's ``pgsql`` stitcher:

* ``Query``: ``req`` is the SQL; ``resp`` is ``<col,col>\\n<row>\\n...\\n<command tag>`` (rows
  and the header only when rows came back) or
  ``ERROR RESPONSE [Severity=ERROR Code=... Message=...]``.
* ``Parse`` (``PARSE COMPLETE``), ``Bind`` (``portal=.. statement=.. parameters=[..]
  result_format_codes=[..]`` / ``BIND COMPLETE``), ``Describe`` (``type=kStatement name=..`` /
  ``ROW DESCRIPTION [...]``) and ``Execute`` (``query=[<statement>] params=[<p1>, <p2>]`` / rows
  and command tag as for Query). After an error in an extended-protocol batch the server skips to
  Sync; the skipped messages produce no records.

Binary-format values are rendered by type (int2/4/8, float4/8, bool) when Parse declared the
parameter types, as text when they are printable, else as ``\\x<hex>`` (Pixie prints raw bytes).
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass, field

from ._common import (
    DEFAULT_STRING_LIMIT,
    MAX_BUFFER_BYTES,
    MAX_PENDING_REQUESTS,
    ByteStream,
    ConnectionParser,
    Protocol,
    Record,
    Role,
    text,
    truncate,
)

__all__ = ["PgsqlParser", "PgsqlRecord"]

_FRONTEND_TAGS = frozenset(b"QPBEDSCHXFpfdc")
_BACKEND_TAGS = frozenset(b"RSKZTDCEINs123tnAGHWVvcd")
_STARTUP_CODES = {196608: "startup", 80877103: "ssl", 80877104: "gss", 80877102: "cancel"}
_MAX_STARTUP_LEN = 10_000  # startup packets carry a few parameters; Postgres caps them at 10000
# A message longer than this keeps only its first bytes (rendered strings are cut at 1 KiB anyway);
# the rest is skipped as it streams by, so a 100 MB DataRow costs no memory.
MAX_KEPT_MESSAGE_BYTES = 64 * 1024

_ERR_FIELDS = {
    "S": "Severity",
    "V": "InternalSeverity",
    "C": "Code",
    "M": "Message",
    "D": "Detail",
    "H": "Hint",
    "P": "Position",
    "p": "InternalPosition",
    "q": "InternalQuery",
    "W": "Where",
    "s": "SchemaName",
    "t": "TableName",
    "c": "ColumnName",
    "d": "DataTypeName",
    "n": "ConstraitName",  # sic: Pixie's enum spells it this way
    "F": "File",
    "L": "Line",
    "R": "Routine",
}
_BINARY_DECODERS: dict[int, struct.Struct] = {
    21: struct.Struct(">h"),
    23: struct.Struct(">i"),
    20: struct.Struct(">q"),
    700: struct.Struct(">f"),
    701: struct.Struct(">d"),
}


class _Bad(Exception):
    pass


class _Reader:
    __slots__ = ("buf", "pos")

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.pos = 0

    def cstring(self) -> bytes:
        end = self.buf.find(b"\0", self.pos)
        if end < 0:
            raise _Bad
        out = self.buf[self.pos : end]
        self.pos = end + 1
        return out

    def int16(self) -> int:
        if self.pos + 2 > len(self.buf):
            raise _Bad
        value = int.from_bytes(self.buf[self.pos : self.pos + 2], "big", signed=True)
        self.pos += 2
        return value

    def int32(self) -> int:
        if self.pos + 4 > len(self.buf):
            raise _Bad
        value = int.from_bytes(self.buf[self.pos : self.pos + 4], "big", signed=True)
        self.pos += 4
        return value

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.buf):
            raise _Bad
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out


def _value_text(raw: bytes, binary: bool, type_oid: int = 0) -> str:
    if binary:
        decoder = _BINARY_DECODERS.get(type_oid)
        if decoder is not None and len(raw) == decoder.size:
            return str(decoder.unpack(raw)[0])
        if type_oid == 16 and len(raw) == 1:
            return "t" if raw[0] else "f"
        try:
            decoded = raw.decode("utf-8")
        except UnicodeDecodeError:
            return "\\x" + raw.hex()
        return decoded if decoded.isprintable() else "\\x" + raw.hex()
    return text(raw)


def _error_text(payload: bytes) -> str:
    fields: list[str] = []
    reader = _Reader(payload)
    try:
        while reader.pos < len(payload) and payload[reader.pos] != 0:
            code = chr(payload[reader.pos])
            reader.pos += 1
            value = text(reader.cstring())
            name = _ERR_FIELDS.get(code, f"Field:{code}")
            fields.append(f"{name}={value}")
    except _Bad:
        pass
    return "ERROR RESPONSE [" + " ".join(fields) + "]"


def _row_desc(payload: bytes) -> tuple[list[str], str]:
    """(field names, Pixie's ROW DESCRIPTION text)."""
    reader = _Reader(payload)
    names: list[str] = []
    parts: list[str] = []
    try:
        for _ in range(reader.int16()):
            name = text(reader.cstring())
            table_oid, attr = reader.int32(), reader.int16()
            type_oid, size, modifier = reader.int32(), reader.int16(), reader.int32()
            fmt = "kBinary" if reader.int16() == 1 else "kText"
            names.append(name)
            parts.append(
                f"name={name} table_oid={table_oid} attr_num={attr} type_oid={type_oid} "
                f"type_size={size} type_modifier={modifier} fmt_code={fmt}"
            )
    except _Bad:
        pass
    return names, "ROW DESCRIPTION [" + "] [".join(parts) + "]"


def _data_row(payload: bytes) -> str:
    reader = _Reader(payload)
    cols: list[str] = []
    try:
        for _ in range(reader.int16()):
            size = reader.int32()
            if size < 0:
                cols.append("[NULL]")
            else:
                remaining = len(payload) - reader.pos
                cols.append(_value_text(reader.take(min(size, remaining)), False))
    except _Bad:
        pass
    return ",".join(cols)


@dataclass(slots=True)
class PgsqlRecord(Record):
    request_timestamp_ns: int
    response_timestamp_ns: int
    req_cmd: str
    req: str
    resp: str

    def to_row(self) -> dict[str, object]:
        return {
            "req_cmd": self.req_cmd,
            "req": truncate(self.req, DEFAULT_STRING_LIMIT),
            "resp": truncate(self.resp, DEFAULT_STRING_LIMIT),
        }


PgsqlRecord.table_name = "pgsql_events"  # not in the dataclass: mypyc/mypyc#1122


@dataclass(slots=True)
class _Pending:
    kind: int  # frontend tag
    ts: int
    req_cmd: str = ""
    req: str = ""
    names: list[str] = field(default_factory=list)
    rows: list[str] = field(default_factory=list)
    rows_chars: int = 0
    done: bool = False  # Query: answered, waiting for ReadyForQuery

    def add_row(self, row: str) -> None:
        # Rendered responses are cut at 1 KiB; rows past that point are not worth keeping.
        if self.rows_chars <= DEFAULT_STRING_LIMIT:
            self.rows.append(row)
            self.rows_chars += len(row) + 1

    def rendered(self, tag: str) -> str:
        out = ""
        if self.rows:
            if self.names:
                out += ",".join(self.names) + "\n"
            out += "\n".join(self.rows) + "\n"
        return out + tag


class _Side:
    __slots__ = ("resync", "skip", "startup", "stream")

    def __init__(self) -> None:
        self.stream = ByteStream()
        self.skip = 0
        self.resync = False
        self.startup = True  # untagged startup-phase packets may come first

    def reset(self) -> None:
        self.stream.clear()
        self.skip = 0
        self.resync = False


_Frame = tuple[int, bytes, int, int]  # tag, payload (maybe cut), first-byte ts, last-byte ts


class PgsqlParser(ConnectionParser):
    protocol = Protocol.PGSQL
    table_name = "pgsql_events"

    def __init__(self, role: Role, *, max_body_bytes: int = 512) -> None:
        super().__init__(role, max_body_bytes=max_body_bytes)
        self._req = _Side()
        self._resp = _Side()
        self._resp.startup = False
        self._pending: deque[_Pending] = deque()
        self._statements: dict[str, tuple[str, list[int]]] = {}
        self._bound: tuple[str, list[str]] = ("", [])
        self._skip_until_sync = False
        self._expect_ssl_answer = False
        self._resp_discard = False
        self._encrypted = False

    def _looks_like_request(self, data: bytes) -> bool:
        if len(data) >= 8 and int.from_bytes(data[4:8], "big") in _STARTUP_CODES:
            return True
        return data[:1] in (b"Q", b"P")

    # -- framing ------------------------------------------------------------------------

    def _feed(self, is_request: bool, data: bytes, timestamp_ns: int, lost_bytes: int) -> None:
        if self._encrypted:
            return
        side = self._req if is_request else self._resp
        if lost_bytes > 0:
            self.parse_errors += 1
            if side.skip >= lost_bytes:
                side.skip -= lost_bytes  # the gap fell inside a message we were skipping anyway
            else:
                side.reset()
                side.startup = False
                if is_request:
                    side.resync = True
                else:
                    self._resp_discard = True
                    self.dropped_requests += len(self._pending)
                    self._pending.clear()
        if not is_request and self._resp_discard:
            return
        if side.skip:
            cut = min(side.skip, len(data))
            side.skip -= cut
            data = data[cut:]
        if not data:
            return
        side.stream.append(data, timestamp_ns)
        for frame in self._frames(side, is_request):
            if is_request:
                self._on_request(frame)
            else:
                self._on_response(frame)
            if self._encrypted:
                return

    def _frames(self, side: _Side, is_request: bool) -> list[_Frame]:
        stream = side.stream
        buf = stream.buf
        tags = _FRONTEND_TAGS if is_request else _BACKEND_TAGS
        frames: list[_Frame] = []
        while True:
            if not is_request and self._expect_ssl_answer and buf:
                self._expect_ssl_answer = False
                answer = buf[0]
                stream.consume(1)
                if answer in (ord("S"), ord("G")):
                    self._encrypted = True  # TLS/GSS from here on: nothing readable
                    return frames
                continue
            if side.startup and is_request and len(buf) >= 8:
                length = int.from_bytes(buf[:4], "big")
                kind = _STARTUP_CODES.get(int.from_bytes(buf[4:8], "big"))
                if kind is not None and 8 <= length <= _MAX_STARTUP_LEN:
                    if len(buf) < length:
                        return frames
                    stream.consume(length)
                    if kind in ("ssl", "gss"):
                        self._expect_ssl_answer = True
                    else:
                        side.startup = False
                    continue
                side.startup = False
            if side.resync:
                pos = self._find_frame(buf, tags)
                if pos < 0:
                    stream.consume(max(0, len(buf) - 4))
                    return frames
                stream.consume(pos)
                side.resync = False
            if len(buf) < 5:
                return frames
            tag = buf[0]
            length = int.from_bytes(buf[1:5], "big")
            if tag not in tags or length < 4:
                self.parse_errors += 1
                stream.consume(1)
                side.resync = True
                if not is_request:
                    self._resp_discard = True
                    self.dropped_requests += len(self._pending)
                    self._pending.clear()
                    stream.clear()
                    return frames
                continue
            total = 1 + length
            if total > MAX_KEPT_MESSAGE_BYTES + 5:
                if len(buf) < MAX_KEPT_MESSAGE_BYTES + 5:
                    return frames
                taken = min(len(buf), total)
                frames.append(
                    (
                        tag,
                        bytes(buf[5 : 5 + MAX_KEPT_MESSAGE_BYTES]),
                        stream.ts_at(0),
                        stream.ts_at(taken - 1),
                    )
                )
                stream.consume(taken)
                side.skip = total - taken
                return frames
            if len(buf) < total:
                if len(buf) > MAX_BUFFER_BYTES:  # cannot happen with the cut above; be safe
                    stream.clear()
                return frames
            frames.append((tag, bytes(buf[5:total]), stream.ts_at(0), stream.ts_at(total - 1)))
            stream.consume(total)

    @staticmethod
    def _find_frame(buf: bytearray, tags: frozenset[int]) -> int:
        """Offset of a plausible message start (valid tag and length followed by another)."""
        limit = len(buf) - 5
        for pos in range(max(0, limit + 1)):
            if buf[pos] not in tags:
                continue
            length = int.from_bytes(buf[pos + 1 : pos + 5], "big")
            if not 4 <= length <= MAX_BUFFER_BYTES:
                continue
            after = pos + 1 + length
            if after == len(buf) or (after < len(buf) and buf[after] in tags):
                return pos
        return -1

    # -- requests -------------------------------------------------------------------------

    def _queue(self, entry: _Pending) -> None:
        if len(self._pending) >= MAX_PENDING_REQUESTS:
            self._pending.popleft()
            self.dropped_requests += 1
        self._pending.append(entry)

    def _on_request(self, frame: _Frame) -> None:
        tag, payload, ts, _end = frame
        if self._resp_discard:
            self._resp_discard = False
            self._resp.reset()
        if self._skip_until_sync and tag != ord("S"):
            return  # the server discards everything up to Sync after an error
        self._skip_until_sync = False
        try:
            if tag == ord("Q"):
                self._queue(_Pending(tag, ts, "Query", text(payload.rstrip(b"\0"))))
            elif tag == ord("P"):
                reader = _Reader(payload)
                name = text(reader.cstring())
                query = text(reader.cstring())
                oids = [reader.int32() for _ in range(max(0, reader.int16()))]
                self._statements[name] = (query, oids)
                self._queue(_Pending(tag, ts, "Parse", query))
            elif tag == ord("B"):
                self._queue(_Pending(tag, ts, "Bind", self._bind(payload)))
            elif tag == ord("D"):
                kind = "kPortal" if payload[:1] == b"P" else "kStatement"
                name = text(payload[1:].rstrip(b"\0"))
                self._queue(_Pending(tag, ts, "Describe", f"type={kind} name={name}"))
            elif tag == ord("E"):
                query, params = self._bound
                self._queue(
                    _Pending(tag, ts, "Execute", f"query=[{query}] params=[{', '.join(params)}]")
                )
            elif tag in (ord("S"), ord("C"), ord("F")):
                self._queue(_Pending(tag, ts))
            # H (Flush), X (Terminate), p (password), d/c/f (COPY data): no reply of their own.
        except _Bad:
            self.parse_errors += 1

    def _bind(self, payload: bytes) -> str:
        reader = _Reader(payload)
        portal = text(reader.cstring())
        statement = text(reader.cstring())
        formats = [reader.int16() for _ in range(max(0, reader.int16()))]
        query, oids = self._statements.get(statement, ("", []))
        values: list[str] = []
        described: list[str] = []
        for index in range(max(0, reader.int16())):
            size = reader.int32()
            fmt = formats[index] if len(formats) > 1 else (formats[0] if formats else 0)
            if size < 0:
                value = "[NULL]"
            else:
                oid = oids[index] if index < len(oids) else 0
                value = _value_text(reader.take(size), fmt == 1, oid)
            values.append(value)
            described.append(f"[format={'kBinary' if fmt == 1 else 'kText'} value={value}]")
        result_formats = [
            "kBinary" if reader.int16() == 1 else "kText" for _ in range(max(0, reader.int16()))
        ]
        self._bound = (query, values)
        return (
            f"portal={portal} statement={statement} parameters=[{', '.join(described)}] "
            f"result_format_codes=[{', '.join(result_formats)}]"
        )

    # -- responses ------------------------------------------------------------------------

    def _finish(self, entry: _Pending, resp: str, ts: int) -> None:
        self._emit(PgsqlRecord(entry.ts, ts, entry.req_cmd, entry.req, resp))

    def _on_response(self, frame: _Frame) -> None:
        tag, payload, _start, ts = frame
        if tag in b"SNA" or not self._pending:
            return  # parameter status, notices and notifications come at any time
        entry = self._pending[0]
        kind = entry.kind
        if tag == ord("Z"):
            # ReadyForQuery ends a simple query, a function call, or an extended batch at Sync.
            while self._pending:
                popped = self._pending.popleft()
                if popped.kind == ord("Q") and not popped.done:
                    self._finish(popped, popped.rendered(""), ts)
                if popped.kind in b"QSF":
                    break
                self.dropped_requests += 1
            return
        if tag == ord("E"):
            error = _error_text(payload)
            if kind == ord("Q"):
                if not entry.done:
                    self._finish(entry, error, ts)
                    entry.done = True
                return
            if kind in b"PBDE":
                self._finish(entry, error, ts)
            self._pending.popleft()
            while self._pending and self._pending[0].kind != ord("S"):
                self._pending.popleft()  # skipped by the server until Sync
            if not self._pending:
                self._skip_until_sync = True
            return
        if kind == ord("Q"):
            if entry.done:
                return  # further statements of a multi-statement query
            if tag == ord("T"):
                entry.names = _row_desc(payload)[0]
            elif tag == ord("D"):
                entry.add_row(_data_row(payload))
            elif tag == ord("C"):
                self._finish(entry, entry.rendered(text(payload.rstrip(b"\0"))), ts)
                entry.done = True
            elif tag == ord("I"):
                self._finish(entry, "", ts)
                entry.done = True
            return
        if kind == ord("E"):
            if tag == ord("D"):
                entry.add_row(_data_row(payload))
            elif tag in b"CIs":
                tag_text = text(payload.rstrip(b"\0")) if tag == ord("C") else ""
                self._pending.popleft()
                self._finish(entry, entry.rendered(tag_text), ts)
            return
        if kind == ord("P") and tag == ord("1"):
            self._pending.popleft()
            self._finish(entry, "PARSE COMPLETE", ts)
        elif kind == ord("B") and tag == ord("2"):
            self._pending.popleft()
            self._finish(entry, "BIND COMPLETE", ts)
        elif kind == ord("D") and tag in b"Tn":
            self._pending.popleft()
            text_desc = _row_desc(payload)[1] if tag == ord("T") else "ROW DESCRIPTION []"
            self._finish(entry, text_desc, ts)
        elif kind == ord("C") and tag == ord("3"):
            self._pending.popleft()
        elif kind == ord("D") and tag == ord("t"):
            pass  # parameter description precedes the row description
        elif kind == ord("F") and tag == ord("V"):
            pass  # function result; ReadyForQuery follows
        else:
            self.parse_errors += 1

    # -- housekeeping ---------------------------------------------------------------------

    def _expire(self, cutoff_ns: int) -> None:
        while self._pending and self._pending[0].ts < cutoff_ns:
            self._pending.popleft()
            self.dropped_requests += 1
        for side in (self._req, self._resp):
            if side.stream.buf and side.stream.ts_at(0) < cutoff_ns:
                side.reset()

    def _on_close(self) -> None:
        self.dropped_requests += len(self._pending)

    def _reset(self) -> None:
        self._req.reset()
        self._resp.reset()
        self._pending.clear()
