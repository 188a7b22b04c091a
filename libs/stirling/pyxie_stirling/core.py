"""The collector framework: sources declare tables and periods; `Stirling` samples and pushes.

A `Source` declares its tables once (schemas from `pyxie_types.tables`), a sampling period and a
push period. `Stirling` runs every source on one thread: `sample()` when its sampling period is
due (read /proc, drain a ring buffer ...), then, when its push period is due, hands the rows it
buffered to the sink as Arrow record batches whose schema is exactly
`TableSchema.arrow_schema()`. A source that fails to start or to sample is reported in the
`stirling_error` table (probe deployments in `probe_status`) and in the log; the other sources
keep running.
"""

from __future__ import annotations

import abc
import enum
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import ClassVar, Protocol, runtime_checkable

import pyarrow as pa
from pyxie_types import UPID, DataType, TableSchema
from pyxie_types.tables import PROBE_STATUS, STIRLING_ERROR

from . import procfs
from ._errors import BPFUnavailableError

__all__ = [
    "Clock",
    "ProcessFilter",
    "ProcessResolver",
    "PushCallback",
    "RowBuffer",
    "Source",
    "SourceContext",
    "StatusCode",
    "Stirling",
    "TableSink",
]

log = logging.getLogger(__name__)

PushCallback = Callable[[str, pa.RecordBatch], None]


@runtime_checkable
class TableSink(Protocol):
    """Where batches go: `pyxie_table_store.TableStore` satisfies it."""

    def append(self, name: str, batch: pa.RecordBatch) -> None: ...


class _TableRegistry(Protocol):
    def schemas(self) -> Mapping[str, TableSchema]: ...

    def add_table(self, schema: TableSchema, max_bytes: int | None = None) -> object: ...


class StatusCode(enum.IntEnum):
    """Status codes of stirling_error / probe_status rows (Pixie's statuspb numbering)."""

    OK = 0
    UNKNOWN = 2
    NOT_FOUND = 5
    PERMISSION_DENIED = 7
    FAILED_PRECONDITION = 9
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15


_ZERO: dict[DataType, object] = {
    DataType.BOOLEAN: False,
    DataType.INT64: 0,
    DataType.FLOAT64: 0.0,
    DataType.STRING: "",
    DataType.TIME64NS: 0,
    DataType.UINT128: bytes(16),
}


class RowBuffer:
    """Rows of one table, kept column-wise until they are taken as a record batch.

    Pixie has no nulls: a column a row does not mention gets its type's zero value.
    """

    def __init__(self, schema: TableSchema) -> None:
        self.schema = schema
        self._arrow_schema = schema.arrow_schema()
        self._names = schema.relation.names
        self._width = len(self._names)
        self._name_set = frozenset(self._names)
        self._zeros = tuple(_ZERO[c.data_type] for c in schema.columns)
        # Rows as tuples in column order; take_batch transposes them once (zip, in C), which
        # costs less than appending every value to its column list as it comes.
        self._rows: list[tuple[object, ...]] = []

    def __len__(self) -> int:
        return len(self._rows)

    def append(self, row: Sequence[object]) -> None:
        """Append one row given in column order."""
        if len(row) != self._width:
            raise ValueError(
                f"{self.schema.name}: row has {len(row)} values, table has {self._width}"
            )
        self._rows.append(tuple(row))

    def append_dict(self, row: Mapping[str, object]) -> None:
        """Append one row given by column name; unknown names are an error."""
        if not self._name_set.issuperset(row):
            unknown = set(row) - self._name_set
            raise KeyError(f"{self.schema.name} has no column(s) {sorted(unknown)}")
        self._rows.append(tuple(map(row.get, self._names, self._zeros)))

    def take_batch(self) -> pa.RecordBatch | None:
        """The buffered rows as one batch with the table's exact schema (None when empty)."""
        if not self._rows:
            return None
        rows, self._rows = self._rows, []
        arrays = [
            pa.array(values, type=field.type)
            for values, field in zip(zip(*rows, strict=True), self._arrow_schema, strict=True)
        ]
        return pa.RecordBatch.from_arrays(arrays, schema=self._arrow_schema)


class Clock:
    """Wall clock, and conversion of CLOCK_MONOTONIC stamps (bpf_ktime_get_ns) to wall time."""

    def __init__(self) -> None:
        self._offset_ns = 0
        self.resync()

    def resync(self) -> None:
        # Taken around one wall read so the offset error stays within a few hundred ns.
        before = time.monotonic_ns()
        wall = time.time_ns()
        after = time.monotonic_ns()
        self._offset_ns = wall - (before + after) // 2

    def now_ns(self) -> int:
        return time.time_ns()

    def monotonic_to_wall(self, monotonic_ns: int) -> int:
        return monotonic_ns + self._offset_ns


