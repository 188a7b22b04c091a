"""A query across PEMs and Kelvin, as the broker dispatches it: plans over real NATS, batches
over real gRPC (JWT-authenticated), results and exec stats at a stand-in for the broker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pytest
from pyxie_agent.testing import FakeMetadataService
from pyxie_carnot import batch_from_ipc
from pyxie_carnot.builtins import new_registry
from pyxie_carnot.plan_builder import PlanBuilder
from pyxie_carnot.registry import Registry
from pyxie_jwt import SigningKey
from pyxie_kelvin import RESULT_SINK_SERVICE, Kelvin
from pyxie_kelvin import kelvin_service as kelvin_service_for
from pyxie_kelvin.testing import kelvin_test_settings
from pyxie_pem import Pem
from pyxie_pem.testing import pem_on_store
from pyxie_proto.carnot.carnotpb import result_sink_pb2, result_sink_pb2_grpc
from pyxie_proto.carnot.planpb import plan_pb2
from pyxie_service import Service, ServiceRegistration, ServiceSettings
from pyxie_service.natsbus import NatsBus
from pyxie_table_store import TableStore
from pyxie_types import Column, DataType, Relation, SemanticType, TableSchema

KEY = "k" * 48
LAT = TableSchema(
    "lat",
    Relation(
        (
            Column("time_", DataType.TIME64NS, SemanticType.ST_TIME_NS),
            Column("service", DataType.STRING),
            Column("latency", DataType.INT64, SemanticType.ST_DURATION_NS),
        )
    ),
)
PARTIAL = Relation.of(
    ("service", DataType.STRING), ("n", DataType.STRING), ("total", DataType.STRING)
)


def _rows(offset: int, n: int) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(
        [
            pa.array(range(offset, offset + n), pa.int64()).cast(pa.timestamp("ns")),
            pa.array([f"svc-{i % 3}" for i in range(offset, offset + n)]),
            pa.array([i * 10 for i in range(offset, offset + n)], pa.int64()),
        ],
        schema=LAT.relation.arrow_schema(),
    )


@dataclass
class _Broker(result_sink_pb2_grpc.ResultSinkServiceServicer):
    """Stands in for the query broker's ResultSinkService (another service): records what
    agents send it."""

    tables: dict[str, list[pa.RecordBatch]] = field(default_factory=dict)
    eos: set[str] = field(default_factory=set)
    stats: list[result_sink_pb2.TransferResultChunkRequest] = field(default_factory=list)
    errors: list[result_sink_pb2.TransferResultChunkRequest] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def TransferResultChunk(
        self,
        request_iterator: AsyncIterator[result_sink_pb2.TransferResultChunkRequest],
        context: Any,
    ) -> result_sink_pb2.TransferResultChunkResponse:
        async for request in request_iterator:
            kind = request.WhichOneof("result")
            if kind == "query_result":
                await self.on_table(request)
            elif kind == "execution_and_timing_info":
                await self.on_stats(request)
            elif kind == "execution_error":
                await self.on_error(request)
        return result_sink_pb2.TransferResultChunkResponse(success=True)

    async def on_table(self, request: result_sink_pb2.TransferResultChunkRequest) -> None:
        result = request.query_result
        self.tables.setdefault(result.table_name, []).append(batch_from_ipc(result.arrow_ipc))
        if result.eos:
            self.eos.add(result.table_name)
        self.changed.set()

    async def on_stats(self, request: result_sink_pb2.TransferResultChunkRequest) -> None:
        self.stats.append(request)
        self.changed.set()

    async def on_error(self, request: result_sink_pb2.TransferResultChunkRequest) -> None:
        self.errors.append(request)
        self.changed.set()

    async def wait(self, done: Any, timeout_s: float = 20.0) -> None:
        async def loop() -> None:
            while not done():
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(loop(), timeout_s)


def _settings(**overrides: Any) -> dict[str, Any]:
    return {
        "jwt_signing_key": KEY,
        "grpc_host": "127.0.0.1",
        "grpc_port": 0,
        "metrics_enabled": False,
        "shutdown_grace_seconds": 0.5,
        **overrides,
    }


@dataclass
class _Vizier:
    bus: NatsBus
    metadata: FakeMetadataService
    broker: _Broker
    broker_address: str
    kelvin: Kelvin
    kelvin_address: str
    pems: list[Pem]
    registry: Registry


@pytest.fixture
async def vizier(nats_server: Any) -> AsyncIterator[_Vizier]:
    bus = await NatsBus.connect(nats_server.url, name="pem-kelvin-test")
    metadata = FakeMetadataService(bus)
    await metadata.start()

    broker = _Broker()
    broker_service = Service(
        ServiceSettings(**_settings()),
        [
            ServiceRegistration(
                RESULT_SINK_SERVICE,
                lambda server: result_sink_pb2_grpc.add_ResultSinkServiceServicer_to_server(
                    broker, server
                ),
            )
        ],
        name="broker-standin",
    )
    await broker_service.start()

    kelvin, kelvin_service = kelvin_service_for(
        kelvin_test_settings(KEY, shutdown_grace_seconds=0.5), bus
    )
    await kelvin_service.start()

    registry = new_registry()
    pems = []
    for index in range(2):
        store = TableStore()
        store.add_table(LAT)
        store.append("lat", _rows(index * 1_000, 1_000))
        pem = pem_on_store(
            bus,
            store,
            signing_key=SigningKey(KEY),
            host_ip=f"10.0.0.{index + 1}",
            registry=registry,
        )
        await pem.start()
        pems.append(pem)

    assert kelvin.agent is not None
    agents = [kelvin.agent, *(p.agent for p in pems)]
    await asyncio.wait_for(asyncio.gather(*(a.registered.wait() for a in agents)), 20)
    try:
        yield _Vizier(
            bus,
            metadata,
            broker,
            f"127.0.0.1:{broker_service.grpc_port}",
            kelvin,
            kelvin.config.address,
            pems,
            registry,
        )
    finally:
        for pem in pems:
            await pem.close()
        await kelvin_service.stop()
        await broker_service.stop()
        await metadata.stop()
        await bus.drain()


def _plans(
    v: _Vizier, query_id: str, *, pem_budget: int = 0
) -> tuple[plan_pb2.Plan, plan_pb2.Plan]:
    """Kelvin: GRPCSource -> FINALIZE agg -> GRPCSink(broker); PEM: source -> PARTIAL agg ->
    GRPCSink(Kelvin). The same PEM plan runs on every PEM."""
    kb = PlanBuilder(v.registry, query_id=query_id)
    received = kb.grpc_source(PARTIAL, expected_senders=len(v.pems))
    final = kb.agg(
        received,
        ["service"],
        {"n": ("count", [kb.col(received, "n")]), "total": ("sum", [kb.col(received, "total")])},
        stage=plan_pb2.AGG_STAGE_FINALIZE,
        arg_types={"n": [DataType.INT64], "total": [DataType.INT64]},
    )
    kb.grpc_sink(final, v.broker_address, table_name="latency_by_service")

    pb = PlanBuilder(v.registry, query_id=query_id)
    src = pb.memory_source("lat", LAT.relation, ["service", "latency"])
    partial = pb.agg(
        src,
        ["service"],
        {"n": ("count", [pb.col(src, "latency")]), "total": ("sum", [pb.col(src, "latency")])},
        stage=plan_pb2.AGG_STAGE_PARTIAL,
    )
    pb.grpc_sink(partial, v.kelvin_address, source_id=received.id)
    return kb.plan(), pb.plan(memory_budget_bytes=pem_budget)


async def _dispatch(
    v: _Vizier, query_id: str, kelvin_plan: plan_pb2.Plan, pem_plan: plan_pb2.Plan
) -> None:
    assert v.kelvin.agent is not None
    await v.metadata.execute(v.kelvin.agent.agent_id, query_id, kelvin_plan)
    for pem in v.pems:
        await v.metadata.execute(pem.agent.agent_id, query_id, pem_plan)


async def test_pem_fragments_aggregate_on_kelvin_and_results_and_stats_reach_the_broker(
    vizier: _Vizier,
) -> None:
    query_id = str(uuid.uuid4())
    await _dispatch(vizier, query_id, *_plans(vizier, query_id))
    broker = vizier.broker
    await broker.wait(lambda: "latency_by_service" in broker.eos and broker.stats)

    table = pa.Table.from_batches(broker.tables["latency_by_service"])
    got = {r["service"]: (r["n"], r["total"]) for r in table.to_pylist()}
    expected: dict[str, tuple[int, int]] = {}
    for i in range(2_000):
        n, total = expected.get(f"svc-{i % 3}", (0, 0))
        expected[f"svc-{i % 3}"] = (n + 1, total + i * 10)
    assert got == expected
    assert not broker.errors

    [final] = broker.stats
    assert vizier.kelvin.agent is not None
    assert final.sender == vizier.kelvin.agent.agent_id
    assert final.query_id == query_id
    by_agent = {s.agent_id: s for s in final.execution_and_timing_info.agent_stats}
    assert set(by_agent) == {vizier.kelvin.agent.agent_id, *(p.agent.agent_id for p in vizier.pems)}
    for pem in vizier.pems:
        assert by_agent[pem.agent.agent_id].records_processed == 1_000
    assert all(p.runner.completed == 1 for p in vizier.pems)


async def test_a_pem_over_its_memory_budget_fails_the_query_at_the_broker_with_the_cause(
    vizier: _Vizier,
) -> None:
    query_id = str(uuid.uuid4())
    kelvin_plan, pem_plan = _plans(vizier, query_id, pem_budget=64)
    await _dispatch(vizier, query_id, kelvin_plan, pem_plan)
    broker = vizier.broker
    await broker.wait(lambda: bool(broker.errors))

    error = broker.errors[0]
    assert error.query_id == query_id
    assert vizier.kelvin.agent is not None
    assert error.sender == vizier.kelvin.agent.agent_id
    assert "exceeded its memory budget of 64 bytes" in error.execution_error.message
    assert error.execution_error.code == 8  # RESOURCE_EXHAUSTED, from the PEM
    assert "latency_by_service" not in broker.eos
    assert not broker.stats


async def test_a_pem_plan_naming_a_missing_table_fails_the_query_with_that_name(
    vizier: _Vizier,
) -> None:
    query_id = str(uuid.uuid4())
    kelvin_plan, pem_plan = _plans(vizier, query_id)
    pem_plan.fragments[0].nodes[0].op.memory_source.table_name = "no_such_table"
    await _dispatch(vizier, query_id, kelvin_plan, pem_plan)
    broker = vizier.broker
    await broker.wait(lambda: bool(broker.errors))

    message = broker.errors[0].execution_error.message
    assert "no_such_table" in message
    assert broker.errors[0].execution_error.code == 3  # INVALID_ARGUMENT


async def test_a_pem_plan_that_cannot_be_built_fails_the_query_instead_of_hanging(
    vizier: _Vizier,
) -> None:
    query_id = str(uuid.uuid4())
    kelvin_plan, pem_plan = _plans(vizier, query_id)
    pem_plan.fragments[0].nodes[1].parents[:] = [999]
    await _dispatch(vizier, query_id, kelvin_plan, pem_plan)
    broker = vizier.broker
    await broker.wait(lambda: bool(broker.errors))

    message = broker.errors[0].execution_error.message
    assert "parent 999" in message
    assert all(p.runner.failed == 1 for p in vizier.pems)
