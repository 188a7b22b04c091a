"""The PEM: Stirling collectors -> table store -> Carnot, driven by the agent core.

Collectors start once the agent is registered, because every row's UPID carries the ASID the
metadata service hands out. The table store is built up front from the collectors' schemas, so
that its budget is divided once (as Pixie does) and the first heartbeat already carries the
schema. Cold-batch compaction runs every minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Sequence

from prometheus_client import CollectorRegistry
from pyxie_agent import (
    DEFAULT_RESULT_RPC_TIMEOUT_S,
    DEFAULT_STATS_WAIT_S,
    Agent,
    AgentConfig,
    AgentError,
    ChannelFactory,
    MetadataApplier,
    build_agent_engine,
)
from pyxie_carnot import DEFAULT_MEMORY_BUDGET_BYTES, Registry
from pyxie_jwt import SigningKey
from pyxie_service import get_logger
from pyxie_service.natsbus import NatsBus
from pyxie_stirling import (
    NetworkStatsSource,
    ProcessFilter,
    ProcessStatsSource,
    Source,
    Stirling,
)
from pyxie_table_store import TableStore
from pyxie_types import TableSchema
from pyxie_types.tables import HTTP_EVENTS, PROBE_STATUS, STIRLING_ERROR

from ..settings import PemSettings
from .processes import ProcessWatcher

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
    """/proc collectors always; the eBPF socket tracer when enabled (it reports its own
    failure to load in stirling_error, and the other collectors keep running)."""
    sources: list[Source] = [ProcessStatsSource(), NetworkStatsSource()]
    if settings.ebpf_enabled:
        from pyxie_stirling.socket_tracer import SocketTracerConfig, SocketTraceSource

        sources.append(
            SocketTraceSource(SocketTracerConfig(max_body_bytes=settings.max_body_bytes))
        )
    return sources


def process_filter_from_settings(settings: PemSettings) -> ProcessFilter:
    return ProcessFilter(
        netns_inode=settings.netns_inode or None,
        cgroup_path=settings.cgroup_path or None,
        # The PEM's own process is plumbing, not a workload to observe.
        exclude_pids=(os.getpid(),),
    )


class Pem:
    """One PEM: its table store, collectors, engine and agent."""

    def __init__(
        self,
        bus: NatsBus,
        config: AgentConfig,
        *,
        table_store: TableStore,
        signing_key: SigningKey,
        sources: Sequence[Source] = (),
        process_filter: ProcessFilter | None = None,
        process_events: bool = True,
        registry: Registry | None = None,
        query_memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET_BYTES,
        result_rpc_timeout_s: float = DEFAULT_RESULT_RPC_TIMEOUT_S,
        stats_wait_s: float = DEFAULT_STATS_WAIT_S,
        compaction_interval_s: float = 60.0,
        channel_factory: ChannelFactory | None = None,
        metrics_registry: CollectorRegistry | None = None,
        on_fatal: Callable[[AgentError], None] | None = None,
    ) -> None:
        self.table_store = table_store
        self.sources = list(sources)
        self.process_filter = process_filter
        self.stirling: Stirling | None = None
        self._stirling_start: asyncio.Task[None] | None = None
        self._compaction: asyncio.Task[None] | None = None
        self._compaction_interval_s = compaction_interval_s
        engine = build_agent_engine(
            config,
            service_id=SERVICE_ID,
            signing_key=signing_key,
            table_store=table_store,
            registry=registry,
            query_memory_budget_bytes=query_memory_budget_bytes,
            result_rpc_timeout_s=result_rpc_timeout_s,
            stats_wait_s=stats_wait_s,
            channel_factory=channel_factory,
            metrics_registry=metrics_registry,
        )
        self.metadata_state, self.carnot, self.runner = (
            engine.metadata_state,
            engine.carnot,
            engine.runner,
        )
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
        )

    @classmethod
    def from_settings(
        cls,
        settings: PemSettings,
        bus: NatsBus,
        *,
        on_fatal: Callable[[AgentError], None] | None = None,
        metrics_registry: CollectorRegistry | None = None,
    ) -> Pem:
        sources = sources_from_settings(settings)
        schemas = collector_schemas(sources)
        if settings.pem_synthetic_rows and HTTP_EVENTS.name not in {t.name for t in schemas}:
            schemas.append(HTTP_EVENTS)
        store = TableStore.from_schemas(schemas, settings.store_budget())
        if settings.pem_synthetic_rows:
            from .synthetic import fill_synthetic_http_events

            fill_synthetic_http_events(store, settings.pem_synthetic_rows)
        host_ip = settings.resolved_host_ip()
        config = AgentConfig(
            hostname=settings.resolved_hostname(),
            host_ip=host_ip,
            netns_inode=settings.netns_inode,
            pod_name=settings.pod_name,
            collects_data=True,
            k8s_selector=settings.k8s_selector or host_ip,
            heartbeat_interval_s=settings.heartbeat_interval_s,
            registration_timeout_s=settings.registration_timeout_s,
            registration_jitter_max_s=settings.registration_jitter_max_s,
        )
        return cls(
            bus,
            config,
            table_store=store,
            signing_key=settings.signing_key(),
            sources=sources,
            process_filter=process_filter_from_settings(settings),
            process_events=settings.process_events_enabled,
            query_memory_budget_bytes=settings.query_memory_budget_bytes,
            result_rpc_timeout_s=settings.result_rpc_timeout_s,
            stats_wait_s=settings.stats_wait_s,
            compaction_interval_s=settings.table_compaction_interval_s,
            metrics_registry=metrics_registry,
            on_fatal=on_fatal,
        )

    async def prepare(self, _grpc_port: int = 0) -> Agent:
        """Start compaction; returns the agent to start (the `AgentService` agent factory)."""
        if self._compaction is None:
            self._compaction = asyncio.ensure_future(self._compact_periodically())
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
        if self._compaction is not None:
            self._compaction.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._compaction
        if self._stirling_start is not None:
            await asyncio.gather(self._stirling_start, return_exceptions=True)
        if self.stirling is not None:
            await asyncio.to_thread(self.stirling.stop)
