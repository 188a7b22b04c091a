"""bcc glue: compile bpf/socket_trace.c with the chosen -D filters, attach, drain the ring.

bcc is imported here only, lazily, so the package imports (and the /proc collectors run) on hosts
without it.
"""

from __future__ import annotations

import ctypes
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from .._errors import BPFUnavailableError
from ._events import DEFAULT_MAX_DATA_SIZE
from ._tls import SSL_PROBES, SSL_RETURN_PROBE

__all__ = ["ProgramOptions", "SocketTraceProgram", "bpf_source_dir", "tracepoints_in_source"]

_TRACEPOINT_RE = re.compile(r"TRACEPOINT_PROBE\((\w+),\s*(\w+)\)")


def bpf_source_dir() -> str:
    return str(resources.files("pyxie_stirling") / "bpf")


def tracepoints_in_source(text: str) -> list[str]:
    return [f"{category}:{name}" for category, name in _TRACEPOINT_RE.findall(text)]


@dataclass(frozen=True, slots=True)
class ProgramOptions:
    """Compile-time settings of the probe (each becomes a -D flag)."""

    max_data_size: int = DEFAULT_MAX_DATA_SIZE
    ringbuf_pages: int = 1024
    self_tgid: int | None = None
    cgroup_id: int | None = None  # cgroup v2 id (inode of the cgroup directory)
    pidns: tuple[int, int] | None = None  # (st_dev, st_ino) of /proc/<pid>/ns/pid
    filter_tgids: bool = False  # only tgids user space puts in the target_tgids map

    def cflags(self) -> list[str]:
        if self.max_data_size <= 0 or self.max_data_size & (self.max_data_size - 1):
            raise ValueError(f"max_data_size must be a power of two, got {self.max_data_size}")
        if self.ringbuf_pages <= 0 or self.ringbuf_pages & (self.ringbuf_pages - 1):
            raise ValueError(f"ringbuf_pages must be a power of two, got {self.ringbuf_pages}")
        flags = [
            f"-I{bpf_source_dir()}",
            f"-DMAX_DATA_SIZE={self.max_data_size}",
            f"-DRINGBUF_PAGES={self.ringbuf_pages}",
        ]
        if self.self_tgid is not None:
            flags.append(f"-DSELF_TGID={self.self_tgid}")
        if self.cgroup_id is not None:
            flags.append(f"-DFILTER_CGROUP_ID={self.cgroup_id}ULL")
        if self.pidns is not None:
            flags.append(f"-DFILTER_PIDNS_DEV={self.pidns[0]}ULL")
            flags.append(f"-DFILTER_PIDNS_INO={self.pidns[1]}ULL")
        if self.filter_tgids:
            flags.append("-DFILTER_TGIDS")
        return flags


class SocketTraceProgram:
    """The loaded socket tracer: tracepoints attached at load, uprobes attached on demand."""

    def __init__(self, options: ProgramOptions) -> None:
        self.options = options
        self.source_path = os.path.join(bpf_source_dir(), "socket_trace.c")
        with open(self.source_path) as f:
            self.tracepoints = tracepoints_in_source(f.read())
        self._bpf: Any = None
        self._callback: Any = None
        self.ssl_files: set[str] = set()

    def load(self) -> None:
        if os.geteuid() != 0:
            raise BPFUnavailableError("loading eBPF programs needs root")
        try:
            from bcc import BPF  # type: ignore[import-not-found,import-untyped,unused-ignore]
        except ImportError as exc:
            raise BPFUnavailableError(
                f"bcc is not importable ({exc}); run `make setup-bpf` as root"
            ) from exc
        try:
            self._bpf = BPF(src_file=self.source_path.encode(), cflags=self.options.cflags())
        except Exception as exc:
            raise BPFUnavailableError(f"the kernel refused the socket tracer: {exc}") from exc

    @property
    def bpf(self) -> Any:
        if self._bpf is None:
            raise RuntimeError("socket tracer not loaded")
        return self._bpf

    def open_ring(self, on_event: Callable[[bytes], None]) -> None:
        string_at = ctypes.string_at

        def callback(_ctx: Any, data: Any, size: int) -> int:
            on_event(string_at(data, size))
            return 0

        self._callback = callback  # bcc keeps only a weak reference
        self.bpf[b"events"].open_ring_buffer(callback)

    def poll(self, timeout_ms: int) -> None:
        """Deliver events, waiting up to ``timeout_ms`` for a wake-up (control events wake it;
        data events do not, see socket_trace.c). Call from one thread only."""
        self.bpf.ring_buffer_poll(timeout_ms)
        # poll() only reads rings that signalled; data written without a wake-up needs this.
        self.bpf.ring_buffer_consume()

    def attach_ssl(self, path: str) -> list[tuple[str, str]]:
        """Attach the libssl probes to one file; returns (probe, error) for failures."""
        failures: list[tuple[str, str]] = []
        attached = 0
        for symbol, entry in SSL_PROBES:
            probe = f"uprobe:{path}:{symbol}"
            try:
                self.bpf.attach_uprobe(
                    name=path.encode(), sym=symbol.encode(), fn_name=entry.encode()
                )
                self.bpf.attach_uretprobe(
                    name=path.encode(), sym=symbol.encode(), fn_name=SSL_RETURN_PROBE.encode()
                )
                attached += 1
            except Exception as exc:
                failures.append((probe, str(exc)))
        if attached:
            self.ssl_files.add(path)
        return failures

    def exclude_tgid(self, tgid: int) -> None:
        table = self.bpf[b"excluded_tgids"]
        table[table.Key(tgid)] = table.Leaf(1)

    def add_target_tgid(self, tgid: int) -> None:
        table = self.bpf[b"target_tgids"]
        table[table.Key(tgid)] = table.Leaf(1)

    def counters(self) -> tuple[int, int]:
        """(events lost because the ring was full, TLS calls whose fd stayed unknown)."""
        table = self.bpf[b"counters"]
        lost = sum(table[table.Key(0)])
        no_fd = sum(table[table.Key(1)])
        return int(lost), int(no_fd)

    def close(self) -> None:
        if self._bpf is not None:
            self._bpf.cleanup()
            self._bpf = None
