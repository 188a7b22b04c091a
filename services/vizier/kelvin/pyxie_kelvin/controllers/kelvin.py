"""Kelvin: Carnot with no data store, fed by the PEMs over ResultSinkService.

Its gRPC server routes incoming TransferResultChunk streams into the GRPC source nodes of the
running plans (`StatsCollectingRouter`, the engine's router plus the PEMs' exec stats). Kelvin
runs the merge half of each plan, streams the final tables to the broker through GRPC sinks and
then sends the broker one ExecutionAndTimingInfo with every agent's stats.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from pyxie_agent import (
    Agent,
    AgentConfig,
    AgentError,
    EngineOptions,
    MetadataApplier,
    StatsCollectingRouter,
    build_agent_engine,
)
from pyxie_proto.carnot.carnotpb import result_sink_pb2, result_sink_pb2_grpc
from pyxie_service import ServiceRegistration
from pyxie_service.natsbus import NatsBus

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
        engine: EngineOptions,
        *,
        advertised_address: Callable[[int], str],
        router: StatsCollectingRouter | None = None,
        on_fatal: Callable[[AgentError], None] | None = None,
    ) -> None:
        self.bus = bus
        self.config = replace(config, collects_data=False)
        self._advertised_address = advertised_address
        self._on_fatal = on_fatal
        self.router = router or StatsCollectingRouter()
        parts = build_agent_engine(config, engine, service_id=SERVICE_ID, router=self.router)
        self.engine = parts
        self.metadata_state, self.carnot, self.runner = (
            parts.metadata_state,
            parts.carnot,
            parts.runner,
        )
        self.tracepoint_status = parts.tracepoint_status
        self.computed_schema = parts.computed_schema
        self.agent: Agent | None = None

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
                # px.GetTracepointStatus() runs on Kelvin.
                tracepoint_status=self.tracepoint_status.update,
                # px.GetSchemas() / GetTables() run on Kelvin, which stores no tables.
                computed_schema=self.computed_schema.update,
            )
        return self.agent

    async def close(self) -> None:
        if self.agent is not None:
            await self.agent.stop()
        else:
            await self.runner.stop()
        await self.engine.close()
