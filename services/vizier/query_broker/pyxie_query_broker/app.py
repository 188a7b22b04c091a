"""`QueryBroker`: every part of the broker wired together around one `pyxie_service.Service`.

`__main__` builds it from the environment; tests build it with their own NATS bus and metadata
channel and a server on port 0.
"""

from __future__ import annotations

from typing import Final

import grpc
from pyxie_carnot.builtins import default_registry
from pyxie_carnot.registry import Registry
from pyxie_jwt import service_claims, sign_token
from pyxie_service import Service

from pyxie_query_broker.controllers.agent_tracker import AgentTracker
from pyxie_query_broker.controllers.executor import AgentBus, ExecutorSettings, QueryExecutor
from pyxie_query_broker.controllers.forwarder import (
    ForwarderSettings,
    MemoryBudget,
    QueryResultForwarder,
)
from pyxie_query_broker.controllers.result_sink import ResultSinkServicer
from pyxie_query_broker.controllers.vizier_service import HealthChecker, VizierServicer
from pyxie_query_broker.settings import BrokerSettings

__all__ = ["TRACKER_SERVICE_ID", "QueryBroker", "advertised_address"]

# Pixie's ServiceID for the tracker's calls to metadata.
TRACKER_SERVICE_ID: Final = "metadata_tracker"


def advertised_address(configured: str, bound_port: int) -> str:
    """host:port agents dial: the configured one, its host with the bound port, or loopback."""
    if not configured:
        return f"127.0.0.1:{bound_port}"
    if configured.startswith("["):  # an IPv6 literal, maybe with a port
        return configured if "]:" in configured else f"{configured}:{bound_port}"
    host, sep, port = configured.rpartition(":")
    if sep and port.isdigit() and ":" not in host:
        return configured
    if ":" in configured:  # a bare IPv6 address
        return f"[{configured}]:{bound_port}"
    return f"{configured}:{bound_port}"


# Agents send result chunks of up to 1 MiB; 8 MiB (as Pixie's broker) leaves ample headroom.
_MAX_RECEIVE_BYTES = 8 * 1024 * 1024


class QueryBroker:
    """The tracker, forwarder, executor and servicers, served by one `Service`."""

    def __init__(
        self,
        settings: BrokerSettings,
        *,
        bus: AgentBus,
        metadata_channel: grpc.aio.Channel,
        registry: Registry | None = None,
    ) -> None:
        self.settings = settings
        signing_key = settings.signing_key()

        def tracker_token() -> str:
            claims = service_claims(service_id=TRACKER_SERVICE_ID, audience=settings.jwt_audience)
            return sign_token(claims, signing_key)

        self.tracker = AgentTracker(
            metadata_channel, tracker_token, retry_seconds=settings.agent_tracker_retry_seconds
        )
        self.forwarder = QueryResultForwarder(
            ForwarderSettings(
                init_timeout_seconds=settings.result_sink_init_timeout_seconds,
                producer_timeout_seconds=settings.producer_timeout_seconds,
                consumer_timeout_seconds=settings.consumer_timeout_seconds,
                buffer_messages=settings.result_buffer_messages,
            ),
            MemoryBudget(settings.result_memory_budget_bytes),
        )
        result_sink = ResultSinkServicer(self.forwarder)
        self.service: Service
        self.executor = QueryExecutor(
            self.tracker,
            bus,
            self.forwarder,
            registry if registry is not None else default_registry(),
            ExecutorSettings(
                result_address=self.result_address,
                data_access=settings.data_access_mode(),
                max_output_rows_per_table=settings.max_output_rows_per_table,
                query_timeout_seconds=settings.query_timeout_seconds,
            ),
        )
        health = HealthChecker(
            self.executor, timeout_seconds=settings.health_check_interval_seconds
        )
        vizier = VizierServicer(
            self.executor, health, health_interval_seconds=settings.health_check_interval_seconds
        )
        self.service = Service(
            settings,
            [vizier.registration(), result_sink.registration()],
            name="query_broker",
            server_options=[("grpc.max_receive_message_length", _MAX_RECEIVE_BYTES)],
        )
        self.executor.attach_metrics(self.service.metrics_registry)
        self.service.add_closer("agent tracker", self.tracker.stop)
        self.service.add_closer("agent cancellations", self.executor.wait_background)

    def result_address(self) -> str:
        return advertised_address(self.settings.advertised_address, self.service.grpc_port)

    async def start(self) -> None:
        """Serve, and follow metadata (the tracker retries until metadata answers)."""
        await self.service.start()
        self.tracker.start()

    async def stop(self) -> None:
        await self.service.stop()
