"""Batches between agents over a real grpc.aio ResultSinkService: PEMs -> Kelvin -> broker."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import grpc
import numpy as np
import pyarrow as pa
import pytest
from pyxie_carnot import (
    MAX_MESSAGE_BYTES,
    Carnot,
    ResultSinkServer,
    TransferError,
    UpstreamSilent,
    batch_from_ipc,
    status_code_of,
)
from pyxie_carnot.plan_builder import PlanBuilder
from pyxie_carnot.registry import Registry
from pyxie_carnot.udas import register_all as register_udas
from pyxie_proto.carnot.carnotpb import result_sink_pb2, result_sink_pb2_grpc
from pyxie_proto.carnot.planpb import plan_pb2
from pyxie_table_store import TableStore
from pyxie_types import Column, DataType, Relation, SemanticType, TableSchema

LAT = TableSchema(
    "lat",
    Relation(
        (
            Column("time_", DataType.TIME64NS, SemanticType.ST_TIME_NS),
            Column("service", DataType.STRING),
            Column("latency", DataType.INT64, SemanticType.ST_DURATION_NS),
            Column("body", DataType.STRING),
        )
    ),
)


def _registry() -> Registry:
    registry = Registry()
    register_udas(registry)
    return registry


def _batch(start: int, n: int, body_size: int = 4) -> pa.RecordBatch:
    rng = np.random.default_rng(start)
    return pa.RecordBatch.from_arrays(
        [
            pa.array(np.arange(start, start + n), pa.int64()).cast(pa.timestamp("ns")),
            pa.array([f"svc-{i % 3}" for i in range(n)]),
            pa.array(rng.integers(1, 1_000_000, n)),
            pa.array(["ä" * body_size] * n),
        ],
        schema=LAT.relation.arrow_schema(),
    )


class _Server:
    def __init__(self, router: result_sink_pb2_grpc.ResultSinkServiceServicer) -> None:
        self.router = router
        self.server = grpc.aio.server()
        result_sink_pb2_grpc.add_ResultSinkServiceServicer_to_server(router, self.server)
        port = self.server.add_insecure_port("127.0.0.1:0")
        self.address = f"127.0.0.1:{port}"

    async def __aenter__(self) -> _Server:
        await self.server.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.server.stop(None)


def _pem_plan(registry: Registry, kelvin_source_id: int, address: str) -> plan_pb2.Plan:
    b = PlanBuilder(registry, query_id="dist")
    src = b.memory_source("lat", LAT.relation, ["service", "latency"])
    partial = b.agg(
        src,
        ["service"],
        {
            "n": ("count", [b.col(src, "latency")]),
            "total": ("sum", [b.col(src, "latency")]),
            "q": ("quantiles", [b.col(src, "latency")]),
        },
        stage=plan_pb2.AGG_STAGE_PARTIAL,
    )
    b.grpc_sink(partial, address, source_id=kelvin_source_id)
    return b.plan()


async def test_three_pems_partial_aggregates_finalize_on_kelvin_like_a_full_aggregate() -> None:
    registry = _registry()
    router = ResultSinkServer()
    stores = []
    full_store = TableStore()
    full_store.add_table(LAT)
    for pem in range(3):
        store = TableStore()
        store.add_table(LAT)
        batch = _batch(pem * 10_000, 10_000)
        store.append("lat", batch)
        full_store.append("lat", batch)
        stores.append(store)

    kb = PlanBuilder(registry, query_id="dist")
    partial_relation = Relation.of(
        ("service", DataType.STRING),
        ("n", DataType.STRING),
        ("total", DataType.STRING),
        ("q", DataType.STRING),
    )
    source = kb.grpc_source(partial_relation, expected_senders=3)
    final = kb.agg(
        source,
        ["service"],
        {
            "n": ("count", [kb.col(source, "n")]),
            "total": ("sum", [kb.col(source, "total")]),
            "q": ("quantiles", [kb.col(source, "q")]),
        },
        stage=plan_pb2.AGG_STAGE_FINALIZE,
        arg_types={"n": [DataType.INT64], "total": [DataType.INT64], "q": [DataType.INT64]},
    )
    kb.memory_sink(final, "out")

    async with _Server(router) as server:
        kelvin = Carnot(registry, router=router, agent_id="kelvin")
        pems = [Carnot(registry, s, agent_id=f"pem-{i}") for i, s in enumerate(stores)]
        results = await asyncio.gather(
            kelvin.execute(kb.plan()),
            *(p.execute(_pem_plan(registry, source.id, server.address)) for p in pems),
        )
    distributed = {r["service"]: r for r in results[0].tables["out"].to_pylist()}
    assert router.pending_queries() == set()

    fb = PlanBuilder(registry)
    src = fb.memory_source("lat", LAT.relation, ["service", "latency"])
    full = fb.agg(
        src,
        ["service"],
        {
            "n": ("count", [fb.col(src, "latency")]),
            "total": ("sum", [fb.col(src, "latency")]),
            "q": ("quantiles", [fb.col(src, "latency")]),
        },
    )
    fb.memory_sink(full, "out")
    single = await Carnot(registry, full_store).execute(fb.plan())
    expected = {r["service"]: r for r in single.tables["out"].to_pylist()}

    assert distributed.keys() == expected.keys() == {"svc-0", "svc-1", "svc-2"}
    assert sum(r["n"] for r in distributed.values()) == 30_000
    for service, row in expected.items():
        assert distributed[service]["n"] == row["n"]
        assert distributed[service]["total"] == row["total"]
        merged, direct = json.loads(distributed[service]["q"]), json.loads(row["q"])
        for key, value in direct.items():
            # Both are estimates from a t-digest of uniform values on [1, 1e6).
            assert abs(merged[key] - value) < 5_000, key


async def test_big_batches_are_split_into_messages_under_one_mebibyte() -> None:
    registry = _registry()
    sizes: list[int] = []

    class Recording(ResultSinkServer):
        async def TransferResultChunk(
            self,
            request_iterator: AsyncIterator[result_sink_pb2.TransferResultChunkRequest],
            context: Any,
        ) -> result_sink_pb2.TransferResultChunkResponse:
            async def recorded() -> AsyncIterator[result_sink_pb2.TransferResultChunkRequest]:
                async for request in request_iterator:
                    sizes.append(request.ByteSize())
                    yield request

            return await super().TransferResultChunk(recorded(), context)

    router = Recording()
    store = TableStore()
    store.add_table(LAT)
    store.append("lat", _batch(0, 5_000, body_size=1_000))  # ~10 MB of strings

    kb = PlanBuilder(registry, query_id="big")
    source = kb.grpc_source(LAT.relation, expected_senders=1)
    kb.memory_sink(source, "out")
    pb = PlanBuilder(registry, query_id="big")
    src = pb.memory_source("lat", LAT.relation)

    async with _Server(router) as server:
        pb.grpc_sink(src, server.address, source_id=source.id)
        kelvin, pem = Carnot(registry, router=router), Carnot(registry, store, batch_rows=5_000)
        result, _ = await asyncio.gather(kelvin.execute(kb.plan()), pem.execute(pb.plan()))
    out = result.tables["out"]
    assert out.num_rows == 5_000
    assert out.column("body")[0].as_py() == "ä" * 1_000
    assert len(sizes) > 10
    assert max(sizes) <= MAX_MESSAGE_BYTES


class _TableReceiver(result_sink_pb2_grpc.ResultSinkServiceServicer):
    """Stands in for the query broker (another service): records named result tables."""

    def __init__(self) -> None:
        self.received: list[pa.RecordBatch] = []
        self.flags: list[bool] = []

    async def TransferResultChunk(
        self,
        request_iterator: AsyncIterator[result_sink_pb2.TransferResultChunkRequest],
        context: grpc.aio.ServicerContext,  # type: ignore[type-arg]
    ) -> result_sink_pb2.TransferResultChunkResponse:
        async for request in request_iterator:
            if request.WhichOneof("result") == "query_result":
                assert request.query_result.table_name == "output"
                self.received.append(batch_from_ipc(request.query_result.arrow_ipc))
                self.flags.append(request.query_result.eos)
        return result_sink_pb2.TransferResultChunkResponse(success=True)


async def test_results_for_a_table_name_go_to_the_broker_and_kelvin_refuses_them() -> None:
    registry = _registry()
    broker = _TableReceiver()
    store = TableStore()
    store.add_table(LAT)
    store.append("lat", _batch(0, 100))
    async with _Server(broker) as server:
        b = PlanBuilder(registry, query_id="to-broker")
        b.grpc_sink(b.memory_source("lat", LAT.relation), server.address, table_name="output")
        await Carnot(registry, store).execute(b.plan())
    received, flags = broker.received, broker.flags
    assert sum(r.num_rows for r in received) == 100
    assert flags[-1] is True and not any(flags[:-1])
    assert received[0].schema.field("latency").metadata[b"pyxie.semantic_type"] == b"901"

    # Kelvin's router takes only GRPC-source data.
    async with _Server(ResultSinkServer()) as kelvin:
        b = PlanBuilder(registry, query_id="to-kelvin")
        b.grpc_sink(b.memory_source("lat", LAT.relation), kelvin.address, table_name="output")
        with pytest.raises(TransferError, match="query broker"):
            await Carnot(registry, store).execute(b.plan())


async def test_sending_to_an_unreachable_agent_fails_with_transfer_error() -> None:
    registry = _registry()
    store = TableStore()
    store.add_table(LAT)
    store.append("lat", _batch(0, 10))
    b = PlanBuilder(registry, query_id="lost")
    b.grpc_sink(b.memory_source("lat", LAT.relation), "127.0.0.1:1", source_id=7)
    with pytest.raises(TransferError, match=r"127\.0\.0\.1:1"):
        await Carnot(registry, store).execute(b.plan())


async def test_a_stream_without_initiate_conn_is_refused() -> None:
    router = ResultSinkServer()
    async with _Server(router) as server, grpc.aio.insecure_channel(server.address) as channel:
        stub = result_sink_pb2_grpc.ResultSinkServiceStub(channel)

        async def requests() -> AsyncIterator[result_sink_pb2.TransferResultChunkRequest]:
            yield result_sink_pb2.TransferResultChunkRequest(
                query_id="q", query_result=result_sink_pb2.QueryResult(grpc_source_id=1)
            )

        response = await stub.TransferResultChunk(requests())
    assert not response.success
    assert "initiate_conn" in response.message


async def test_a_sender_that_never_reports_fails_the_query_with_a_clear_error() -> None:
    """One of two PEMs dies before sending anything: the receiving Kelvin must not wait
    forever (the broker would only cancel after minutes) but fail, saying why."""
    registry = _registry()
    router = ResultSinkServer()
    store = TableStore()
    store.add_table(LAT)
    store.append("lat", _batch(0, 100))

    kb = PlanBuilder(registry, query_id="silent")
    source = kb.grpc_source(LAT.relation, expected_senders=2)
    kb.memory_sink(source, "out")
    pb = PlanBuilder(registry, query_id="silent")
    src = pb.memory_source("lat", LAT.relation)

    async with _Server(router) as server:
        pb.grpc_sink(src, server.address, source_id=source.id)
        kelvin = Carnot(registry, router=router, source_silence_s=1.0)
        pem = Carnot(registry, store)
        outcome, _ = await asyncio.gather(
            kelvin.execute(kb.plan()), pem.execute(pb.plan()), return_exceptions=True
        )
    assert isinstance(outcome, UpstreamSilent), outcome
    assert "1 of 2 agents feeding this query sent nothing for 1 s" in str(outcome)
    assert status_code_of(outcome) == grpc.StatusCode.UNAVAILABLE.value[0]


async def test_a_streaming_query_waits_for_silent_senders_until_cancelled() -> None:
    """df.stream(): a PEM with no new rows is silent for a long time, and that is no fault. The
    Kelvin's source must keep waiting past the silence limit; only the cancel ends the query."""
    registry = _registry()
    router = ResultSinkServer()

    kb = PlanBuilder(registry, query_id="stream")
    source = kb.grpc_source(LAT.relation, expected_senders=1)
    kb.memory_sink(source, "out")
    plan = kb.plan()
    plan.options.streaming = True

    async with _Server(router):
        kelvin = Carnot(registry, router=router, source_silence_s=0.2)
        task = asyncio.ensure_future(kelvin.execute(plan))
        done, _ = await asyncio.wait([task], timeout=1.0)  # five silence limits
        assert not done, task.exception() if done else None
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
