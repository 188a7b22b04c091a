"""The query half every agent builds the same way: metadata state, Carnot and its runner."""

from __future__ import annotations

import os
from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from pyxie_carnot import DEFAULT_MEMORY_BUDGET_BYTES, Carnot, FunctionContext, Registry
from pyxie_carnot.builtins import new_registry
from pyxie_carnot.metadata import InMemoryMetadataState
from pyxie_jwt import SigningKey
from pyxie_table_store import TableStore

from ._auth import ServiceCallCredentials
from ._query import DEFAULT_RESULT_RPC_TIMEOUT_S, DEFAULT_STATS_WAIT_S, ChannelFactory, QueryRunner
from ._router import StatsCollectingRouter
from .agent import AgentConfig

__all__ = ["AgentEngine", "build_agent_engine"]


@dataclass(frozen=True)
class AgentEngine:
    metadata_state: InMemoryMetadataState
    carnot: Carnot
    runner: QueryRunner


def build_agent_engine(
    config: AgentConfig,
    *,
    service_id: str,
    signing_key: SigningKey,
    table_store: TableStore | None = None,
    router: StatsCollectingRouter | None = None,
    registry: Registry | None = None,
    query_memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET_BYTES,
    result_rpc_timeout_s: float = DEFAULT_RESULT_RPC_TIMEOUT_S,
    stats_wait_s: float = DEFAULT_STATS_WAIT_S,
    channel_factory: ChannelFactory | None = None,
    metrics_registry: CollectorRegistry | None = None,
) -> AgentEngine:
    """Carnot over ``table_store`` (PEM) or remote sources via ``router`` (Kelvin).

    Outbound result streams carry a service JWT for ``service_id``; metadata UDFs read the
    returned ``metadata_state``, which the agent's MetadataApplier fills.
    """
    registry = registry or new_registry()
    metadata_state = InMemoryMetadataState(host=config.hostname)
    credentials = ServiceCallCredentials(signing_key, service_id=service_id)
    context = FunctionContext(
        registry=registry,
        metadata=metadata_state,
        agent_id=config.agent_id,
        hostname=config.hostname,
        num_cpus=os.cpu_count() or 1,
    )
    if table_store is not None:
        context.table_schemas = table_store.schemas
    carnot = Carnot(
        registry,
        table_store,
        context,
        agent_id=config.agent_id,
        router=router,
        channel_factory=channel_factory,
        call_metadata=credentials,
        default_memory_budget_bytes=query_memory_budget_bytes,
    )
    runner = QueryRunner(
        carnot,
        agent_id=config.agent_id,
        call_metadata=credentials,
        channel_factory=channel_factory,
        router=router,
        metrics_registry=metrics_registry,
        rpc_timeout_s=result_rpc_timeout_s,
        stats_wait_s=stats_wait_s,
    )
    return AgentEngine(metadata_state, carnot, runner)
