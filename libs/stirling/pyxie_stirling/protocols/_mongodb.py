"""MongoDB wire protocol -> ``mongodb_events`` rows.

Every message starts with a 16-byte little-endian header: messageLength (header included),
requestID, responseTo, opCode. A response names the request it answers in ``responseTo``, so
requests and responses are paired by id, not by order.

* OP_MSG (2013): uint32 flagBits (bit 0 checksumPresent, bit 1 moreToCome, bit 16
  exhaustAllowed; the other low 16 bits must be 0), then sections: kind 0 is one BSON document
  (the command body), kind 1 a document sequence (int32 size, cstring identifier, documents, e.g.
  the ``documents`` of an ``insert``), then the CRC-32C checksum when flagged.
* OP_QUERY (2004) / OP_REPLY (1): the legacy handshake (``isMaster`` on ``admin.$cmd``) that
  drivers still send first when no API version is declared.
* OP_COMPRESSED (2012): not decoded. The message is skipped whole (its length is known) and
  counted as a parse error; a response to it is then unmatched.

Columns: ``req_cmd`` is the command name (the first key of the command document: ``insert``,
``find``, ``hello``, ...). ``req_body``/``resp_body`` are the documents as relaxed extended JSON
(the kind 1 sequences folded into the body under their identifier, as the server sees the
command), cut at max_body_bytes. ``resp_status`` is ``ok`` when the reply has ``ok: 1``,
otherwise its ``errmsg`` (``not ok`` without one).

Like Pixie, handshake exchanges (``hello``, ``isMaster``, ``ismaster``: the connection handshake
and the driver's periodic server monitoring) are not exported as rows: they are paired and
dropped. A message of which only the start was captured (the tracer keeps the first bytes of a large
write and reports the rest as lost; messages over 1 MiB are not buffered either) is decoded as
far as it goes: its whole elements, the body marked truncated, and it still pairs by id. A cut
reply whose ``ok`` and ``errmsg`` were not captured has resp_status "" (unknown, not a failure).
A request sent with moreToCome (an unacknowledged write) gets no reply and becomes a row
with an empty response at once; an exhaust reply (moreToCome on the response) answers its request
and the next reply of the stream answers that reply's requestID.
"""

from __future__ import annotations

import base64
import datetime
import math
import struct
from dataclasses import dataclass
from typing import ClassVar

from ._common import (
    MAX_BUFFER_BYTES,
    MAX_PENDING_REQUESTS,
    TRUNCATED_SUFFIX,
    ByteStream,
    ConnectionParser,
    Protocol,
    Record,
    Role,
    json_compact,
    truncate,
)

__all__ = [
    "OP_COMPRESSED",
    "OP_MSG",
    "OP_QUERY",
    "OP_REPLY",
    "MongoParser",
    "MongoRecord",
    "bson_to_relaxed",
    "looks_like_mongo",
]

OP_REPLY = 1
OP_QUERY = 2004
OP_COMPRESSED = 2012
OP_MSG = 2013
_OPCODES = frozenset({OP_REPLY, OP_QUERY, OP_COMPRESSED, OP_MSG})

_CHECKSUM_PRESENT = 1
_MORE_TO_COME = 2
_EXHAUST_ALLOWED = 1 << 16
# Bits 0-15 are "required" bits: a receiver must reject unknown ones, so only these may be set.
_KNOWN_REQUIRED_BITS = _CHECKSUM_PRESENT | _MORE_TO_COME

# A server's default maxMessageSizeBytes.
MAX_MESSAGE_BYTES = 48_000_000
_HEADER = struct.Struct("<iiii")


def _header(buf: bytes | bytearray, pos: int = 0) -> tuple[int, int, int, int]:
    """(messageLength, requestID, responseTo, opCode) at ``buf[pos:]``."""
    length, request_id, response_to, opcode = _HEADER.unpack_from(buf, pos)
    return int(length), int(request_id), int(response_to), int(opcode)


# Inference takes a message cut by the end of a chunk only with at least this much of it.
_CUT_MIN_BYTES = 1024
# How much of a message too large to buffer is kept and decoded.
_CUT_KEEP = 64 * 1024
_HANDSHAKE_COMMANDS = frozenset({"hello", "ismaster", "isMaster"})
_MAX_DEPTH = 100