class ProcessResolver:
    """UPIDs of processes: (agent short id, pid, start time in clock ticks from /proc)."""

    # Start times are re-read after this long so a recycled pid gets its new UPID.
    _TTL_NS = 5_000_000_000

    def __init__(self, asid: int, proc: Path = Path("/proc")) -> None:
        self.asid = asid
        self.proc = proc
        self._cache: dict[int, tuple[int, int]] = {}  # pid -> (start ticks, read at)

    def start_time_ticks(self, pid: int) -> int | None:
        now = time.monotonic_ns()
        cached = self._cache.get(pid)
        if cached is not None and now - cached[1] < self._TTL_NS:
            return cached[0]
        stat = procfs.read_pid_stat(pid, self.proc)
        if stat is None:
            return cached[0] if cached else None
        if len(self._cache) > 65536:  # bound memory on hosts with heavy pid churn
            self._cache.clear()
        self._cache[pid] = (stat.start_time_ticks, now)
        return stat.start_time_ticks

    def upid(self, pid: int, start_time_ticks: int | None = None) -> UPID:
        ticks = start_time_ticks if start_time_ticks is not None else self.start_time_ticks(pid)
        return UPID(self.asid, pid, ticks or 0)

    def upid_bytes(self, pid: int) -> bytes:
        return self.upid(pid).to_bytes()


class ProcessFilter:
    """Which processes this PEM observes; several PEMs on one host act as several nodes.

    `netns_inode` keeps processes of one network namespace, `cgroup_path` (cgroup v2, relative
    to the unified hierarchy, e.g. "/system.slice/foo.service") those of one cgroup subtree,
    `pids` an explicit set. None means no restriction.
    """

    def __init__(
        self,
        *,
        netns_inode: int | None = None,
        cgroup_path: str | None = None,
        pids: Iterable[int] | None = None,
        exclude_pids: Iterable[int] = (),
        proc: Path = Path("/proc"),
    ) -> None:
        self.netns_inode = netns_inode
        self.cgroup_path = cgroup_path.rstrip("/") if cgroup_path else None
        self.pids = frozenset(pids) if pids is not None else None
        self.exclude_pids = frozenset(exclude_pids)
        self.proc = proc

    @property
    def restricted(self) -> bool:
        return self.netns_inode is not None or self.cgroup_path is not None or self.pids is not None

    def accepts(self, pid: int) -> bool:
        if pid in self.exclude_pids:
            return False
        if self.pids is not None and pid not in self.pids:
            return False
        if self.netns_inode is not None and procfs.netns_inode(pid, self.proc) != self.netns_inode:
            return False
        if self.cgroup_path is not None:
            cgroup = _cgroup_v2_path(pid, self.proc)
            if cgroup is None:
                return False
            if cgroup != self.cgroup_path and not cgroup.startswith(self.cgroup_path + "/"):
                return False
        return True


def _cgroup_v2_path(pid: int, proc: Path) -> str | None:
    try:
        text = (proc / str(pid) / "cgroup").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    for line in text.splitlines():
        if line.startswith("0::"):
            return line[3:].rstrip("/") or "/"
    return None


class SourceContext:
    """What the runner gives every source: identity, clock, filter, and status reporting."""

    def __init__(
        self,
        stirling: Stirling,
        source_name: str,
    ) -> None:
        self._stirling = stirling
        self.source_name = source_name
        self.asid = stirling.asid
        self.clock = stirling.clock
        self.processes = stirling.processes
        self.process_filter = stirling.process_filter

    def report_error(
        self, error: str, status: StatusCode = StatusCode.INTERNAL, context: object = None
    ) -> None:
        self._stirling.record_status(self.source_name, status, error, context)

    def report_probe(
        self, probe: str, status: StatusCode, error: str = "", info: object = None
    ) -> None:
        self._stirling.record_probe(self.source_name, probe, status, error, info)


