"""Protocol inference from the first bytes a connection carries.

Each check asks for structure, not just a magic byte, so random bytes and other protocols are not
taken for it:

* HTTP/1: a known method, a space and a target starting with ``/``, ``*`` or a scheme, and (when
  the line is complete) ``HTTP/1.0|1`` at its end; or a status line ``HTTP/1.x NNN``.
* PostgreSQL: a StartupMessage (protocol 3.0 and a ``user`` parameter), SSLRequest or
  GSSENCRequest with their exact lengths; or a Query/Parse message whose length matches the bytes
  and whose text is printable and NUL-terminated; from the server, an Authentication request.
* MySQL: a packet with sequence id 0 whose length matches the chunk and whose command is
  COM_QUERY/COM_STMT_PREPARE (printable SQL), COM_STMT_EXECUTE/CLOSE, COM_INIT_DB or
  COM_PING/COM_QUIT (exactly one byte); from the server, a v10 greeting with a version string.
* Redis: a request ``*N\\r\\n$M\\r\\n<letters>\\r\\n`` with consistent sizes; a reply that is a
  whole ``+``/``-``/``:`` line of printable text (``-`` needs an upper-case error word) or a bulk
  ``$N\\r\\n`` with N matching.
* DNS: with ``port_hint == 53`` any message that parses; otherwise a message that parses exactly
  to its last byte with standard opcode, 1-10 questions, class IN/CH/ANY and hostname-like labels.
* HTTP/2: the client connection preface ``PRI * HTTP/2.0``; from the server, a chunk of whole
  frames starting with a SETTINGS frame on stream 0. Last of all, a chunk that is exactly a
  sequence of well-formed frames (a connection traced from its middle; its parser then reports
  that it cannot decode it).
* NATS: ``CONNECT {`` from the client or ``INFO {...server_id...`` from the server; from the
  middle of a connection, a complete ``SUB`` line or ``PUB`` line with its payload.
* AMQP 0-9-1: the protocol header ``AMQP\\0\\0\\x09\\x01``; from the server, Connection.Start;
  from the middle of a connection (near the end of the order), a chunk of whole frames with
  known methods and frame-end octets.
* MongoDB: whole messages from the chunk's start: a 16-byte header whose length is plausible
  and covered by the chunk (or an OP_MSG cut by the chunk's end after at least 1 KiB), opCode
  OP_MSG (valid flagBits) or OP_QUERY with responseTo 0 from the client, OP_MSG or OP_REPLY
  answering a non-zero id from the server, and a first BSON document that parses (OP_QUERY: on
  a ``.$cmd`` collection). Needs no connection opening.
* Mux: a chunk of whole messages (4-byte size covering type, tag and body) with known types,
  the first a Tinit/Tdispatch/Treq/Tping (client) or their R-message (server); late in the
  order, since its check is only a size and a type byte.
* CQL (Cassandra): a chunk of whole frames (or one frame's start) whose 9-byte headers carry
  version 3-5 with the direction bit of the side, only known flag bits, a request (or response)
  opcode, a non-negative stream id (-1 only for a server EVENT) and a length matching the bytes.
* Kafka: a request (4-byte size matching the chunk, or pipelined requests), a known client API
  key with a version in range, a non-negative correlation id and a printable client id. Responses
  carry only a size and a correlation id, too little to tell: the connection is recognised by
  its requests. Checked after Redis (its first bytes are NULs, which no text protocol sends).
* TLS: a handshake record (type 22, version 3.x) holding a ClientHello or ServerHello.

The order is fixed (HTTP, HTTP/2, PostgreSQL, NATS, AMQP, MongoDB, MySQL, Redis, Kafka, TLS,
CQL, DNS, mid-stream AMQP, Mux, mid-stream HTTP/2); the first match wins.
"""

from __future__ import annotations

from ._amqp import PROTOCOL_HEADER as _AMQP_HEADER
from ._amqp import looks_like_amqp_frames
from ._common import Direction, Protocol, Role
from ._cql import looks_like_cql
from ._dns import parse_dns_message
from ._http2 import CLIENT_PREFACE, looks_like_http2_frames
from ._kafka import looks_like_kafka_request
from ._mongodb import looks_like_mongo
from ._mux import looks_like_mux

__all__ = ["infer_protocol", "infer_role"]

