"""The query half every agent builds the same way: metadata state, Carnot and its runner.

`EngineOptions` is everything a PEM or Kelvin hands the engine (one object, built once from
`AgentSettings.engine_options`); `build_agent_engine` turns it into the running parts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from pyxie_carnot import (
    DEFAULT_EXPORT_BYTES,
    DEFAULT_MEMORY_BUDGET_BYTES,
    DEFAULT_ORG_BYTES_PER_MINUTE,
    Carnot,
    FunctionContext,
    OTelExportBudget,
    Registry,
)
from pyxie_carnot.builtins import new_registry
from pyxie_carnot.metadata import InMemoryMetadataState
from pyxie_carnot.udtfs import (
    AGENT_STATUS_EXTRA,
    CRON_SCRIPT_HISTORY_EXTRA,
    METADATA_KV_EXTRA,
    SCHEMAS_EXTRA,
    TRACEPOINT_STATUS_EXTRA,
    TracepointStatusBoard,
)
from pyxie_jwt import SigningKey
from pyxie_proto.vizier.metadatapb import metadata_pb2
from pyxie_table_store import TableStore
from pyxie_types import TableSchema

from ._auth import ServiceCallCredentials
from ._cluster_view import MetadataServiceView
from ._cron_history import MetadataCronScriptHistory
from ._query import DEFAULT_RESULT_RPC_TIMEOUT_S, DEFAULT_STATS_WAIT_S, ChannelFactory, QueryRunner
from ._router import StatsCollectingRouter
from .agent import AgentConfig

__all__ = ["AgentEngine", "ComputedSchemaBoard", "EngineOptions", "build_agent_engine"]


class ComputedSchemaBoard:
    """The newest computed schema the metadata service published (a Kelvin stores no tables)."""

    def __init__(self) -> None:
        self._schemas: dict[str, TableSchema] = {}

    def update(self, response: metadata_pb2.SchemaResponse) -> None:
        # One assignment: readers on other threads see the old or the new mapping whole.
        self._schemas = {t.name: TableSchema.from_proto(t) for t in response.schema.tables}

    def schemas(self) -> dict[str, TableSchema]:
        return dict(self._schemas)


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """How an agent's engine is built: credentials, functions, budgets, deadlines, metrics."""

    # Outbound result streams carry a service JWT signed with this key.
    signing_key: SigningKey
    # The UDF/UDA registry; a fresh builtin one when None.
    registry: Registry | None = None
    # Per-query memory budget (plans may ask for less).
    query_memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET_BYTES
    # Deadline of the small exec-stats / error RPCs to Kelvin and the broker.
    result_rpc_timeout_s: float = DEFAULT_RESULT_RPC_TIMEOUT_S
    # How long a result-producing agent waits for the stats of the agents that fed it.
    stats_wait_s: float = DEFAULT_STATS_WAIT_S
    # How outbound result channels are opened (tests, TLS); plain channels when None.
    channel_factory: ChannelFactory | None = None
    # Where the query runner reports its metrics (the service's registry).
    metrics_registry: CollectorRegistry | None = None
    # host:port of the metadata service: cluster-wide UDTFs (GetAgentStatus, GetSchemas,
    # GetTables) and px.GetCronScriptHistory ask it. Empty: they see only this agent's own
    # tables and no agents.
    metadata_address: str = ""
    # px.export limits (see pyxie_carnot's OTel export sink).
    otel_export_bytes: int = DEFAULT_EXPORT_BYTES
    otel_org_bytes_per_minute: int = DEFAULT_ORG_BYTES_PER_MINUTE


@dataclass(frozen=True)
class AgentEngine:
    metadata_state: InMemoryMetadataState
    carnot: Carnot
    runner: QueryRunner
    # What GetTracepointStatus reads; the agent keeps it current.
    tracepoint_status: TracepointStatusBoard
    # The vizier's computed schema (Kelvin's GetSchemas/GetTables); the agent keeps it current.
    computed_schema: ComputedSchemaBoard
    # What functions see of this agent; agents add their providers to its extras.
    context: FunctionContext
    # The metadata service as the cluster-wide UDTFs see it (None without an address).
    cluster_view: MetadataServiceView | None = None

    async def close(self) -> None:
        """Release what the engine opened (the metadata channel); the runner stops apart."""
        if self.cluster_view is not None:
            await self.cluster_view.close()


def build_agent_engine(
    config: AgentConfig,
    options: EngineOptions,
    *,
    service_id: str,
    table_store: TableStore | None = None,
    router: StatsCollectingRouter | None = None,
) -> AgentEngine:
    """Carnot over ``table_store`` (PEM) or remote sources via ``router`` (Kelvin).

    Outbound result streams carry a service JWT for ``service_id``; metadata UDFs read the
    returned ``metadata_state``, which the agent's MetadataApplier fills.
    """
    registry = options.registry or new_registry()
    channel_factory = options.channel_factory
    metadata_state = InMemoryMetadataState(host=config.hostname)
    credentials = ServiceCallCredentials(options.signing_key, service_id=service_id)
    context = FunctionContext(
        registry=registry,
        metadata=metadata_state,
        agent_id=config.agent_id,
        hostname=config.hostname,
        num_cpus=os.cpu_count() or 1,
    )
    tracepoint_status = TracepointStatusBoard()
    context.extras[TRACEPOINT_STATUS_EXTRA] = tracepoint_status
    computed_schema = ComputedSchemaBoard()
    if table_store is not None:
        context.table_schemas = table_store.schemas
    else:
        context.table_schemas = computed_schema.schemas
    cluster_view = None
    if options.metadata_address:
        context.extras[CRON_SCRIPT_HISTORY_EXTRA] = MetadataCronScriptHistory(
            options.metadata_address, credentials
        )
        cluster_view = MetadataServiceView(options.metadata_address, credentials)
        context.extras[AGENT_STATUS_EXTRA] = cluster_view
        context.extras[SCHEMAS_EXTRA] = cluster_view
        context.extras[METADATA_KV_EXTRA] = cluster_view
    carnot = Carnot(
        registry,
        table_store,
        context,
        agent_id=config.agent_id,
        router=router,
        channel_factory=channel_factory,
        call_metadata=credentials,
        default_memory_budget_bytes=options.query_memory_budget_bytes,
        otel_budget=OTelExportBudget(options.otel_org_bytes_per_minute),
        otel_export_bytes=options.otel_export_bytes,
    )
    runner = QueryRunner(
        carnot,
        agent_id=config.agent_id,
        call_metadata=credentials,
        channel_factory=channel_factory,
        router=router,
        metrics_registry=options.metrics_registry,
        rpc_timeout_s=options.result_rpc_timeout_s,
        stats_wait_s=options.stats_wait_s,
    )
    return AgentEngine(
        metadata_state, carnot, runner, tracepoint_status, computed_schema, context, cluster_view
    )
