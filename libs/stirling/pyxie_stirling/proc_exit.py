"""proc_exit: abnormal process exits (non-zero exit code or a terminating signal).

Tracepoints only (bpf/proc_exit.c): exit()/exit_group() give the code, signal_generate and
signal_deliver the signal, sched_process_exit (last thread of the group) reports. A clean exit
(code 0, no signal) is not a row, as in Pixie's table ("all abnormal process exits").

A process is gone by the time its exit is read: its UPID start time and whether the PEM's
filter (network namespace, cgroup) takes it can no longer be read from /proc. Every second the
live processes are therefore looked at (new pids only; one the filter refused gets a second look
a second later) and remembered until they exit.
A process that lived less than that is reported only when the PEM has no filter, with the start
time /proc still shows, if any.
"""

from __future__ import annotations

import ctypes
import os
import time
from importlib import resources
from typing import Any, ClassVar

from pyxie_types import TableSchema
from pyxie_types.tables import PROC_EXIT_EVENTS

from . import procfs
from ._errors import BPFUnavailableError
from .core import Source, SourceContext, StatusCode

__all__ = ["ExitEvent", "ProcExitSource"]


class ExitEvent(ctypes.Structure):
    """Mirror of struct exit_event in bpf/proc_exit.c."""

    _fields_ = [
        ("timestamp_ns", ctypes.c_uint64),
        ("tgid", ctypes.c_uint32),
        ("exit_code", ctypes.c_int32),
        ("signal", ctypes.c_int32),
        ("pad", ctypes.c_uint32),
        ("comm", ctypes.c_char * 16),
    ]


class ProcExitSource(Source):
    name: ClassVar[str] = "proc_exit"
    tables: ClassVar[tuple[TableSchema, ...]] = (PROC_EXIT_EVENTS,)
    sampling_period_ns: ClassVar[int] = 200_000_000
    push_period_ns: ClassVar[int] = 1_000_000_000

    def __init__(self) -> None:
        super().__init__()
        self._bpf: Any = None
        self._callback: Any = None
        self._pending: list[tuple[int, int, int, int, str]] = []
        self._accepted: dict[int, bool] = {}  # live pid -> taken by the process filter
        # Pids the filter refused at their first scan: looked at once more at the next one. A
        # process can enter its namespace just after it appeared (`ip netns exec`, a container
        # runtime's init joining the pod's namespaces), and the first look may be before that.
        self._second_look: set[int] = set()
        self._next_scan = 0.0
        self._gone: set[int] = set()

    def init(self, ctx: SourceContext) -> None:
        super().init(ctx)
        if os.geteuid() != 0:
            raise BPFUnavailableError("proc_exit needs root (BPF)")
        try:
            from bcc import BPF  # type: ignore[import-not-found,import-untyped,unused-ignore]
        except ImportError as exc:
            raise BPFUnavailableError(f"bcc is not importable ({exc})") from exc
        path = str(resources.files("pyxie_stirling") / "bpf" / "proc_exit.c")
        try:
            self._bpf = BPF(src_file=path.encode(), cflags=[f"-DSELF_TGID={os.getpid()}"])
        except Exception as exc:
            raise BPFUnavailableError(f"the kernel refused proc_exit: {exc}") from exc
        for probe in (
            "syscalls:sys_enter_exit_group",
            "syscalls:sys_enter_exit",
            "signal:signal_generate",
            "signal:signal_deliver",
            "sched:sched_process_exit",
        ):
            ctx.report_probe(f"tracepoint:{probe}", StatusCode.OK)
        size = ctypes.sizeof(ExitEvent)

        def on_exit(_ctx: Any, data: Any, length: int) -> int:
            if length >= size:
                e = ExitEvent.from_address(data)
                if e.exit_code or e.signal:
                    comm = e.comm.decode(errors="replace")
                    self._pending.append((e.timestamp_ns, e.tgid, e.exit_code, e.signal, comm))
            return 0

        self._callback = on_exit
        self._bpf[b"exits"].open_ring_buffer(on_exit)

    def sample(self) -> None:
        if self._bpf is None:
            return
        self._bpf.ring_buffer_consume()
        pending, self._pending = self._pending, []
        ctx = self.ctx
        rows = self.buffer(PROC_EXIT_EVENTS.name)
        restricted = ctx.process_filter.restricted
        for ts, tgid, code, signal, comm in pending:
            if restricted and not self._accepted.get(tgid, False):
                continue
            # The process is gone: its start time (for the UPID) is what the resolver cached.
            rows.append(
                (
                    ctx.clock.monotonic_to_wall(ts),
                    ctx.processes.upid_bytes(tgid),
                    code,
                    signal,
                    comm,
                )
            )
        for _, tgid, *_ in pending:
            self._accepted.pop(tgid, None)
        if time.monotonic() >= self._next_scan:
            self._next_scan = time.monotonic() + 1.0
            self._remember_live_processes()

    def _remember_live_processes(self) -> None:
        ctx = self.ctx
        live = set(procfs.iter_pids(ctx.processes.proc))
        # Forgotten after two scans without it: an exit read after one scan still finds it.
        gone = {p for p in self._accepted if p not in live}
        for pid in gone & self._gone:
            del self._accepted[pid]
        self._gone = gone - self._gone
        accepts = ctx.process_filter.accepts
        for pid in self._second_look & live:
            self._accepted[pid] = accepts(pid)
        self._second_look.clear()
        for pid in live - self._accepted.keys():
            accepted = self._accepted[pid] = accepts(pid)
            if not accepted:
                self._second_look.add(pid)
            ctx.processes.start_time_ticks(pid)  # cached by the resolver for the UPID

    def stop(self) -> None:
        if self._bpf is not None:
            self._bpf.cleanup()
            self._bpf = None
