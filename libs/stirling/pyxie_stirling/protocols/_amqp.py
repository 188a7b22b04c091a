"""AMQP 0-9-1 (RabbitMQ) -> ``amqp_events`` rows.

Frames: type (1 method, 2 content header, 3 body, 8 heartbeat), channel, size, payload, 0xCE.
A synchronous method (Queue.Declare, Basic.Consume, Connection.Start, ...) is paired with its
reply on the same channel, whichever side sent it: the method goes into ``req_*``, the reply into
``resp_*``, with the latency between them. Every other frame (Basic.Publish/Deliver/Ack, content
headers and bodies, heartbeats, methods sent with ``no-wait``) is a row of its own, in ``req_*``
when the client sent it and in ``resp_*`` when the server did.

``req_msg``/``resp_msg`` hold the method's arguments as JSON (reserved fields left out, field
tables decoded), a content header's class, body size and properties, or a body's bytes as text
(cut at max_body_bytes).
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass
from typing import ClassVar

from ._common import (
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

__all__ = ["PROTOCOL_HEADER", "AmqpParser", "AmqpRecord", "looks_like_amqp_frames"]

PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"
_FRAME_END = 0xCE
METHOD, HEADER, BODY, HEARTBEAT = 1, 2, 3, 8
_MAX_FRAME = 1 << 27  # RabbitMQ's frame_max is at most 128 MiB, usually 128 KiB

# Field types: o octet, s short, l long, L longlong, S shortstr, T longstr, F table, b bit.
# A leading "_" marks a reserved field (parsed, not shown).
_METHODS: dict[tuple[int, int], tuple[str, ...]] = {
    (10, 10): ("version_major:o", "version_minor:o", "server_properties:F", "mechanisms:T",
               "locales:T"),
    (10, 11): ("client_properties:F", "mechanism:S", "_response:T", "locale:S"),
    (10, 20): ("_challenge:T",),
    (10, 21): ("_response:T",),
    (10, 30): ("channel_max:s", "frame_max:l", "heartbeat:s"),
    (10, 31): ("channel_max:s", "frame_max:l", "heartbeat:s"),
    (10, 40): ("virtual_host:S", "_reserved_1:S", "_reserved_2:b"),
    (10, 41): ("_reserved_1:S",),
    (10, 50): ("reply_code:s", "reply_text:S", "class_id:s", "method_id:s"),
    (10, 51): (),
    (20, 10): ("_reserved_1:S",),
    (20, 11): ("_reserved_1:T",),
    (20, 20): ("active:b",),
    (20, 21): ("active:b",),
    (20, 40): ("reply_code:s", "reply_text:S", "class_id:s", "method_id:s"),
    (20, 41): (),
    (40, 10): ("_reserved_1:s", "exchange:S", "type:S", "passive:b", "durable:b", "auto_delete:b",
               "internal:b", "no_wait:b", "arguments:F"),
    (40, 11): (),
    (40, 20): ("_reserved_1:s", "exchange:S", "if_unused:b", "no_wait:b"),
    (40, 21): (),
    (50, 10): ("_reserved_1:s", "queue:S", "passive:b", "durable:b", "exclusive:b",
               "auto_delete:b", "no_wait:b", "arguments:F"),
    (50, 11): ("queue:S", "message_count:l", "consumer_count:l"),
    (50, 20): ("_reserved_1:s", "queue:S", "exchange:S", "routing_key:S", "no_wait:b",
               "arguments:F"),
    (50, 21): (),
    (50, 30): ("_reserved_1:s", "queue:S", "no_wait:b"),
    (50, 31): ("message_count:l",),
    (50, 40): ("_reserved_1:s", "queue:S", "if_unused:b", "if_empty:b", "no_wait:b"),
    (50, 41): ("message_count:l",),
    (50, 50): ("_reserved_1:s", "queue:S", "exchange:S", "routing_key:S", "arguments:F"),
    (50, 51): (),
    (60, 10): ("prefetch_size:l", "prefetch_count:s", "global:b"),
    (60, 11): (),
    (60, 20): ("_reserved_1:s", "queue:S", "consumer_tag:S", "no_local:b", "no_ack:b",
               "exclusive:b", "no_wait:b", "arguments:F"),
    (60, 21): ("consumer_tag:S",),
    (60, 30): ("consumer_tag:S", "no_wait:b"),
    (60, 31): ("consumer_tag:S",),
    (60, 40): ("_reserved_1:s", "exchange:S", "routing_key:S", "mandatory:b", "immediate:b"),
    (60, 50): ("reply_code:s", "reply_text:S", "exchange:S", "routing_key:S"),
    (60, 60): ("consumer_tag:S", "delivery_tag:L", "redelivered:b", "exchange:S",
               "routing_key:S"),
    (60, 70): ("_reserved_1:s", "queue:S", "no_ack:b"),
    (60, 71): ("delivery_tag:L", "redelivered:b", "exchange:S", "routing_key:S",
               "message_count:l"),
    (60, 72): ("_reserved_1:S",),
    (60, 80): ("delivery_tag:L", "multiple:b"),
    (60, 90): ("delivery_tag:L", "requeue:b"),
    (60, 100): ("requeue:b",),
    (60, 110): ("requeue:b",),
    (60, 111): (),
    (60, 120): ("delivery_tag:L", "multiple:b", "requeue:b"),
    (85, 10): ("nowait:b",),
    (85, 11): (),
    (90, 10): (),
    (90, 11): (),
    (90, 20): (),
    (90, 21): (),
    (90, 30): (),
    (90, 31): (),
}  # fmt: skip

_Spec = tuple[tuple[str, str], ...]


def _split(spec: tuple[str, ...]) -> _Spec:
    return tuple((item.split(":")[0], item.split(":")[1]) for item in spec)


_METHOD_SPECS: dict[tuple[int, int], _Spec] = {key: _split(v) for key, v in _METHODS.items()}

# Synchronous methods and the replies that complete them.
_REPLIES: dict[tuple[int, int], tuple[int, ...]] = {
    (10, 10): (11,), (10, 20): (21,), (10, 30): (31,), (10, 40): (41,), (10, 50): (51,),
    (20, 10): (11,), (20, 20): (21,), (20, 40): (41,),
    (40, 10): (11,), (40, 20): (21,),
    (50, 10): (11,), (50, 20): (21,), (50, 30): (31,), (50, 40): (41,), (50, 50): (51,),
    (60, 10): (11,), (60, 20): (21,), (60, 30): (31,), (60, 70): (71, 72), (60, 110): (111,),
    (85, 10): (11,),
    (90, 10): (11,), (90, 20): (21,), (90, 30): (31,),
}  # fmt: skip

# Basic content properties in flag order (bit 15 first).
_PROPERTIES = (
    "content_type:S", "content_encoding:S", "headers:F", "delivery_mode:o", "priority:o",
    "correlation_id:S", "reply_to:S", "expiration:S", "message_id:S", "timestamp:L", "type:S",
    "user_id:S", "app_id:S", "_reserved:S",
)  # fmt: skip


_PROPERTY_SPECS = _split(_PROPERTIES)


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise ValueError("short")
        out = self.data[self.pos : end]
        self.pos = end
        return out

    def uint(self, n: int) -> int:
        return int.from_bytes(self.take(n), "big")

    def shortstr(self) -> str:
        return text(self.take(self.uint(1)))

    def longstr(self) -> str:
        return text(self.take(self.uint(4)))

    def table(self, depth: int = 0) -> dict[str, object]:
        inner = _Reader(self.take(self.uint(4)))
        out: dict[str, object] = {}
        while inner.pos < len(inner.data):
            key = inner.shortstr()
            out[key] = inner.value(depth + 1)
        return out

    def value(self, depth: int) -> object:
        if depth > 8:
            raise ValueError("too deep")
        kind = self.take(1)
        fixed = {b"b": (1, True), b"B": (1, False), b"s": (2, True), b"u": (2, False),
                 b"I": (4, True), b"i": (4, False), b"l": (8, True), b"L": (8, False),
                 b"T": (8, False)}  # fmt: skip
        if kind in fixed:
            size, signed = fixed[kind]
            return int.from_bytes(self.take(size), "big", signed=signed)
        if kind == b"t":
            return self.uint(1) != 0
        if kind == b"f":
            return float(struct.unpack(">f", self.take(4))[0])
        if kind == b"d":
            return float(struct.unpack(">d", self.take(8))[0])
        if kind == b"D":
            scale = self.uint(1)
            return int.from_bytes(self.take(4), "big", signed=True) / (10**scale)
        if kind == b"S":
            return self.longstr()
        if kind == b"x":
            return self.take(self.uint(4)).hex()
        if kind == b"F":
            return self.table(depth)
        if kind == b"A":
            inner = _Reader(self.take(self.uint(4)))
            items = []
            while inner.pos < len(inner.data):
                items.append(inner.value(depth + 1))
            return items
        if kind == b"V":
            return None
        raise ValueError(f"field type {kind!r}")

    def fields(self, spec: _Spec) -> dict[str, object]:
        out: dict[str, object] = {}
        bits = 0
        bit_index = 8
        for name, kind in spec:
            if kind == "b":
                if bit_index == 8:
                    bits = self.uint(1)
                    bit_index = 0
                value: object = (bits >> bit_index) & 1
                bit_index += 1
            else:
                bit_index = 8
                if kind == "o":
                    value = self.uint(1)
                elif kind == "s":
                    value = self.uint(2)
                elif kind == "l":
                    value = self.uint(4)
                elif kind == "L":
                    value = self.uint(8)
                elif kind == "S":
                    value = self.shortstr()
                elif kind == "T":
                    value = self.longstr()
                else:
                    value = self.table()
            if not name.startswith("_"):
                out[name] = value
        return out


def _frame_at(buf: bytes | bytearray, pos: int) -> bool:
    """Is there a complete, well-formed frame at ``buf[pos:]``?"""
    if pos + 8 > len(buf) or buf[pos] not in (METHOD, HEADER, BODY, HEARTBEAT):
        return False
    size = int.from_bytes(buf[pos + 3 : pos + 7], "big")
    end = pos + 7 + size
    if size > _MAX_FRAME or end >= len(buf) or buf[end] != _FRAME_END:
        return False
    if buf[pos] == METHOD:
        key = (
            int.from_bytes(buf[pos + 7 : pos + 9], "big"),
            int.from_bytes(buf[pos + 9 : pos + 11], "big"),
        )
        return size >= 4 and key in _METHODS
    return True


def looks_like_amqp_frames(data: bytes) -> bool:
    """Whole AMQP frames (type 1/2/3/8, frame-end octet) from the start of ``data``."""
    pos = 0
    frames = 0
    while pos < len(data):
        if not _frame_at(data, pos):
            return False
        pos += 8 + int.from_bytes(data[pos + 3 : pos + 7], "big")
        frames += 1
    return frames > 0 and pos == len(data)


@dataclass(slots=True)
class _Frame:
    frame_type: int
    channel: int
    class_id: int
    method_id: int
    msg: str
    ts: int
    no_wait: bool = False


@dataclass(slots=True)
class AmqpRecord(Record):
    request_timestamp_ns: int
    response_timestamp_ns: int
    frame_type: int
    channel: int
    req: _Frame | None
    resp: _Frame | None

    def to_row(self) -> dict[str, object]:
        req, resp = self.req, self.resp
        return {
            "frame_type": self.frame_type,
            "channel": self.channel,
            "req_class_id": req.class_id if req else 0,
            "req_method_id": req.method_id if req else 0,
            "resp_class_id": resp.class_id if resp else 0,
            "resp_method_id": resp.method_id if resp else 0,
            "req_msg": req.msg if req else "",
            "resp_msg": resp.msg if resp else "",
        }


AmqpRecord.table_name = "amqp_events"  # not in the dataclass: mypyc/mypyc#1122


class AmqpParser(ConnectionParser):
    protocol: ClassVar[Protocol] = Protocol.AMQP
    table_name: ClassVar[str] = "amqp_events"

    def __init__(self, role: Role, *, max_body_bytes: int = 512) -> None:
        super().__init__(role, max_body_bytes=max_body_bytes)
        self._streams = {True: ByteStream(), False: ByteStream()}
        self._header_pending = True  # the client's protocol header may come first
        # Synchronous methods waiting for their reply: (channel, class) -> queue, either side.
        self._waiting: dict[tuple[int, int], deque[_Frame]] = {}
        self._waiting_count = 0

    def _looks_like_request(self, data: bytes) -> bool:
        return data.startswith(PROTOCOL_HEADER[: len(data)])

    def _feed(self, is_request: bool, data: bytes, timestamp_ns: int, lost_bytes: int) -> None:
        stream = self._streams[is_request]
        if lost_bytes > 0:
            stream.clear()
            self.parse_errors += 1
            stream.append(data, timestamp_ns)
            self._resync(stream)
        else:
            stream.append(data, timestamp_ns)
        self._parse(is_request, stream)

    def _resync(self, stream: ByteStream) -> None:
        """Drop bytes up to the first complete, well-formed frame (all of them if none)."""
        buf = stream.buf
        for start in range(len(buf) - 7):
            if _frame_at(buf, start):
                stream.consume(start)
                return
        stream.clear()

    def _parse(self, is_request: bool, stream: ByteStream) -> None:
        buf = stream.buf
        while buf:
            if is_request and self._header_pending:
                if len(buf) < len(PROTOCOL_HEADER):
                    if PROTOCOL_HEADER.startswith(bytes(buf)):
                        return
                    self._header_pending = False
                elif buf.startswith(PROTOCOL_HEADER):
                    stream.consume(len(PROTOCOL_HEADER))
                    self._header_pending = False
                    continue
                else:
                    self._header_pending = False
            if len(buf) < 7:
                return
            ftype = buf[0]
            channel = int.from_bytes(buf[1:3], "big")
            size = int.from_bytes(buf[3:7], "big")
            if ftype not in (METHOD, HEADER, BODY, HEARTBEAT) or size > _MAX_FRAME:
                self.parse_errors += 1
                stream.consume(1)
                self._resync(stream)
                continue
            if len(buf) < 8 + size:
                return
            if buf[7 + size] != _FRAME_END:
                self.parse_errors += 1
                stream.consume(1)
                self._resync(stream)
                continue
            ts = stream.ts_at(0)
            last_ts = stream.ts_at(7 + size)
            payload = bytes(buf[7 : 7 + size])
            stream.consume(8 + size)
            try:
                frame = self._decode(ftype, channel, payload, ts)
            except (ValueError, KeyError):
                self.parse_errors += 1
                continue
            self._frame(is_request, frame, last_ts)

    def _decode(self, ftype: int, channel: int, payload: bytes, ts: int) -> _Frame:
        if ftype == METHOD:
            reader = _Reader(payload)
            class_id, method_id = reader.uint(2), reader.uint(2)
            spec = _METHOD_SPECS.get((class_id, method_id))
            if spec is None:
                return _Frame(ftype, channel, class_id, method_id, "", ts)
            args = reader.fields(spec)
            no_wait = bool(args.get("no_wait") or args.get("nowait"))
            return _Frame(ftype, channel, class_id, method_id, self._json(args), ts, no_wait)
        if ftype == HEADER:
            reader = _Reader(payload)
            class_id = reader.uint(2)
            reader.uint(2)  # weight
            body_size = reader.uint(8)
            flags = reader.uint(2)
            present = tuple(p for i, p in enumerate(_PROPERTY_SPECS) if flags & (1 << (15 - i)))
            props = reader.fields(present)
            msg = self._json({"class_id": class_id, "body_size": body_size, **props})
            return _Frame(ftype, channel, class_id, 0, msg, ts)
        if ftype == BODY:
            body = truncate(text(payload[: self.max_body_bytes + 1]), self.max_body_bytes)
            return _Frame(ftype, channel, 0, 0, body, ts)
        return _Frame(ftype, channel, 0, 0, "", ts)

    def _json(self, args: dict[str, object]) -> str:
        return truncate(json_compact(args), 1024)

    def _frame(self, is_request: bool, frame: _Frame, last_ts: int) -> None:
        key = (frame.channel, frame.class_id)
        if frame.frame_type == METHOD:
            queue = self._waiting.get(key)
            if queue:
                first = queue[0]
                if frame.method_id in _REPLIES.get((first.class_id, first.method_id), ()):
                    queue.popleft()
                    self._waiting_count -= 1
                    self._emit(AmqpRecord(first.ts, last_ts, METHOD, frame.channel, first, frame))
                    return
            if (frame.class_id, frame.method_id) in _REPLIES and not frame.no_wait:
                if self._waiting_count >= MAX_PENDING_REQUESTS:
                    self.dropped_requests += 1
                    return
                self._waiting.setdefault(key, deque()).append(frame)
                self._waiting_count += 1
                return
        sent_by_client = is_request
        self._emit(
            AmqpRecord(
                frame.ts,
                0,
                frame.frame_type,
                frame.channel,
                frame if sent_by_client else None,
                None if sent_by_client else frame,
            )
        )

    # -- housekeeping ---------------------------------------------------------------------------

    def _expire(self, cutoff_ns: int) -> None:
        for queue in self._waiting.values():
            while queue and queue[0].ts < cutoff_ns:
                queue.popleft()
                self._waiting_count -= 1
                self.dropped_requests += 1

    def _on_close(self) -> None:
        self.dropped_requests += self._waiting_count

    def _reset(self) -> None:
        for stream in self._streams.values():
            stream.clear()
        self._waiting.clear()
        self._waiting_count = 0
