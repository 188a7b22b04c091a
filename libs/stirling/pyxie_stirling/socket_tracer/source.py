"""The socket tracer source: eBPF capture -> connection tracking -> protocol tables + conn_stats.

Sampling every 200 ms drains the ring buffer and parses; pushing every second hands the rows over
(Pixie's periods). Failures to load the probe make `init()` raise `BPFUnavailableError`, which the
runner reports in stirling_error while the other sources keep going.
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import ClassVar

import pyarrow as pa
from pyxie_types import TableSchema
from pyxie_types.tables import (
    AMQP_EVENTS,
    CONN_STATS,
    CQL_EVENTS,
    DNS_EVENTS,
    HTTP_EVENTS,
    KAFKA_EVENTS,
    MONGODB_EVENTS,
    MUX_EVENTS,
    MYSQL_EVENTS,
    NATS_EVENTS,
    PGSQL_EVENTS,
    REDIS_EVENTS,
)

from .. import procfs
from ..core import Source, SourceContext, StatusCode
from ._bpf import ProgramOptions, RingReader, SocketTraceProgram
from ._conntrack import ConnTracker, Row
from ._events import DEFAULT_MAX_DATA_SIZE, EventKind
from ._protocol_bridge import ProtocolLayer, load_protocol_layer
from ._tls import find_libssl_files, parse_ldconfig

__all__ = ["SocketTraceSource", "SocketTracerConfig"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SocketTracerConfig:
    # Pixie truncates bodies at 512 bytes by default (FLAGS_max_body_bytes).
    max_body_bytes: int = 512
    max_data_size: int = DEFAULT_MAX_DATA_SIZE
    ringbuf_pages: int = 1024
    tls: bool = True
    # In-kernel filters (see ProgramOptions); the ProcessFilter of the runner applies on top.
    cgroup_id: int | None = None
    pidns: tuple[int, int] | None = None
    target_pids: frozenset[int] | None = None
    extra_libssl: tuple[str, ...] = field(default=())
    # Connections with no known protocol after inference stop sending data to user space.
    mute_uninteresting: bool = True


class SocketTraceSource(Source):
    name: ClassVar[str] = "socket_tracer"
    tables: ClassVar[tuple[TableSchema, ...]] = (
        CONN_STATS,
        HTTP_EVENTS,
        PGSQL_EVENTS,
        MYSQL_EVENTS,
        REDIS_EVENTS,
        CQL_EVENTS,
        DNS_EVENTS,
        NATS_EVENTS,
        AMQP_EVENTS,
        MUX_EVENTS,
        MONGODB_EVENTS,
        KAFKA_EVENTS,
    )
    sampling_period_ns: ClassVar[int] = 200_000_000
    push_period_ns: ClassVar[int] = 1_000_000_000

    # Housekeeping periods: parsers expire unanswered requests, dead processes' connections are
    # dropped, and new libssl copies are looked for.
    _FLUSH_PERIOD_NS = 1_000_000_000
    _EXPIRE_PERIOD_NS = 10_000_000_000
    _IDLE_BEFORE_EXPIRY_NS = 30_000_000_000
    _TLS_RESCAN_PERIOD_NS = 10_000_000_000
    # Drained records waiting for sample(), at most (~200 bytes each for small messages, 4 KiB
    # at most): beyond it the drain pauses and the ring buffer holds the rest.
    _MAX_BACKLOG_EVENTS = 100_000
    _MIN_DRAIN_GAP_S = 0.002

    def __init__(
        self,
        config: SocketTracerConfig | None = None,
        protocols: ProtocolLayer | None = None,
    ) -> None:
        super().__init__()
        self.config = config or SocketTracerConfig()
        self._protocols = protocols
        self._program: SocketTraceProgram | None = None
        self._tracker: ConnTracker | None = None
        # Batches of raw records, filled by the drain thread, emptied by sample() (deque
        # append/popleft are atomic).
        self._pending: deque[list[bytes]] = deque()
        self._reader: RingReader | None = None
        # Records drained (written by the drain thread only) and handed to the tracker (by
        # sample() only): their difference is the backlog held in user memory.
        self._drained = 0
        self._handled = 0
        self._drain_thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._next_flush_ns = 0
        self._next_expire_ns = 0
        self._next_tls_scan_ns = 0
        self._reported_lost = 0
        self._unknown_tables: set[str] = set()
        self._ldconfig_paths: set[str] | None = None
        self._ldconfig_stamp = -1

    @property
    def tracker(self) -> ConnTracker:
        if self._tracker is None:
            raise RuntimeError("socket tracer not initialised")
        return self._tracker

    def init(self, ctx: SourceContext) -> None:
        super().init(ctx)
        if self._protocols is None:
            try:
                self._protocols = load_protocol_layer()
            except Exception as exc:
                ctx.report_error(
                    f"protocol parsers unavailable, only conn_stats is collected: {exc}",
                    StatusCode.FAILED_PRECONDITION,
                )
        config = self.config
        options = ProgramOptions(
            max_data_size=config.max_data_size,
            ringbuf_pages=config.ringbuf_pages,
            self_tgid=os.getpid(),
            cgroup_id=config.cgroup_id,
            pidns=config.pidns,
            filter_tgids=config.target_pids is not None,
        )
        program = SocketTraceProgram(options)
        try:
            program.load()
        except Exception as exc:
            for tracepoint in program.tracepoints:
                ctx.report_probe(f"tracepoint:{tracepoint}", StatusCode.UNAVAILABLE, str(exc))
            raise
        self._program = program
        for tracepoint in program.tracepoints:
            ctx.report_probe(f"tracepoint:{tracepoint}", StatusCode.OK)
        for pid in config.target_pids or ():
            program.add_target_tgid(pid)
        process_filter = ctx.process_filter
        self._tracker = ConnTracker(
            self._protocols,
            upid_of=ctx.processes.upid_bytes,
            to_wall_ns=ctx.clock.monotonic_to_wall,
            max_body_bytes=config.max_body_bytes,
            accepts_tgid=process_filter.accepts if process_filter.restricted else None,
            on_excluded_tgid=program.exclude_tgid,
            on_uninteresting=program.mute_conn if config.mute_uninteresting else None,
            row_columns={table.name: table.relation.names for table in self.tables},
        )
        self._reader = program.open_reader()
        self._drain_thread = threading.Thread(
            target=self._drain_loop, name="socket-tracer-drain", daemon=True
        )
        self._drain_thread.start()
        if config.tls:
            self._scan_tls()

    def _drain_loop(self) -> None:
        reader = self._reader
        assert reader is not None
        pending = self._pending
        start_time_ticks = self.ctx.processes.start_time_ticks
        # Data waits at most half the sampling period before it is drained, or until the kernel
        # saw an eighth of the ring's worth of it (ProgramOptions.wake_bytes). Control events
        # force a wake-up (their process may be gone by the next period), but the ring is drained
        # at most once per _MIN_DRAIN_GAP_S: each wake-up costs CPU whatever it drains.
        timeout_s = self.sampling_period_ns / 2e9
        last_drain = time.monotonic()
        while not self._stopping.is_set():
            if self._drained - self._handled > self._MAX_BACKLOG_EVENTS:
                # Parsing is behind: leave the records in the kernel's ring (fixed memory)
                # rather than in ours; if it fills, the kernel counts what it drops.
                self._stopping.wait(timeout_s)
                continue
            try:
                reader.wait(timeout_s)
                early = self._MIN_DRAIN_GAP_S - (time.monotonic() - last_drain)
                if early > 0:
                    self._stopping.wait(early)
                batch = reader.drain()
            except Exception:
                log.exception("socket tracer ring buffer read failed")
                self._stopping.wait(1.0)
                continue
            last_drain = time.monotonic()
            if not batch:
                continue
            for raw in batch:
                if raw[0] == _KIND_OPEN:
                    # Resolve the UPID now, while the process surely exists (short-lived
                    # clients such as curl are gone by the next sampling period); sample()
                    # then hits the cache.
                    start_time_ticks(int.from_bytes(raw[4:8], "little"))
            self._drained += len(batch)
            pending.append(batch)

    def _scan_tls(self) -> None:
        program = self._program
        if program is None:
            return
        self._next_tls_scan_ns = time.monotonic_ns() + self._TLS_RESCAN_PERIOD_NS
        extra = [*self.config.extra_libssl, *self._ldconfig_libssl()]
        proc = self.ctx.processes.proc
        for path in find_libssl_files(procfs.iter_pids(proc), proc, extra).values():
            if path in program.ssl_files:
                continue
            failures = program.attach_ssl(path)
            failed = {probe for probe, _ in failures}
            for probe, error in failures:
                self.ctx.report_probe(probe, StatusCode.NOT_FOUND, error)
            if len(failed) < 4:
                self.ctx.report_probe(f"uprobe:{path}:SSL_*", StatusCode.OK, info=sorted(failed))

    def _ldconfig_libssl(self) -> set[str]:
        """libssl paths of the dynamic linker cache; ``ldconfig -p`` runs again only when the
        cache file changed (a fork and exec every rescan cost more than the rest of it)."""
        try:
            stamp = os.stat(_LD_SO_CACHE).st_mtime_ns
        except OSError:
            stamp = -1
        if self._ldconfig_paths is not None and stamp == self._ldconfig_stamp:
            return self._ldconfig_paths
        try:
            out = subprocess.run(
                ["ldconfig", "-p"], capture_output=True, text=True, timeout=5, check=False
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return set()
        self._ldconfig_paths, self._ldconfig_stamp = parse_ldconfig(out), stamp
        return self._ldconfig_paths

    def sample(self) -> None:
        program = self._program
        tracker = self.tracker
        assert program is not None
        pending = self._pending
        for _ in range(len(pending)):
            batch = pending.popleft()
            tracker.handle_batch(batch)
            self._handled += len(batch)
        now = time.monotonic_ns()
        flush = now >= self._next_flush_ns
        if flush:
            self._next_flush_ns = now + self._FLUSH_PERIOD_NS
        wall = self.ctx.clock.now_ns()
        for table, row in tracker.collect_records(wall, flush=flush):
            self._append_row(table, row)
        if now >= self._next_expire_ns:
            self._next_expire_ns = now + self._EXPIRE_PERIOD_NS
            tracker.expire(now - self._IDLE_BEFORE_EXPIRY_NS, _alive)
            lost, _ = program.counters()
            if lost > self._reported_lost:
                self.ctx.report_error(
                    f"{lost - self._reported_lost} events lost: ring buffer full",
                    StatusCode.UNAVAILABLE,
                    {"lost_total": lost},
                )
                self._reported_lost = lost
        if self.config.tls and now >= self._next_tls_scan_ns:
            self._scan_tls()

    def _append_row(self, table: str, row: Row) -> None:
        try:
            buffer = self.buffer(table)
        except KeyError:
            if table not in self._unknown_tables:
                self._unknown_tables.add(table)
                self.ctx.report_error(f"parser produced rows for undeclared table {table!r}")
            return
        try:
            if isinstance(row, tuple):
                buffer.append(row)  # already in the table's column order
            else:
                buffer.append_dict(row)
        except (KeyError, ValueError) as exc:
            self.ctx.report_error(f"bad row for {table}: {exc}")

    def _report_protocol_errors(self) -> None:
        for protocol, (count, note) in sorted(self.tracker.take_protocol_errors().items()):
            name = _PROTOCOL_NAMES.get(protocol, str(protocol))
            self.ctx.report_error(
                f"{name}: {count} parse error(s) on traced connections: {note}",
                StatusCode.DATA_LOSS,
                {"protocol": name, "errors": count},
            )

    def take_batches(self) -> list[tuple[str, pa.RecordBatch]]:
        if self._tracker is not None:
            self._report_protocol_errors()
            stats = self.buffer(CONN_STATS.name)
            for row in self._tracker.conn_stats_rows(self.ctx.clock.now_ns()):
                stats.append(row)
        return super().take_batches()

    def stop(self) -> None:
        self._stopping.set()
        if self._drain_thread is not None:
            self._drain_thread.join(5.0)
            self._drain_thread = None
        if self._program is not None:
            self._program.close()
            self._program = None


# conn_stats protocol numbers -> names for stirling_error messages.
_PROTOCOL_NAMES = {
    1: "http",
    2: "http2",
    3: "mysql",
    4: "cql",
    5: "pgsql",
    6: "dns",
    7: "redis",
    8: "nats",
    9: "mongodb",
    10: "kafka",
    11: "mux",
    12: "amqp",
}


_KIND_OPEN = int(EventKind.OPEN)
_LD_SO_CACHE = "/etc/ld.so.cache"


def _alive(tgid: int) -> bool:
    return os.path.exists(f"/proc/{tgid}")
