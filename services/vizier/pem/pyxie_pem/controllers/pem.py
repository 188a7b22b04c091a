"""The PEM: Stirling collectors -> table store -> Carnot, driven by the agent core.

Collectors start once the agent is registered, because every row's UPID carries the ASID the
metadata service hands out. The table store is built up front from the collectors' schemas, so
that its budget is divided once (as Pixie does) and the first heartbeat already carries the
schema. Cold-batch compaction runs every minute.

Tracepoint messages (pxtrace) go to the dynamic tracer, which creates its tables in the same
store (the next heartbeat reports them) and whose state changes go back to the metadata
service as `TracepointInfoUpdate`s on `UpdateAgent`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence

from pyxie_agent import (
    Agent,
    AgentConfig,
    AgentError,
    EngineOptions,
    MetadataApplier,
    build_agent_engine,
)
from pyxie_carnot.metadata import InMemoryMetadataState
from pyxie_carnot.udtfs import PROCESSES_EXTRA, TABLE_STORE_EXTRA
from pyxie_carnot.udtfs._host import PROFILER_PERIOD_EXTRA
from pyxie_proto.vizier.messagespb import messages_pb2
from pyxie_proto.vizier.subjects import UPDATE_AGENT
from pyxie_service import BackgroundTask, get_logger
from pyxie_service.audit import audit
from pyxie_service.natsbus import NatsBus
from pyxie_stirling import (
    NetworkStatsSource,
    ProcessFilter,
    ProcessStatsSource,
    Source,
    Stirling,
)
from pyxie_stirling.perf_profiler import PerfProfilerConfig, PerfProfilerSource
from pyxie_stirling.proc_exit import ProcExitSource
from pyxie_stirling.tcp_stats import TcpStatsSource
from pyxie_table_store import TableStore
from pyxie_types import TableSchema
from pyxie_types.tables import PROBE_STATUS, STIRLING_ERROR

from ..settings import PemSettings
from .processes import ObservedProcesses, ProcessWatcher

__all__ = ["Pem", "collector_schemas", "process_filter_from_settings", "sources_from_settings"]

_log = get_logger("pyxie.pem")

SERVICE_ID = "pem"


def collector_schemas(sources: Sequence[Source]) -> list[TableSchema]:
    """Every table the collectors may push, each once, plus Stirling's status tables."""
    seen: dict[str, TableSchema] = {}
    for source in sources:
        for schema in source.tables:
            seen.setdefault(schema.name, schema)
    seen.setdefault(STIRLING_ERROR.name, STIRLING_ERROR)
    seen.setdefault(PROBE_STATUS.name, PROBE_STATUS)
    return list(seen.values())


def sources_from_settings(settings: PemSettings) -> list[Source]:
    """/proc collectors always; the eBPF sources (socket tracer, CPU profiler, proc_exit,
    tcp_stats) when enabled (each reports its own failure to load in stirling_error, the others
    keep running)."""
    sources: list[Source] = [ProcessStatsSource(), NetworkStatsSource()]
    if settings.ebpf_enabled:
        from pyxie_stirling.socket_tracer import SocketTracerConfig, SocketTraceSource

        sources.append(
            SocketTraceSource(SocketTracerConfig(max_body_bytes=settings.max_body_bytes))
        )
        sources.append(
            PerfProfilerSource(
                PerfProfilerConfig(
                    sampling_hz=settings.profiler_sampling_hz, window_s=settings.profiler_window_s
                )
            )
        )
        sources.append(ProcExitSource())
        sources.append(TcpStatsSource())
    return sources


def process_filter_from_settings(settings: PemSettings) -> ProcessFilter:
    return ProcessFilter(
        netns_inode=settings.netns_inode or None,
        cgroup_path=settings.cgroup_path or None,
        # The PEM's own process is plumbing, not a workload to observe.
        exclude_pids=(os.getpid(),),
    )


class PodTargets:
    """pxtrace pod targets from the agent's metadata: "<ns>/<pod>" -> pids on this node."""

    def __init__(self, state: InMemoryMetadataState) -> None:
        self._state = state

    def pod_pids(self, pod: str, container: str) -> list[int]:
        namespace, _, name = pod.partition("/")
        info = self._state.pod(self._state.pod_id_by_name(namespace, name))
        if info is None:
            return []
        cids = [
            cid
            for cid in info.container_ids
            if not container
            or ((c := self._state.container(cid)) is not None and c.name == container)
        ]
        return sorted(
            {(p.upid >> 64) & 0xFFFFFFFF for p in self._state.processes_of_containers(cids)}
        )