# -- BSON -> relaxed extended JSON ----------------------------------------------------------------


_I32 = struct.Struct("<i").unpack_from
_I64 = struct.Struct("<q").unpack_from
_F64 = struct.Struct("<d").unpack_from


def _cstring(data: bytes, pos: int) -> tuple[str, int]:
    end = data.index(b"\0", pos)
    return data[pos:end].decode("utf-8", "replace"), end + 1


def _string(data: bytes, pos: int) -> tuple[str, int]:
    size = _I32(data, pos)[0]
    end = pos + 4 + size
    if size < 1 or end > len(data) or data[end - 1] != 0:
        raise ValueError("bad BSON string")
    return data[pos + 4 : end - 1].decode("utf-8", "replace"), end


def _date(millis: int) -> object:
    # Relaxed mode: ISO-8601 for years 1970-9999, canonical $numberLong otherwise.
    if 0 <= millis <= 253_402_300_799_999:
        moment = datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=millis)
        frac = f".{moment.microsecond // 1000:03d}" if moment.microsecond else ""
        return {"$date": moment.strftime("%Y-%m-%dT%H:%M:%S") + frac + "Z"}
    return {"$date": {"$numberLong": str(millis)}}


def _decimal128(raw: bytes) -> str:
    low, high = (int(x) for x in struct.unpack("<QQ", raw))
    sign = "-" if high >> 63 else ""
    if (high >> 58) & 0x1F == 0x1F:
        return "NaN"
    if (high >> 58) & 0x1F == 0x1E:
        return sign + "Infinity"
    if (high >> 61) & 0x3 == 0x3:  # the "11" form: coefficient > 2^113 is non-canonical -> 0
        exponent = ((high >> 47) & 0x3FFF) - 6176
        coefficient = 0
    else:
        exponent = ((high >> 49) & 0x3FFF) - 6176
        coefficient = ((high & 0x1FFFFFFFFFFFF) << 64) | low
        if coefficient >= 10**34:
            coefficient = 0
    digits = str(coefficient)
    adjusted = exponent + len(digits) - 1
    if exponent <= 0 and adjusted >= -6:
        if exponent == 0:
            return sign + digits
        point = len(digits) + exponent
        if point > 0:
            return sign + digits[:point] + "." + digits[point:]
        return sign + "0." + "0" * (-point) + digits
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{mantissa}E{'+' if adjusted >= 0 else ''}{adjusted}"


