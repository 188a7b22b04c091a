"""tcp_stats: bytes written/read and retransmissions per process and TCP connection.

Tracepoints only (bpf/tcp_stats.c). The kernel keeps cumulative counters per (process, socket);
every push period one row per connection that moved carries the period's tx, rx and
retransmits. A closed connection is reported one last time, then forgotten.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
from importlib import resources
from typing import Any, ClassVar

from pyxie_types import TableSchema
from pyxie_types.tables import TCP_STATS

from ._errors import BPFUnavailableError
from .core import Source, SourceContext, StatusCode

__all__ = ["TcpStatsSource", "format_addr"]

_AF_INET = 2


def format_addr(family: int, raw: bytes) -> str:
    """Text form of an address as the tracepoints give it (4 or 16 bytes, network order)."""
    if family == _AF_INET:
        return str(ipaddress.IPv4Address(raw[:4]))
    addr = ipaddress.IPv6Address(raw[:16])
    return str(addr.ipv4_mapped) if addr.ipv4_mapped else str(addr)


class TcpStatsSource(Source):
    name: ClassVar[str] = "tcp_stats"
    tables: ClassVar[tuple[TableSchema, ...]] = (TCP_STATS,)
    # The counters live in the kernel; one read per push is enough.
    sampling_period_ns: ClassVar[int] = 1_000_000_000
    push_period_ns: ClassVar[int] = 1_000_000_000

    def __init__(self) -> None:
        super().__init__()
        self._bpf: Any = None
        self._last: dict[tuple[int, int], tuple[int, int, int]] = {}

    def init(self, ctx: SourceContext) -> None:
        super().init(ctx)
        if os.geteuid() != 0:
            raise BPFUnavailableError("tcp_stats needs root (BPF)")
        try:
            from bcc import BPF  # type: ignore[import-not-found,import-untyped,unused-ignore]
        except ImportError as exc:
            raise BPFUnavailableError(f"bcc is not importable ({exc})") from exc
        path = str(resources.files("pyxie_stirling") / "bpf" / "tcp_stats.c")
        try:
            self._bpf = BPF(src_file=path.encode(), cflags=[f"-DSELF_TGID={os.getpid()}"])
        except Exception as exc:
            raise BPFUnavailableError(
                f"the kernel refused tcp_stats (needs the sock:sock_send_length and "
                f"sock:sock_recv_length tracepoints, Linux >= 6.5): {exc}"
            ) from exc
        for probe in (
            "sock:inet_sock_set_state",
            "sock:sock_send_length",
            "sock:sock_recv_length",
            "tcp:tcp_retransmit_skb",
        ):
            ctx.report_probe(f"tracepoint:{probe}", StatusCode.OK)

    def sample(self) -> None:
        if self._bpf is None:
            return
        ctx = self.ctx
        now = ctx.clock.now_ns()
        rows = self.buffer(TCP_STATS.name)
        table = self._bpf[b"stats"]
        restricted = ctx.process_filter.restricted
        closed = []
        for key, value in table.items():
            ident = (int(key.tgid), int(key.sk))
            totals = (int(value.tx), int(value.rx), int(value.retransmits))
            last = self._last.get(ident, (0, 0, 0))
            if value.closed:
                closed.append(key)
                self._last.pop(ident, None)
            else:
                self._last[ident] = totals
            delta = tuple(t - p for t, p in zip(totals, last, strict=True))
            if not any(delta):
                continue
            if restricted and not ctx.process_filter.accepts(ident[0]):
                continue
            a = value.addrs
            rows.append(
                (
                    now,
                    ctx.processes.upid_bytes(ident[0]),
                    format_addr(a.family, bytes(a.local_addr)),
                    int(a.local_port),
                    format_addr(a.family, bytes(a.remote_addr)),
                    int(a.remote_port),
                    *delta,
                )
            )
        for key in closed:
            with contextlib.suppress(KeyError):
                del table[key]

    def stop(self) -> None:
        if self._bpf is not None:
            self._bpf.cleanup()
            self._bpf = None