_HTTP_METHODS = (
    b"GET",
    b"HEAD",
    b"POST",
    b"PUT",
    b"DELETE",
    b"CONNECT",
    b"OPTIONS",
    b"TRACE",
    b"PATCH",
)
_DNS_PORT = 53


def _printable(data: bytes) -> bool:
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(c.isprintable() or c in "\r\n\t" for c in decoded)


def _http_request(data: bytes) -> bool:
    space = data.find(b" ", 0, 9)
    if space < 3 or data[:space] not in _HTTP_METHODS:
        return False
    target = data[space + 1 : space + 2]
    if target not in (b"/", b"*") and not data[space + 1 : space + 5].isalpha():
        return False
    eol = data.find(b"\r\n")
    if eol < 0:
        return len(data) < 8192
    line = data[:eol]
    return line.endswith((b" HTTP/1.0", b" HTTP/1.1"))


def _http_response(data: bytes) -> bool:
    return (
        len(data) >= 12
        and data.startswith((b"HTTP/1.0 ", b"HTTP/1.1 "))
        and data[9:12].isdigit()
        and data[12:13] in (b" ", b"\r", b"")
    )


def _http2_request(data: bytes) -> bool:
    # The client connection preface (h2c with prior knowledge, or plaintext from TLS probes).
    return len(data) >= 16 and data[:24] == CLIENT_PREFACE[: len(data[:24])]


def _http2_response(data: bytes) -> bool:
    # The server connection preface: a SETTINGS frame (not an ACK) on stream 0 first.
    return (
        len(data) >= 9
        and data[3] == 4
        and data[4] == 0
        and data[5:9] == b"\0\0\0\0"
        and looks_like_http2_frames(data)
    )


def _nats_request(data: bytes) -> bool:
    # CONNECT {json}, or (a connection seen from its middle) a complete SUB / PUB line.
    if data.startswith(b"CONNECT {"):
        eol = data.find(b"\r\n")
        return _printable(data[:eol] if eol >= 0 else data)
    eol = data.find(b"\r\n", 0, 1024)
    if eol < 0:
        return False
    words = data[:eol].split(b" ")
    if words[0] == b"SUB" and len(words) in (3, 4):
        return words[-1].isdigit() and _printable(data[:eol])
    if words[0] == b"PUB" and len(words) in (3, 4) and words[-1].isdigit():
        size = int(words[-1])
        return data[eol + 2 + size : eol + 4 + size] == b"\r\n" and _printable(data[:eol])
    return False


def _nats_response(data: bytes) -> bool:
    return data.startswith(b"INFO {") and b'"server_id"' in data[:1024]


def _amqp_request(data: bytes) -> bool:
    return data.startswith(_AMQP_HEADER)


def _amqp_response(data: bytes) -> bool:
    # Connection.Start (class 10, method 10) on channel 0 opens every server stream.
    return (
        data[:3] == b"\x01\x00\x00"
        and data[7:11] == b"\x00\x0a\x00\x0a"
        and (looks_like_amqp_frames(data))
    )


def _mongo_request(data: bytes) -> bool:
    return looks_like_mongo(data, request=True)


def _mongo_response(data: bytes) -> bool:
    return looks_like_mongo(data, request=False)


# Mux: a connection opens with Tinit (client) / Rinit; mid-stream, Tdispatch / Rdispatch and
# pings are what flows.
_MUX_REQUEST_TYPES = frozenset({68, 2, 1, 65})
_MUX_RESPONSE_TYPES = frozenset({-68, -2, -1, -65})


def _mux_request(data: bytes) -> bool:
    return looks_like_mux(data, _MUX_REQUEST_TYPES)


def _mux_response(data: bytes) -> bool:
    return looks_like_mux(data, _MUX_RESPONSE_TYPES)


def _cql_request(data: bytes) -> bool:
    return looks_like_cql(data, response=False)


def _cql_response(data: bytes) -> bool:
    return looks_like_cql(data, response=True)


def _pgsql_request(data: bytes) -> bool:
    if len(data) >= 8:
        length = int.from_bytes(data[:4], "big")
        code = int.from_bytes(data[4:8], "big")
        if code in (80877103, 80877104):  # SSLRequest, GSSENCRequest
            return length == 8 == len(data)
        if code == 196608 and 8 < length <= 10_000 and length == len(data):
            return b"user\0" in data[8:] and data.endswith(b"\0")
    if len(data) >= 6 and data[:1] in (b"Q", b"P"):
        length = int.from_bytes(data[1:5], "big")
        if data[:1] == b"Q":
            return length == len(data) - 1 and data.endswith(b"\0") and _sql_text(data[5:-1])
        # Parse often travels with Bind/Describe/Execute/Sync: check the first message only.
        if 6 <= length <= len(data) - 1:
            body = data[5 : 1 + length]
            parts = body.split(b"\0")
            return len(parts) >= 3 and _sql_text(parts[1]) and _printable(parts[0])
    return False


