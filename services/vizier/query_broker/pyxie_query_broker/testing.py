"""Helpers for the query broker tests: a fake metadata service, agents at the NATS boundary.

* `FakeMetadata`: a hand-written `MetadataService` (another service's boundary) serving
  `GetAgentUpdates` from a state the test sets.
* `RunnerAgent`: an agent built from the real agent core (`pyxie_agent.QueryRunner` on a real
  `Carnot`, PEM with a table store of canned rows, Kelvin with its stats-collecting router),
  subscribed to `Agent/<id>` on the real NATS.
* `ScriptedAgent`: receives ExecuteQueryRequests on NATS and runs a test's own coroutine that
  pushes hand-made chunks through `TransferResultChunk` (protocol edge cases).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
import pyarrow as pa
from pyxie_agent import QueryRunner, ServiceCallCredentials, StatsCollectingRouter
from pyxie_carnot import Carnot, batch_to_ipc
from pyxie_carnot.builtins import default_registry
from pyxie_jwt import (
    VIZIER_AUDIENCE,
    ServiceClaims,
    SigningKey,
    cluster_claims,
    service_claims,
    sign_token,
)
from pyxie_proto.carnot.carnotpb import result_sink_pb2, result_sink_pb2_grpc
from pyxie_proto.vizier.messagespb import messages_pb2
from pyxie_proto.vizier.metadatapb import metadata_pb2, metadata_pb2_grpc
from pyxie_service import NatsBus, Service, ServiceRegistration, require_claims
from pyxie_table_store import TableStore
from pyxie_types import Column, DataType, Relation, SemanticType, TableSchema

from pyxie_query_broker import BrokerSettings, QueryBroker

__all__ = [
    "DEMO_SCHEMA",
    "FakeMetadata",
    "RunnerAgent",
    "ScriptedAgent",
    "Vizier",
    "agent_status",
    "broker_settings",
    "chunk",
    "cluster_token",
    "demo_rows",
    "open_result_stream",
    "service_token",
    "start_demo_pem",
]

DEMO_SCHEMA = TableSchema(
    "demo_events",
    Relation(
        (
            Column("time_", DataType.TIME64NS, SemanticType.ST_TIME_NS),
            Column("upid", DataType.UINT128, SemanticType.ST_UPID),
            Column("service", DataType.STRING, SemanticType.ST_SERVICE_NAME),
            Column("latency", DataType.INT64, SemanticType.ST_DURATION_NS),
            Column("ok", DataType.BOOLEAN),
            Column("ratio", DataType.FLOAT64),
        )
    ),
    desc="canned rows for broker tests",
)


def demo_rows(
    count: int, *, service: str = "svc", start_ns: int = 1_700_000_000_000_000_000
) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(
        [
            pa.array([start_ns + i for i in range(count)], pa.timestamp("ns")),
            pa.array(
                [((i + 1) << 64 | (i + 7)).to_bytes(16, "big") for i in range(count)],
                pa.binary(16),
            ),
            pa.array([f"{service}-{i % 3}" for i in range(count)], pa.string()),
            pa.array([i * 10 for i in range(count)], pa.int64()),
            pa.array([i % 2 == 0 for i in range(count)], pa.bool_()),
            pa.array([i / 4 for i in range(count)], pa.float64()),
        ],
        schema=DEMO_SCHEMA.relation.arrow_schema(),
    )


def broker_settings(key: SigningKey, nats_url: str = "", **overrides: Any) -> BrokerSettings:
    values: dict[str, Any] = {
        "jwt_signing_key": key.reveal_text(),
        "grpc_host": "127.0.0.1",
        "grpc_port": 0,
        "metrics_enabled": False,
        "shutdown_grace_seconds": 0.5,
        "shutdown_close_timeout_seconds": 2.0,
        "agent_tracker_retry_seconds": 0.2,
        "health_check_interval_seconds": 0.5,
        "log_level": "warning",
    }
    if nats_url:
        values["nats_url"] = nats_url
    values.update(overrides)
    return BrokerSettings(**values)


def service_token(key: SigningKey, service_id: str = "test-client") -> str:
    return sign_token(service_claims(service_id=service_id, audience=VIZIER_AUDIENCE), key)


def cluster_token(key: SigningKey) -> str:
    return sign_token(cluster_claims(cluster_id=str(uuid.uuid4()), audience=VIZIER_AUDIENCE), key)


def agent_status(
    agent_id: str,
    *,
    pem: bool,
    tables: Sequence[str] = (),
    address: str = "",
    state: metadata_pb2.AgentState = metadata_pb2.AGENT_STATE_HEALTHY,
) -> metadata_pb2.AgentStatus:
    return metadata_pb2.AgentStatus(
        info=messages_pb2.AgentInfo(
            agent_id=agent_id,
            host_info=messages_pb2.HostInfo(hostname=f"host-{agent_id}"),
            collects_data=pem,
            address=address,
        ),
        state=state,
        tables=list(tables),
    )


class FakeMetadata(metadata_pb2_grpc.MetadataServiceServicer):
    """GetAgentUpdates: the full state first (end_of_version), then whatever `push` sends."""

    def __init__(self, key: SigningKey) -> None:
        self._key = key
        self.agents: dict[str, metadata_pb2.AgentStatus] = {}
        self.schemas: list[TableSchema] = []
        self.callers: list[str] = []
        self._streams: list[asyncio.Queue[metadata_pb2.AgentUpdatesResponse]] = []
        self.service: Service | None = None
        # More services on the same server (e.g. a real CronScriptStoreService).
        self.extra: list[ServiceRegistration] = []

    def schema(self) -> metadata_pb2.ComputedSchema:
        computed = metadata_pb2.ComputedSchema(tables=[s.to_proto() for s in self.schemas])
        for agent_id, status in self.agents.items():
            for table in status.tables:
                computed.table_name_to_agent_ids[table].agent_ids.append(agent_id)
        return computed

    def snapshot(self) -> metadata_pb2.AgentUpdatesResponse:
        return metadata_pb2.AgentUpdatesResponse(
            agent_updates=[
                metadata_pb2.AgentUpdate(agent_id=agent_id, agent=status)
                for agent_id, status in self.agents.items()
            ],
            schema=self.schema(),
            end_of_version=True,
        )

    async def push(self, response: metadata_pb2.AgentUpdatesResponse) -> None:
        for queue in self._streams:
            queue.put_nowait(response)

    async def remove_agent(self, agent_id: str) -> None:
        self.agents.pop(agent_id, None)
        await self.push(
            metadata_pb2.AgentUpdatesResponse(
                agent_updates=[metadata_pb2.AgentUpdate(agent_id=agent_id, deleted=True)],
                schema=self.schema(),
                end_of_version=True,
            )
        )

    async def GetAgentUpdates(
        self, request: metadata_pb2.AgentUpdatesRequest, context: Any
    ) -> AsyncIterator[metadata_pb2.AgentUpdatesResponse]:
        claims = require_claims(ServiceClaims)
        self.callers.append(claims.service_id)
        queue: asyncio.Queue[metadata_pb2.AgentUpdatesResponse] = asyncio.Queue()
        self._streams.append(queue)
        try:
            yield self.snapshot()
            while True:
                yield await queue.get()
        finally:
            self._streams.remove(queue)

    async def start(self, settings: BrokerSettings) -> str:
        self.service = Service(
            settings,
            [
                ServiceRegistration(
                    "pyxie.vizier.metadatapb.MetadataService",
                    lambda server: metadata_pb2_grpc.add_MetadataServiceServicer_to_server(
                        self, server
                    ),
                ),
                *self.extra,
            ],
            name="fake-metadata",
        )
        await self.service.start()
        return f"127.0.0.1:{self.service.grpc_port}"

    async def stop(self) -> None:
        if self.service is not None:
            await self.service.stop()


@dataclass
class _AgentBase:
    agent_id: str
    bus: NatsBus
    executes: list[messages_pb2.ExecuteQueryRequest] = field(default_factory=list)
    cancels: list[str] = field(default_factory=list)
    _subscription: Any = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def subscribe(self) -> None:
        self._subscription = await self.bus.subscribe(
            f"Agent/{self.agent_id}", messages_pb2.VizierMessage, self._deliver
        )
        await self.bus.flush()

    async def _deliver(self, message: messages_pb2.VizierMessage) -> None:
        kind = message.WhichOneof("msg")
        if kind == "execute_query_request":
            self.executes.append(message.execute_query_request)
            await self.on_execute(message.execute_query_request)
        elif kind == "cancel_query_request":
            self.cancels.append(message.cancel_query_request.query_id)
            await self.on_cancel(message.cancel_query_request.query_id)
        async with self._changed:
            self._changed.notify_all()

    async def on_execute(self, request: messages_pb2.ExecuteQueryRequest) -> None:
        raise NotImplementedError

    async def on_cancel(self, query_id: str) -> None:
        return None

    async def wait_until(self, condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(condition), timeout_s)

    async def unsubscribe(self) -> None:
        if self._subscription is not None:
            await self._subscription.unsubscribe()


class RunnerAgent(_AgentBase):
    """The real agent core's query path: QueryRunner on Carnot (PEM store or Kelvin router)."""

    def __init__(
        self,
        agent_id: str,
        bus: NatsBus,
        key: SigningKey,
        *,
        store: TableStore | None = None,
        kelvin_settings: BrokerSettings | None = None,
    ) -> None:
        super().__init__(agent_id, bus)
        registry = default_registry()
        credentials = ServiceCallCredentials(key, service_id="kelvin" if store is None else "pem")
        self.router = StatsCollectingRouter() if store is None else None
        self.carnot = Carnot(
            registry, store, agent_id=agent_id, router=self.router, call_metadata=credentials
        )
        self.runner = QueryRunner(
            self.carnot, agent_id=agent_id, call_metadata=credentials, router=self.router
        )
        self._kelvin_settings = kelvin_settings
        self.service: Service | None = None

    async def start(self) -> str:
        """Subscribe; a Kelvin also serves its ResultSinkService. Returns its address."""
        address = ""
        if self.router is not None:
            assert self._kelvin_settings is not None
            router = self.router
            self.service = Service(
                self._kelvin_settings,
                [
                    ServiceRegistration(
                        "pyxie.carnot.carnotpb.ResultSinkService",
                        lambda server: result_sink_pb2_grpc.add_ResultSinkServiceServicer_to_server(
                            router, server
                        ),
                    )
                ],
                name=f"kelvin-{self.agent_id}",
            )
            await self.service.start()
            address = f"127.0.0.1:{self.service.grpc_port}"
        await self.subscribe()
        return address

    async def on_execute(self, request: messages_pb2.ExecuteQueryRequest) -> None:
        self.runner.submit(request)

    async def on_cancel(self, query_id: str) -> None:
        self.runner.cancel(query_id)

    async def stop(self) -> None:
        await self.unsubscribe()
        await self.runner.stop()
        if self.service is not None:
            await self.service.stop()