def _double(value: float) -> object:
    if math.isfinite(value):
        return value
    return {
        "$numberDouble": "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    }


def _document(
    data: bytes, pos: int, depth: int, as_array: bool = False, partial: bool = False
) -> tuple[object, int]:
    """The document at ``data[pos:]`` as JSON-ready values, and the offset after it.

    With ``partial``, a document that runs past the end of ``data`` (a message whose tail was
    not captured) gives the elements that are whole, and the offset ``len(data)``.
    """
    if depth > _MAX_DEPTH:
        raise ValueError("BSON nested too deep")
    size = _I32(data, pos)[0]
    end = pos + size
    cut = end > len(data)
    if size < 5 or (cut and not partial) or (not cut and data[end - 1] != 0):
        raise ValueError("bad BSON document size")
    limit = len(data) if cut else end - 1
    items: list[tuple[str, object]] = []
    pos += 4
    try:
        while pos < limit:
            kind = data[pos]
            name_end = data.index(b"\0", pos + 1)
            name = data[pos + 1 : name_end].decode("utf-8", "replace")
            pos = name_end + 1
            value: object
            # The common types first.
            if kind == 0x02 or kind == 0x0E:  # string, symbol
                value, pos = _string(data, pos)
            elif kind == 0x10:
                value = _I32(data, pos)[0]
                pos += 4
            elif kind == 0x01:
                value = _double(_F64(data, pos)[0])
                pos += 8
            elif kind == 0x12:
                value = _I64(data, pos)[0]
                pos += 8
            elif kind == 0x03 or kind == 0x04:
                value, pos = _document(data, pos, depth + 1, kind == 0x04, cut)
            elif kind == 0x05:
                (length,) = struct.unpack_from("<i", data, pos)
                subtype = data[pos + 4]
                payload = data[pos + 5 : pos + 5 + length]
                if length < 0 or len(payload) != length:
                    raise ValueError("bad BSON binary")
                if subtype == 2 and length >= 4:  # the old binary subtype nests its own length
                    payload = payload[4:]
                value = {
                    "$binary": {
                        "base64": base64.b64encode(payload).decode(),
                        "subType": f"{subtype:02x}",
                    }
                }
                pos += 5 + length
            elif kind == 0x06:
                value = {"$undefined": True}
            elif kind == 0x07:
                value = {"$oid": data[pos : pos + 12].hex()}
                pos += 12
            elif kind == 0x08:
                value = data[pos] != 0
                pos += 1
            elif kind == 0x09:
                value = _date(struct.unpack_from("<q", data, pos)[0])
                pos += 8
            elif kind == 0x0A:
                value = None
            elif kind == 0x0B:
                pattern, pos = _cstring(data, pos)
                options, pos = _cstring(data, pos)
                value = {"$regularExpression": {"pattern": pattern, "options": options}}
            elif kind == 0x0C:
                ref, pos = _string(data, pos)
                value = {"$dbPointer": {"$ref": ref, "$id": {"$oid": data[pos : pos + 12].hex()}}}
                pos += 12
            elif kind == 0x0D:
                code, pos = _string(data, pos)
                value = {"$code": code}
            elif kind == 0x0F:
                code, after = _string(data, pos + 4)
                scope, after = _document(data, after, depth + 1)
                value = {"$code": code, "$scope": scope}
                pos += struct.unpack_from("<i", data, pos)[0]
                if pos != after:
                    raise ValueError("bad BSON code with scope")
            elif kind == 0x11:
                increment, seconds = struct.unpack_from("<II", data, pos)
                value = {"$timestamp": {"t": seconds, "i": increment}}
                pos += 8
            elif kind == 0x13:
                value = {"$numberDecimal": _decimal128(data[pos : pos + 16])}
                pos += 16
            elif kind == 0xFF:
                value = {"$minKey": 1}
            elif kind == 0x7F:
                value = {"$maxKey": 1}
            else:
                raise ValueError(f"BSON element type {kind:#x}")
            if pos > limit:
                raise ValueError("BSON element overruns its document")
            items.append((name, value))
    except (ValueError, IndexError, struct.error):
        if not cut:
            raise
        pos = len(data)  # the rest was not captured: keep the whole elements
    if not cut and pos != end - 1:
        raise ValueError("BSON document overrun")
    if as_array:
        return [value for _, value in items], min(end, len(data))
    return dict(items), min(end, len(data))


def bson_to_relaxed(
    data: bytes, pos: int = 0, *, partial: bool = False
) -> tuple[dict[str, object], int]:
    """Decode the BSON document at ``data[pos:]`` into relaxed extended JSON values.

    Returns the document and the offset after it; raises ValueError on malformed BSON. With
    ``partial``, a document cut by the end of ``data`` gives its whole elements.
    """
    try:
        doc, end = _document(data, pos, 0, False, partial)
    except (struct.error, IndexError) as exc:
        raise ValueError("truncated BSON") from exc
    assert isinstance(doc, dict)
    return doc, end


# -- framing ----------------------------------------------------------------------------------


def _header_ok(buf: bytes | bytearray, pos: int = 0) -> bool:
    """A plausible message header (and OP_MSG flags) at ``buf[pos:]`` (needs 20 bytes)."""
    length, request_id, response_to, opcode = _header(buf, pos)
    if opcode not in _OPCODES or not 16 < length <= MAX_MESSAGE_BYTES:
        return False
    if request_id == 0 and opcode != OP_REPLY and response_to == 0:
        return False
    if opcode == OP_MSG:
        flags = int.from_bytes(buf[pos + 16 : pos + 20], "little")
        if flags & 0xFFFF & ~_KNOWN_REQUIRED_BITS or flags & ~0xFFFF & ~_EXHAUST_ALLOWED:
            return False
        # flags, one section kind byte and at least an empty document (plus the checksum).
        return length >= 16 + 4 + 1 + 5 + (4 if flags & _CHECKSUM_PRESENT else 0)
    return True


def looks_like_mongo(data: bytes, *, request: bool) -> bool:
    """Whole MongoDB messages from the start of ``data``, a request (or response) first.

    A request has responseTo 0 and is OP_MSG/OP_QUERY; a response answers a non-zero id and is
    OP_MSG/OP_REPLY. The first message's kind 0 document (or the OP_QUERY collection name) must
    parse too, so only real MongoDB traffic qualifies. An OP_MSG longer than ``data`` (a large
    write of which the tracer captured the start) qualifies when at least _CUT_MIN_BYTES of it
    are there and its body's captured elements parse.
    """
    if len(data) < 21:
        return False
    length, _, response_to, opcode = _header(data)
    cut = length > len(data)
    if not _header_ok(data) or (cut and (opcode != OP_MSG or len(data) < _CUT_MIN_BYTES)):
        return False
    if request and (response_to != 0 or opcode not in (OP_MSG, OP_QUERY)):
        return False
    if not request and (response_to == 0 or opcode not in (OP_MSG, OP_REPLY)):
        return False
    message = bytes(data[:length])
    try:
        if opcode == OP_MSG:
            if message[20] != 0:
                return False
            body, end = bson_to_relaxed(message, 21, partial=cut)
            return end <= length and bool(body) and next(iter(body)).isprintable()
        if opcode == OP_QUERY:
            name, pos = _cstring(message, 20)
            if not name.endswith(".$cmd") or not name.isprintable():
                return False
            _, end = bson_to_relaxed(message, pos + 8)
            return end <= length
        _, end = bson_to_relaxed(message, 36)  # OP_REPLY: first returned document
        return end <= length
    except ValueError:
        return False


@dataclass(slots=True)
class _Message:
    request_id: int
    response_to: int
    opcode: int
    more_to_come: bool
    command: str
    body: dict[str, object]
    ts: int
    cut: bool = False  # only the start of the message was captured


@dataclass(slots=True)
class MongoRecord(Record):
    request_timestamp_ns: int
    response_timestamp_ns: int
    req_cmd: str
    req_body: str
    resp_status: str
    resp_body: str

    def to_row(self) -> dict[str, object]:
        return {
            "req_cmd": self.req_cmd,
            "req_body": self.req_body,
            "resp_status": self.resp_status,
            "resp_body": self.resp_body,
        }


MongoRecord.table_name = "mongodb_events"  # not in the dataclass: mypyc/mypyc#1122


def _status(reply: dict[str, object], cut: bool = False) -> str:
    """ "ok" for ok: 1, else the errmsg; "" when the captured part of a reply has neither."""
    if cut and "ok" not in reply and not reply.get("errmsg"):
        return ""
    ok = reply.get("ok")
    if ok is True or (isinstance(ok, (int, float)) and not isinstance(ok, bool) and ok == 1):
        return "ok"
    errmsg = reply.get("errmsg")
    return str(errmsg) if errmsg else "not ok"


class MongoParser(ConnectionParser):
    protocol: ClassVar[Protocol] = Protocol.MONGO
    table_name: ClassVar[str] = "mongodb_events"
    error_note = "malformed MongoDB messages (or OP_COMPRESSED, which is not decoded)"

    def __init__(self, role: Role, *, max_body_bytes: int = 512) -> None:
        super().__init__(role, max_body_bytes=max_body_bytes)
        self._streams = {True: ByteStream(), False: ByteStream()}
        self._skip = {True: 0, False: 0}  # bytes left of a message too large to buffer
        self._pending: dict[int, _Message] = {}  # requests by requestID
        self.compressed_messages = 0
        self.truncated_messages = 0  # decoded from their captured start only

    def _looks_like_request(self, data: bytes) -> bool:
        if len(data) >= 16:
            return _header(data)[2] == 0
        return True

    # -- framing ------------------------------------------------------------------------------

    def _feed(self, is_request: bool, data: bytes, timestamp_ns: int, lost_bytes: int) -> None:
        stream = self._streams[is_request]
        if lost_bytes > 0:
            skip = self._skip[is_request]
            if skip and lost_bytes <= skip:
                self._skip[is_request] = skip - lost_bytes  # lost inside a message's tail
            elif not skip and self._cut_message(is_request, stream, lost_bytes, timestamp_ns):
                pass  # lost inside the message being read: its captured start was decoded
            else:
                self._skip[is_request] = 0
                stream.clear()
                self.parse_errors += 1
                stream.append(data, timestamp_ns)
                self._resync(stream)
                self._parse(is_request, stream)
                return
        skip = self._skip[is_request]
        if skip:
            if len(data) <= skip:
                self._skip[is_request] = skip - len(data)
                return
            data = data[skip:]
            self._skip[is_request] = 0
        if data:
            stream.append(data, timestamp_ns)
        self._parse(is_request, stream)

    def _cut_message(
        self, is_request: bool, stream: ByteStream, lost_bytes: int, timestamp_ns: int
    ) -> bool:
        """Bytes were lost inside the message at the buffer's start (the tracer captures only
        the first bytes of a large write): decode what was captured and skip the rest."""
        buf = stream.buf
        if len(buf) < 21 or not _header_ok(buf):
            return False
        length = int.from_bytes(buf[:4], "little")
        if len(buf) + lost_bytes > length:
            return False
        ts = stream.ts_at(0)
        prefix = bytes(buf)
        stream.clear()
        self._skip[is_request] = length - len(prefix) - lost_bytes
        self.truncated_messages += 1
        self._message(is_request, prefix, length, ts, timestamp_ns)
        return True

    def _resync(self, stream: ByteStream) -> None:
        """Drop bytes up to the first plausible header followed by a parseable message start."""
        buf = stream.buf
        for start in range(max(0, len(buf) - 20)):
            if _header_ok(buf, start):
                length = int.from_bytes(buf[start : start + 4], "little")
                if len(buf) - start < length or self._decodes(bytes(buf[start : start + length])):
                    stream.consume(start)
                    return
        stream.clear()

    @staticmethod
    def _decodes(message: bytes) -> bool:
        try:
            _decode(message)
        except ValueError:
            return False
        return True

    def _parse(self, is_request: bool, stream: ByteStream) -> None:
        buf = stream.buf
        while len(buf) >= 20:
            if not _header_ok(buf):
                self.parse_errors += 1
                stream.consume(1)
                self._resync(stream)
                continue
            length = int.from_bytes(buf[:4], "little")
            if length > MAX_BUFFER_BYTES:
                # Too large to hold (a big insert batch or getMore reply): decode its first
                # _CUT_KEEP bytes, skip the rest.
                if len(buf) < _CUT_KEEP:
                    return
                ts, last_ts = stream.ts_at(0), stream.ts_at(_CUT_KEEP - 1)
                prefix = bytes(buf[:_CUT_KEEP])
                stream.consume(_CUT_KEEP)
                self._skip[is_request] = length - _CUT_KEEP
                self.truncated_messages += 1
                self._message(is_request, prefix, length, ts, last_ts)
                drop = min(len(buf), self._skip[is_request])  # the buffered part of its tail
                stream.consume(drop)
                self._skip[is_request] -= drop
                continue
            if len(buf) < length:
                return
            ts = stream.ts_at(0)
            last_ts = stream.ts_at(length - 1)
            message = bytes(buf[:length])
            stream.consume(length)
            self._message(is_request, message, length, ts, last_ts)

    def _message(self, is_request: bool, data: bytes, length: int, ts: int, last_ts: int) -> None:
        """Decode one message (or the captured start of one) and pair it."""
        cut = len(data) < length
        try:
            decoded = _decode(data, length)
        except ValueError:
            self.parse_errors += 1
            return
        if decoded is None:  # OP_COMPRESSED
            self.compressed_messages += 1
            self.parse_errors += 1
            return
        request_id, response_to, opcode, more, body = decoded
        command = next(iter(body), "") if opcode != OP_REPLY else ""
        msg = _Message(request_id, response_to, opcode, more, command, body, ts, cut)
        if is_request:
            self._request(msg)
        else:
            msg.ts = last_ts
            self._response(msg)

    # -- pairing ------------------------------------------------------------------------------

    def _request(self, msg: _Message) -> None:
        if msg.opcode == OP_REPLY or msg.response_to != 0:
            self.parse_errors += 1  # a reply in the request stream: the direction is wrong
            return
        if msg.more_to_come:  # no reply will come (w: 0)
            self._row(msg, None)
            return
        if len(self._pending) >= MAX_PENDING_REQUESTS:
            self.dropped_requests += 1
            return
        self._pending[msg.request_id] = msg

    def _response(self, msg: _Message) -> None:
        request = self._pending.pop(msg.response_to, None)
        if request is None:
            self.unmatched_responses += 1
            return
        self._row(request, msg)
        if msg.more_to_come:  # exhaust: the next reply answers this one
            follow = _Message(
                msg.request_id,
                0,
                request.opcode,
                False,
                request.command,
                request.body,
                msg.ts,
                request.cut,
            )
            self._pending[msg.request_id] = follow

    def _row(self, request: _Message, response: _Message | None) -> None:
        if request.command in _HANDSHAKE_COMMANDS:
            return
        self._emit(
            MongoRecord(
                request.ts,
                response.ts if response else 0,
                request.command,
                self._body(request),
                _status(response.body, response.cut) if response else "",
                self._body(response) if response else "",
            )
        )

    def _body(self, msg: _Message) -> str:
        body = truncate(json_compact(msg.body), self.max_body_bytes)
        if msg.cut and not body.endswith(TRUNCATED_SUFFIX):
            body += TRUNCATED_SUFFIX  # the message's tail was not captured
        return body

    # -- housekeeping -------------------------------------------------------------------------

    def _expire(self, cutoff_ns: int) -> None:
        stale = [rid for rid, msg in self._pending.items() if msg.ts < cutoff_ns]
        for rid in stale:
            del self._pending[rid]
            self.dropped_requests += 1

    def _on_close(self) -> None:
        self.dropped_requests += len(self._pending)

    def _reset(self) -> None:
        for stream in self._streams.values():
            stream.clear()
        self._skip = {True: 0, False: 0}
        self._pending.clear()


def _decode(
    message: bytes, length: int | None = None
) -> tuple[int, int, int, bool, dict[str, object]] | None:
    """(requestID, responseTo, opCode, moreToCome, document) of one message.

    ``message`` is the whole message, or (with ``length``, the message's declared length) the
    captured start of a longer one, decoded as far as it goes. None for OP_COMPRESSED;
    ValueError when the message is malformed.
    """
    declared, request_id, response_to, opcode = _header(message)
    cut = length is not None and len(message) < length
    if declared != (length if length is not None else len(message)):
        raise ValueError("length mismatch")
    if opcode == OP_COMPRESSED:
        return None
    if opcode == OP_MSG:
        flags = int.from_bytes(message[16:20], "little")
        end = declared - (4 if flags & _CHECKSUM_PRESENT else 0)
        if cut:
            end = min(end, len(message))
        pos = 20
        body: dict[str, object] | None = None
        sequences: list[tuple[str, list[object]]] = []
        while pos < end:
            kind = message[pos]
            if kind == 0:
                if body is not None:
                    raise ValueError("two kind 0 sections")
                body, pos = bson_to_relaxed(message, pos + 1, partial=cut)
                if pos > end:
                    raise ValueError("body overruns the message")
            elif kind == 1:
                size = int.from_bytes(message[pos + 1 : pos + 5], "little")
                section_end = pos + 1 + size
                if size < 5 or section_end > declared:
                    raise ValueError("bad document sequence")
                section_end = min(section_end, end)
                identifier, doc_pos = _cstring(message, pos + 5)
                docs: list[object] = []
                while doc_pos < section_end:
                    doc, doc_pos = bson_to_relaxed(message, doc_pos, partial=cut)
                    docs.append(doc)
                if doc_pos != section_end:
                    raise ValueError("document sequence overrun")
                sequences.append((identifier, docs))
                pos = section_end
            else:
                raise ValueError(f"section kind {kind}")
        if body is None or pos != end:
            raise ValueError("no body section")
        if sequences:
            body = {**body, **dict(sequences)}
        return request_id, response_to, opcode, bool(flags & _MORE_TO_COME), body
    try:
        if opcode == OP_QUERY:
            _, pos = _cstring(message, 20)
            body, end = bson_to_relaxed(message, pos + 8, partial=cut)
            if end > declared:
                raise ValueError("query overrun")
            return request_id, response_to, opcode, False, body
        # OP_REPLY: flags, cursorID, startingFrom, numberReturned, documents (the first shown).
        (returned,) = struct.unpack_from("<i", message, 32)
        if returned < 1:
            return request_id, response_to, opcode, False, {}
        body, end = bson_to_relaxed(message, 36, partial=cut)
        if end > declared:
            raise ValueError("reply overrun")
        return request_id, response_to, opcode, False, body
    except (struct.error, IndexError) as exc:
        raise ValueError("truncated message") from exc
