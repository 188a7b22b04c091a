"""Kelvin: Carnot with no data store, fed by the PEMs over ResultSinkService.

Its gRPC server routes incoming TransferResultChunk streams into the GRPC source nodes of the
running plans (`StatsCollectingRouter`, the engine's router plus the PEMs' exec stats). Kelvin
runs the merge half of each plan, streams the final tables to the broker through GRPC sinks and
then sends the broker one ExecutionAndTimingInfo with every agent's stats.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from prometheus_client import CollectorRegistry
from pyxie_agent import (
    DEFAULT_RESULT_RPC_TIMEOUT_S,
    DEFAULT_STATS_WAIT_S,
    Agent,
    AgentConfig,
    AgentError,
    ChannelFactory,
    MetadataApplier,
    StatsCollectingRouter,
    build_agent_engine,
)
from pyxie_carnot import DEFAULT_MEMORY_BUDGET_BYTES, Registry
from pyxie_jwt import SigningKey
from pyxie_proto.carnot.carnotpb import result_sink_pb2, result_sink_pb2_grpc
from pyxie_proto.vizier.subjects import ALL_SELECTOR
from pyxie_service import ServiceRegistration
from pyxie_service.natsbus import NatsBus

from ..settings import KelvinSettings

__all__ = ["RESULT_SINK_SERVICE", "Kelvin", "result_sink_registration"]

RESULT_SINK_SERVICE = result_sink_pb2.DESCRIPTOR.services_by_name["ResultSinkService"].full_name
SERVICE_ID = "kelvin"


def result_sink_registration(router: StatsCollectingRouter) -> ServiceRegistration:
    """ResultSinkService for the gRPC server (JWT-authenticated by the service kit)."""
    return ServiceRegistration(
        RESULT_SINK_SERVICE,
        lambda server: result_sink_pb2_grpc.add_ResultSinkServiceServicer_to_server(router, server),
    )


class Kelvin:
    """One Kelvin: router, engine, query runner and (once the port is known) its agent."""

    def __init__(
        self,
        bus: NatsBus,
        config: AgentConfig,
        *,
        signing_key: SigningKey,
        advertised_address: Callable[[int], str],
        registry: Registry | None = None,
        router: StatsCollectingRouter | None = None,
        query_memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET_BYTES,
        result_rpc_timeout_s: float = DEFAULT_RESULT_RPC_TIMEOUT_S,
        stats_wait_s: float = DEFAULT_STATS_WAIT_S,
        channel_factory: ChannelFactory | None = None,
        metrics_registry: CollectorRegistry | None = None,
        on_fatal: Callable[[AgentError], None] | None = None,
    ) -> None:
        self.bus = bus
        self.config = replace(config, collects_data=False)
        self._advertised_address = advertised_address
        self._on_fatal = on_fatal
        self.router = router or StatsCollectingRouter()
        engine = build_agent_engine(
            config,
            service_id=SERVICE_ID,
            signing_key=signing_key,
            router=self.router,
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
        self.agent: Agent | None = None

    @classmethod
    def from_settings(
        cls,
        settings: KelvinSettings,
        bus: NatsBus,
        *,
        on_fatal: Callable[[AgentError], None] | None = None,
        metrics_registry: CollectorRegistry | None = None,
        router: StatsCollectingRouter | None = None,
    ) -> Kelvin:
        config = AgentConfig(
            hostname=settings.resolved_hostname(),
            host_ip=settings.resolved_host_ip(),
            pod_name=settings.pod_name,
            collects_data=False,
            k8s_selector=ALL_SELECTOR,
            heartbeat_interval_s=settings.heartbeat_interval_s,
            registration_timeout_s=settings.registration_timeout_s,
            registration_jitter_max_s=settings.registration_jitter_max_s,
        )
        return cls(
            bus,
            config,
            signing_key=settings.signing_key(),
            advertised_address=settings.advertised_address,
            query_memory_budget_bytes=settings.query_memory_budget_bytes,
            result_rpc_timeout_s=settings.result_rpc_timeout_s,
            stats_wait_s=settings.stats_wait_s,
            metrics_registry=metrics_registry,
            on_fatal=on_fatal,
            router=router,
        )

    def registration(self) -> ServiceRegistration:
        """ResultSinkService of this Kelvin's router."""
        return result_sink_registration(self.router)

    async def prepare(self, grpc_port: int) -> Agent:
        """The agent, advertising `<host>:<grpc_port>` (the `AgentService` agent factory)."""
        if self.agent is None:
            self.config = replace(self.config, address=self._advertised_address(grpc_port))
            self.agent = Agent(
                self.bus,
                self.config,
                runner=self.runner,
                # Kelvin runs no workloads: UPIDs in its data belong to PEMs' processes.
                metadata=MetadataApplier(self.metadata_state, start_time_ticks=None),
                on_fatal=self._on_fatal,
            )
        return self.agent

    async def close(self) -> None:
        if self.agent is not None:
            await self.agent.stop()
        else:
            await self.runner.stop()
