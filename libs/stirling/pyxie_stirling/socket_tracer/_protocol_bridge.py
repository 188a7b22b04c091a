"""The socket tracer's view of the protocol parsers (`pyxie_stirling.protocols`).

The tracer needs four things from the protocol layer: guess a connection's protocol from its
first bytes, build a parser for it, feed the parser ordered chunks per direction (with the bytes
lost before a chunk), and collect finished request/response records (`to_row()` gives the
protocol columns; the tracer adds COMMON8 and latency). These Protocols state that contract;
`load_protocol_layer()` adapts the real package, imported lazily so that the tracer still reports
conn_stats if the parsers cannot be imported.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol

__all__ = [
    "PROTOCOL_TLS",
    "ParserLike",
    "ProtocolLayer",
    "RecordLike",
    "UnsupportedProtocol",
    "load_protocol_layer",
]

# conn_stats protocol number of TLS (Pixie's); a TLS connection has no parser of its own.
PROTOCOL_TLS = 13


class UnsupportedProtocol(Exception):
    """The layer recognised the protocol but has no parser for it (e.g. TLS ciphertext)."""


class RecordLike(Protocol):
    table_name: str
    request_timestamp_ns: int
    response_timestamp_ns: int

    def to_row(self) -> dict[str, object]: ...


class ParserLike(Protocol):
    def feed(
        self, direction: Any, data: bytes, timestamp_ns: int, *, lost_bytes: int = 0
    ) -> None: ...

    def records(self) -> list[Any]: ...

    def flush(self, now_ns: int) -> None: ...

    def close(self) -> None: ...


class ProtocolLayer(Protocol):
    # The layer's direction values, indexed by the kernel's (0 egress, 1 ingress).
    directions: tuple[Any, Any]

    def infer(self, data: bytes, direction: int, role: int, remote_port: int) -> int | None:
        """Pixie protocol number of a connection whose first chunk is ``data``, or None."""
        ...

    def infer_role(self, protocol: int, data: bytes, direction: int) -> int:
        """Trace role (1 client, 2 server, 4 unknown) of a connection whose opening we missed."""
        ...

    def new_parser(self, protocol: int, role: int, max_body_bytes: int) -> ParserLike:
        """A parser for one connection; raises UnsupportedProtocol when there is none."""
        ...


class _PackageLayer:
    """Adapts `pyxie_stirling.protocols` (infer_protocol, infer_role, make_parser)."""

    def __init__(self, module: Any) -> None:
        self._m = module
        self.directions = (module.Direction.EGRESS, module.Direction.INGRESS)
        self._supported = frozenset(int(p) for p in module.SUPPORTED_PROTOCOLS)

    def infer(self, data: bytes, direction: int, role: int, remote_port: int) -> int | None:
        m = self._m
        protocol = m.infer_protocol(data, self.directions[direction], m.Role(role), remote_port)
        if protocol is None or int(protocol) == 0:
            return None
        return int(protocol)

    def infer_role(self, protocol: int, data: bytes, direction: int) -> int:
        m = self._m
        return int(m.infer_role(m.Protocol(protocol), data, self.directions[direction]))

    def new_parser(self, protocol: int, role: int, max_body_bytes: int) -> ParserLike:
        if protocol not in self._supported:
            raise UnsupportedProtocol(protocol)
        m = self._m
        parser: ParserLike = m.make_parser(
            m.Protocol(protocol), m.Role(role), max_body_bytes=max_body_bytes
        )
        return parser


def load_protocol_layer() -> ProtocolLayer:
    """The real parsers; raises ImportError/AttributeError naming what is missing."""
    return _PackageLayer(importlib.import_module("pyxie_stirling.protocols"))
