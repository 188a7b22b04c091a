"""Process created/terminated events for heartbeats, from a /proc scan diffed between beats.

Each heartbeat (every 5 s) lists the pids this PEM observes (its `ProcessFilter`) with their
start times; pids that appeared are reported as created (first scan: all of them), those gone
as terminated. A scan reads /proc/<pid>/stat of every process, and cmdline and cgroup only of
new ones: a few milliseconds for a few hundred processes, so it runs on every beat.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from pyxie_carnot.udtfs import ProcessRecord
from pyxie_proto.types.typespb import types_pb2
from pyxie_proto.vizier.messagespb import messages_pb2
from pyxie_stirling import ProcessFilter
from pyxie_stirling.procfs import iter_pids, read_pid_stat
from pyxie_types import UPID

__all__ = ["ObservedProcesses", "ProcessWatcher"]

_CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def _boot_time_ns(proc: Path) -> int:
    try:
        for line in (proc / "stat").read_text().splitlines():
            if line.startswith("btime "):
                return int(line.split()[1]) * 1_000_000_000
    except (OSError, ValueError):
        pass
    return 0


def _read_text(path: Path) -> str:
    try:
        return path.read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return ""


def _upid_proto(upid: UPID) -> types_pb2.UInt128:
    value = upid.value
    return types_pb2.UInt128(high=value >> 64, low=value & (2**64 - 1))


class ProcessWatcher:
    """Diffs the observed processes between calls; call it once per heartbeat."""

    def __init__(
        self,
        asid: Callable[[], int],
        process_filter: ProcessFilter | None = None,
        proc: Path = Path("/proc"),
    ) -> None:
        self._asid = asid
        self._filter = process_filter or ProcessFilter(proc=proc)
        self._proc = proc
        self._boot_ns = _boot_time_ns(proc)
        self._known: dict[int, int] = {}  # pid -> start ticks

    def __call__(
        self,
    ) -> tuple[Sequence[messages_pb2.ProcessCreated], Sequence[messages_pb2.ProcessTerminated]]:
        asid = self._asid()
        current: dict[int, int] = {}
        for pid in iter_pids(self._proc):
            stat = read_pid_stat(pid, self._proc)
            if stat is None or not self._filter.accepts(pid):
                continue
            current[pid] = stat.start_time_ticks
        created = []
        for pid, ticks in current.items():
            if self._known.get(pid) == ticks:
                continue
            cmdline = _read_text(self._proc / str(pid) / "cmdline").replace("\0", " ").strip()
            cgroup = _read_text(self._proc / str(pid) / "cgroup").strip()
            created.append(
                messages_pb2.ProcessCreated(
                    upid=_upid_proto(UPID(asid, pid, ticks)),
                    start_timestamp_ns=self._boot_ns + ticks * 1_000_000_000 // _CLOCK_TICKS_PER_S,
                    cmdline=cmdline,
                    cgroup=cgroup,
                    pid=pid,
                )
            )
        now = time.time_ns()
        terminated = [
            messages_pb2.ProcessTerminated(
                upid=_upid_proto(UPID(asid, pid, ticks)), stop_timestamp_ns=now
            )
            for pid, ticks in self._known.items()
            if current.get(pid) != ticks
        ]
        self._known = current
        return created, terminated


class ObservedProcesses:
    """The processes this PEM observes now (its `ProcessFilter`), for the GetUPIDs UDTF."""

    def __init__(self, process_filter: ProcessFilter | None = None, proc: Path = Path("/proc")):
        self._filter = process_filter or ProcessFilter(proc=proc)
        self._proc = proc
        self._boot_ns = _boot_time_ns(proc)

    def processes(self) -> list[ProcessRecord]:
        records = []
        for pid in iter_pids(self._proc):
            stat = read_pid_stat(pid, self._proc)
            if stat is None or not self._filter.accepts(pid):
                continue
            cmdline = _read_text(self._proc / str(pid) / "cmdline").replace("\0", " ").strip()
            records.append(
                ProcessRecord(
                    pid=pid,
                    start_time_ticks=stat.start_time_ticks,
                    start_time_ns=self._start_ns(stat.start_time_ticks),
                    cmdline=cmdline,
                )
            )
        return records

    def _start_ns(self, ticks: int) -> int:
        return self._boot_ns + ticks * 1_000_000_000 // _CLOCK_TICKS_PER_S
