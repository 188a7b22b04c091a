"""Cassandra CQL native protocol (v3-v5 frame headers) -> ``cql_events`` rows.

Frame header (9 bytes): version (bit 7 set on responses), flags, stream id (int16), opcode,
body length (uint32). Requests are paired with the response carrying the same stream id; server
EVENTs (stream -1) are rows of their own.

Columns, as Pixie shows them:

* ``req_op``/``resp_op``: the opcodes (``resp_op`` 0 is ERROR);
* ``req_body``: the query text of PREPARE; of QUERY, followed by its bound values as a JSON
  list of hex strings on a second line when it has any; for EXECUTE a JSON object with the
  prepared id, the values in hex and (when the PREPARE was seen on this connection) the query
  text; the options of STARTUP and the event types of REGISTER as JSON; the statements of a BATCH
  as JSON; nothing for OPTIONS, and nothing for AUTH_RESPONSE/CREDENTIALS (Pixie shows the SASL
  token, which holds the password: never shown here);
* ``resp_body``: ``Response type = <KIND>`` with the columns and row count of ROWS, the keyspace
  of SET_KEYSPACE, the query id of PREPARED, the change of SCHEMA_CHANGE; ``[<code>] <message>``
  for ERROR; the options of SUPPORTED as JSON; the authenticator of AUTHENTICATE; nothing for
  AUTH_CHALLENGE/AUTH_SUCCESS (tokens);
* a server EVENT is a row of its own as in Pixie: ``req_op`` REGISTER, ``req_body`` ``-``, the
  event in ``resp_body`` (``SCHEMA_CHANGE CREATED keyspace=shop name=orders``,
  ``STATUS_CHANGE UP 10.0.0.2:9042``), latency 0.

Compressed frames (flag 0x01, with lz4/snappy negotiated at STARTUP) cannot be decoded without
the negotiated codec: each is counted as a parse error and its exchange dropped, never shown as
garbage. Protocol v5 wraps frames in checksummed segments once STARTUP succeeds; the parser counts
that as one parse error and stops parsing the connection.
"""

from __future__ import annotations

import ipaddress
import struct
from collections import deque
from dataclasses import dataclass
from typing import ClassVar

