"""Finagle Mux -> ``mux_events`` rows (the T-message type and the latency to its R-message).

A Mux message is a 4-byte big-endian size, then a signed type byte and a 3-byte tag, then the
body. T-messages (positive types) are answered by the R-message of the negated type (or by Rerr,
type -128, old servers 127) with the same tag; the top bit of the tag marks a fragment that more
fragments follow, so a message is complete at its last fragment. Tlease (67) has no answer and
makes no row. A row's latency runs from the T-message's first byte to the chunk that carried the
R-message's header (bodies are skipped). A Tdrain/Tping/... sent by the server is paired the
same way (Mux is symmetric).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ._common import (
    MAX_BUFFER_BYTES,
    MAX_PENDING_REQUESTS,
    ByteStream,
    ConnectionParser,
    Protocol,
    Record,
    Role,
)

__all__ = ["MUX_T_TYPES", "MuxParser", "MuxRecord", "looks_like_mux"]

TREQ, TDISPATCH, TDRAIN, TPING, TDISCARDED, TLEASE, TINIT = 1, 2, 64, 65, 66, 67, 68
MUX_T_TYPES = frozenset({TREQ, TDISPATCH, TDRAIN, TPING, TDISCARDED, TLEASE, TINIT})
RERR, RERR_OLD = -128, 127
_R_TYPES = frozenset({-t for t in MUX_T_TYPES if t != TLEASE} | {RERR, RERR_OLD})
_FRAGMENT = 0x800000
_MAX_MESSAGE = 16 * 1024 * 1024


def _type(byte: int) -> int:
    return byte - 256 if byte >= 128 else byte


def looks_like_mux(data: bytes, types: frozenset[int]) -> bool:
    """Whole Mux messages whose first has a type in ``types`` (and all have known types)."""
    # A Tinit/Rinit (tag 1, the connection's opening) may come header first: readers often read
    # the 8-byte header, then the body. Its header alone is specific enough.
    if len(data) == 8 and _type(data[4]) in types & {TINIT, -TINIT} and data[5:8] == b"\0\0\x01":
        return 4 <= int.from_bytes(data[:4], "big") <= 0xFFFF
    pos = 0
    first = True
    while pos < len(data):
        if pos + 8 > len(data):
            return False
        size = int.from_bytes(data[pos : pos + 4], "big")
        mtype = _type(data[pos + 4])
        if size < 4 or size > _MAX_MESSAGE:
            return False
        if first and mtype not in types:
            return False
        if mtype not in MUX_T_TYPES and mtype not in _R_TYPES:
            return False
        first = False
        pos += 4 + size
    return pos == len(data) and not first


@dataclass(slots=True)
class MuxRecord(Record):
    request_timestamp_ns: int
    response_timestamp_ns: int
    req_type: int

    def to_row(self) -> dict[str, object]:
        return {"req_type": self.req_type}


MuxRecord.table_name = "mux_events"  # not in the dataclass: mypyc/mypyc#1122


class MuxParser(ConnectionParser):
    protocol: ClassVar[Protocol] = Protocol.MUX
    table_name: ClassVar[str] = "mux_events"

    def __init__(self, role: Role, *, max_body_bytes: int = 512) -> None:
        super().__init__(role, max_body_bytes=max_body_bytes)
        self._streams = {True: ByteStream(), False: ByteStream()}
        self._skip = {True: 0, False: 0}  # body bytes still to skip (bodies are not kept)
        self._lost = {True: False, False: False}  # framing lost, waiting for a message start
        # Open T-messages by tag, per sending side: tag -> (type, first timestamp).
        self._open: dict[bool, dict[int, tuple[int, int]]] = {True: {}, False: {}}

    def _looks_like_request(self, data: bytes) -> bool:
        return len(data) >= 5 and _type(data[4]) in MUX_T_TYPES

    def _feed(self, is_request: bool, data: bytes, timestamp_ns: int, lost_bytes: int) -> None:
        stream = self._streams[is_request]
        if lost_bytes > 0:
            if not stream.buf and lost_bytes <= self._skip[is_request]:
                self._skip[is_request] -= lost_bytes  # the gap was inside a body
            else:
                self.parse_errors += 1
                stream.clear()
                self._skip[is_request] = 0
                self._lost[is_request] = True
        if self._lost[is_request]:
            # Framing lost: wait for a chunk that starts with whole, known messages.
            if not looks_like_mux(data, _ANY):
                return
            self._lost[is_request] = False
        stream.append(data, timestamp_ns)
        self._parse(is_request, stream)

    def _parse(self, is_request: bool, stream: ByteStream) -> None:
        buf = stream.buf
        while buf:
            if self._skip[is_request]:
                take = min(len(buf), self._skip[is_request])
                stream.consume(take)
                self._skip[is_request] -= take
                continue
            if len(buf) < 8:
                return
            size = int.from_bytes(buf[0:4], "big")
            mtype = _type(buf[4])
            tag = int.from_bytes(buf[5:8], "big")
            if (
                size < 4
                or size > _MAX_MESSAGE
                or (mtype not in MUX_T_TYPES and mtype not in _R_TYPES)
            ):
                self.parse_errors += 1
                stream.clear()
                self._lost[is_request] = True
                return
            ts = stream.ts_at(0)
            stream.consume(8)
            self._skip[is_request] = size - 4  # bodies are not shown: skip them
            self._message(is_request, mtype, tag, ts)

    def _message(self, is_request: bool, mtype: int, tag: int, ts: int) -> None:
        more = bool(tag & _FRAGMENT)
        tag &= ~_FRAGMENT
        if mtype in MUX_T_TYPES:
            if mtype == TLEASE:
                return
            pending = self._open[is_request]
            if tag not in pending:
                if len(pending) >= MAX_PENDING_REQUESTS:
                    pending.pop(next(iter(pending)))
                    self.dropped_requests += 1
                pending[tag] = (mtype, ts)
            return
        if more:
            return  # the reply completes with its last fragment
        opened = self._open[not is_request].pop(tag, None)
        if opened is None:
            self.unmatched_responses += 1
            return
        req_type, req_ts = opened
        if mtype not in (RERR, RERR_OLD) and mtype != -req_type:
            self.parse_errors += 1
            return
        self._emit(MuxRecord(req_ts, ts, req_type))

    # -- housekeeping ---------------------------------------------------------------------------

    def _expire(self, cutoff_ns: int) -> None:
        for pending in self._open.values():
            for tag, (_, ts) in list(pending.items()):
                if ts < cutoff_ns:
                    del pending[tag]
                    self.dropped_requests += 1
        for is_request, stream in self._streams.items():
            if len(stream.buf) > MAX_BUFFER_BYTES:
                stream.clear()
                self._skip[is_request] = 0

    def _on_close(self) -> None:
        self.dropped_requests += sum(len(p) for p in self._open.values())

    def _reset(self) -> None:
        for side in (True, False):
            self._streams[side].clear()
            self._skip[side] = 0
            self._lost[side] = False
            self._open[side].clear()


_ANY = MUX_T_TYPES | _R_TYPES
