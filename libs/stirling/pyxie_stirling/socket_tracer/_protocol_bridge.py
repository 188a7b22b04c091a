"""The socket tracer's view of the protocol parsers (`pyxie_stirling.protocols`).

The tracer needs four things from the protocol layer: guess a connection's protocol from its
first bytes, build a parser for it, feed the parser ordered chunks per direction (with the bytes
lost before a chunk), and collect finished request/response records (`to_row()` gives the
protocol columns; the tracer adds COMMON8 and latency). These Protocols state that contract;
`load_protocol_layer()` adapts the real package, imported lazily so that the tracer still reports
conn_stats when the parsers are unavailable.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["ParserLike", "ProtocolLayer", "RecordLike", "load_protocol_layer"]


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

    def infer(self, data: bytes, direction: int) -> int | None:
        """Pixie protocol number of a connection whose first chunk is ``data``, or None."""
        ...

    def new_parser(self, protocol: int, role: int, max_body_bytes: int) -> ParserLike: ...


class _PackageLayer:
    """Adapts `pyxie_stirling.protocols` (Direction, Role, infer_protocol, parser classes)."""

    def __init__(self, module: Any) -> None:
        self._module = module
        self.directions = (module.Direction.EGRESS, module.Direction.INGRESS)
        self._role = module.Role
        self._infer: Callable[[bytes, Any], Any] = module.infer_protocol
        self._factory: Callable[[int, Any, int], ParserLike] = self._find_factory(module)

    @staticmethod
    def _find_factory(module: Any) -> Callable[[int, Any, int], ParserLike]:
        for name in ("new_parser", "parser_for", "create_parser", "make_parser"):
            factory = getattr(module, name, None)
            if callable(factory):

                def build(protocol: int, role: Any, limit: int, _f: Any = factory) -> ParserLike:
                    parser: ParserLike = _f(module.Protocol(protocol), role, max_body_bytes=limit)
                    return parser

                return build
        # No factory exported: every concrete ConnectionParser subclass names its protocol.
        classes: dict[int, Any] = {}
        pending = list(module.ConnectionParser.__subclasses__())
        while pending:
            cls = pending.pop()
            pending.extend(cls.__subclasses__())
            protocol = getattr(cls, "protocol", None)
            if protocol is not None and not getattr(cls, "__abstractmethods__", None):
                classes[int(protocol)] = cls

        def build_from_class(protocol: int, role: Any, limit: int) -> ParserLike:
            parser: ParserLike = classes[protocol](role, max_body_bytes=limit)
            return parser

        return build_from_class

    def infer(self, data: bytes, direction: int) -> int | None:
        protocol = self._infer(data, self.directions[direction])
        if protocol is None or int(protocol) == 0:
            return None
        return int(protocol)

    def new_parser(self, protocol: int, role: int, max_body_bytes: int) -> ParserLike:
        return self._factory(protocol, self._role(role), max_body_bytes)


def load_protocol_layer() -> ProtocolLayer:
    """The real parsers; raises ImportError/AttributeError naming what is missing."""
    module = importlib.import_module("pyxie_stirling.protocols")
    return _PackageLayer(module)