def _pgsql_response(data: bytes) -> bool:
    if len(data) >= 9 and data[:1] == b"R":
        length = int.from_bytes(data[1:5], "big")
        code = int.from_bytes(data[5:9], "big")
        return 8 <= length <= 2048 and code in (0, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12)
    return False


def _sql_text(data: bytes) -> bool:
    stripped = data.strip()
    starts_like_sql = stripped[:1].isalpha() or stripped[:1] in (b"(", b"-", b"/")
    return bool(stripped) and starts_like_sql and _printable(data)


def _mysql_request(data: bytes) -> bool:
    if len(data) < 5 or data[3] != 0:
        return False
    length = int.from_bytes(data[:3], "little")
    if length + 4 != len(data):
        return False
    cmd = data[4]
    if cmd in (0x03, 0x16):  # COM_QUERY, COM_STMT_PREPARE
        body = data[5:]
        return _sql_text(body) and _printable(body)
    if cmd == 0x02:  # COM_INIT_DB
        return length > 1 and _printable(data[5:])
    if cmd in (0x01, 0x0E):  # COM_QUIT, COM_PING
        return length == 1
    if cmd == 0x17:  # COM_STMT_EXECUTE: id, flags <= 0x0f, iteration count 1
        return length >= 10 and data[9] <= 0x0F and data[10:14] == b"\x01\0\0\0"
    if cmd == 0x19:  # COM_STMT_CLOSE
        return length == 5
    return False


def _mysql_response(data: bytes) -> bool:
    if len(data) < 10 or data[3] != 0 or data[4] != 10:
        return False
    length = int.from_bytes(data[:3], "little")
    if length + 4 != len(data):
        return False
    end = data.find(b"\0", 5)
    version = data[5:end]
    return end > 5 and version[:1].isdigit() and _printable(version)


def _redis_request(data: bytes) -> bool:
    if not data.startswith(b"*"):
        return False
    eol = data.find(b"\r\n", 1, 12)
    if eol < 2 or not data[1:eol].isdigit() or int(data[1:eol]) == 0:
        return False
    pos = eol + 2
    if data[pos : pos + 1] != b"$":
        return False
    eol = data.find(b"\r\n", pos + 1, pos + 12)
    if eol < 0 or not data[pos + 1 : eol].isdigit():
        return False
    size = int(data[pos + 1 : eol])
    name = data[eol + 2 : eol + 2 + size]
    return (
        0 < size <= 32
        and len(name) == size
        and name.replace(b"-", b"").isalpha()
        and (data[eol + 2 + size : eol + 4 + size] == b"\r\n")
    )


def _redis_response(data: bytes) -> bool:
    marker = data[:1]
    if marker in (b"+", b"-", b":"):
        eol = data.find(b"\r\n")
        if eol < 1 or eol + 2 != len(data):
            return False
        line = data[1:eol]
        if marker == b":":
            return line.lstrip(b"-").isdigit()
        if marker == b"-":
            word = line.split(b" ", 1)[0]
            return word.isalpha() and word.isupper() and _printable(line)
        return bool(line) and _printable(line)
    if marker == b"$":
        eol = data.find(b"\r\n")
        if eol < 2 or not data[1:eol].isdigit():
            return False
        return len(data) == eol + 2 + int(data[1:eol]) + 2 and data.endswith(b"\r\n")
    return False


def _tls(data: bytes) -> bool:
    return (
        len(data) >= 6
        and data[0] == 22
        and data[1] == 3
        and data[2] <= 4
        and data[5] in (1, 2)
        and 0 < int.from_bytes(data[3:5], "big") <= 16384 + 2048
    )


def _hostname_like(name: str) -> bool:
    return all(c.isalnum() or c in "-_." for c in name)