from ._common import (
    DEFAULT_STRING_LIMIT,
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

__all__ = ["REQUEST_OPCODES", "RESPONSE_OPCODES", "CqlParser", "CqlRecord", "looks_like_cql"]

HEADER_SIZE = 9
VERSIONS = (3, 4, 5)
_RESPONSE_BIT = 0x80
# Cassandra refuses frames above native_transport_max_frame_size (256 MiB at most).
_MAX_FRAME = 256 << 20

# Opcodes.
ERROR, STARTUP, READY, AUTHENTICATE, CREDENTIALS, OPTIONS, SUPPORTED, QUERY, RESULT = (
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
)  # fmt: skip
PREPARE, EXECUTE, REGISTER, EVENT, BATCH, AUTH_CHALLENGE, AUTH_RESPONSE, AUTH_SUCCESS = (
    0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10,
)  # fmt: skip
REQUEST_OPCODES = frozenset(
    {STARTUP, CREDENTIALS, OPTIONS, QUERY, PREPARE, EXECUTE, REGISTER, BATCH, AUTH_RESPONSE}
)
RESPONSE_OPCODES = frozenset(
    {ERROR, READY, AUTHENTICATE, SUPPORTED, RESULT, EVENT, AUTH_CHALLENGE, AUTH_SUCCESS}
)

# Header flags.
_COMPRESSED, _TRACING, _CUSTOM_PAYLOAD, _WARNING, _BETA = 0x01, 0x02, 0x04, 0x08, 0x10
_KNOWN_FLAGS = 0x1F

_RESULT_KINDS = {1: "VOID", 2: "ROWS", 3: "SET_KEYSPACE", 4: "PREPARED", 5: "SCHEMA_CHANGE"}
_BATCH_TYPES = {0: "LOGGED", 1: "UNLOGGED", 2: "COUNTER"}
_VALUES_FLAG = 0x01
_GLOBAL_SPEC, _HAS_MORE_PAGES, _NO_METADATA, _METADATA_ID = 0x01, 0x02, 0x04, 0x08
# Remembered prepared statements per connection (id -> query, result columns).
_MAX_PREPARED = 256


class _Short(Exception):
    """The body ended before a field did (a malformed message)."""


_SHORT = struct.Struct(">H")
_INT = struct.Struct(">i")
_UINT = struct.Struct(">I")


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        pos = self.pos
        end = pos + n
        if n < 0 or end > len(self.data):
            raise _Short
        self.pos = end
        return self.data[pos:end]

    def byte(self) -> int:
        return self.take(1)[0]

    def _fixed(self, fmt: struct.Struct) -> int:
        pos = self.pos
        if pos + fmt.size > len(self.data):
            raise _Short
        self.pos = pos + fmt.size
        value: int = fmt.unpack_from(self.data, pos)[0]
        return value

    def short(self) -> int:
        return self._fixed(_SHORT)

    def int32(self) -> int:
        return self._fixed(_INT)

    def uint(self) -> int:
        return self._fixed(_UINT)

    def string(self) -> str:
        return text(self.take(self._fixed(_SHORT)))

    def long_string(self) -> str:
        return text(self.take(self._fixed(_INT)))

    def short_bytes(self) -> bytes:
        return self.take(self._fixed(_SHORT))

    def value(self) -> bytes | None:
        n = self.int32()
        return None if n < 0 else self.take(n)

    def string_list(self) -> list[str]:
        return [self.string() for _ in range(self.short())]

    def string_map(self) -> dict[str, str]:
        return {self.string(): self.string() for _ in range(self.short())}

    def string_multimap(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for _ in range(self.short()):
            key = self.string()
            out[key] = self.string_list()
        return out

    def type_option(self, depth: int = 0) -> None:
        if depth > 16:
            raise _Short
        code = self.short()
        if code == 0x0000:  # custom: class name
            self.string()
        elif code in (0x0020, 0x0022):  # list, set
            self.type_option(depth + 1)
        elif code == 0x0021:  # map
            self.type_option(depth + 1)
            self.type_option(depth + 1)
        elif code == 0x0030:  # UDT
            self.string()
            self.string()
            for _ in range(self.short()):
                self.string()
                self.type_option(depth + 1)
        elif code == 0x0031:  # tuple
            for _ in range(self.short()):
                self.type_option(depth + 1)


def _hex_values(values: list[bytes | None]) -> list[str | None]:
    return [None if v is None else v.hex() for v in values]


@dataclass(slots=True)
class _Frame:
    version: int
    flags: int
    stream: int
    opcode: int
    body: bytes
    ts: int


@dataclass(slots=True)
class CqlRecord(Record):
    request_timestamp_ns: int
    response_timestamp_ns: int
    req_op: int
    req_body: str
    resp_op: int
    resp_body: str

    def to_row(self) -> dict[str, object]:
        return {
            "req_op": self.req_op,
            "req_body": truncate(self.req_body, DEFAULT_STRING_LIMIT),
            "resp_op": self.resp_op,
            "resp_body": truncate(self.resp_body, DEFAULT_STRING_LIMIT),
        }


CqlRecord.table_name = "cql_events"  # not in the dataclass: mypyc/mypyc#1122


def _header_ok(buf: bytes | bytearray, pos: int, response: bool | None) -> bool:
    """Is ``buf[pos:pos+9]`` a plausible frame header (of a response if ``response``)?"""
    if pos + HEADER_SIZE > len(buf):
        return False
    version = buf[pos]
    is_response = bool(version & _RESPONSE_BIT)
    if (version & 0x7F) not in VERSIONS or (response is not None and is_response != response):
        return False
    if buf[pos + 1] & ~_KNOWN_FLAGS:
        return False
    opcode = buf[pos + 4]
    if opcode not in (RESPONSE_OPCODES if is_response else REQUEST_OPCODES):
        return False
    stream = int.from_bytes(buf[pos + 2 : pos + 4], "big", signed=True)
    if stream < 0 and not (is_response and opcode == EVENT and stream == -1):
        return False
    return int.from_bytes(buf[pos + 5 : pos + 9], "big") <= _MAX_FRAME


def looks_like_cql(data: bytes, response: bool) -> bool:
    """``data`` holds whole request (or response) frames from its start, or one frame's start.

    Conservative: a valid header, and its body either ends the chunk exactly or is followed by
    another valid header; a chunk that cuts a frame short must be a single frame's beginning
    with a body no larger than 1 MiB.
    """
    pos = 0
    frames = 0
    while pos < len(data):
        if not _header_ok(data, pos, response):
            return False
        length = int.from_bytes(data[pos + 5 : pos + 9], "big")
        end = pos + HEADER_SIZE + length
        frames += 1
        if end > len(data):
            return frames == 1 and length <= MAX_BUFFER_BYTES
        pos = end
    return frames > 0


class CqlParser(ConnectionParser):
    protocol: ClassVar[Protocol] = Protocol.CQL
    table_name: ClassVar[str] = "cql_events"

    def __init__(self, role: Role, *, max_body_bytes: int = 512) -> None:
        super().__init__(role, max_body_bytes=max_body_bytes)
        self._streams = {True: ByteStream(), False: ByteStream()}
        self._skip = {True: 0, False: 0}  # bytes of an oversized frame still to drop
        self._pending: dict[int, deque[_Frame]] = {}
        self._pending_count = 0
        self._prepared: dict[bytes, tuple[str, list[str]]] = {}
        self._segmented = False  # v5 framing started: nothing more can be parsed

    def _looks_like_request(self, data: bytes) -> bool:
        return not (data[:1] and data[0] & _RESPONSE_BIT)

    # -- framing --------------------------------------------------------------------------------

    def _feed(self, is_request: bool, data: bytes, timestamp_ns: int, lost_bytes: int) -> None:
        if self._segmented:
            return
        stream = self._streams[is_request]
        if lost_bytes > 0:
            stream.clear()
            self._skip[is_request] = 0
            self.parse_errors += 1
            stream.append(data, timestamp_ns)
            self._resync(is_request, stream)
        else:
            skip = self._skip[is_request]
            if skip:
                dropped = min(skip, len(data))
                self._skip[is_request] = skip - dropped
                data = data[dropped:]
                if not data:
                    return
            stream.append(data, timestamp_ns)
        self._parse(is_request, stream)

    def _resync(self, is_request: bool, stream: ByteStream) -> None:
        """Drop bytes up to the first header followed by a whole frame and another header."""
        buf = stream.buf
        for start in range(max(0, len(buf) - HEADER_SIZE + 1)):
            if not _header_ok(buf, start, not is_request):
                continue
            end = start + HEADER_SIZE + int.from_bytes(buf[start + 5 : start + 9], "big")
            if end == len(buf) or _header_ok(buf, end, not is_request):
                stream.consume(start)
                return
        stream.clear()

    def _parse(self, is_request: bool, stream: ByteStream) -> None:
        buf = stream.buf
        while len(buf) >= HEADER_SIZE and not self._segmented:
            if not _header_ok(buf, 0, not is_request):
                self.parse_errors += 1
                stream.consume(1)
                self._resync(is_request, stream)
                continue
            length = int.from_bytes(buf[5:9], "big")
            stream_id = int.from_bytes(buf[2:4], "big", signed=True)
            if length > MAX_BUFFER_BYTES:
                # Too big to hold: drop it as it streams by and forget its exchange.
                self.parse_errors += 1
                if not is_request:
                    self._take_pending(stream_id)
                total = HEADER_SIZE + length
                if len(buf) >= total:
                    stream.consume(total)
                    continue
                self._skip[is_request] = total - len(buf)
                stream.clear()
                return
            if len(buf) < HEADER_SIZE + length:
                return
            frame = _Frame(
                buf[0] & 0x7F,
                buf[1],
                stream_id,
                buf[4],
                bytes(buf[HEADER_SIZE : HEADER_SIZE + length]),
                stream.ts_at(0) if is_request else stream.ts_at(HEADER_SIZE + length - 1),
            )
            stream.consume(HEADER_SIZE + length)
            if is_request:
                self._request(frame)
            else:
                self._response(frame)

    # -- pairing --------------------------------------------------------------------------------

    def _request(self, frame: _Frame) -> None:
        if self._pending_count >= MAX_PENDING_REQUESTS:
            self.dropped_requests += 1
            return
        self._pending.setdefault(frame.stream, deque()).append(frame)
        self._pending_count += 1

    def _take_pending(self, stream_id: int) -> _Frame | None:
        queue = self._pending.get(stream_id)
        if not queue:
            return None
        req = queue.popleft()
        self._pending_count -= 1
        if not queue:
            del self._pending[stream_id]
        return req

    def _response(self, frame: _Frame) -> None:
        if frame.opcode == EVENT and frame.stream == -1:
            body = self._decode(self._response_body, frame)
            if body is not None:
                # As Pixie: the REGISTER that asked for events stands in as the request.
                self._emit(CqlRecord(frame.ts, frame.ts, REGISTER, "-", EVENT, body))
            return
        req = self._take_pending(frame.stream)
        if req is None:
            self.unmatched_responses += 1
            return
        if (req.flags | frame.flags) & _COMPRESSED:
            self.parse_errors += 1  # the body needs the codec negotiated at STARTUP
            return
        req_body = self._decode(self._request_body, req)
        resp_body = self._decode(self._response_body, frame, req)
        if req_body is None or resp_body is None:
            return
        self._emit(CqlRecord(req.ts, frame.ts, req.opcode, req_body, frame.opcode, resp_body))
        if req.version == 5 and req.opcode == STARTUP and frame.opcode in (READY, AUTHENTICATE):
            # From here on v5 frames travel inside checksummed segments.
            self._segmented = True
            self.parse_errors += 1
            self._reset()

    def _decode(self, method: object, frame: _Frame, req: _Frame | None = None) -> str | None:
        try:
            if req is None:
                return method(frame)  # type: ignore[operator,no-any-return]
            return method(frame, req)  # type: ignore[operator,no-any-return]
        except (_Short, ValueError, KeyError):
            self.parse_errors += 1
            return None

    # -- bodies ---------------------------------------------------------------------------------

    @staticmethod
    def _body_reader(frame: _Frame, response: bool) -> _Reader:
        reader = _Reader(frame.body)
        if response and frame.flags & _TRACING:
            reader.take(16)  # tracing session id
        if response and frame.flags & _WARNING:
            reader.string_list()
        if frame.flags & _CUSTOM_PAYLOAD:
            for _ in range(reader.short()):
                reader.string()
                reader.value()
        return reader

    def _request_body(self, frame: _Frame) -> str:
        op = frame.opcode
        if op in (OPTIONS, AUTH_RESPONSE, CREDENTIALS):
            return ""
        r = self._body_reader(frame, response=False)
        if op == PREPARE:
            return r.long_string()
        if op == QUERY:  # the text, then the bound values (if any) on a line of their own
            query = r.long_string()
            values = self._query_values(r, frame.version)
            return f"{query}\n{json_compact(_hex_values(values))}" if values else query
        if op == STARTUP:
            return json_compact(r.string_map())
        if op == REGISTER:
            return json_compact(r.string_list())
        if op == EXECUTE:
            query_id = r.short_bytes()
            if frame.version >= 5:
                r.short_bytes()  # result metadata id
            out: dict[str, object] = {"query_id": query_id.hex()}
            known = self._prepared.get(query_id)
            if known is not None:
                out["query"] = known[0]
            out["values"] = _hex_values(self._query_values(r, frame.version))
            return json_compact(out)
        if op == BATCH:
            kind = r.byte()
            statements: list[dict[str, object]] = []
            for _ in range(r.short()):
                statement: dict[str, object]
                if r.byte() == 0:
                    statement = {"query": r.long_string()}
                else:
                    query_id = r.short_bytes()
                    statement = {"query_id": query_id.hex()}
                    if (known := self._prepared.get(query_id)) is not None:
                        statement["query"] = known[0]
                statement["values"] = _hex_values([r.value() for _ in range(r.short())])
                statements.append(statement)
            return json_compact({"type": _BATCH_TYPES.get(kind, str(kind)), "queries": statements})
        return ""

    @staticmethod
    def _query_values(r: _Reader, version: int) -> list[bytes | None]:
        r.short()  # consistency
        flags = r.uint() if version >= 5 else r.byte()
        if not flags & _VALUES_FLAG:
            return []
        return [r.value() for _ in range(r.short())]

    def _response_body(self, frame: _Frame, req: _Frame | None = None) -> str:
        op = frame.opcode
        r = self._body_reader(frame, response=True)
        if op == ERROR:
            code = r.int32()
            return f"[{code}] {r.string()}"
        if op == SUPPORTED:
            return json_compact(r.string_multimap())
        if op == AUTHENTICATE:
            return r.string()
        if op == EVENT:
            return self._event(r)
        if op == RESULT:
            return self._result(r, frame.version, req)
        return ""

    def _event(self, r: _Reader) -> str:
        kind = r.string()
        if kind in ("TOPOLOGY_CHANGE", "STATUS_CHANGE"):
            change = r.string()
            addr = r.take(r.byte())
            port = r.int32()
            if len(addr) == 16:
                host = f"[{ipaddress.IPv6Address(addr)}]"
            else:
                host = str(ipaddress.IPv4Address(addr))
            return f"{kind} {change} {host}:{port}"
        if kind == "SCHEMA_CHANGE":
            detail = self._schema_change(r)
            name = detail.get("name", "")
            return f"{kind} {detail['change']} keyspace={detail['keyspace']} name={name}"
        raise ValueError(f"event type {kind}")

    @staticmethod
    def _schema_change(r: _Reader) -> dict[str, object]:
        change, target = r.string(), r.string()
        out: dict[str, object] = {"change": change, "target": target, "keyspace": r.string()}
        if target in ("TABLE", "TYPE"):
            out["name"] = r.string()
        elif target in ("FUNCTION", "AGGREGATE"):
            out["name"] = r.string()
            out["arguments"] = r.string_list()
        return out

    def _result(self, r: _Reader, version: int, req: _Frame | None) -> str:
        kind = r.int32()
        name = _RESULT_KINDS.get(kind)
        if name is None:
            raise ValueError(f"result kind {kind}")
        head = f"Response type = {name}"
        if kind == 2:  # ROWS
            columns, count = self._rows_metadata(r, req)
            rows = r.int32()
            names = json_compact(columns) if columns is not None else "[]"
            return f"{head}\nNumber of columns = {count}\n{names}\nNumber of rows = {rows}"
        if kind == 3:
            return f"{head}\nKeyspace = {r.string()}"
        if kind == 4:  # PREPARED: remember the statement for EXECUTE and BATCH rows
            query_id = r.short_bytes()
            if version >= 5:
                r.short_bytes()
            self._prepared_metadata(r, version)
            columns, _ = self._rows_metadata(r, None)
            if req is not None and req.opcode == PREPARE:
                if len(self._prepared) >= _MAX_PREPARED:
                    self._prepared.pop(next(iter(self._prepared)))
                query = self._request_body(req)
                self._prepared[query_id] = (query, columns or [])
            return f"{head}\nQuery id = {query_id.hex()}"
        if kind == 5:
            return f"{head}\n{json_compact(self._schema_change(r))}"
        return head

    @staticmethod
    def _prepared_metadata(r: _Reader, version: int) -> None:
        flags = r.int32()
        count = r.int32()
        if version >= 4:
            for _ in range(r.int32()):
                r.short()
        if flags & _GLOBAL_SPEC:
            r.string()
            r.string()
        for _ in range(count):
            if not flags & _GLOBAL_SPEC:
                r.string()
                r.string()
            r.string()
            r.type_option()

    def _rows_metadata(self, r: _Reader, req: _Frame | None) -> tuple[list[str] | None, int]:
        flags = r.int32()
        count = r.int32()
        if flags & _HAS_MORE_PAGES:
            r.value()
        if flags & _NO_METADATA:
            # Skipped because the client has it from PREPARE: take the names from there.
            if req is not None and req.opcode == EXECUTE:
                known = self._prepared.get(self._body_reader(req, False).short_bytes())
                if known is not None and len(known[1]) == count:
                    return known[1], count
            return None, count
        if flags & _METADATA_ID:
            r.short_bytes()
        if flags & _GLOBAL_SPEC:
            r.string()
            r.string()
        names = []
        for _ in range(count):
            if not flags & _GLOBAL_SPEC:
                r.string()
                r.string()
            names.append(r.string())
            r.type_option()
        return names, count

    # -- housekeeping ---------------------------------------------------------------------------

    def _expire(self, cutoff_ns: int) -> None:
        for stream_id in list(self._pending):
            queue = self._pending[stream_id]
            while queue and queue[0].ts < cutoff_ns:
                queue.popleft()
                self._pending_count -= 1
                self.dropped_requests += 1
            if not queue:
                del self._pending[stream_id]

    def _on_close(self) -> None:
        self.dropped_requests += self._pending_count

    def _reset(self) -> None:
        for stream in self._streams.values():
            stream.clear()
        self._skip = {True: 0, False: 0}
        self._pending.clear()
        self._pending_count = 0
