"""DNS over UDP (one message per chunk) and TCP (2-byte length prefix): txid pairing, Pixie's JSON.

Requests and responses are told apart by the QR bit, so the traced process's role does not
matter. Rows carry Pixie's JSON: the header object
``{"txid","qr","opcode","aa","tc","rd","ra","ad","cd","rcode","num_queries","num_answers",
"num_auth","num_addl"}``, ``{"queries":[{"name","type"}]}`` and
``{"answers":[{"name","type","addr"}|{"name","type":"CNAME","cname"}]}``. As in Pixie, only A,
AAAA and CNAME answers are listed and a query's type is ``A``, ``AAAA`` or ``""``.
"""

from __future__ import annotations

import socket
import struct
from collections import OrderedDict
from dataclasses import dataclass

from ._common import (
    DEFAULT_STRING_LIMIT,
    MAX_PENDING_REQUESTS,
    ByteStream,
    ConnectionParser,
    Direction,
    Protocol,
    Record,
    Role,
    json_compact,
    truncate,
)

__all__ = ["DnsMessage", "DnsParser", "DnsRecord", "parse_dns_message"]

_HEADER = struct.Struct(">HHHHHH")
_RR_FIXED = struct.Struct(">HHIH")
_Q_FIXED = struct.Struct(">HH")
_MAX_POINTER_JUMPS = 64  # a real name has at most 127 labels; loops are cut here
_MAX_NAME_LENGTH = 255
TYPE_A, TYPE_CNAME, TYPE_AAAA = 1, 5, 28
_TYPE_NAMES = {TYPE_A: "A", TYPE_AAAA: "AAAA"}


class _Bad(Exception):
    pass


@dataclass(slots=True)
class DnsMessage:
    txid: int
    flags: int
    counts: tuple[int, int, int, int]
    queries: list[tuple[str, int]]
    answers: list[tuple[str, int, str]]  # (name, type, addr-or-cname)

    @property
    def is_response(self) -> bool:
        return bool(self.flags >> 15)

    def header_json(self) -> str:
        f = self.flags
        qd, an, ns, ar = self.counts
        return json_compact(
            {
                "txid": self.txid,
                "qr": (f >> 15) & 1,
                "opcode": (f >> 11) & 0xF,
                "aa": (f >> 10) & 1,
                "tc": (f >> 9) & 1,
                "rd": (f >> 8) & 1,
                "ra": (f >> 7) & 1,
                "ad": (f >> 5) & 1,
                "cd": (f >> 4) & 1,
                "rcode": f & 0xF,
                "num_queries": qd,
                "num_answers": an,
                "num_auth": ns,
                "num_addl": ar,
            }
        )

    def queries_json(self) -> str:
        queries = [{"name": n, "type": _TYPE_NAMES.get(t, "")} for n, t in self.queries]
        return json_compact({"queries": queries})

    def answers_json(self) -> str:
        answers: list[dict[str, str]] = []
        for name, rtype, value in self.answers:
            if rtype == TYPE_CNAME:
                answers.append({"name": name, "type": "CNAME", "cname": value})
            else:
                answers.append({"name": name, "type": _TYPE_NAMES[rtype], "addr": value})
        return json_compact({"answers": answers})


def _name(buf: bytes, pos: int) -> tuple[str, int]:
    """Read a possibly compressed name; returns (name, offset after it in the original place)."""
    labels: list[str] = []
    end = -1
    jumps = 0
    length = 0
    while True:
        if pos >= len(buf):
            raise _Bad
        size = buf[pos]
        if size == 0:
            pos += 1
            break
        if size & 0xC0 == 0xC0:
            if pos + 1 >= len(buf):
                raise _Bad
            jumps += 1
            if jumps > _MAX_POINTER_JUMPS:
                raise _Bad
            if end < 0:
                end = pos + 2
            pos = ((size & 0x3F) << 8) | buf[pos + 1]
            continue
        if size & 0xC0:
            raise _Bad  # 0x40/0x80 label types are obsolete
        label = buf[pos + 1 : pos + 1 + size]
        if len(label) != size:
            raise _Bad
        length += size + 1
        if length > _MAX_NAME_LENGTH:
            raise _Bad
        labels.append(label.decode("ascii", "replace"))
        pos += 1 + size
    return ".".join(labels), (end if end >= 0 else pos)