def _dns(data: bytes, port_hint: int | None) -> bool:
    message = parse_dns_message(data)
    if message is None and len(data) > 2 and int.from_bytes(data[:2], "big") == len(data) - 2:
        message = parse_dns_message(data[2:])  # DNS over TCP
    if message is None:
        return False
    if port_hint == _DNS_PORT:
        return True
    opcode = (message.flags >> 11) & 0xF
    qd = message.counts[0]
    return (
        opcode == 0
        and 1 <= qd <= 10
        and (message.flags >> 6) & 1 == 0  # the Z bit is always zero
        and all(_hostname_like(name) and name for name, _ in message.queries)
    )


def _sides(direction: Direction, role: Role) -> tuple[bool, bool]:
    """(may be a request, may be a response) for bytes going ``direction``."""
    if role is Role.UNKNOWN:
        return True, True
    sent_by_client = (direction is Direction.EGRESS) == (role is Role.CLIENT)
    return sent_by_client, not sent_by_client


def infer_protocol(
    data: bytes, direction: Direction, role: Role, port_hint: int | None = None
) -> Protocol | None:
    """The protocol of a connection from its first chunk, or None when nothing matches."""
    if not data:
        return None
    data = bytes(data)
    request, response = _sides(direction, role)
    if (request and _http_request(data)) or (response and _http_response(data)):
        return Protocol.HTTP
    if (request and _http2_request(data)) or (response and _http2_response(data)):
        return Protocol.HTTP2
    if (request and _pgsql_request(data)) or (response and _pgsql_response(data)):
        return Protocol.PGSQL
    if (request and _nats_request(data)) or (response and _nats_response(data)):
        return Protocol.NATS
    if (request and _amqp_request(data)) or (response and _amqp_response(data)):
        return Protocol.AMQP
    if (request and _mongo_request(data)) or (response and _mongo_response(data)):
        return Protocol.MONGO
    if (request and _mysql_request(data)) or (response and _mysql_response(data)):
        return Protocol.MYSQL
    if (request and _redis_request(data)) or (response and _redis_response(data)):
        return Protocol.REDIS
    if request and looks_like_kafka_request(data):
        return Protocol.KAFKA
    if _tls(data):
        return Protocol.TLS
    if (request and _cql_request(data)) or (response and _cql_response(data)):
        return Protocol.CQL
    if _dns(data, port_hint):
        return Protocol.DNS
    if looks_like_amqp_frames(data):
        return Protocol.AMQP  # whole frames from the middle of a connection
    if (request and _mux_request(data)) or (response and _mux_response(data)):
        return Protocol.MUX
    if looks_like_http2_frames(data, partial_last=True):
        # HTTP/2 frames from the middle of a connection: its parser will say it cannot decode
        # them (HPACK state unknown) instead of the connection going silently unparsed.
        return Protocol.HTTP2
    return None


_REQUEST_CHECKS = {
    Protocol.HTTP: _http_request,
    Protocol.HTTP2: _http2_request,
    Protocol.NATS: _nats_request,
    Protocol.AMQP: _amqp_request,
    Protocol.MUX: _mux_request,
    Protocol.MONGO: _mongo_request,
    Protocol.PGSQL: _pgsql_request,
    Protocol.MYSQL: _mysql_request,
    Protocol.REDIS: _redis_request,
    Protocol.CQL: _cql_request,
    Protocol.KAFKA: looks_like_kafka_request,
}
_RESPONSE_CHECKS = {
    Protocol.HTTP: _http_response,
    Protocol.HTTP2: _http2_response,
    Protocol.NATS: _nats_response,
    Protocol.AMQP: _amqp_response,
    Protocol.MUX: _mux_response,
    Protocol.MONGO: _mongo_response,
    Protocol.PGSQL: _pgsql_response,
    Protocol.MYSQL: _mysql_response,
    Protocol.REDIS: _redis_response,
    Protocol.CQL: _cql_response,
}


def infer_role(protocol: Protocol, data: bytes, direction: Direction) -> Role:
    """The traced process's role from a chunk of a known protocol (UNKNOWN when unclear)."""
    data = bytes(data)
    if protocol is Protocol.DNS:
        message = parse_dns_message(data)
        if message is None:
            return Role.UNKNOWN
        is_request = not message.is_response
    else:
        req_check = _REQUEST_CHECKS.get(protocol)
        resp_check = _RESPONSE_CHECKS.get(protocol)
        looks_request = req_check is not None and req_check(data)
        looks_response = resp_check is not None and resp_check(data)
        if looks_request == looks_response:
            return Role.UNKNOWN
        is_request = looks_request
    sent = direction is Direction.EGRESS
    return Role.CLIENT if is_request == sent else Role.SERVER
