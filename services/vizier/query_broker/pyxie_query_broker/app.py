"""The query broker's composition root: `build(settings) -> Service`.

`QueryBroker` wires every part around one `pyxie_service.Service`; `build` opens its
connections (vizier NATS, the metadata channel) from the settings. Tests build a `QueryBroker`
with their own bus and metadata channel and a server on port 0 (`pyxie_query_broker.testing`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import grpc
from pyxie_carnot.builtins import default_registry
from pyxie_carnot.registry import Registry
from pyxie_jwt import service_claims, sign_token
from pyxie_service import Closer, NatsBus, Service

from pyxie_query_broker.controllers.agent_tracker import AgentTracker
from pyxie_query_broker.controllers.cron_scripts import CronScriptRunner
from pyxie_query_broker.controllers.executor import ExecutorSettings, QueryExecutor
from pyxie_query_broker.controllers.forwarder import (
    ForwarderSettings,
    MemoryBudget,
    QueryResultForwarder,
)
from pyxie_query_broker.controllers.mutations import GrpcTracepointClient, MutationExecutor
from pyxie_query_broker.controllers.passthrough import PassthroughProxy
from pyxie_query_broker.controllers.result_sink import ResultSinkServicer
from pyxie_query_broker.controllers.vizier_service import HealthChecker, VizierServicer
from pyxie_query_broker.settings import BrokerSettings

__all__ = ["TRACKER_SERVICE_ID", "QueryBroker", "advertised_address", "build"]

# Pixie's ServiceID for the tracker's calls to metadata.
TRACKER_SERVICE_ID: Final = "metadata_tracker"
# The broker's own calls to metadata: the cron-script runner (CronScriptStoreService) and
# tracepoint registrations (audit records name it).
BROKER_SERVICE_ID: Final = "query_broker"


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


def _own_address(grpc_host: str, bound_port: int) -> str:
    """host:port at which this process reaches its own server (the passthrough proxy)."""
    if grpc_host in ("", "0.0.0.0", "::", "[::]"):
        return f"127.0.0.1:{bound_port}"
    return advertised_address(grpc_host, bound_port)


# Agents send result chunks of up to 1 MiB; 8 MiB (as Pixie's broker) leaves ample headroom.
_MAX_RECEIVE_BYTES = 8 * 1024 * 1024


class QueryBroker:
    """The tracker, forwarder, executor, passthrough proxy and servicers, served by one `Service`.

    `resources` (the bus, the channels) are closed after every part has stopped.
    """

    def __init__(
        self,
        settings: BrokerSettings,
        *,
        bus: NatsBus,
        metadata_channel: grpc.aio.Channel,
        registry: Registry | None = None,
        resources: Sequence[tuple[str, Closer]] = (),
    ) -> None:
        self.settings = settings
        signing_key = settings.signing_key()

        def tracker_token() -> str:
            claims = service_claims(service_id=TRACKER_SERVICE_ID, audience=settings.jwt_audience)
            return sign_token(claims, signing_key)

        def broker_token() -> str:
            claims = service_claims(service_id=BROKER_SERVICE_ID, audience=settings.jwt_audience)
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
                otel_export_bytes=settings.otel_export_max_bytes,
                org_id=settings.org_id,
            ),
            mutations=MutationExecutor(
                GrpcTracepointClient(metadata_channel, broker_token),
                self.tracker,
                wait_seconds=settings.mutation_wait_seconds,
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
        self.passthrough = PassthroughProxy(bus, self._own_address)
        self.executor.attach_metrics(self.service.metrics_registry)
        # Closers run last-registered first: the parts stop before the connections close.
        for name, closer in resources:
            self.service.add_closer(name, closer)
        self.service.add_closer("agent cancellations", self.executor.wait_background)
        # Both run while the server serves. The tracker retries until metadata answers.
        self.service.add_task(self.tracker.task)
        self.service.add_task(self.passthrough.task)

        self.cron_scripts = CronScriptRunner(
            self.executor,
            metadata_channel,
            broker_token,
            bus=bus,
            poll_seconds=settings.cron_script_poll_seconds,
        )
        if settings.cron_scripts_enabled:
            self.service.add_task(self.cron_scripts.task)

    def result_address(self) -> str:
        return advertised_address(self.settings.advertised_address, self.service.grpc_port)

    def _own_address(self) -> str:
        return _own_address(self.settings.grpc_host, self.service.grpc_port)

    async def start(self) -> None:
        """Serve; returns once passthrough requests are taken."""
        await self.service.start()
        await self.passthrough.subscribed.wait()

    async def stop(self) -> None:
        await self.service.stop()


async def build(settings: BrokerSettings) -> Service:
    """The broker from its settings: connects NATS, dials metadata; the server starts next."""
    bus = await NatsBus.connect(settings.nats_url, name="query_broker")
    metadata_channel = grpc.aio.insecure_channel(settings.metadata_address)
    broker = QueryBroker(
        settings,
        bus=bus,
        metadata_channel=metadata_channel,
        resources=[
            ("nats", bus.drain),
            ("metadata channel", lambda: metadata_channel.close(None)),
        ],
    )
    return broker.service
