"""eBPF socket tracer: syscall tracepoints + libssl uprobes -> protocol tables and conn_stats."""

from ._bpf import ProgramOptions, SocketTraceProgram
from ._conntrack import Connection, ConnStats, ConnTracker, format_addr
from ._events import ControlEvent, DataEventHeader, EventKind, KernelDirection
from ._protocol_bridge import ParserLike, ProtocolLayer, RecordLike, load_protocol_layer
from .source import SocketTracerConfig, SocketTraceSource

__all__ = [
    "ConnStats",
    "ConnTracker",
    "Connection",
    "ControlEvent",
    "DataEventHeader",
    "EventKind",
    "KernelDirection",
    "ParserLike",
    "ProgramOptions",
    "ProtocolLayer",
    "RecordLike",
    "SocketTraceProgram",
    "SocketTraceSource",
    "SocketTracerConfig",
    "format_addr",
    "load_protocol_layer",
]
