"""Shared pieces of the protocol parsers: enums, the record base, byte streams, the parser base.

A connection parser sees the two byte streams of one connection as ordered chunks (the order in
which the probes observed them, across both directions). Each protocol parser frames messages in
the request stream and the response stream and pairs them in order (DNS pairs by transaction id).

Timestamps: a request is stamped with the chunk that carried its first byte, a response with the
chunk that carried its last byte, so ``response - request`` spans the whole exchange whichever side
of the connection the traced process is on.
"""

from __future__ import annotations

import abc
import enum
import json
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, ClassVar
from typing import Protocol as _TypingProtocol

__all__ = [
    "DEFAULT_STRING_LIMIT",
    "MAX_BUFFER_BYTES",
    "MAX_PENDING_REQUESTS",
    "PENDING_REQUEST_TIMEOUT_NS",
    "TRUNCATED_SUFFIX",
    "ByteStream",
    "ConnectionParser",
    "Direction",
    "ParserApi",
    "Protocol",
    "Record",
    "Role",
    "json_compact",
    "text",
    "truncate",
]


class Direction(enum.Enum):
    """Which way the bytes went, seen from the traced process."""

    EGRESS = "egress"  # the traced process sent them
    INGRESS = "ingress"  # the traced process received them


class Role(enum.IntEnum):
    """Pixie's ``trace_role``: the traced process's side of the connection."""

    CLIENT = 1
    SERVER = 2
    UNKNOWN = 4


class Protocol(enum.IntEnum):
    """Pixie's protocol numbers, as reported in ``conn_stats.protocol``."""

    UNKNOWN = 0
    HTTP = 1
    HTTP2 = 2
    MYSQL = 3
    CQL = 4
    PGSQL = 5
    DNS = 6
    REDIS = 7
    NATS = 8
    MONGO = 9
    KAFKA = 10
    MUX = 11
    AMQP = 12
    TLS = 13


# Pixie's DataTable appends this to any string cut at its column limit.
TRUNCATED_SUFFIX = "... [TRUNCATED]"

# Pixie's RecordBuilder cuts every string column it is not told otherwise about at 1 KiB.
DEFAULT_STRING_LIMIT = 1024

# A request with no response after this long is dropped by flush(). Pixie expires unanswered
# messages after `messages_expiry_duration_secs` (10 s by default); we follow it.
PENDING_REQUEST_TIMEOUT_NS = 10_000_000_000

# Bytes kept per direction while waiting for the rest of a message. Pixie retains at most
# `datastream_buffer_retention_size` (1 MiB by default) per stream; a frame that cannot complete
# within that is treated as garbage and the stream resynchronises. Bodies are streamed, not
# buffered, so large HTTP/PostgreSQL/MySQL payloads do not count against this.
MAX_BUFFER_BYTES = 1 << 20

# Requests waiting for responses on one connection. Deep HTTP/Redis pipelines rarely exceed a few
# dozen; 1024 bounds memory on a connection whose responses we never see.
MAX_PENDING_REQUESTS = 1024


def truncate(value: str, limit: int) -> str:
    """Cut ``value`` to ``limit`` characters the way Pixie's RecordBuilder does."""
    if len(value) <= limit:
        return value
    return value[:limit] + TRUNCATED_SUFFIX


def text(data: bytes | bytearray | memoryview) -> str:
    """Bytes as column text: UTF-8, invalid sequences replaced (columns must be valid UTF-8)."""
    return bytes(data).decode("utf-8", "replace")


# One encoder for every call: json.dumps with options builds a new JSONEncoder each time.
_COMPACT_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
# The encoder's own string escaper (C), used directly where the value is known to be a str.
json_string: Callable[[str], str] = json.encoder.encode_basestring


def json_compact(value: object) -> str:
    """JSON as rapidjson's Writer prints it: no spaces, non-ASCII kept."""
    return _COMPACT_ENCODER.encode(value)


class Record(metaclass=abc.ABCMeta):  # not abc.ABC: see tools/mypyc_build.py
    """One request/response pair, ready to become a row of ``table_name``.

    Every record class also has ``request_timestamp_ns`` and ``response_timestamp_ns`` (int
    fields; the socket tracer reads them through ``RecordLike``). They are not declared here:
    when mypyc compiles this class (tools/mypyc_build.py), declared attributes become class-level
    descriptors, which the record dataclasses would take for field defaults.
    """

    __slots__ = ()
    table_name: ClassVar[str]

    @abc.abstractmethod
    def to_row(self) -> dict[str, object]:
        """The protocol-specific columns of the table (after COMMON8, without ``latency``)."""


