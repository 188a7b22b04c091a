"""Connection tracking in user space: events in, table rows out. Pure logic, no bcc, no root.

The kernel sends open/close control events and data events (the first MAX_DATA_SIZE bytes of each
call with the call's size and its offset in the direction's stream). Per connection this module
keeps the two byte streams in order, tells the parser about bytes that were lost (ring buffer
full) or not captured (calls larger than MAX_DATA_SIZE), infers the protocol from the first
bytes, and turns the parser's records into rows with Pixie's COMMON8 columns. It also keeps the
cumulative conn_stats counters.

TLS: once plaintext from the libssl probes arrives on a connection, the syscall bytes of that
connection (handshake, ciphertext) are ignored and parsing restarts on the plaintext streams.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._events import (
    ControlRecord,
    DataRecord,
    EventKind,
    decode_control,
    decode_data,
    event_kind,
)
from ._protocol_bridge import PROTOCOL_TLS, ParserLike, ProtocolLayer, UnsupportedProtocol

__all__ = ["ConnStats", "ConnTracker", "Connection", "Row", "format_addr"]

# A finished row: by column name, or every column in the table's order.
Row = dict[str, object] | tuple[object, ...]

_log = logging.getLogger(__name__)
_KIND_DATA = int(EventKind.DATA)
_AF_INET = 2
_AF_INET6 = 10
_ROLE_UNKNOWN = 4
_PROTOCOL_UNKNOWN = 0

# Chunks per direction tried for protocol inference before the connection is left unparsed.
# Request and response are usually each one chunk; a few more cover clients that send a
# preamble (TLS handshakes before plaintext restarts inference, so they do not count).
_MAX_INFERENCE_ATTEMPTS = 4


def format_addr(family: int, raw: bytes) -> str:
    """Printable address; IPv4-mapped IPv6 (dual-stack sockets) prints as plain IPv4."""
    if family == _AF_INET:
        return str(ipaddress.IPv4Address(raw[:4]))
    if family == _AF_INET6:
        address = ipaddress.IPv6Address(raw[:16])
        mapped = address.ipv4_mapped
        return str(mapped) if mapped is not None else str(address)
    return ""


@dataclass(slots=True)
class Connection:
    tgid: int
    fd: int
    generation: int
    role: int
    family: int
    remote_addr: str
    remote_port: int
    local_addr: str
    local_port: int
    upid: bytes
    last_activity_ns: int
    ssl: bool = False
    protocol: int = _PROTOCOL_UNKNOWN
    parser: ParserLike | None = None
    inference_attempts: int = 0
    next_position: list[int] = field(default_factory=lambda: [0, 0])
    bytes_sent: int = 0
    bytes_recv: int = 0
    reported_errors: int = 0  # the parser's parse_errors already added to protocol_errors
    muted: bool = False  # the kernel was asked to stop sending this connection's data
    # A 4-byte chunk that inferred nothing, kept per direction: servers (Kafka's, MySQL's) read a
    # message's size first and then its body; inference then looks at both together.
    size_prefix: dict[int, tuple[bytes, int]] = field(default_factory=dict)  # (bytes, time)

    def stats_key(self) -> tuple[bytes, str, int, int]:
        return (self.upid, self.remote_addr, self.remote_port, self.role)


@dataclass(slots=True)
class ConnStats:
    """Cumulative counters of one (upid, remote endpoint, role), as in Pixie's conn_stats."""

    addr_family: int
    protocol: int = _PROTOCOL_UNKNOWN
    ssl: bool = False
    conn_open: int = 0
    conn_close: int = 0
    bytes_sent: int = 0
    bytes_recv: int = 0
    changed: bool = True

    @property
    def conn_active(self) -> int:
        return self.conn_open - self.conn_close


