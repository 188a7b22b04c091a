"""pyxie-stirling: the data collectors of a PEM.

`Stirling` runs `Source`s on a thread and pushes Arrow batches into a table store (or any
callback). Sources: `ProcessStatsSource` and `NetworkStatsSource` (/proc, always available) and
`SocketTraceSource` (eBPF via bcc, imported lazily: this package imports without bcc).
`mypyc_status()` tells whether the socket tracer's hot modules run compiled (`make mypyc`, the
PEM image) or pure.
"""

from pathlib import Path as _Path

from . import _mypyc_guard
from ._errors import BPFUnavailableError, SourceInitError, StirlingError
from ._mypyc_guard import MypycStatus
from ._mypyc_guard import status as mypyc_status
from .core import (
    Clock,
    ProcessFilter,
    ProcessResolver,
    PushCallback,
    RowBuffer,
    Source,
    SourceContext,
    StatusCode,
    Stirling,
    TableSink,
)
from .network_stats import NetworkStatsSource, netns_pod_id
from .process_stats import ProcessStatsSource

# `make mypyc` builds extension modules that shadow their .py files: fail if one is stale.
_mypyc_guard.check(_Path(__file__).parent)

__all__ = [
    "BPFUnavailableError",
    "Clock",
    "MypycStatus",
    "NetworkStatsSource",
    "ProcessFilter",
    "ProcessResolver",
    "ProcessStatsSource",
    "PushCallback",
    "RowBuffer",
    "SocketTraceSource",
    "Source",
    "SourceContext",
    "SourceInitError",
    "StatusCode",
    "Stirling",
    "StirlingError",
    "TableSink",
    "default_sources",
    "mypyc_status",
    "netns_pod_id",
]


def __getattr__(name: str) -> object:
    # The socket tracer pulls in the BPF glue; load it only when asked for.
    if name == "SocketTraceSource":
        from .socket_tracer import SocketTraceSource

        return SocketTraceSource
    raise AttributeError(f"module 'pyxie_stirling' has no attribute {name!r}")


def default_sources(*, ebpf: bool = True) -> list[Source]:
    """The PEM's standard sources: /proc collectors, plus the socket tracer when ``ebpf``."""
    sources: list[Source] = [ProcessStatsSource(), NetworkStatsSource()]
    if ebpf:
        from .socket_tracer import SocketTraceSource

        sources.append(SocketTraceSource())
    return sources
