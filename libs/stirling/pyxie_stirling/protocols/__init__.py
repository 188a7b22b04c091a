"""Stirling's protocol layer: protocol inference and per-connection request/response parsers.

Pure Python, no kernel: the socket tracer's glue feeds each connection's captured byte chunks to
a parser made by ``make_parser`` and turns the finished ``Record``s into table rows
(``record.to_row()`` gives the protocol columns; the glue adds COMMON8 and ``latency``).
"""

from __future__ import annotations

from ._amqp import AmqpParser, AmqpRecord
from ._common import (
    DEFAULT_STRING_LIMIT,
    MAX_BUFFER_BYTES,
    MAX_PENDING_REQUESTS,
    PENDING_REQUEST_TIMEOUT_NS,
    TRUNCATED_SUFFIX,
    ConnectionParser,
    Direction,
    Protocol,
    Record,
    Role,
)
from ._cql import CqlParser, CqlRecord
from ._dns import DnsParser, DnsRecord
from ._http import HttpParser, HttpRecord
from ._http2 import Http2Parser, Http2Record
from ._infer import infer_protocol, infer_role
from ._kafka import KafkaParser, KafkaRecord
from ._mongodb import MongoParser, MongoRecord
from ._mux import MuxParser, MuxRecord
from ._mysql import MysqlParser, MysqlRecord
from ._nats import NatsParser, NatsRecord
from ._pgsql import PgsqlParser, PgsqlRecord
from ._redis import RedisParser, RedisRecord

__all__ = [
    "DEFAULT_STRING_LIMIT",
    "MAX_BUFFER_BYTES",
    "MAX_PENDING_REQUESTS",
    "PENDING_REQUEST_TIMEOUT_NS",
    "SUPPORTED_PROTOCOLS",
    "TRUNCATED_SUFFIX",
    "AmqpParser",
    "AmqpRecord",
    "ConnectionParser",
    "CqlParser",
    "CqlRecord",
    "Direction",
    "DnsParser",
    "DnsRecord",
    "Http2Parser",
    "Http2Record",
    "HttpParser",
    "HttpRecord",
    "KafkaParser",
    "KafkaRecord",
    "MongoParser",
    "MongoRecord",
    "MuxParser",
    "MuxRecord",
    "MysqlParser",
    "MysqlRecord",
    "NatsParser",
    "NatsRecord",
    "PgsqlParser",
    "PgsqlRecord",
    "Protocol",
    "Record",
    "RedisParser",
    "RedisRecord",
    "Role",
    "UnsupportedProtocolError",
    "infer_protocol",
    "infer_role",
    "make_parser",
]

_PARSERS: dict[Protocol, type[ConnectionParser]] = {
    Protocol.HTTP: HttpParser,
    Protocol.HTTP2: Http2Parser,
    Protocol.PGSQL: PgsqlParser,
    Protocol.MYSQL: MysqlParser,
    Protocol.REDIS: RedisParser,
    Protocol.DNS: DnsParser,
    Protocol.NATS: NatsParser,
    Protocol.AMQP: AmqpParser,
    Protocol.MUX: MuxParser,
    Protocol.CQL: CqlParser,
    Protocol.MONGO: MongoParser,
    Protocol.KAFKA: KafkaParser,
}
SUPPORTED_PROTOCOLS = frozenset(_PARSERS)


class UnsupportedProtocolError(ValueError):
    """make_parser was asked for a protocol this layer has no parser for."""


def make_parser(protocol: Protocol, role: Role, *, max_body_bytes: int = 512) -> ConnectionParser:
    """A fresh parser for one connection of ``protocol`` traced from ``role``'s side."""
    parser_class = _PARSERS.get(protocol)
    if parser_class is None:
        raise UnsupportedProtocolError(f"no parser for protocol {protocol!r}")
    return parser_class(role, max_body_bytes=max_body_bytes)