def parse_dns_message(buf: bytes) -> DnsMessage | None:
    """Parse one whole DNS message; None when it is not one (trailing bytes are refused)."""
    try:
        if len(buf) < _HEADER.size:
            return None
        txid, flags, qd, an, ns, ar = _HEADER.unpack_from(buf)
        pos = _HEADER.size
        queries: list[tuple[str, int]] = []
        for _ in range(qd):
            name, pos = _name(buf, pos)
            if pos + 4 > len(buf):
                return None
            qtype, _qclass = _Q_FIXED.unpack_from(buf, pos)
            pos += 4
            queries.append((name, qtype))
        answers: list[tuple[str, int, str]] = []
        for index in range(an + ns + ar):
            name, pos = _name(buf, pos)
            if pos + _RR_FIXED.size > len(buf):
                return None
            rtype, _rclass, _ttl, rdlen = _RR_FIXED.unpack_from(buf, pos)
            pos += _RR_FIXED.size
            rdata_end = pos + rdlen
            if rdata_end > len(buf):
                return None
            if index < an:
                if rtype == TYPE_A and rdlen == 4:
                    answers.append(
                        (name, rtype, socket.inet_ntop(socket.AF_INET, buf[pos:rdata_end]))
                    )
                elif rtype == TYPE_AAAA and rdlen == 16:
                    addr = socket.inet_ntop(socket.AF_INET6, buf[pos:rdata_end])
                    answers.append((name, rtype, addr))
                elif rtype == TYPE_CNAME:
                    cname, cname_end = _name(buf, pos)
                    if cname_end != rdata_end:
                        return None
                    answers.append((name, rtype, cname))
            pos = rdata_end
        if pos != len(buf):
            return None
        return DnsMessage(txid, flags, (qd, an, ns, ar), queries, answers)
    except (_Bad, struct.error, ValueError):
        return None


@dataclass(slots=True)
class DnsRecord(Record):
    request_timestamp_ns: int
    response_timestamp_ns: int
    request: DnsMessage
    response: DnsMessage

    def to_row(self) -> dict[str, object]:
        limit = DEFAULT_STRING_LIMIT
        return {
            "req_header": truncate(self.request.header_json(), limit),
            "req_body": truncate(self.request.queries_json(), limit),
            "resp_header": truncate(self.response.header_json(), limit),
            "resp_body": truncate(self.response.answers_json(), limit),
        }


DnsRecord.table_name = "dns_events"  # not in the dataclass: mypyc/mypyc#1122


_MAX_TCP_MESSAGE = 65535


class DnsParser(ConnectionParser):
    """``tcp=None`` decides per connection from the first chunk (a length prefix that matches)."""

    protocol = Protocol.DNS
    table_name = "dns_events"

    def __init__(self, role: Role, *, max_body_bytes: int = 512, tcp: bool | None = None) -> None:
        super().__init__(role, max_body_bytes=max_body_bytes)
        self._tcp = tcp
        self._streams = (ByteStream(), ByteStream())
        # txid -> (timestamp, request); insertion order gives the oldest first.
        self._pending: OrderedDict[int, tuple[int, DnsMessage]] = OrderedDict()

    def _guess_request_direction(self, direction: Direction, data: bytes) -> Direction:
        return direction  # unused: the QR bit classifies each message

    def _feed(self, is_request: bool, data: bytes, timestamp_ns: int, lost_bytes: int) -> None:
        if self._tcp is None:
            self._tcp = (
                len(data) >= 2
                and int.from_bytes(data[:2], "big") == len(data) - 2
                and (parse_dns_message(data[2:]) is not None)
            )
        if not self._tcp:
            self._message(data, timestamp_ns, timestamp_ns)
            return
        stream = self._streams[0 if is_request else 1]
        if lost_bytes > 0:
            self.parse_errors += 1
            stream.clear()  # no way to find the next length prefix; wait for a clean chunk start
            if not data or int.from_bytes(data[:2], "big") != len(data) - 2:
                return
        stream.append(data, timestamp_ns)
        buf = stream.buf
        while len(buf) >= 2:
            size = int.from_bytes(buf[:2], "big")
            if len(buf) < 2 + size:
                return
            start, end = stream.ts_at(0), stream.ts_at(1 + size)
            message = bytes(buf[2 : 2 + size])
            stream.consume(2 + size)
            self._message(message, start, end)

    def _message(self, data: bytes, start_ts: int, end_ts: int) -> None:
        message = parse_dns_message(data)
        if message is None:
            self.parse_errors += 1
            return
        if not message.is_response:
            if len(self._pending) >= MAX_PENDING_REQUESTS:
                self._pending.popitem(last=False)
                self.dropped_requests += 1
            self._pending.pop(message.txid, None)  # a retry replaces the earlier attempt
            self._pending[message.txid] = (start_ts, message)
            return
        waiting = self._pending.pop(message.txid, None)
        if waiting is None:
            self.unmatched_responses += 1
            return
        self._emit(DnsRecord(waiting[0], end_ts, waiting[1], message))

    def _expire(self, cutoff_ns: int) -> None:
        while self._pending:
            txid, (ts, _message) = next(iter(self._pending.items()))
            if ts >= cutoff_ns:
                break
            del self._pending[txid]
            self.dropped_requests += 1
        for stream in self._streams:
            if stream.buf and stream.ts_at(0) < cutoff_ns:
                stream.clear()

    def _on_close(self) -> None:
        self.dropped_requests += len(self._pending)

    def _reset(self) -> None:
        for stream in self._streams:
            stream.clear()
        self._pending.clear()
