"""Dictionary-encoded STRING columns through the engine give the results plain strings give.

A function (here a ``upid -> service`` lookup, as the metadata functions) may return a STRING
column dictionary-encoded. Every query below runs twice, once with the lookup returning plain
strings and once returning dictionary arrays, over several stored batches whose dictionaries
differ; the results (rows and the schema users see) must be the same.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from pyxie_carnot import Carnot, batch_from_ipc, funcs, run_plan
from pyxie_carnot.context import FunctionContext
from pyxie_carnot.funcs._arrow import map_distinct
from pyxie_carnot.metadata import ContainerInfo, InMemoryMetadataState, PodInfo, ProcessInfo
from pyxie_carnot.plan_builder import Node, PlanBuilder
from pyxie_carnot.registry import Registry
from pyxie_carnot.udas import register_all as register_udas
from pyxie_proto.carnot.carnotpb import result_sink_pb2, result_sink_pb2_grpc
from pyxie_proto.carnot.planpb import plan_pb2
from pyxie_table_store import TableStore
from pyxie_types import Column, DataType, Relation, SemanticType, TableSchema, uint128_to_bytes

I, F, S, B, T, U = (  # noqa: E741
    DataType.INT64,
    DataType.FLOAT64,
    DataType.STRING,
    DataType.BOOLEAN,
    DataType.TIME64NS,
    DataType.UINT128,
)

EVENTS = TableSchema(
    "events",
    Relation(
        (
            Column("time_", T, SemanticType.ST_TIME_NS),
            Column("upid", U, SemanticType.ST_UPID),
            Column("status", I),
            Column("latency", I, SemanticType.ST_DURATION_NS),
        )
    ),
)

UPIDS = [uint128_to_bytes(((i + 1) << 96) | ((4000 + i) << 64) | 77) for i in range(8)]
# Two processes share a service (the mapped dictionary then repeats a value); the last two
# upids are unknown to the lookup: "" (as the metadata functions) or null (``NULLABLE``).
SERVICES = {
    UPIDS[0]: "ns/cart",
    UPIDS[1]: "ns/cart",
    UPIDS[2]: "ns/auth",
    UPIDS[3]: "ns/front",
    UPIDS[4]: "ns/pay",
    UPIDS[5]: "ns/search",
}
NULL_UPID = UPIDS[7]
BATCH_ROWS = 64


def _batches() -> list[pa.RecordBatch]:
    """Stored batches that each hold a different subset of upids in a different order, so
    the lookup's per-batch dictionaries differ (in values and in the order of values)."""
    rng = np.random.default_rng(7)
    batches = []
    time = 1
    for subset in ([0, 1, 2], [3, 2, 6], [5, 4, 0, 7], [1, 6, 3, 5], [2, 0, 4, 1, 7, 3]):
        n = 150
        which = rng.choice(subset, n)
        times = np.arange(time, time + n)
        time += n
        batches.append(
            pa.RecordBatch.from_arrays(
                [
                    pa.array(times, pa.int64()).cast(pa.timestamp("ns")),
                    pa.array([UPIDS[w] for w in which], pa.binary(16)),
                    pa.array(rng.choice([200, 200, 404, 500], n), pa.int64()),
                    pa.array(rng.integers(1, 1000, n), pa.int64()),
                ],
                schema=EVENTS.relation.arrow_schema(),
            )
        )
    return batches


@pytest.fixture(scope="module")
def store() -> TableStore:
    table_store = TableStore()
    table_store.add_table(EVENTS)
    for batch in _batches():
        table_store.append("events", batch)
    return table_store


