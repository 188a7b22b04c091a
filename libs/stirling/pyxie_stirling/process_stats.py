"""process_stats: CPU, memory and I/O counters of every observed process, from /proc.

Pixie's ProcessStatsConnector samples and pushes once a second; the counters are cumulative
(scripts take max - min per UPID).
"""

from __future__ import annotations

from typing import ClassVar

from pyxie_types import TableSchema
from pyxie_types.tables import PROCESS_STATS

from . import procfs
from .core import Source

__all__ = ["ProcessStatsSource"]

_NS_PER_TICK = 1_000_000_000 // procfs.CLOCK_TICKS_PER_SECOND


class ProcessStatsSource(Source):
    name: ClassVar[str] = "process_stats"
    tables: ClassVar[tuple[TableSchema, ...]] = (PROCESS_STATS,)
    sampling_period_ns: ClassVar[int] = 1_000_000_000
    push_period_ns: ClassVar[int] = 1_000_000_000

    def sample(self) -> None:
        ctx = self.ctx
        proc = ctx.processes.proc
        now = ctx.clock.now_ns()
        rows = self.buffer(PROCESS_STATS.name)
        accepts = ctx.process_filter.accepts
        for pid in procfs.iter_pids(proc):
            if not accepts(pid):
                continue
            try:
                stat = procfs.read_pid_stat(pid, proc)
                if stat is None:
                    continue
                io = procfs.read_pid_io(pid, proc)
            except (OSError, ValueError):
                continue  # exited mid-read or an unreadable entry: skip this round
            if stat.state == "Z":
                continue  # zombies have no memory or threads worth reporting
            rows.append(
                (
                    now,
                    ctx.processes.upid(pid, stat.start_time_ticks).to_bytes(),
                    stat.major_faults,
                    stat.minor_faults,
                    stat.utime_ticks * _NS_PER_TICK,
                    stat.stime_ticks * _NS_PER_TICK,
                    stat.num_threads,
                    stat.vsize_bytes,
                    stat.rss_pages * procfs.PAGE_SIZE,
                    io.rchar if io else 0,
                    io.wchar if io else 0,
                    io.read_bytes if io else 0,
                    io.write_bytes if io else 0,
                )
            )
