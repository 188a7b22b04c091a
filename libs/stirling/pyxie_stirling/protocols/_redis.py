"""Redis RESP2/RESP3: message framing, in-order pairing, Pixie's command/argument rendering.

Rendering follows Pixie: ``req_cmd`` is the command (two-word commands such as ``CONFIG GET``
first), ``req_args`` a JSON object keyed by the documented argument names when the syntax allows,
else a JSON array; ``resp`` is the payload (simple strings, errors and integers raw, bulk strings
raw or ``<NULL>``, arrays as JSON arrays, null arrays ``[NULL]``). Published pub/sub messages
become records of their own with ``req_cmd`` ``PUSH PUB``. ``REPLCONF ACK`` has no reply and is
recorded at once. RESP3 types are accepted (maps flatten to arrays, pushes count as published
messages, attributes are skipped).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from mypy_extensions import mypyc_attr

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
from ._redis_commands import COMMANDS

__all__ = ["RedisParser", "RedisRecord"]

_MAX_SIZE_DIGITS = 16  # longer size strings mean the bytes are not RESP
_MAX_BULK = 512 * 1024 * 1024  # Redis' own limit on a bulk string
_MAX_DEPTH = 32  # nesting deeper than this is not a real reply
_NULL_BULK = "<NULL>"
_NULL_ARRAY = "[NULL]"
_PUSH_PUB = "PUSH PUB"
_REPLCONF_ACK = "REPLCONF ACK"
_RETRY = object()


@dataclass(slots=True)
class RedisRecord(Record):
    request_timestamp_ns: int
    response_timestamp_ns: int
    req_cmd: str
    req_args: str
    resp: str

    def to_row(self) -> dict[str, object]:
        return {
            "req_cmd": truncate(self.req_cmd, DEFAULT_STRING_LIMIT),
            "req_args": truncate(self.req_args, DEFAULT_STRING_LIMIT),
            "resp": truncate(self.resp, DEFAULT_STRING_LIMIT),
        }


RedisRecord.table_name = "redis_events"  # not in the dataclass: mypyc/mypyc#1122


class _NeedMore(Exception):
    def __init__(self, needed: int) -> None:
        self.needed = needed


class _Invalid(Exception):
    pass


@mypyc_attr(native_class=False)  # mypyc compiles no subclass of a builtin type
class _Array(list[object]):
    """A parsed array; ``push`` marks RESP3 out-of-band pushes."""

    push = False


_Value = str | _Array


def _line(buf: bytes, pos: int) -> tuple[bytes, int]:
    end = buf.find(b"\r\n", pos)
    if end < 0:
        if len(buf) - pos > MAX_BUFFER_BYTES:
            raise _Invalid
        raise _NeedMore(len(buf) + 1)
    return buf[pos:end], end + 2


def _size(buf: bytes, pos: int) -> tuple[int, int]:
    raw, pos = _line(buf, pos)
    if not raw or len(raw) > _MAX_SIZE_DIGITS:
        raise _Invalid
    body = raw[1:] if raw[:1] == b"-" else raw
    if not body.isdigit():
        raise _Invalid
    size = int(raw)
    if size < -1:
        raise _Invalid
    return size, pos


def _parse(buf: bytes, pos: int, depth: int) -> tuple[_Value, int]:
    if pos >= len(buf):
        raise _NeedMore(pos + 1)
    if depth > _MAX_DEPTH:
        raise _Invalid
    marker = buf[pos]
    pos += 1
    if marker in b"+-:,#(":  # one-line values: simple string, error, integer, double, bool, big
        raw, pos = _line(buf, pos)
        return text(raw), pos
    if marker in b"$=!":  # bulk string, verbatim string, bulk error
        size, pos = _size(buf, pos)
        if size == -1:
            return _NULL_BULK, pos
        if size > _MAX_BULK:
            raise _Invalid
        end = pos + size
        if len(buf) < end + 2:
            raise _NeedMore(end + 2)
        if buf[end : end + 2] != b"\r\n":
            raise _Invalid
        payload = buf[pos:end]
        if marker == 0x3D and payload[3:4] == b":":  # '=': drop the "txt:" format prefix
            payload = payload[4:]
        return text(payload), end + 2
    if marker == 0x5F:  # '_' RESP3 null
        raw, pos = _line(buf, pos)
        if raw:
            raise _Invalid
        return _NULL_BULK, pos
    if marker in b"*~>%|":  # array, set, push, map, attribute
        size, pos = _size(buf, pos)
        if size == -1:
            return _NULL_ARRAY, pos
        count = size * 2 if marker in b"%|" else size
        if count > len(buf):  # every element takes at least 3 bytes; cheap sanity bound
            if count > MAX_BUFFER_BYTES:
                raise _Invalid
            raise _NeedMore(pos + 3 * count)
        items = _Array()
        for _ in range(count):
            item, pos = _parse(buf, pos, depth + 1)
            items.append(item)
        if marker == 0x7C:  # '|' attributes precede the real value: skip them
            return _parse(buf, pos, depth + 1)
        items.push = marker == 0x3E
        return items, pos
    raise _Invalid


def _payloads(items: _Array) -> list[str]:
    out: list[str] = []
    for item in items:
        if isinstance(item, _Array):
            out.append(_format_array(item)[1])
        else:
            out.append(str(item))
    return out


def _obj(pairs: list[tuple[str, object]]) -> str:
    return "{" + ",".join(f"{json_compact(k)}:{json_compact(v)}" for k, v in pairs) + "}"


def _is_lower_alnum(name: str) -> bool:
    return all(c.islower() or c.isdigit() for c in name)


_Desc = tuple[str, str, list[str]]  # (format, name, sub-fields)


def _parse_descs(descs: tuple[str, ...]) -> list[_Desc] | None:
    out: list[_Desc] = []
    for desc in descs:
        if _is_lower_alnum(desc):
            out.append(("fixed", desc, []))
            continue
        sep = desc.find(" [")
        if desc.endswith(" ...]") and sep >= 0:
            name = desc[:sep]
            fields = name.split()
            if all(_is_lower_alnum(f) for f in fields):
                out.append(("list", name, fields))
                continue
        if desc.startswith("[") and desc.endswith("]") and _is_lower_alnum(desc[1:-1]):
            out.append(("opt", desc[1:-1], []))
            continue
        return None
    return out


_DESCS: dict[str, list[_Desc] | None] = {
    name: (_parse_descs(descs) if descs else None) for name, descs in COMMANDS.items()
}


def _format_set(args: list[str]) -> str | None:
    if len(args) < 2:
        return None
    opts: list[str] = []
    i = 2
    while i < len(args):
        if args[i].upper() in ("EX", "PX", "EXAT", "PXAT"):
            if i + 1 >= len(args):
                return None
            opts.append(f"{args[i]} {args[i + 1]}")
            i += 2
        else:
            opts.append(args[i])
            i += 1
    return _obj([("key", args[0]), ("value", args[1]), ("options", opts)])


def _format_evalsha(args: list[str]) -> str | None:
    if len(args) < 4 or len(args) % 2:
        return None
    rest = args[2:]
    half = len(rest) // 2
    return _obj(
        [("sha1", args[0]), ("numkeys", args[1]), ("key", rest[:half]), ("value", rest[half:])]
    )


def _format_sscan(args: list[str]) -> str | None:
    if len(args) < 2:
        return None
    pairs: list[tuple[str, object]] = [("key", args[0]), ("cursor", args[1])]
    i = 2
    while i < len(args):
        if i + 1 >= len(args):
            return None
        token = args[i].upper()
        if token == "MATCH":
            pairs.append(("pattern", args[i + 1]))
        elif token == "COUNT":
            pairs.append(("count", args[i + 1]))
        else:
            return None
        i += 2
    return _obj(pairs)


_SPECIAL = {"SET": _format_set, "EVALSHA": _format_evalsha, "SSCAN": _format_sscan}


def _format_args(command: str, args: list[str]) -> str:
    special = _SPECIAL.get(command)
    if special is not None:
        formatted = special(args)
        if formatted is not None:
            return formatted
    descs = _DESCS.get(command)
    if descs is None:
        return json_compact(args)
    pairs: list[tuple[str, object]] = []
    rest = list(args)
    for kind, name, fields in descs:
        if kind == "fixed":
            if not rest:
                return json_compact(args)
            pairs.append((name, rest.pop(0)))
        elif kind == "opt":
            if rest:
                pairs.append((name, rest.pop(0)))
        else:
            if not rest:
                return json_compact(args)
            if len(fields) == 1:
                pairs.append((name, rest))
            elif len(rest) % len(fields) == 0:
                pairs.append((name, [{fields[i % len(fields)]: v} for i, v in enumerate(rest)]))
            else:
                return json_compact(args)
            rest = []
    return _obj(pairs)


def _format_array(items: _Array) -> tuple[str, str]:
    """(command, payload) of an array message, as Pixie's FormatArrayMessage."""
    payloads = _payloads(items)
    if len(payloads) >= 2:
        two = f"{payloads[0]} {payloads[1]}".upper()
        if two in COMMANDS:
            return two, _format_args(two, payloads[2:])
    if payloads:
        one = payloads[0].upper()
        if one in COMMANDS:
            return one, _format_args(one, payloads[1:])
    return "", json_compact(payloads)