class ConnTracker:
    """Consumes raw ring-buffer records; produces socket-tracer rows and conn_stats rows."""

    def __init__(
        self,
        protocols: ProtocolLayer | None,
        *,
        upid_of: Callable[[int], bytes],
        to_wall_ns: Callable[[int], int],
        max_body_bytes: int = 512,
        accepts_tgid: Callable[[int], bool] | None = None,
        on_excluded_tgid: Callable[[int], None] | None = None,
        on_uninteresting: Callable[[int, int, int], None] | None = None,
        row_columns: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self._protocols = protocols
        # Table name -> its column names. Records whose class has the same COLUMNS and a
        # row_values() method (the native HTTP/1 parser's) are emitted as whole rows in that
        # order (tuples) rather than as dicts: no dict per row, no lookup per column.
        self._row_columns = {name: tuple(columns) for name, columns in (row_columns or {}).items()}
        self._upid_of = upid_of
        self._to_wall = to_wall_ns
        self._max_body_bytes = max_body_bytes
        self._accepts_tgid = accepts_tgid
        self._on_excluded = on_excluded_tgid
        # (tgid, fd, generation) of a connection no parser will ever read: the kernel side
        # stops copying its data (it still counts the bytes; the close event brings them).
        self._on_uninteresting = on_uninteresting
        self.muted_conns = 0
        self._tgid_verdicts: dict[int, bool] = {}
        self.connections: dict[tuple[int, int], Connection] = {}
        self.stats: dict[tuple[bytes, str, int, int], ConnStats] = {}
        self._dirty: set[tuple[int, int]] = set()
        self._closed_parsers: list[tuple[Connection, ParserLike]] = []
        # Counters for the collector's own health.
        self.events = 0
        self.lost_bytes = 0
        self.parse_failures = 0
        # Parse errors per protocol not yet reported: protocol -> (count, last error note).
        self.protocol_errors: dict[int, tuple[int, str]] = {}

    # -- events ---------------------------------------------------------------------------------

    def handle_raw(self, raw: bytes) -> None:
        kind = event_kind(raw)
        if kind == EventKind.DATA:
            self.handle_data(decode_data(raw))
        elif kind in (EventKind.OPEN, EventKind.CLOSE):
            control = decode_control(raw)
            if control.kind is EventKind.OPEN:
                self.handle_open(control)
            else:
                self.handle_close(control)
        self.events += 1

    def handle_batch(self, batch: list[bytes]) -> None:
        """`handle_raw` for every record of a drained batch; a record that fails is counted in
        ``parse_failures`` and skipped, the others go on."""
        handle_data = self.handle_data
        for raw in batch:
            try:
                if raw[0] == _KIND_DATA:
                    handle_data(decode_data(raw))
                    self.events += 1
                else:
                    self.handle_raw(raw)
            except Exception:  # one malformed event must not stop the others
                self.parse_failures += 1
                _log.debug("socket tracer event failed", exc_info=True)

    def _accepts(self, tgid: int) -> bool:
        if self._accepts_tgid is None:
            return True
        verdict = self._tgid_verdicts.get(tgid)
        if verdict is None:
            verdict = self._accepts_tgid(tgid)
            if len(self._tgid_verdicts) > 65536:
                self._tgid_verdicts.clear()
            self._tgid_verdicts[tgid] = verdict
            if not verdict and self._on_excluded is not None:
                self._on_excluded(tgid)
        return verdict

    def handle_open(self, ev: ControlRecord) -> None:
        if not self._accepts(ev.tgid):
            return
        key = (ev.tgid, ev.fd)
        previous = self.connections.get(key)
        if previous is not None:
            # The fd was reused without a close we saw (e.g. dup2): the old connection is over.
            self._finish(previous, counted_close=True)
        conn = Connection(
            tgid=ev.tgid,
            fd=ev.fd,
            generation=ev.generation,
            role=ev.role,
            family=ev.family,
            remote_addr=format_addr(ev.family, ev.remote_addr),
            remote_port=ev.remote_port,
            local_addr=format_addr(ev.family, ev.local_addr) if any(ev.local_addr) else "",
            local_port=ev.local_port,
            upid=self._upid_of(ev.tgid),
            last_activity_ns=ev.timestamp_ns,
        )
        self.connections[key] = conn
        entry = self._stats_entry(conn)
        entry.conn_open += 1
        entry.changed = True

    def handle_close(self, ev: ControlRecord) -> None:
        key = (ev.tgid, ev.fd)
        conn = self.connections.get(key)
        if conn is None or conn.generation != ev.generation:
            return
        if conn.muted:
            # Bytes moved after muting reached no data event: the kernel's totals bring them.
            entry = self._stats_entry(conn)
            entry.bytes_sent += max(0, ev.bytes_sent - conn.bytes_sent)
            entry.bytes_recv += max(0, ev.bytes_recv - conn.bytes_recv)
            conn.bytes_sent = max(conn.bytes_sent, ev.bytes_sent)
            conn.bytes_recv = max(conn.bytes_recv, ev.bytes_recv)
        self._finish(conn, counted_close=True)

    def handle_data(self, ev: DataRecord) -> None:
        key = (ev.tgid, ev.fd)
        conn = self.connections.get(key)
        if conn is None or conn.generation != ev.generation:
            conn = self._adopt(ev)
            if conn is None:
                return
        conn.last_activity_ns = ev.timestamp_ns
        if ev.local_port and not conn.local_port:
            conn.local_port = ev.local_port  # clients learn it once the handshake completed
        direction = ev.direction & 1
        if ev.encrypted and not conn.ssl:
            self._switch_to_tls(conn)
        elif conn.ssl and not ev.encrypted:
            return  # handshake/ciphertext of a TLS connection: plaintext comes from the uprobes
        entry = self._stats_entry(conn)
        if direction == 0:
            conn.bytes_sent += ev.msg_size
            entry.bytes_sent += ev.msg_size
        else:
            conn.bytes_recv += ev.msg_size
            entry.bytes_recv += ev.msg_size
        entry.changed = True

        expected = conn.next_position[direction]
        if ev.position < expected:
            return  # already seen (cannot happen with one ring buffer, but cheap to guard)
        lost = ev.position - expected
        conn.next_position[direction] = ev.position + ev.msg_size
        self.lost_bytes += lost

        parser = conn.parser
        if parser is None:
            parser = self._infer(conn, ev, lost)
            if parser is None:
                return
            lost = 0  # the stream starts here for the new parser
        protocols = self._protocols
        assert protocols is not None  # a parser exists only when a protocol layer does
        wall_ns = self._to_wall(ev.timestamp_ns)
        dir_value = protocols.directions[direction]
        parser.feed(dir_value, ev.data, wall_ns, lost_bytes=lost)
        truncated = ev.msg_size - len(ev.data)
        if truncated > 0:
            parser.feed(dir_value, b"", wall_ns, lost_bytes=truncated)
        self._dirty.add(key)

    # -- helpers --------------------------------------------------------------------------------

    def _adopt(self, ev: DataRecord) -> Connection | None:
        """Data on a connection whose open event we missed (ring full or opened before start)."""
        if not self._accepts(ev.tgid):
            return None
        conn = Connection(
            tgid=ev.tgid,
            fd=ev.fd,
            generation=ev.generation,
            role=ev.role or _ROLE_UNKNOWN,
            family=0,
            remote_addr="",
            remote_port=0,
            local_addr="",
            local_port=ev.local_port,
            upid=self._upid_of(ev.tgid),
            last_activity_ns=ev.timestamp_ns,
            next_position=[0, 0],
        )
        conn.next_position[ev.direction & 1] = ev.position
        self.connections[(ev.tgid, ev.fd)] = conn
        return conn

    def _switch_to_tls(self, conn: Connection) -> None:
        if conn.parser is not None:
            conn.parser.close()
        conn.parser = None
        conn.ssl = True
        conn.protocol = PROTOCOL_TLS
        conn.inference_attempts = 0
        conn.next_position = [0, 0]
        entry = self._stats_entry(conn)
        entry.ssl = True
        entry.changed = True

    def _infer(self, conn: Connection, ev: DataRecord, lost: int) -> ParserLike | None:
        protocols = self._protocols
        if protocols is None or conn.inference_attempts >= _MAX_INFERENCE_ATTEMPTS:
            return None
        direction = ev.direction & 1
        prefix, prefix_ns = conn.size_prefix.pop(direction, (b"", 0))
        if lost or not ev.data:
            return None  # never infer from the middle of a stream
        if len(ev.data) == 4 == ev.msg_size and not prefix:
            # A size read alone: wait for its message.
            conn.size_prefix[direction] = (ev.data, ev.timestamp_ns)
            return None
        conn.inference_attempts += 1
        data = prefix + ev.data
        protocol: int | None = None
        try:
            protocol = protocols.infer(data, direction, conn.role, conn.remote_port)
            if protocol is None and prefix:
                data, prefix = ev.data, b""
                protocol = protocols.infer(data, direction, conn.role, conn.remote_port)
            if protocol is None:
                if conn.inference_attempts >= _MAX_INFERENCE_ATTEMPTS:
                    self._mute(conn)
                return None
            if conn.role not in (1, 2):
                conn.role = protocols.infer_role(protocol, data, direction)
            parser = protocols.new_parser(protocol, conn.role, self._max_body_bytes)
            if prefix:
                # The size chunk starts the stream: the parser gets it before this chunk.
                parser.feed(protocols.directions[direction], prefix, self._to_wall(prefix_ns))
        except UnsupportedProtocol:
            # e.g. TLS records seen on the socket: count it; plaintext may come from the uprobes
            # (their path is never muted), the ciphertext is of no use.
            conn.inference_attempts = _MAX_INFERENCE_ATTEMPTS
            if not conn.ssl and protocol is not None:
                conn.protocol = protocol
                self._stats_entry(conn).protocol = protocol
            self._mute(conn)
            return None
        except Exception:
            self.parse_failures += 1
            conn.inference_attempts = _MAX_INFERENCE_ATTEMPTS
            self._mute(conn)
            return None
        conn.parser = parser
        if not conn.ssl:
            conn.protocol = protocol
        entry = self._stats_entry(conn)
        entry.protocol = protocol
        entry.changed = True
        return parser

    def _mute(self, conn: Connection) -> None:
        """Ask the kernel to stop sending this connection's data (plaintext from the TLS probes
        still comes: only the syscall path is muted)."""
        if conn.muted or self._on_uninteresting is None:
            return
        conn.muted = True
        self.muted_conns += 1
        try:
            self._on_uninteresting(conn.tgid, conn.fd, conn.generation)
        except Exception:  # the map may be full or gone: the data just keeps coming
            _log.debug("muting connection %s/%s failed", conn.tgid, conn.fd, exc_info=True)

    def _stats_entry(self, conn: Connection) -> ConnStats:
        key = conn.stats_key()
        entry = self.stats.get(key)
        if entry is None:
            entry = ConnStats(addr_family=conn.family, ssl=conn.ssl, protocol=conn.protocol)
            self.stats[key] = entry
        return entry

    def _finish(self, conn: Connection, *, counted_close: bool) -> None:
        key = (conn.tgid, conn.fd)
        if self.connections.get(key) is conn:
            del self.connections[key]
        if conn.parser is not None:
            conn.parser.close()
            self._closed_parsers.append((conn, conn.parser))
        if counted_close:
            entry = self._stats_entry(conn)
            entry.conn_close += 1
            entry.changed = True

    # -- output ---------------------------------------------------------------------------------

    def take_protocol_errors(self) -> dict[int, tuple[int, str]]:
        """Parse errors per protocol since the last call: protocol -> (count, last note)."""
        out, self.protocol_errors = self.protocol_errors, {}
        return out

    def collect_records(self, now_wall_ns: int, *, flush: bool = False) -> list[tuple[str, Row]]:
        """Rows finished since the last call: (table name, full row incl. COMMON8), the row a
        dict by column name, or a tuple in the table's column order (see ``row_columns``).

        ``flush`` also lets every parser expire requests that waited too long for a response.
        """
        out: list[tuple[str, Row]] = []
        closed, self._closed_parsers = self._closed_parsers, []
        for conn, parser in closed:
            self._rows_of(conn, parser, out)
        keys = self.connections.keys() if flush else self._dirty
        for key in list(keys):
            conn_or_none = self.connections.get(key)
            if conn_or_none is None or conn_or_none.parser is None:
                continue
            if flush:
                conn_or_none.parser.flush(now_wall_ns)
            self._rows_of(conn_or_none, conn_or_none.parser, out)
        self._dirty.clear()
        return out

    def _rows_of(self, conn: Connection, parser: ParserLike, out: list[tuple[str, Row]]) -> None:
        # Once per connection and sampling period, not per event.
        errors = getattr(parser, "parse_errors", 0)
        if errors > conn.reported_errors:
            count, _ = self.protocol_errors.get(conn.protocol, (0, ""))
            note = getattr(parser, "error_note", "") or "malformed or unparseable traffic"
            self.protocol_errors[conn.protocol] = (count + errors - conn.reported_errors, note)
            conn.reported_errors = errors
        records = parser.records()
        if not records:
            return
        first = records[0]
        if (
            self._row_columns
            and self._row_columns.get(first.table_name) == getattr(first, "COLUMNS", None)
            and hasattr(first, "row_values")
        ):
            self._row_tuples(conn, records, out)
            return
        common: dict[str, object] = {
            "upid": conn.upid,
            "remote_addr": conn.remote_addr,
            "remote_port": conn.remote_port,
            "local_addr": conn.local_addr,
            "local_port": conn.local_port,
            "trace_role": conn.role,
            "encrypted": conn.ssl,
        }
        for record in records:
            try:
                row = record.to_row()
            except Exception:
                self.parse_failures += 1
                continue
            request_ns = record.request_timestamp_ns
            response_ns = record.response_timestamp_ns
            row["time_"] = response_ns or request_ns
            row.update(common)
            if request_ns and response_ns:
                row["latency"] = max(0, response_ns - request_ns)
            out.append((record.table_name, row))

    def _row_tuples(self, conn: Connection, records: list[Any], out: list[tuple[str, Row]]) -> None:
        conn_columns = (
            conn.upid,
            conn.remote_addr,
            conn.remote_port,
            conn.local_addr,
            conn.local_port,
            conn.role,
            conn.ssl,
        )
        for record in records:
            try:
                row: tuple[object, ...] = record.row_values(conn_columns)
            except Exception:
                self.parse_failures += 1
                continue
            out.append((record.table_name, row))

    def conn_stats_rows(self, now_wall_ns: int) -> list[tuple[object, ...]]:
        """conn_stats rows (column order of the table) for endpoints that changed or are active.

        Endpoints with no open connection and no change since the last call are forgotten after
        being reported once more, which bounds memory on hosts with many short-lived peers.
        """
        rows: list[tuple[object, ...]] = []
        forget: list[tuple[bytes, str, int, int]] = []
        for key, entry in self.stats.items():
            if not entry.changed and entry.conn_active <= 0:
                forget.append(key)
                continue
            upid, remote_addr, remote_port, role = key
            rows.append(
                (
                    now_wall_ns,
                    upid,
                    remote_addr,
                    remote_port,
                    role,
                    entry.addr_family,
                    entry.protocol,
                    entry.ssl,
                    entry.conn_open,
                    entry.conn_close,
                    max(0, entry.conn_active),
                    entry.bytes_sent,
                    entry.bytes_recv,
                )
            )
            entry.changed = False
        for key in forget:
            del self.stats[key]
        return rows

    def expire(self, older_than_ns: int, alive: Callable[[int], bool]) -> int:
        """Drop connections idle since before ``older_than_ns`` (ktime) whose process is gone.

        Processes that exit close their sockets without a close() syscall, so no close event
        comes; returns how many were dropped.
        """
        dropped = 0
        for conn in list(self.connections.values()):
            if conn.last_activity_ns < older_than_ns and not alive(conn.tgid):
                self._finish(conn, counted_close=True)
                dropped += 1
        return dropped