class Source(abc.ABC):
    """A collector: declares its tables and periods; fills row buffers in `sample()`."""

    name: ClassVar[str]
    tables: ClassVar[tuple[TableSchema, ...]]
    sampling_period_ns: ClassVar[int] = 1_000_000_000
    push_period_ns: ClassVar[int] = 1_000_000_000

    def __init__(self) -> None:
        self._buffers = {schema.name: RowBuffer(schema) for schema in self.tables}
        self._ctx: SourceContext | None = None

    @property
    def ctx(self) -> SourceContext:
        if self._ctx is None:
            raise RuntimeError(f"source {self.name!r} used before init()")
        return self._ctx

    def buffer(self, table_name: str) -> RowBuffer:
        return self._buffers[table_name]

    def init(self, ctx: SourceContext) -> None:
        """Start collecting; raise (ideally `SourceInitError`) when this source cannot run."""
        self._ctx = ctx

    @abc.abstractmethod
    def sample(self) -> None:
        """Collect what is new into the row buffers."""

    def take_batches(self) -> list[tuple[str, pa.RecordBatch]]:
        out: list[tuple[str, pa.RecordBatch]] = []
        for name, buffer in self._buffers.items():
            batch = buffer.take_batch()
            if batch is not None:
                out.append((name, batch))
        return out

    def stop(self) -> None:  # noqa: B027 - optional hook, most sources hold nothing
        """Release probes, files and threads."""


class _Scheduled:
    __slots__ = ("enabled", "failures", "next_push_ns", "next_sample_ns", "source")

    def __init__(self, source: Source) -> None:
        self.source = source
        self.enabled = False
        self.failures = 0
        self.next_sample_ns = 0
        self.next_push_ns = 0