def _registry(dictionary: bool, nulls: bool, seen: list[pa.DataType]) -> Registry:
    registry = Registry()
    register_udas(registry)

    def service_of(upid: bytes | None) -> str | None:
        if nulls and upid == NULL_UPID:
            return None
        return SERVICES.get(upid or b"", "")

    def to_service(_ctx: Any, upid: Any) -> Any:
        result = map_distinct(service_of, upid, pa.string(), dictionary=dictionary)
        seen.append(result)
        return result

    def plain_only(fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(_ctx: Any, *args: Any) -> Any:
            for arg in args:
                assert not pa.types.is_dictionary(arg.type), "a function got a dictionary"
            return fn(*args)

        return call

    registry.register_scalar(
        "to_service", (U,), S, to_service, "upid -> service. Example: to_service(df.upid)"
    )
    registry.register_scalar("equal", (S, S), B, plain_only(pc.equal), "a == b. Example: a == 'x'")
    registry.register_scalar(
        "greaterThanEqual", (I, I), B, plain_only(pc.greater_equal), "a >= b. Example: a >= 1"
    )
    registry.register_scalar(
        "upper", (S,), S, plain_only(pc.utf8_upper), "Upper-case. Example: upper('a')"
    )
    return registry


def _with_service(b: PlanBuilder, columns: list[str]) -> Node:
    src = b.memory_source("events", EVENTS.relation, ["upid", *columns])
    exprs = {"service": b.call("to_service", b.col(src, "upid"), return_type=S)}
    exprs.update({c: b.col(src, c) for c in columns})
    return b.map(src, exprs)


PlanFn = Callable[[PlanBuilder], None]


def _both(
    store: TableStore, build: PlanFn, nulls: bool = False
) -> tuple[pa.Table, pa.Table, list[pa.DataType]]:
    """The plan's result with plain and with dictionary lookups; the dictionary run's lookup
    results."""
    tables = []
    seen: list[pa.DataType] = []
    for dictionary in (False, True):
        seen.clear()
        registry = _registry(dictionary, nulls, seen)
        b = PlanBuilder(registry)
        build(b)
        tables.append(run_plan(b.plan(), registry, store, batch_rows=BATCH_ROWS).tables["out"])
    return tables[0], tables[1], seen


def _sorted(table: pa.Table) -> list[dict[str, Any]]:
    columns = [c.cast(pa.int64()) if pa.types.is_timestamp(c.type) else c for c in table.columns]
    rows: list[dict[str, Any]] = pa.Table.from_arrays(columns, names=table.column_names).to_pylist()
    return sorted(rows, key=lambda r: [(v is None, str(v)) for v in r.values()])


def _assert_same(plain: pa.Table, encoded: pa.Table) -> None:
    assert encoded.schema == plain.schema
    assert all(not pa.types.is_dictionary(t) for t in encoded.schema.types)
    assert _sorted(encoded) == _sorted(plain)


def _assert_dictionaries_differ(seen: list[Any]) -> None:
    """The lookup returned several dictionary arrays, not all with the same dictionary."""
    assert len(seen) > 2
    assert all(isinstance(s, pa.DictionaryArray) for s in seen)
    assert len({tuple(s.dictionary.to_pylist()) for s in seen}) > 1


def test_group_by_a_looked_up_service(store: TableStore) -> None:
    def build(b: PlanBuilder) -> None:
        rows = _with_service(b, ["latency"])
        agg = b.agg(
            rows,
            ["service"],
            {
                "n": ("count", [b.col(rows, "latency")]),
                "mean": ("mean", [b.col(rows, "latency")]),
                "top": ("max", [b.col(rows, "latency")]),
            },
        )
        b.memory_sink(agg, "out")

    plain, encoded, seen = _both(store, build)
    _assert_dictionaries_differ(seen)
    _assert_same(plain, encoded)
    assert encoded.column("service").type == pa.string()
    assert set(encoded.column("service").to_pylist()) == {
        "ns/cart",
        "ns/auth",
        "ns/front",
        "ns/pay",
        "ns/search",
        "",
    }
    assert sum(encoded.column("n").to_pylist()) == 750


def test_group_by_the_service_and_a_plain_key(store: TableStore) -> None:
    def build(b: PlanBuilder) -> None:
        rows = _with_service(b, ["status", "latency"])
        agg = b.agg(
            rows,
            ["status", "service"],
            {"n": ("count", [b.col(rows, "latency")]), "s": ("sum", [b.col(rows, "latency")])},
        )
        b.memory_sink(agg, "out")

    plain, encoded, _ = _both(store, build)
    _assert_same(plain, encoded)
    assert encoded.num_rows > 6


def test_quantiles_grouped_by_the_service(store: TableStore) -> None:
    """An aggregate Arrow cannot do (numpy over dense group ids) on the same codes."""

    def build(b: PlanBuilder) -> None:
        rows = _with_service(b, ["latency"])
        agg = b.agg(rows, ["service"], {"q": ("quantiles", [b.col(rows, "latency")])})
        b.memory_sink(agg, "out")

    plain, encoded, _ = _both(store, build)
    _assert_same(plain, encoded)


def test_join_of_two_aggregates_on_the_service(store: TableStore) -> None:
    def build(b: PlanBuilder) -> None:
        rows = _with_service(b, ["status", "latency"])
        errors = b.filter(
            rows,
            b.call(
                "greaterThanEqual",
                b.col(rows, "status"),
                b.const(400, I),
                return_type=B,
            ),
        )
        counts = b.agg(errors, ["service"], {"errors": ("count", [b.col(errors, "latency")])})
        means = b.agg(rows, ["service"], {"mean": ("mean", [b.col(rows, "latency")])})
        joined = b.join(means, counts, "inner", ["service"], ["service"], ("", "_e"))
        b.memory_sink(joined, "out")

    plain, encoded, _ = _both(store, build)
    _assert_same(plain, encoded)
    assert encoded.num_rows == 6


def test_join_of_rows_on_the_service(store: TableStore) -> None:
    """A join fed dictionary columns straight from a map decodes them first."""

    def build(b: PlanBuilder) -> None:
        rows = _with_service(b, ["latency"])
        per_service = b.agg(rows, ["service"], {"n": ("count", [b.col(rows, "latency")])})
        joined = b.join(rows, per_service, "left", ["service"], ["service"], ("", "_r"))
        b.memory_sink(joined, "out")

    plain, encoded, _ = _both(store, build)
    _assert_same(plain, encoded)
    assert encoded.num_rows == 750


def test_filter_on_the_service_equal_to_a_constant(store: TableStore) -> None:
    def build(b: PlanBuilder) -> None:
        rows = _with_service(b, ["time_", "latency"])
        cart = b.filter(
            rows,
            b.call("equal", b.col(rows, "service"), b.const("ns/cart", S), return_type=B),
        )
        b.memory_sink(cart, "out")

    plain, encoded, _ = _both(store, build)
    _assert_same(plain, encoded)
    assert set(encoded.column("service").to_pylist()) == {"ns/cart"}
    assert encoded.num_rows > 100


def test_map_passes_the_column_through_and_functions_get_plain_strings(
    store: TableStore,
) -> None:
    def build(b: PlanBuilder) -> None:
        rows = _with_service(b, ["latency"])
        shouted = b.map(
            rows,
            {
                "service": b.col(rows, "service"),
                "loud": b.call("upper", b.col(rows, "service"), return_type=S),
                "latency": b.col(rows, "latency"),
            },
        )
        limited = b.limit(shouted, 500)
        b.memory_sink(limited, "out")

    plain, encoded, _ = _both(store, build)
    assert encoded.schema == plain.schema
    assert encoded.equals(plain)
    assert encoded.num_rows == 500


def test_unknown_upids_give_null_services_grouped_as_with_plain_strings(
    store: TableStore,
) -> None:
    def build(b: PlanBuilder) -> None:
        rows = _with_service(b, ["latency"])
        agg = b.agg(rows, ["service"], {"n": ("count", [b.col(rows, "latency")])})
        b.memory_sink(agg, "out")

    plain, encoded, seen = _both(store, build, nulls=True)
    _assert_dictionaries_differ(seen)
    _assert_same(plain, encoded)
    services = encoded.column("service").to_pylist()
    assert None in services
    assert "" in services  # UPIDS[6] is unknown too, but maps to "" not null
    assert services.count(None) == 1


def test_partial_aggregate_ships_plain_string_keys(store: TableStore) -> None:
    def build(b: PlanBuilder) -> None:
        rows = _with_service(b, ["latency"])
        agg = b.agg(
            rows,
            ["service"],
            {"n": ("count", [b.col(rows, "latency")])},
            stage=plan_pb2.AGG_STAGE_PARTIAL,
        )
        b.memory_sink(agg, "out")

    plain, encoded, _ = _both(store, build)
    _assert_same(plain, encoded)


def test_a_key_that_comes_encoded_then_plain_is_grouped_as_one(store: TableStore) -> None:
    """The aggregate decides per key from the first rows; later batches of the other kind
    land in the same groups."""
    for first_encoded in (True, False):
        calls = [0]
        registry = Registry()
        register_udas(registry)

        def to_service(
            _ctx: Any, upid: Any, first_encoded: bool = first_encoded, calls: list[int] = calls
        ) -> Any:
            calls[0] += 1
            encoded = (calls[0] % 2 == 1) == first_encoded
            return map_distinct(
                lambda u: SERVICES.get(u, ""), upid, pa.string(), dictionary=encoded
            )

        registry.register_scalar(
            "to_service", (U,), S, to_service, "upid -> service. Example: to_service(df.upid)"
        )
        b = PlanBuilder(registry)
        rows = _with_service(b, ["latency"])
        agg = b.agg(rows, ["service"], {"n": ("count", [b.col(rows, "latency")])})
        b.memory_sink(agg, "out")
        out = run_plan(b.plan(), registry, store, batch_rows=BATCH_ROWS).tables["out"]
        assert calls[0] > 2
        counts = dict(
            zip(out.column("service").to_pylist(), out.column("n").to_pylist(), strict=True)
        )
        assert len(counts) == out.num_rows == 6
        assert sum(counts.values()) == 750


def test_map_distinct_dictionary_result_decodes_to_the_plain_result() -> None:
    upids = pa.array([UPIDS[i] for i in (0, 1, 2, 0, 7, 1)] + [None], pa.binary(16))
    plain = map_distinct(lambda u: SERVICES.get(u, ""), upids, pa.string())
    encoded = map_distinct(lambda u: SERVICES.get(u, ""), upids, pa.string(), dictionary=True)
    assert isinstance(encoded, pa.DictionaryArray)
    assert encoded.cast(pa.string()).equals(plain)
    # Other result types, and scalars, are never encoded.
    ints = map_distinct(lambda u: len(u or b""), upids, pa.int64(), dictionary=True)
    assert ints.type == pa.int64()
    scalar = map_distinct(
        lambda u: "x", pa.scalar(UPIDS[0], pa.binary(16)), pa.string(), dictionary=True
    )
    assert scalar == pa.scalar("x")


def test_metadata_lookup_grouped_through_the_engine(store: TableStore) -> None:
    """The real ``upid_to_pod_name`` returns a dictionary column; grouping on it through the
    engine gives plain strings and the counts per pod."""
    md = InMemoryMetadataState(host="node-a", agent_asid=1)
    pods = {0: "web", 1: "web", 2: "auth", 3: "front"}  # UPIDS 4.. belong to no pod
    for index, pod in pods.items():
        md.add_pod(PodInfo(f"pod-{pod}", pod, "shop", container_ids=(f"c-{pod}",)))
        md.add_container(ContainerInfo(f"c-{pod}", pod, pod_id=f"pod-{pod}"))
        md.add_process(ProcessInfo(int.from_bytes(UPIDS[index], "big"), container_id=f"c-{pod}"))
    registry = Registry()
    register_udas(registry)
    funcs.register_all(registry)
    ctx = FunctionContext(registry, md)
    lookup = registry.lookup_scalar("upid_to_pod_name", [U]).fn
    assert isinstance(lookup(ctx, pa.array(UPIDS, pa.binary(16))), pa.DictionaryArray)

    b = PlanBuilder(registry)
    src = b.memory_source("events", EVENTS.relation, ["upid", "latency"])
    rows = b.map(
        src,
        {
            "pod": b.call("upid_to_pod_name", b.col(src, "upid"), return_type=S),
            "latency": b.col(src, "latency"),
        },
    )
    agg = b.agg(rows, ["pod"], {"n": ("count", [b.col(rows, "latency")])})
    b.memory_sink(agg, "out")
    out = run_plan(b.plan(), registry, store, batch_rows=BATCH_ROWS, func_ctx=ctx).tables["out"]
    assert out.schema.field("pod").type == pa.string()
    got = dict(zip(out.column("pod").to_pylist(), out.column("n").to_pylist(), strict=True))
    upids = pa.concat_arrays([batch.column(1) for batch in _batches()]).to_pylist()
    expected: dict[str, int] = {}
    for upid in upids:
        index = UPIDS.index(upid)
        name = f"shop/{pods[index]}" if index in pods else ""
        expected[name] = expected.get(name, 0) + 1
    assert got == expected


@pytest.mark.parametrize("time_ordered", [False, True])
def test_union_of_looked_up_rows_gets_plain_strings(store: TableStore, time_ordered: bool) -> None:
    """A union (which takes no dictionary columns) of two maps with their own dictionaries."""

    def build(b: PlanBuilder) -> None:
        first = _with_service(b, ["time_", "latency"])
        second = _with_service(b, ["time_", "latency"])
        merged = b.union([first, second], time_ordered=time_ordered)
        agg = b.agg(merged, ["service"], {"n": ("count", [b.col(merged, "latency")])})
        b.memory_sink(merged, "out")
        b.memory_sink(agg, "counts")

    plain, encoded, _ = _both(store, build)
    _assert_same(plain, encoded)
    assert encoded.num_rows == 1500


class _Receiver(result_sink_pb2_grpc.ResultSinkServiceServicer):
    """Stands in for the query broker: records the batches of a named result table."""

    def __init__(self) -> None:
        self.received: list[pa.RecordBatch] = []

    async def TransferResultChunk(
        self,
        request_iterator: AsyncIterator[result_sink_pb2.TransferResultChunkRequest],
        context: grpc.aio.ServicerContext,  # type: ignore[type-arg]
    ) -> result_sink_pb2.TransferResultChunkResponse:
        async for request in request_iterator:
            if request.WhichOneof("result") == "query_result":
                self.received.append(batch_from_ipc(request.query_result.arrow_ipc))
        return result_sink_pb2.TransferResultChunkResponse(success=True)


async def test_a_grpc_sink_sends_plain_strings(store: TableStore) -> None:
    seen: list[pa.DataType] = []
    registry = _registry(True, False, seen)
    receiver = _Receiver()
    server = grpc.aio.server()
    result_sink_pb2_grpc.add_ResultSinkServiceServicer_to_server(receiver, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        b = PlanBuilder(registry, query_id="to-broker")
        rows = _with_service(b, ["latency"])
        b.grpc_sink(rows, f"127.0.0.1:{port}", table_name="output")
        await Carnot(registry, store, batch_rows=BATCH_ROWS).execute(b.plan())
    finally:
        await server.stop(None)
    _assert_dictionaries_differ(seen)
    sent = pa.Table.from_batches(receiver.received)
    assert sent.schema.field("service").type == pa.string()
    upids = pa.concat_arrays([batch.column(1) for batch in _batches()]).to_pylist()
    assert sorted(sent.column("service").to_pylist()) == sorted(SERVICES.get(u, "") for u in upids)
