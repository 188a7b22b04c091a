"""MySQL client/server protocol: packet framing, command/response pairing, Pixie's rendering.

The connection handshake (server greeting, handshake response, auth switch) is skipped: only
packets with sequence id 0 on the request side start commands, and response packets with no
command waiting are dropped. ``resp_status`` is Pixie's: 1 none (COM_QUIT, COM_STMT_CLOSE,
COM_STMT_SEND_LONG_DATA), 2 OK, 3 Err, 0 unknown. ``resp_body`` is the error message, or
``Resultset rows = N`` (``, Resultset rows = M`` appended for each further result set), or empty.
``req_body`` is the statement text; for COM_STMT_EXECUTE the prepared statement with each ``?``
replaced by its bound value (Pixie's rendering), or ``Execute stmt_id=N.`` when the prepare was
not seen.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass, field

from ._common import (
    MAX_PENDING_REQUESTS,
    ByteStream,
    ConnectionParser,
    Protocol,
    Record,
    Role,
    text,
    truncate,
)

__all__ = ["MysqlParser", "MysqlRecord"]

COM_QUIT, COM_INIT_DB, COM_QUERY, COM_FIELD_LIST = 0x01, 0x02, 0x03, 0x04
COM_STATISTICS, COM_PING, COM_CHANGE_USER = 0x09, 0x0E, 0x11
COM_STMT_PREPARE, COM_STMT_EXECUTE, COM_STMT_SEND_LONG_DATA = 0x16, 0x17, 0x18
COM_STMT_CLOSE, COM_STMT_RESET, COM_SET_OPTION, COM_STMT_FETCH = 0x19, 0x1A, 0x1B, 0x1C
COM_RESET_CONNECTION = 0x1F
_STRING_COMMANDS = frozenset({COM_INIT_DB, COM_QUERY, COM_FIELD_LIST, 0x05, 0x06, COM_STMT_PREPARE})
# COM_INIT_DB, COM_CREATE_DB, COM_DROP_DB carry a schema name: printable, no NUL (anything else
# is another protocol's bytes, e.g. a CQL frame header, not a command).
_SCHEMA_COMMANDS = frozenset({COM_INIT_DB, 0x05, 0x06})
_NO_RESPONSE = frozenset({COM_QUIT, COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA})
_KNOWN_COMMANDS = frozenset(range(0x00, 0x20))

STATUS_UNKNOWN, STATUS_NONE, STATUS_OK, STATUS_ERR = 0, 1, 2, 3
_SERVER_MORE_RESULTS_EXISTS = 0x0008
_MAX_PACKET = 0xFFFFFF
# A packet longer than this keeps only its first bytes (statements and messages are cut at
# max_body_bytes anyway); the rest is skipped as it streams by.
MAX_KEPT_PACKET_BYTES = 64 * 1024

_INT_TYPES = {0x01: 1, 0x02: 2, 0x0D: 2, 0x03: 4, 0x09: 4, 0x08: 8}  # tiny, short, year, long...
_STRING_TYPES = frozenset(
    {0x00, 0x0F, 0x10, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE, 0xFF}
)


class _Bad(Exception):
    pass


def _lenenc(buf: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(buf):
        raise _Bad
    first = buf[pos]
    if first < 0xFB:
        return first, pos + 1
    width = {0xFC: 2, 0xFD: 3, 0xFE: 8}.get(first)
    if width is None or pos + 1 + width > len(buf):
        raise _Bad
    return int.from_bytes(buf[pos + 1 : pos + 1 + width], "little"), pos + 1 + width


def _is_eof(packet: bytes) -> bool:
    """EOF, or the 0xFE-headed OK that replaces it under CLIENT_DEPRECATE_EOF."""
    if not packet or packet[0] != 0xFE:
        return False
    if len(packet) < 9:
        return True
    try:  # a text row whose first value is 0xFE-length-encoded would be longer than this
        length, pos = _lenenc(packet, 0)
    except _Bad:
        return True
    return pos + length > len(packet)


def _status_flags(packet: bytes) -> int:
    try:
        if packet[0] == 0xFE and len(packet) == 5:
            return int.from_bytes(packet[3:5], "little")
        _, pos = _lenenc(packet, 1)
        _, pos = _lenenc(packet, pos)
        return int.from_bytes(packet[pos : pos + 2], "little")
    except (_Bad, IndexError):
        return 0


def _error_message(packet: bytes) -> str:
    # 0xFF, error code (2), then '#' + SQL state (5) since 4.1, then the message.
    if packet[3:4] == b"#":
        return text(packet[9:])
    return text(packet[3:])


def _binary_param(kind: int, unsigned: bool, buf: bytes, pos: int) -> tuple[str, int]:
    width = _INT_TYPES.get(kind)
    if width is not None:
        if pos + width > len(buf):
            raise _Bad
        value = int.from_bytes(buf[pos : pos + width], "little", signed=not unsigned)
        return str(value), pos + width
    if kind == 0x04:
        if pos + 4 > len(buf):
            raise _Bad
        return repr(struct.unpack_from("<f", buf, pos)[0]), pos + 4
    if kind == 0x05:
        if pos + 8 > len(buf):
            raise _Bad
        return repr(struct.unpack_from("<d", buf, pos)[0]), pos + 8
    if kind in (0x07, 0x0A, 0x0C):  # timestamp, date, datetime
        size = buf[pos] if pos < len(buf) else -1
        part = buf[pos + 1 : pos + 1 + size]
        if size < 0 or len(part) != size:
            raise _Bad
        stamp = "0000-00-00"
        if size >= 4:
            year = int.from_bytes(part[:2], "little")
            stamp = f"{year:04d}-{part[2]:02d}-{part[3]:02d}"
            if size >= 7:
                stamp += f" {part[4]:02d}:{part[5]:02d}:{part[6]:02d}"
        return stamp, pos + 1 + size
    if kind == 0x0B:  # time
        size = buf[pos] if pos < len(buf) else -1
        if size < 0 or pos + 1 + size > len(buf):
            raise _Bad
        return "<time>", pos + 1 + size
    if kind in _STRING_TYPES:
        length, pos = _lenenc(buf, pos)
        if pos + length > len(buf):
            raise _Bad
        return text(buf[pos : pos + length]), pos + length
    raise _Bad


def _schema_name(packet: bytes) -> bool:
    name = packet[1:]
    return bool(name) and b"\0" not in name and text(name).isprintable()


@dataclass(slots=True)
class MysqlRecord(Record):
    request_timestamp_ns: int
    response_timestamp_ns: int
    req_cmd: int
    req_body: str
    resp_status: int
    resp_body: str
    max_body_bytes: int

    def to_row(self) -> dict[str, object]:
        return {
            "req_cmd": self.req_cmd,
            "req_body": truncate(self.req_body, self.max_body_bytes),
            "resp_status": self.resp_status,
            "resp_body": truncate(self.resp_body, self.max_body_bytes),
        }


MysqlRecord.table_name = "mysql_events"  # not in the dataclass: mypyc/mypyc#1122


# Response reading phases.
_FIRST, _COLUMNS, _ROWS, _PREP_DEFS, _AFTER_DEFS = range(5)


@dataclass(slots=True)
class _Pending:
    cmd: int
    ts: int
    body: str
    stmt_text: str = ""  # COM_STMT_PREPARE: the statement, stored on success
    phase: int = _FIRST
    columns_left: int = 0
    defs_left: list[int] = field(default_factory=list)  # COM_STMT_PREPARE: params, columns
    rows: int = 0
    body_out: str = ""
    last_ts: int = 0
    num_params: int = 0
    stmt_id: int = 0


@dataclass(slots=True)
class _Statement:
    text: str
    num_params: int
    types: list[tuple[int, bool]] = field(default_factory=list)


class MysqlParser(ConnectionParser):
    protocol = Protocol.MYSQL
    table_name = "mysql_events"

    def __init__(self, role: Role, *, max_body_bytes: int = 512) -> None:
        super().__init__(role, max_body_bytes=max_body_bytes)
        self._streams = (ByteStream(), ByteStream())
        self._skip = [0, 0]
        self._pending: deque[_Pending] = deque()
        self._statements: dict[int, _Statement] = {}
        self._req_resync = False
        self._resp_discard = False

    def _looks_like_request(self, data: bytes) -> bool:
        return len(data) >= 5 and data[3] == 0 and data[4] != 10 and data[4] in _KNOWN_COMMANDS

    # -- framing ------------------------------------------------------------------------

    def _feed(self, is_request: bool, data: bytes, timestamp_ns: int, lost_bytes: int) -> None:
        side = 0 if is_request else 1
        stream = self._streams[side]
        if lost_bytes > 0:
            self.parse_errors += 1
            if self._skip[side] >= lost_bytes:
                self._skip[side] -= lost_bytes
            else:
                stream.clear()
                self._skip[side] = 0
                if is_request:
                    self._req_resync = True
                else:
                    self._lose_responses()
        if not is_request and self._resp_discard:
            return
        if self._skip[side]:
            cut = min(self._skip[side], len(data))
            self._skip[side] -= cut
            data = data[cut:]
        if not data:
            return
        stream.append(data, timestamp_ns)
        buf = stream.buf
        while True:
            if is_request and self._req_resync:
                pos = self._find_command(buf)
                if pos < 0:
                    stream.consume(max(0, len(buf) - 4))
                    return
                stream.consume(pos)
                self._req_resync = False
            if len(buf) < 4:
                return
            length = int.from_bytes(buf[:3], "little")
            seq = buf[3]
            total = 4 + length
            if length > MAX_KEPT_PACKET_BYTES:
                if len(buf) < 4 + MAX_KEPT_PACKET_BYTES:
                    return
                taken = min(len(buf), total)
                packet = bytes(buf[4 : 4 + MAX_KEPT_PACKET_BYTES])
                start, end = stream.ts_at(0), stream.ts_at(taken - 1)
                stream.consume(taken)
                self._skip[side] = total - taken
                self._dispatch(is_request, seq, packet, start, end)
                return
            if len(buf) < total:
                return
            packet = bytes(buf[4:total])
            start, end = stream.ts_at(0), stream.ts_at(total - 1)
            stream.consume(total)
            self._dispatch(is_request, seq, packet, start, end)
            if not is_request and self._resp_discard:
                stream.clear()
                return

    @staticmethod
    def _find_command(buf: bytearray) -> int:
        for pos in range(max(0, len(buf) - 4)):
            length = int.from_bytes(buf[pos : pos + 3], "little")
            if buf[pos + 3] == 0 and 1 <= length <= _MAX_PACKET and buf[pos + 4] in _KNOWN_COMMANDS:
                return pos
        return -1

    def _dispatch(self, is_request: bool, seq: int, packet: bytes, start: int, end: int) -> None:
        try:
            if is_request:
                self._on_request(seq, packet, start)
            else:
                self._on_response(packet, end)
        except _Bad:
            self.parse_errors += 1

    def _lose_responses(self) -> None:
        self._resp_discard = True
        self.dropped_requests += len(self._pending)
        self._pending.clear()

    # -- requests -------------------------------------------------------------------------

    def _on_request(self, seq: int, packet: bytes, ts: int) -> None:
        if seq != 0 or not packet:
            return  # handshake response, auth data: not a command
        if self._resp_discard:
            self._resp_discard = False
            self._streams[1].clear()
            self._skip[1] = 0
        # A new command ends any response still waiting for an optional trailing EOF.
        self._finish_open(ts)
        cmd = packet[0]
        if cmd not in _KNOWN_COMMANDS or (cmd in _SCHEMA_COMMANDS and not _schema_name(packet)):
            self.parse_errors += 1
            return
        if cmd in _STRING_COMMANDS:
            body = text(packet[1:])
        elif cmd == COM_STMT_EXECUTE:
            body = self._execute_text(packet)
        else:
            body = ""
        if cmd == COM_STMT_CLOSE and len(packet) >= 5:
            self._statements.pop(int.from_bytes(packet[1:5], "little"), None)
        if cmd in _NO_RESPONSE:
            self._emit(MysqlRecord(ts, ts, cmd, body, STATUS_NONE, "", self.max_body_bytes))
            return
        if cmd == COM_CHANGE_USER:
            return  # a new authentication exchange follows; treat it like the handshake
        if len(self._pending) >= MAX_PENDING_REQUESTS:
            self._pending.popleft()
            self.dropped_requests += 1
        self._pending.append(_Pending(cmd, ts, body, stmt_text=body))

    def _execute_text(self, packet: bytes) -> str:
        if len(packet) < 5:
            raise _Bad
        stmt_id = int.from_bytes(packet[1:5], "little")
        statement = self._statements.get(stmt_id)
        if statement is None:
            return f"Execute stmt_id={stmt_id}."
        pos = 1 + 4 + 1 + 4  # command, statement id, flags, iteration count
        count = statement.num_params
        if count == 0:
            return statement.text
        null_bitmap = packet[pos : pos + (count + 7) // 8]
        pos += (count + 7) // 8
        if pos >= len(packet):
            raise _Bad
        bound = packet[pos]
        pos += 1
        if bound == 1:
            types = []
            for _ in range(count):
                if pos + 2 > len(packet):
                    raise _Bad
                types.append((packet[pos], bool(packet[pos + 1] & 0x80)))
                pos += 2
            statement.types = types
        if len(statement.types) != count:
            return statement.text
        values: list[str] = []
        for i, (kind, unsigned) in enumerate(statement.types):
            if (i // 8 < len(null_bitmap) and null_bitmap[i // 8] & (1 << (i % 8))) or kind == 0x06:
                values.append("NULL")
                continue
            value, pos = _binary_param(kind, unsigned, packet, pos)
            values.append(value)
        pieces = statement.text.split("?")
        out = pieces[0]
        for i, piece in enumerate(pieces[1:]):
            out += (values[i] if i < len(values) else "?") + piece
        return out

    # -- responses ------------------------------------------------------------------------

    def _done(self, entry: _Pending, status: int, body: str, ts: int) -> None:
        self._pending.popleft()
        self._emit(
            MysqlRecord(entry.ts, ts, entry.cmd, entry.body, status, body, self.max_body_bytes)
        )

    def _finish_open(self, ts: int) -> None:
        """Close a response whose trailing optional EOF never came."""
        if self._pending and self._pending[0].phase == _AFTER_DEFS:
            entry = self._pending[0]
            self._done(entry, STATUS_OK, "", entry.last_ts)

    def _on_response(self, packet: bytes, ts: int) -> None:
        if not self._pending or not packet:
            if packet and packet[0] != 0x0A:  # 0x0A: the server greeting, expected
                self.unmatched_responses += 1
            return
        entry = self._pending[0]
        first = packet[0]
        phase = entry.phase
        if phase == _AFTER_DEFS:
            if _is_eof(packet):
                self._done(entry, STATUS_OK, "", ts)
                return
            self._done(entry, STATUS_OK, "", entry.last_ts)
            self._on_response(packet, ts)
            return
        if phase == _FIRST:
            if first == 0xFF:
                self._done(entry, STATUS_ERR, _error_message(packet), ts)
                return
            cmd = entry.cmd
            if cmd == COM_STMT_PREPARE and first == 0x00 and len(packet) >= 12:
                stmt_id = int.from_bytes(packet[1:5], "little")
                columns = int.from_bytes(packet[5:7], "little")
                params = int.from_bytes(packet[7:9], "little")
                self._statements[stmt_id] = _Statement(entry.stmt_text, params)
                entry.defs_left = [n for n in (params, columns) if n]
                entry.last_ts = ts
                if not entry.defs_left:
                    self._done(entry, STATUS_OK, "", ts)
                else:
                    entry.phase = _PREP_DEFS
                return
            if (first == 0x00 and len(packet) >= 7) or (first == 0xFE and _is_eof(packet)):
                if _status_flags(packet) & _SERVER_MORE_RESULTS_EXISTS:
                    return  # another result follows (multi-statement, CALL)
                self._done(entry, STATUS_OK, entry.body_out, ts)
                return
            if cmd in (COM_QUERY, COM_STMT_EXECUTE, COM_STMT_FETCH, COM_FIELD_LIST):
                if cmd in (COM_FIELD_LIST, COM_STMT_FETCH):
                    entry.phase = _ROWS
                    entry.rows += 1 if cmd == COM_STMT_FETCH else 0
                    return
                columns, end = _lenenc(packet, 0)
                if end != len(packet) or columns == 0:
                    self._done(entry, STATUS_UNKNOWN, "", ts)
                    return
                entry.columns_left = columns
                entry.phase = _COLUMNS
                return
            self._done(entry, STATUS_OK if cmd == COM_STATISTICS else STATUS_UNKNOWN, "", ts)
            return
        if phase == _PREP_DEFS:
            entry.last_ts = ts
            if _is_eof(packet):
                return  # EOF after a definitions block
            entry.defs_left[0] -= 1
            if entry.defs_left[0] <= 0:
                entry.defs_left.pop(0)
                if not entry.defs_left:
                    entry.phase = _AFTER_DEFS
            return
        if phase == _COLUMNS:
            if entry.columns_left > 0:
                entry.columns_left -= 1
                return
            if _is_eof(packet):
                entry.phase = _ROWS
                return
            entry.phase = _ROWS  # CLIENT_DEPRECATE_EOF: rows follow the definitions directly
        # _ROWS
        if first == 0xFF:
            self._done(entry, STATUS_ERR, _error_message(packet), ts)
            return
        if _is_eof(packet):
            if entry.cmd != COM_FIELD_LIST:
                prefix = ", " if entry.body_out else ""
                entry.body_out += f"{prefix}Resultset rows = {entry.rows}"
            if _status_flags(packet) & _SERVER_MORE_RESULTS_EXISTS:
                entry.phase = _FIRST
                entry.rows = 0
                return
            self._done(entry, STATUS_OK, entry.body_out, ts)
            return
        entry.rows += 1

    # -- housekeeping ---------------------------------------------------------------------

    def _expire(self, cutoff_ns: int) -> None:
        head = self._pending[0] if self._pending else None
        if head is not None and head.phase == _AFTER_DEFS and head.last_ts < cutoff_ns:
            self._finish_open(cutoff_ns)
        while self._pending and self._pending[0].ts < cutoff_ns:
            self._pending.popleft()
            self.dropped_requests += 1
        for side, stream in enumerate(self._streams):
            if stream.buf and stream.ts_at(0) < cutoff_ns:
                stream.clear()
                self._skip[side] = 0

    def _on_close(self) -> None:
        self._finish_open(0)
        self.dropped_requests += len(self._pending)

    def _reset(self) -> None:
        for stream in self._streams:
            stream.clear()
        self._skip = [0, 0]
        self._pending.clear()
