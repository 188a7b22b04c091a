"""Stirling's protocol layer: protocol inference and per-connection request/response parsers.

No kernel: the socket tracer's glue feeds each connection's captured byte chunks to a parser made
by ``make_parser`` and turns the finished records into table rows (``record.to_row()`` gives the
protocol columns; the glue adds COMMON8 and ``latency``).

Every parser is Python (mypyc compiles them in the PEM image). HTTP/1, the hottest, also has a
hand-written C twin, ``_http_native`` (built by ``make mypyc`` or ``tools/native_build.py``; a
differential test holds it to the Python parser's rows and counters): ``make_parser`` uses it when
it is built, unless ``PYXIE_NATIVE_HTTP=0``. ``native_http_status()`` says which one runs.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import sys
from typing import Any

from ._amqp import AmqpParser, AmqpRecord
from ._common import (
    DEFAULT_STRING_LIMIT,
    MAX_BUFFER_BYTES,
    MAX_PENDING_REQUESTS,
    PENDING_REQUEST_TIMEOUT_NS,
    TRUNCATED_SUFFIX,
    ConnectionParser,
    Direction,
    ParserApi,
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
    "ParserApi",
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
    "native_http_status",
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


NATIVE_HTTP_MODULE = "pyxie_stirling.protocols._http_native"


def _load_native_http() -> tuple[Any, str]:
    """The native HTTP/1 parser class, or None, and a line saying why."""
    if os.environ.get("PYXIE_NATIVE_HTTP", "1") == "0":
        return None, "HTTP/1 parser: Python (PYXIE_NATIVE_HTTP=0)"
    try:
        module = _import_beside_this_file(NATIVE_HTTP_MODULE)
    except ImportError:
        return None, "HTTP/1 parser: Python (the native module is not built: make mypyc)"
    return module.HttpParser, f"HTTP/1 parser: native ({module.__file__})"


def _import_beside_this_file(name: str) -> Any:
    """Import an extension module of this package. Compiled by mypyc, this package reports a
    ``__path__`` (and, while it initialises, a ``__file__``) its submodules cannot be found in,
    so the file is also looked for in this package's directory as the interpreted parent package
    knows it (and then registered in sys.modules, as an import would)."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError:
        parent = sys.modules["pyxie_stirling"].__file__ or ""
        here = os.path.join(os.path.dirname(parent), "protocols")
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = os.path.join(here, name.rsplit(".", 1)[-1] + suffix)
            spec = importlib.util.spec_from_file_location(name, path)
            if not os.path.exists(path) or spec is None or spec.loader is None:
                continue
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            sys.modules[name] = module
            return module
        raise


_NATIVE_HTTP, _NATIVE_HTTP_STATUS = _load_native_http()


def native_http_status() -> str:
    """Which HTTP/1 parser ``make_parser`` returns, in one line (the PEM logs it)."""
    return _NATIVE_HTTP_STATUS


class UnsupportedProtocolError(ValueError):
    """make_parser was asked for a protocol this layer has no parser for."""


def make_parser(protocol: Protocol, role: Role, *, max_body_bytes: int = 512) -> ParserApi:
    """A fresh parser for one connection of ``protocol`` traced from ``role``'s side."""
    if protocol == Protocol.HTTP and _NATIVE_HTTP is not None:
        native: ParserApi = _NATIVE_HTTP(role, max_body_bytes=max_body_bytes)
        return native
    parser_class = _PARSERS.get(protocol)
    if parser_class is None:
        raise UnsupportedProtocolError(f"no parser for protocol {protocol!r}")
    return parser_class(role, max_body_bytes=max_body_bytes)