Scenario = Callable[[messages_pb2.ExecuteQueryRequest, "ScriptedAgent"], Awaitable[None]]


class ScriptedAgent(_AgentBase):
    """Runs `scenario(request, agent)` for each ExecuteQueryRequest."""

    def __init__(self, agent_id: str, bus: NatsBus, key: SigningKey, scenario: Scenario) -> None:
        super().__init__(agent_id, bus)
        self.key = key
        self.scenario = scenario
        self.tasks: list[asyncio.Task[None]] = []
        self.responses: list[result_sink_pb2.TransferResultChunkResponse] = []

    async def on_execute(self, request: messages_pb2.ExecuteQueryRequest) -> None:
        self.tasks.append(asyncio.ensure_future(self.scenario(request, self)))

    def sinks(self, request: messages_pb2.ExecuteQueryRequest) -> dict[str, str]:
        """Result table name → broker address, from the plan's GRPC sinks."""
        return {
            node.op.grpc_sink.table_name: node.op.grpc_sink.address
            for fragment in request.plan.fragments
            for node in fragment.nodes
            if node.op.HasField("grpc_sink")
        }

    def relations(self, request: messages_pb2.ExecuteQueryRequest) -> dict[str, pa.Schema]:
        out: dict[str, pa.Schema] = {}
        for fragment in request.plan.fragments:
            for node in fragment.nodes:
                if node.op.HasField("grpc_sink"):
                    out[node.op.grpc_sink.table_name] = _arrow_schema(node.output_relation)
        return out

    async def stop(self) -> None:
        await self.unsubscribe()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def _arrow_schema(relation: Any) -> pa.Schema:
    from pyxie_types import Relation as TypesRelation

    return TypesRelation.from_proto(relation).arrow_schema()