class Pem:
    """One PEM: its table store, collectors, engine and agent."""

    def __init__(
        self,
        bus: NatsBus,
        config: AgentConfig,
        engine: EngineOptions,
        *,
        table_store: TableStore,
        sources: Sequence[Source] = (),
        process_filter: ProcessFilter | None = None,
        process_events: bool = True,
        compaction_interval_s: float = 60.0,
        on_fatal: Callable[[AgentError], None] | None = None,
    ) -> None:
        self.table_store = table_store
        self.sources = list(sources)
        self.process_filter = process_filter
        self.stirling: Stirling | None = None
        self._stirling_start: asyncio.Task[None] | None = None
        # Pixie compacts hot batches into cold ones every minute.
        self._compaction = BackgroundTask("table-compaction", self._compact_periodically)
        self._compaction_interval_s = compaction_interval_s
        parts = build_agent_engine(config, engine, service_id=SERVICE_ID, table_store=table_store)
        self.engine = parts
        parts.context.extras[PROCESSES_EXTRA] = ObservedProcesses(process_filter)
        parts.context.extras[TABLE_STORE_EXTRA] = table_store
        self.metadata_state, self.carnot, self.runner = (
            parts.metadata_state,
            parts.carnot,
            parts.runner,
        )
        for source in self.sources:
            if isinstance(source, PerfProfilerSource):  # what GetProfilerSamplingPeriodMS says
                self.carnot.func_ctx.extras[PROFILER_PERIOD_EXTRA] = source.sampling_period_ms
        self.agent = Agent(
            bus,
            config,
            runner=self.runner,
            metadata=MetadataApplier(self.metadata_state),
            schemas=table_store.schemas,
            process_events=(
                ProcessWatcher(lambda: self.agent.asid, process_filter) if process_events else None
            ),
            on_fatal=on_fatal,
            on_registered=self._on_registered,
            on_tracepoint=self._on_tracepoint,
            tracepoint_status=parts.tracepoint_status.update,
        )
        self._bus = bus
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending_reports: set[asyncio.Future[None]] = set()
        from pyxie_stirling.dynamic import DynamicTracer

        self.tracer = DynamicTracer(
            table_store,
            lambda: self.agent.asid,
            self._report_tracepoint,
            targets=PodTargets(self.metadata_state),
            audit=audit,
        )

    async def prepare(self, _grpc_port: int = 0) -> Agent:
        """Start compaction; returns the agent to start (the `AgentService` agent factory)."""
        self._loop = asyncio.get_running_loop()
        self._compaction.start()
        return self.agent

    async def start(self) -> Agent:
        """Start compaction and the agent (collectors follow registration)."""
        await self.prepare()
        await self.agent.start()
        return self.agent

    def _on_registered(self, asid: int) -> None:
        if self.stirling is not None or not self.sources:
            return
        self.stirling = Stirling(
            self.sources, self.table_store, asid=asid, process_filter=self.process_filter
        )
        # Loading eBPF probes takes seconds: start off the event loop.
        self._stirling_start = asyncio.ensure_future(asyncio.to_thread(self.stirling.start))
        _log.info("collectors starting", asid=asid, sources=[s.name for s in self.sources])

    async def _on_tracepoint(self, message: messages_pb2.TracepointMessage) -> None:
        kind = message.WhichOneof("msg")
        if kind == "register_tracepoint_request":
            request = message.register_tracepoint_request
            _log.info("deploying tracepoint", id=request.id, name=request.deployment.name)
            # Reading DWARF and compiling BPF take a while: off the event loop.
            await asyncio.to_thread(self.tracer.deploy, request.id, request.deployment)
        elif kind == "remove_tracepoint_request":
            await asyncio.to_thread(self.tracer.remove, message.remove_tracepoint_request.id)

    def _report_tracepoint(self, tracepoint_id: str, state: int, code: int, message: str) -> None:
        """Called from any thread: publish the state on UpdateAgent from the event loop."""
        update = messages_pb2.VizierMessage(
            tracepoint_message=messages_pb2.TracepointMessage(
                tracepoint_info_update=messages_pb2.TracepointInfoUpdate(
                    id=tracepoint_id,
                    agent_id=self.agent.agent_id,
                    state=state,  # type: ignore[arg-type]
                    status_code=code,
                    status_message=message,
                )
            )
        )
        loop = self._loop
        if loop is None or loop.is_closed():
            return

        def publish() -> None:
            future = asyncio.ensure_future(self._bus.publish(UPDATE_AGENT, update))
            self._pending_reports.add(future)
            future.add_done_callback(self._pending_reports.discard)

        loop.call_soon_threadsafe(publish)

    async def _compact_periodically(self) -> None:
        while True:
            await asyncio.sleep(self._compaction_interval_s)
            try:
                await asyncio.to_thread(self.table_store.compact)
            except Exception:
                _log.exception("table compaction failed")

    async def close(self) -> None:
        """Stop the agent, the collectors and compaction."""
        await self.agent.stop()
        await asyncio.to_thread(self.tracer.stop)
        await self._compaction.stop()
        if self._stirling_start is not None:
            await asyncio.gather(self._stirling_start, return_exceptions=True)
        if self.stirling is not None:
            await asyncio.to_thread(self.stirling.stop)
        await self.engine.close()
