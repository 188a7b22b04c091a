"""bcc glue: compile bpf/socket_trace.c with the chosen -D filters, attach, drain the ring.

bcc is imported here only, lazily, so the package imports (and the /proc collectors run) on hosts
without it. The ring buffer is read by `RingReader` straight from its memory map, a whole batch
of records per call, instead of bcc's one ctypes callback per record.
"""

from __future__ import annotations

import mmap
import os
import re
import select
import struct
from dataclasses import dataclass
from importlib import resources
from typing import Any

from .._errors import BPFUnavailableError
from ._events import DEFAULT_MAX_DATA_SIZE
from ._tls import SSL_PROBES, SSL_RETURN_PROBE

__all__ = [
    "ProgramOptions",
    "RingReader",
    "SocketTraceProgram",
    "bpf_source_dir",
    "tracepoints_in_source",
]

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

    def wake_bytes(self) -> int:
        """Data bytes after which the kernel wakes the drain thread: an eighth of the ring."""
        return self.ringbuf_pages * mmap.PAGESIZE // 8

    def cflags(self) -> list[str]:
        if self.max_data_size <= 0 or self.max_data_size & (self.max_data_size - 1):
            raise ValueError(f"max_data_size must be a power of two, got {self.max_data_size}")
        if self.ringbuf_pages <= 0 or self.ringbuf_pages & (self.ringbuf_pages - 1):
            raise ValueError(f"ringbuf_pages must be a power of two, got {self.ringbuf_pages}")
        flags = [
            f"-I{bpf_source_dir()}",
            f"-DMAX_DATA_SIZE={self.max_data_size}",
            f"-DRINGBUF_PAGES={self.ringbuf_pages}",
            f"-DWAKE_BYTES={self.wake_bytes()}",
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


# struct bpf_ringbuf_hdr: u32 len (with the two flag bits below), u32 page offset.
_RINGBUF_BUSY_BIT = 1 << 31
_RINGBUF_DISCARD_BIT = 1 << 30
_RINGBUF_LEN_MASK = _RINGBUF_DISCARD_BIT - 1
_RINGBUF_HDR_SIZE = 8


class RingReader:
    """Consumer side of a BPF ring buffer map, read through its memory map.

    The kernel's layout (kernel/bpf/ringbuf.c): page 0 holds the consumer position (the only
    page user space may write), page 1 the producer position, then the data pages, mapped twice
    in a row so a record that wraps around the end reads as one contiguous slice. Each record is
    an 8-byte header (length with BUSY/DISCARD bits) and the sample, padded to 8 bytes.

    `drain()` copies every committed record out and releases their space in one step; a record
    still being written (BUSY) ends the batch. One thread only.

    The map fd is watched edge-triggered: `wait()` returns on the kernel's wake-ups (a record
    submitted with BPF_RB_FORCE_WAKEUP, or without flags once the consumer had caught up) or at
    its timeout, not whenever the ring holds data (it nearly always does under traffic).
    """

    def __init__(self, map_fd: int, size: int) -> None:
        if size <= 0 or size & (size - 1) or size % mmap.PAGESIZE:
            raise ValueError(f"ring buffer size must be a power-of-two page multiple, got {size}")
        page = mmap.PAGESIZE
        self.size = size
        self._mask = size - 1
        self._consumer_map = mmap.mmap(
            map_fd, page, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=0
        )
        self._data_map = mmap.mmap(
            map_fd, page + 2 * size, mmap.MAP_SHARED, mmap.PROT_READ, offset=page
        )
        self._consumer = memoryview(self._consumer_map).cast("Q")
        self._view = memoryview(self._data_map)
        self._producer = self._view[:8].cast("Q")
        self._data = self._view[page:]
        self._epoll = select.epoll()
        self._epoll.register(map_fd, select.EPOLLIN | select.EPOLLET)

    def wait(self, timeout_s: float) -> bool:
        """Sleep until the kernel wakes the ring's waiters (True) or ``timeout_s`` passes."""
        return bool(self._epoll.poll(timeout_s))

    def drain(self) -> list[bytes]:
        """Every committed record, oldest first; their space is released."""
        consumer = self._consumer[0]
        producer = self._producer[0]
        data = self._data
        mask = self._mask
        unpack = _U32.unpack_from
        out: list[bytes] = []
        append = out.append
        while consumer < producer:
            offset = consumer & mask
            (length,) = unpack(data, offset)
            if length & _RINGBUF_BUSY_BIT:
                break
            size = length & _RINGBUF_LEN_MASK
            if not length & _RINGBUF_DISCARD_BIT:
                start = offset + _RINGBUF_HDR_SIZE
                append(data[start : start + size].tobytes())
            consumer += (size + _RINGBUF_HDR_SIZE + 7) & ~7
        self._consumer[0] = consumer
        return out

    def close(self) -> None:
        self._epoll.close()
        for view in (self._consumer, self._producer, self._data, self._view):
            view.release()
        self._consumer_map.close()
        self._data_map.close()


_U32 = struct.Struct("=I")


class SocketTraceProgram:
    """The loaded socket tracer: tracepoints attached at load, uprobes attached on demand."""

    def __init__(self, options: ProgramOptions) -> None:
        self.options = options
        self.source_path = os.path.join(bpf_source_dir(), "socket_trace.c")
        with open(self.source_path) as f:
            self.tracepoints = tracepoints_in_source(f.read())
        self._bpf: Any = None
        self._ring: RingReader | None = None
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

    def open_reader(self) -> RingReader:
        """The ring buffer as a `RingReader` (a batch per read, no per-record callback)."""
        table = self.bpf[b"events"]
        self._ring = RingReader(int(table.map_fd), self.options.ringbuf_pages * mmap.PAGESIZE)
        return self._ring

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

    def mute_conn(self, tgid: int, fd: int, generation: int) -> None:
        """Stop copying this connection's syscall data to the ring (bytes are still counted)."""
        table = self.bpf[b"muted_conns"]
        table[table.Key(tgid, fd)] = table.Leaf(generation)

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
        if self._ring is not None:
            self._ring.close()
            self._ring = None
        if self._bpf is not None:
            self._bpf.cleanup()
            self._bpf = None