def _find_request_start(buf: bytearray, start: int) -> int:
    """Next offset that looks like ``*<n>\\r\\n$``, or -1."""
    pos = buf.find(b"*", start)
    while pos >= 0:
        eol = buf.find(b"\r\n", pos, pos + 2 + _MAX_SIZE_DIGITS)
        if (
            eol > pos + 1
            and bytes(buf[pos + 1 : eol]).isdigit()
            and bytes(buf[eol + 2 : eol + 3]) in (b"$", b"")
        ):
            return pos
        pos = buf.find(b"*", pos + 1)
    return -1


@dataclass(slots=True)
class _Pending:
    ts: int
    command: str
    args: str


class RedisParser(ConnectionParser):
    protocol = Protocol.REDIS
    table_name = "redis_events"

    def __init__(self, role: Role, *, max_body_bytes: int = 512) -> None:
        super().__init__(role, max_body_bytes=max_body_bytes)
        self._req = ByteStream()
        self._resp = ByteStream()
        self._need = [0, 0]  # bytes needed before reparsing [request, response]
        self._req_resync = False
        self._resp_discard = False  # after a response gap: drop replies until the next request
        self._pending: deque[_Pending] = deque()

    def _looks_like_request(self, data: bytes) -> bool:
        return data[:1] == b"*"

    def _feed(self, is_request: bool, data: bytes, timestamp_ns: int, lost_bytes: int) -> None:
        stream = self._req if is_request else self._resp
        if lost_bytes > 0:
            self.parse_errors += 1
            stream.clear()
            self._need[not is_request] = 0
            if is_request:
                self._req_resync = True
            else:
                self._resp_discard = True
                self.dropped_requests += len(self._pending)
                self._pending.clear()
        if not is_request and self._resp_discard:
            return
        stream.append(data, timestamp_ns)
        if len(stream) < self._need[not is_request]:
            return
        if is_request:
            self._parse_requests()
        else:
            self._parse_responses()

    def _parse_requests(self) -> None:
        stream = self._req
        while stream.buf:
            if self._req_resync:
                pos = _find_request_start(stream.buf, 0)
                if pos < 0:
                    stream.consume(max(0, len(stream) - _MAX_SIZE_DIGITS - 3))
                    return
                stream.consume(pos)
                self._req_resync = False
            parsed = self._next(stream, 0)
            if parsed is None:
                return
            if not isinstance(parsed, tuple):
                continue
            value, end = parsed
            ts = stream.ts_at(0)
            stream.consume(end)
            if not isinstance(value, _Array):
                self.parse_errors += 1  # requests are arrays of bulk strings
                continue
            command, args = _format_array(value)
            if self._resp_discard:
                self._resp_discard = False
                self._resp.clear()
            if command == _REPLCONF_ACK:
                self._emit(RedisRecord(ts, ts, command, args, ""))
                continue
            if len(self._pending) >= MAX_PENDING_REQUESTS:
                self._pending.popleft()
                self.dropped_requests += 1
            self._pending.append(_Pending(ts, command, args))

    def _parse_responses(self) -> None:
        stream = self._resp
        while stream.buf:
            parsed = self._next(stream, 1)
            if not isinstance(parsed, tuple):
                return
            value, end = parsed
            ts = stream.ts_at(end - 1)
            stream.consume(end)
            if isinstance(value, _Array):
                payload = _format_array(value)[1]
                first = value[0] if value else ""
                if value.push or (
                    len(value) >= 3 and isinstance(first, str) and first.upper() == "MESSAGE"
                ):
                    self._emit(RedisRecord(ts, ts, _PUSH_PUB, "", payload))
                    continue
            else:
                payload = value
            if not self._pending:
                self.unmatched_responses += 1
                continue
            request = self._pending.popleft()
            self._emit(RedisRecord(request.ts, ts, request.command, request.args, payload))

    def _next(self, stream: ByteStream, side: int) -> tuple[_Value, int] | object | None:
        """The next message, None when more bytes are needed, _RETRY after skipping garbage."""
        buf = bytes(stream.buf)
        try:
            value, end = _parse(buf, 0, 0)
        except _NeedMore as more:
            if len(buf) > MAX_BUFFER_BYTES:
                self._garbage(stream, side)
                return _RETRY
            self._need[side] = more.needed
            return None
        except _Invalid:
            self._garbage(stream, side)
            return _RETRY
        self._need[side] = 0
        return value, end

    def _garbage(self, stream: ByteStream, side: int) -> None:
        self.parse_errors += 1
        self._need[side] = 0
        if side == 0:
            stream.consume(1)  # never re-match at the same place
            self._req_resync = True
        else:
            stream.clear()
            self._resp_discard = True
            self.dropped_requests += len(self._pending)
            self._pending.clear()

    def _expire(self, cutoff_ns: int) -> None:
        while self._pending and self._pending[0].ts < cutoff_ns:
            self._pending.popleft()
            self.dropped_requests += 1
        for side, stream in enumerate((self._req, self._resp)):
            if stream.buf and stream.ts_at(0) < cutoff_ns:
                stream.clear()
                self._need[side] = 0

    def _on_close(self) -> None:
        self.dropped_requests += len(self._pending)

    def _reset(self) -> None:
        self._req.clear()
        self._resp.clear()
        self._need = [0, 0]
        self._pending.clear()