class Stirling:
    """Runs sources on one thread and pushes their batches to a sink (callback or table store)."""

    # Consecutive sampling failures after which a source is switched off (reported once).
    MAX_CONSECUTIVE_FAILURES = 10

    def __init__(
        self,
        sources: Sequence[Source],
        sink: PushCallback | TableSink,
        *,
        asid: int = 0,
        process_filter: ProcessFilter | None = None,
        proc: Path = Path("/proc"),
    ) -> None:
        names = [s.name for s in sources]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate source names: {names}")
        self.asid = asid
        self.clock = Clock()
        self.processes = ProcessResolver(asid, proc)
        self.process_filter = process_filter or ProcessFilter(proc=proc)
        self._push: PushCallback = sink.append if isinstance(sink, TableSink) else sink
        self._scheduled = [_Scheduled(s) for s in sources]
        self._status = RowBuffer(STIRLING_ERROR)
        self._probes = RowBuffer(PROBE_STATUS)
        self._lock = threading.Lock()  # guards the two status buffers (sources may be threaded)
        self._self_upid = self.processes.upid_bytes(os.getpid())
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._initialized = False

    # -- schema declaration -------------------------------------------------------------------

    @property
    def sources(self) -> tuple[Source, ...]:
        return tuple(s.source for s in self._scheduled)

    def schemas(self) -> tuple[TableSchema, ...]:
        """Every table this instance may push, each once (sources' tables + status tables)."""
        seen: dict[str, TableSchema] = {}
        for scheduled in self._scheduled:
            for schema in scheduled.source.tables:
                seen.setdefault(schema.name, schema)
        seen.setdefault(STIRLING_ERROR.name, STIRLING_ERROR)
        seen.setdefault(PROBE_STATUS.name, PROBE_STATUS)
        return tuple(seen.values())

    def register_tables(self, store: _TableRegistry) -> None:
        """Add to `store` every table it does not have yet."""
        existing = store.schemas()
        for schema in self.schemas():
            if schema.name not in existing:
                store.add_table(schema)

    # -- status rows ----------------------------------------------------------------------------

    def record_status(
        self, source: str, status: StatusCode, error: str = "", context: object = None
    ) -> None:
        if status is not StatusCode.OK:
            log.warning("stirling source %s: %s (%s)", source, error, status.name)
        row = (
            self.clock.now_ns(),
            self._self_upid,
            source,
            int(status),
            error,
            json.dumps(context) if context is not None else "",
        )
        with self._lock:
            self._status.append(row)

    def record_probe(
        self, source: str, probe: str, status: StatusCode, error: str = "", info: object = None
    ) -> None:
        if status is not StatusCode.OK:
            log.warning("stirling source %s: probe %s: %s", source, probe, error)
        row = (
            self.clock.now_ns(),
            self._self_upid,
            source,
            probe,
            int(status),
            error,
            json.dumps(info) if info is not None else "",
        )
        with self._lock:
            self._probes.append(row)

    # -- running --------------------------------------------------------------------------------

    def init_sources(self) -> None:
        """Start every source; one that fails is reported and left out."""
        if self._initialized:
            return
        self._initialized = True
        now = time.monotonic_ns()
        for scheduled in self._scheduled:
            source = scheduled.source
            try:
                source.init(SourceContext(self, source.name))
            except Exception as exc:
                log.debug("source %s failed to start", source.name, exc_info=True)
                self.record_status(
                    source.name, _status_of(exc), f"{type(exc).__name__}: {exc}", None
                )
                continue
            scheduled.enabled = True
            scheduled.next_sample_ns = now
            scheduled.next_push_ns = now + source.push_period_ns
            self.record_status(source.name, StatusCode.OK)

    def run_once(self, *, force_push: bool = False) -> int:
        """Sample the due sources and push the due batches; returns ns until the next due time."""
        self.init_sources()
        self.clock.resync()
        now = time.monotonic_ns()
        for scheduled in self._scheduled:
            if not scheduled.enabled:
                continue
            if now >= scheduled.next_sample_ns:
                self._sample(scheduled)
                scheduled.next_sample_ns = now + scheduled.source.sampling_period_ns
            if force_push or now >= scheduled.next_push_ns:
                self._push_source(scheduled.source)
                scheduled.next_push_ns = now + scheduled.source.push_period_ns
        self._push_status()
        due = [t for s in self._scheduled if s.enabled for t in (s.next_sample_ns, s.next_push_ns)]
        return max(0, min(due) - time.monotonic_ns()) if due else 1_000_000_000

    def flush(self) -> None:
        """Push whatever every source has buffered, now."""
        for scheduled in self._scheduled:
            if scheduled.enabled:
                self._push_source(scheduled.source)
        self._push_status()

    def _sample(self, scheduled: _Scheduled) -> None:
        source = scheduled.source
        try:
            source.sample()
        except Exception as exc:
            scheduled.failures += 1
            log.exception("source %s failed to sample", source.name)
            self.record_status(source.name, StatusCode.INTERNAL, f"{type(exc).__name__}: {exc}")
            if scheduled.failures >= self.MAX_CONSECUTIVE_FAILURES:
                scheduled.enabled = False
                self.record_status(
                    source.name,
                    StatusCode.UNAVAILABLE,
                    f"disabled after {scheduled.failures} consecutive sampling failures",
                )
                self._stop_source(source)
        else:
            scheduled.failures = 0

    def _push_source(self, source: Source) -> None:
        try:
            batches = source.take_batches()
        except Exception as exc:
            log.exception("source %s failed to build batches", source.name)
            self.record_status(source.name, StatusCode.INTERNAL, f"{type(exc).__name__}: {exc}")
            return
        for table, batch in batches:
            self._deliver(source.name, table, batch)

    def _push_status(self) -> None:
        with self._lock:
            batches = [(b.schema.name, b.take_batch()) for b in (self._status, self._probes)]
        for table, batch in batches:
            if batch is not None:
                self._deliver("stirling", table, batch, report=False)

    def _deliver(self, source: str, table: str, batch: pa.RecordBatch, report: bool = True) -> None:
        try:
            self._push(table, batch)
        except Exception as exc:
            log.exception("pushing %d rows of %s failed", batch.num_rows, table)
            if report:
                self.record_status(
                    source, StatusCode.INTERNAL, f"push to {table} failed: {exc}", None
                )

    def _stop_source(self, source: Source) -> None:
        try:
            source.stop()
        except Exception:
            log.exception("source %s failed to stop", source.name)

    def start(self) -> None:
        """Run in a daemon thread until `stop()`."""
        if self._thread is not None:
            raise RuntimeError("Stirling already started")
        self._stop.clear()
        self.init_sources()
        self._thread = threading.Thread(target=self._run, name="stirling", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                wait_ns = self.run_once()
            except Exception:  # the loop itself must survive anything a source does
                log.exception("stirling loop iteration failed")
                wait_ns = 100_000_000
            self._stop.wait(wait_ns / 1e9)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the thread, push what is buffered, and release every source."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        self.flush()
        for scheduled in self._scheduled:
            if scheduled.enabled:
                scheduled.enabled = False
                self._stop_source(scheduled.source)

    def __enter__(self) -> Stirling:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _status_of(exc: BaseException) -> StatusCode:
    if isinstance(exc, PermissionError):
        return StatusCode.PERMISSION_DENIED
    if isinstance(exc, FileNotFoundError | ModuleNotFoundError):
        return StatusCode.NOT_FOUND
    if isinstance(exc, BPFUnavailableError):
        return StatusCode.UNAVAILABLE
    return StatusCode.INTERNAL