class ByteStream:
    """A growable byte buffer that remembers which chunk (timestamp) each byte came from."""

    __slots__ = ("_base", "_segments", "buf")

    def __init__(self) -> None:
        self.buf = bytearray()
        self._base = 0  # absolute stream offset of buf[0]
        self._segments: deque[tuple[int, int]] = deque()  # (absolute end offset, timestamp)

    def __len__(self) -> int:
        return len(self.buf)

    def append(self, data: bytes, timestamp_ns: int) -> None:
        self.buf += data
        self._segments.append((self._base + len(self.buf), timestamp_ns))

    def ts_at(self, pos: int) -> int:
        """Timestamp of the chunk that carried ``buf[pos]``."""
        target = self._base + pos
        for end, ts in self._segments:
            if end > target:
                return ts
        return self._segments[-1][1] if self._segments else 0

    def consume(self, n: int) -> None:
        if n <= 0:
            return
        # bytearray deletes from the front by moving its start pointer: no copy.
        del self.buf[:n]
        self._base += n
        segments = self._segments
        while segments and segments[0][0] <= self._base:
            segments.popleft()

    def clear(self) -> None:
        self.consume(len(self.buf))


class ConnectionParser(metaclass=abc.ABCMeta):
    """Frames and pairs the messages of one connection.

    Feed chunks in the order they were observed; collect finished pairs with ``records()``.
    Bad input never raises: it is skipped, counted in ``parse_errors``, and the stream resyncs.
    """

    protocol: ClassVar[Protocol]
    table_name: ClassVar[str]

    def __init__(self, role: Role, *, max_body_bytes: int = 512) -> None:
        self.role = role
        self.max_body_bytes = max_body_bytes
        self.parse_errors = 0
        self.dropped_requests = 0  # unanswered requests removed by flush()/close()/overflow
        self.unmatched_responses = 0  # responses that arrived with no request waiting
        self.internal_errors = 0  # parser bugs caught by the safety net (should stay 0)
        self.closed = False
        self._records: list[Record] = []
        self._request_direction: Direction | None = None
        if role is Role.CLIENT:
            self._request_direction = Direction.EGRESS
        elif role is Role.SERVER:
            self._request_direction = Direction.INGRESS

    # -- public interface -------------------------------------------------------------------

    def feed(
        self, direction: Direction, data: bytes, timestamp_ns: int, *, lost_bytes: int = 0
    ) -> None:
        """Add one chunk. ``lost_bytes`` > 0 says that many bytes were lost just before it."""
        if self.closed or (not data and lost_bytes <= 0):
            return
        try:
            if self._request_direction is None:
                self._request_direction = self._guess_request_direction(direction, bytes(data))
            is_request = direction is self._request_direction
            self._feed(is_request, bytes(data), timestamp_ns, lost_bytes)
        except Exception:  # safety net: a parser bug must not take the collector down
            self.internal_errors += 1
            self.parse_errors += 1
            self._reset()

    def records(self) -> list[Record]:
        """Return and forget the pairs completed so far."""
        out = self._records
        self._records = []
        return out

    def flush(self, now_ns: int) -> None:
        """Finish or drop state older than PENDING_REQUEST_TIMEOUT_NS (call periodically)."""
        try:
            self._expire(now_ns - PENDING_REQUEST_TIMEOUT_NS)
        except Exception:
            self.internal_errors += 1
            self._reset()

    def close(self) -> None:
        """The connection ended: finish close-delimited messages, drop partial state."""
        if self.closed:
            return
        try:
            self._on_close()
        except Exception:
            self.internal_errors += 1
        self._reset()
        self.closed = True

    # -- subclass hooks ---------------------------------------------------------------------

    @abc.abstractmethod
    def _feed(self, is_request: bool, data: bytes, timestamp_ns: int, lost_bytes: int) -> None:
        """Consume one chunk of the request (``is_request``) or response stream."""

    @abc.abstractmethod
    def _expire(self, cutoff_ns: int) -> None:
        """Drop pending requests (and finish/drop partial messages) started before cutoff."""

    @abc.abstractmethod
    def _reset(self) -> None:
        """Forget all partial state (buffers, pending requests)."""

    def _on_close(self) -> None:  # noqa: B027 - optional hook, most protocols need nothing
        """Hook for close-delimited messages."""

    def _looks_like_request(self, data: bytes) -> bool:
        """For Role.UNKNOWN: does this first chunk look like the start of a request?"""
        return True

    def _guess_request_direction(self, direction: Direction, data: bytes) -> Direction:
        if self._looks_like_request(data):
            return direction
        return Direction.INGRESS if direction is Direction.EGRESS else Direction.EGRESS

    # -- helpers ----------------------------------------------------------------------------

    def _emit(self, record: Record) -> None:
        self._records.append(record)


class ParserApi(_TypingProtocol):
    """A connection parser as ``make_parser`` returns it: a ``ConnectionParser`` or a native
    module's parser with the same interface and behaviour (``_http_native.HttpParser``)."""

    @property
    def role(self) -> int: ...
    @property
    def max_body_bytes(self) -> int: ...
    @property
    def parse_errors(self) -> int: ...
    @property
    def dropped_requests(self) -> int: ...
    @property
    def unmatched_responses(self) -> int: ...
    @property
    def internal_errors(self) -> int: ...
    @property
    def closed(self) -> bool: ...

    def feed(
        self, direction: Direction, data: bytes, timestamp_ns: int, *, lost_bytes: int = 0
    ) -> None: ...
    # Records as socket_tracer._protocol_bridge.RecordLike reads them; Record does not declare
    # its timestamps (see Record), hence Any.
    def records(self) -> Sequence[Any]: ...
    def flush(self, now_ns: int) -> None: ...
    def close(self) -> None: ...