async def open_result_stream(
    address: str,
    key: SigningKey,
    messages: Sequence[result_sink_pb2.TransferResultChunkRequest],
    *,
    hold: asyncio.Event | None = None,
) -> result_sink_pb2.TransferResultChunkResponse:
    """Send `messages` on one TransferResultChunk stream (optionally waiting before closing)."""

    async def requests() -> AsyncIterator[result_sink_pb2.TransferResultChunkRequest]:
        for message in messages:
            yield message
        if hold is not None:
            await hold.wait()

    async with grpc.aio.insecure_channel(address) as channel:
        stub = result_sink_pb2_grpc.ResultSinkServiceStub(channel)
        token = service_token(key, "pem")
        return await stub.TransferResultChunk(
            requests(), metadata=(("authorization", f"bearer {token}"),)
        )


def chunk(
    sender: str,
    query_id: str,
    *,
    initiate: str | None = None,
    table: str | None = None,
    batch: pa.RecordBatch | None = None,
    eos: bool = False,
    stats: int | None = None,
    error: tuple[int, str] | None = None,
) -> result_sink_pb2.TransferResultChunkRequest:
    """One TransferResultChunkRequest of the kind the keyword names."""
    request = result_sink_pb2.TransferResultChunkRequest(sender=sender, query_id=query_id)
    if initiate is not None:
        request.initiate_conn.CopyFrom(
            result_sink_pb2.InitiateConnection(table_name=initiate)
            if initiate
            else result_sink_pb2.InitiateConnection()
        )
    elif table is not None:
        assert batch is not None
        request.query_result.CopyFrom(
            result_sink_pb2.QueryResult(
                table_name=table, arrow_ipc=batch_to_ipc(batch), eow=eos, eos=eos
            )
        )
    elif stats is not None:
        request.execution_and_timing_info.CopyFrom(
            result_sink_pb2.ExecutionAndTimingInfo(
                agent_stats=[
                    result_sink_pb2.AgentExecutionStats(
                        agent_id=sender,
                        execution_time_ns=1000,
                        records_processed=stats,
                        bytes_processed=stats * 8,
                    )
                ]
            )
        )
    elif error is not None:
        request.execution_error.CopyFrom(
            result_sink_pb2.ExecutionError(code=error[0], message=error[1])
        )
    return request


@dataclass
class Vizier:
    """A running broker with its fake metadata, on real NATS."""

    broker: QueryBroker
    metadata: FakeMetadata
    bus: NatsBus
    key: SigningKey
    settings: BrokerSettings
    channel: grpc.aio.Channel

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.broker.service.grpc_port}"

    async def wait_for_agents(self, count: int) -> None:
        async with asyncio.timeout(20):
            await self.broker.tracker.wait_for(lambda s: len(s.plannable_agents()) == count)


async def start_demo_pem(vizier: Vizier, rows: int, agent_id: str = "pem-1") -> RunnerAgent:
    """A PEM (the real query core) holding `rows` demo rows, known to the broker; stop it."""
    store = TableStore()
    store.add_table(DEMO_SCHEMA)
    store.append(DEMO_SCHEMA.name, demo_rows(rows))
    pem = RunnerAgent(agent_id, vizier.bus, vizier.key, store=store)
    await pem.start()
    vizier.metadata.agents[agent_id] = agent_status(agent_id, pem=True, tables=[DEMO_SCHEMA.name])
    await vizier.metadata.push(vizier.metadata.snapshot())
    await vizier.wait_for_agents(1)
    return pem
