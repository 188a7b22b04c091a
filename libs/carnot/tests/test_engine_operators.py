"""Engine operators end to end: plans built by hand, run on a real table store."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from pyxie_carnot import (
    Carnot,
    PlanError,
    QueryCancelled,
    QueryMemoryExceeded,
    QueryTimeout,
    run_plan,
)
from pyxie_carnot.plan_builder import Node, PlanBuilder
from pyxie_carnot.registry import Registry, UDTFArg, UDTFDef
from pyxie_carnot.udas import register_all as register_udas
from pyxie_proto.carnot.planpb import plan_pb2
from pyxie_table_store import TableStore
from pyxie_types import Column, DataType, Relation, SemanticType, TableSchema

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
            Column("service", S),
            Column("status", I),
            Column("latency", I, SemanticType.ST_DURATION_NS),
            Column("ok", B),
        )
    ),
)


def _registry() -> Registry:
    """UDAs plus a few tiny scalar functions of our own (the builtins live elsewhere)."""
    registry = Registry()
    register_udas(registry)

    def gt(_ctx: Any, a: Any, b: Any) -> Any:
        return pc.greater(a, b)

    def eq(_ctx: Any, a: Any, b: Any) -> Any:
        return pc.equal(a, b)

    def add(_ctx: Any, a: Any, b: Any) -> Any:
        return pc.add(a, b)

    def upper(_ctx: Any, a: Any) -> Any:
        return pc.utf8_upper(a)

    registry.register_scalar("greaterThan", (I, I), B, gt, "a > b. Example: a > 1")
    registry.register_scalar("equal", (I, I), B, eq, "a == b. Example: a == 1")
    registry.register_scalar("equal", (S, S), B, eq, "a == b. Example: a == 'x'")
    registry.register_scalar("add", (I, I), I, add, "a + b. Example: a + 1")
    registry.register_scalar("upper", (S,), S, upper, "Upper-case. Example: upper('a')")
    return registry


def _events(rows: list[tuple[int, str, int, int, bool]]) -> pa.RecordBatch:
    columns = list(zip(*rows, strict=True)) if rows else [[]] * 5
    return pa.RecordBatch.from_arrays(
        [
            pa.array(columns[0], pa.int64()).cast(pa.timestamp("ns")),
            pa.array(columns[1], pa.string()),
            pa.array(columns[2], pa.int64()),
            pa.array(columns[3], pa.int64()),
            pa.array(columns[4], pa.bool_()),
        ],
        schema=EVENTS.relation.arrow_schema(),
    )


SAMPLE = [
    (100, "cart", 200, 10, True),
    (200, "cart", 500, 30, False),
    (300, "auth", 200, 5, True),
    (400, "auth", 404, 7, False),
    (500, "front", 200, 50, True),
]


@pytest.fixture
def store() -> TableStore:
    table_store = TableStore()
    table_store.add_table(EVENTS)
    table_store.append("events", _events(SAMPLE))
    return table_store


@pytest.fixture
def registry() -> Registry:
    return _registry()


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    """Rows as dicts, with TIME64NS as plain int nanoseconds."""
    columns = [c.cast(pa.int64()) if pa.types.is_timestamp(c.type) else c for c in table.columns]
    rows: list[dict[str, Any]] = pa.Table.from_arrays(columns, names=table.column_names).to_pylist()
    return rows


def _run(plan: plan_pb2.Plan, registry: Registry, store: Any = None, **kw: Any) -> Any:
    return run_plan(plan, registry, store, **kw)


def _source(b: PlanBuilder, columns: list[str] | None = None, **kw: Any) -> Node:
    return b.memory_source("events", EVENTS.relation, columns, **kw)


# ------------------------------------------------------------------ sources


def test_memory_source_reads_selected_columns_within_inclusive_time_bounds(
    store: TableStore, registry: Registry
) -> None:
    b = PlanBuilder(registry)
    src = _source(b, ["service", "time_"], start_ns=200, stop_ns=400)
    b.memory_sink(src, "out")
    out = _run(b.plan(), registry, store).tables["out"]
    assert out.column_names == ["service", "time_"]
    assert out.column("service").to_pylist() == ["cart", "auth", "auth"]


def test_memory_source_in_small_batches_still_returns_every_row(
    store: TableStore, registry: Registry
) -> None:
    b = PlanBuilder(registry)
    b.memory_sink(_source(b), "out")
    out = _run(b.plan(), registry, store, batch_rows=2).tables["out"]
    assert out.num_rows == len(SAMPLE)
    assert out.schema.field("latency").metadata[b"pyxie.semantic_type"] == b"901"


def _store_of_small_batches(batches: int, rows: int) -> TableStore:
    table_store = TableStore()
    table_store.add_table(EVENTS)
    for start in range(0, batches * rows, rows):
        table_store.append(
            "events", _events([(start + i, f"s{start + i}", 200, 1, True) for i in range(rows)])
        )
    return table_store


def test_memory_source_joins_small_stored_batches_in_order(registry: Registry) -> None:
    table_store = _store_of_small_batches(10, 10)
    b = PlanBuilder(registry)
    b.memory_sink(_source(b, ["time_", "service"]), "out")
    out = _run(b.plan(), registry, table_store, batch_rows=25).tables["out"]
    # Ten stored batches of 10 rows arrive as batches of up to 25 rows, in time order.
    assert [len(c) for c in out.column("service").chunks] == [25, 25, 25, 25]
    assert _rows(out)[::30] == [
        {"time_": 0, "service": "s0"},
        {"time_": 30, "service": "s30"},
        {"time_": 60, "service": "s60"},
        {"time_": 90, "service": "s90"},
    ]
    assert out.schema.field("time_").metadata[b"pyxie.semantic_type"] == b"2"


def test_memory_source_joins_stored_batches_only_up_to_its_byte_cap(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pyxie_carnot._exec import _sources

    table_store = _store_of_small_batches(10, 10)
    one = table_store.table("events").cursor(None, None, None).next_batch()
    assert one is not None
    monkeypatch.setattr(_sources, "_JOIN_MAX_BYTES", one.nbytes * 2)
    b = PlanBuilder(registry)
    b.memory_sink(_source(b), "out")
    out = _run(b.plan(), registry, table_store, batch_rows=1000).tables["out"]
    assert out.num_rows == 100
    # Joining stops once the joined stored batches reach the cap (two of them here).
    assert max(len(c) for c in out.column("service").chunks) == 20


def test_memory_source_of_unknown_table_is_a_plan_error(registry: Registry) -> None:
    b = PlanBuilder(registry)
    src = b.memory_source("nope", EVENTS.relation)
    b.memory_sink(src, "out")
    with pytest.raises(PlanError, match="nope"):
        _run(b.plan(), registry, TableStore())


def test_empty_source_gives_an_empty_table_with_the_relation(registry: Registry) -> None:
    b = PlanBuilder(registry)
    b.memory_sink(b.empty_source(EVENTS.relation), "out")
    out = _run(b.plan(), registry).tables["out"]
    assert out.num_rows == 0
    assert out.column_names == list(EVENTS.relation.names)


def test_udtf_source_calls_the_registered_function_with_plan_arguments(
    registry: Registry,
) -> None:
    relation = Relation.of(("name", S), ("n", I))

    def numbers(ctx: Any, prefix: str, count: int) -> pa.Table:
        assert ctx.registry is registry
        return pa.table(
            {"name": [f"{prefix}{i}" for i in range(count)], "n": list(range(count))},
            schema=relation.arrow_schema(),
        )

    registry.register_udtf(
        UDTFDef(
            "Numbers",
            (UDTFArg("prefix", S), UDTFArg("count", I, default=2)),
            relation,
            numbers,
            "Numbered names. Example: px.Numbers(prefix='a')",
        )
    )
    b = PlanBuilder(registry)
    b.memory_sink(b.udtf_source("Numbers", relation, {"prefix": ("é", S)}), "out")
    out = _run(b.plan(), registry).tables["out"]
    assert out.to_pydict() == {"name": ["é0", "é1"], "n": [0, 1]}


# ------------------------------------------------------------------ map / filter / limit


def test_map_evaluates_functions_constants_and_broadcasts_scalars(
    store: TableStore, registry: Registry
) -> None:
    b = PlanBuilder(registry)
    src = _source(b)
    m = b.map(
        src,
        {
            "svc": b.call("upper", b.col(src, "service"), return_type=S),
            "lat2": b.call("add", b.col(src, "latency"), b.const(1, I), return_type=I),
            "three": b.call("add", b.const(1, I), b.const(2, I), return_type=I),
            "label": b.const("x", S),
        },
    )
    b.memory_sink(m, "out")
    out = _run(b.plan(), registry, store).tables["out"].to_pydict()
    assert out["svc"] == ["CART", "CART", "AUTH", "AUTH", "FRONT"]
    assert out["lat2"] == [11, 31, 6, 8, 51]
    assert out["three"] == [3] * 5
    assert out["label"] == ["x"] * 5


def test_map_with_an_unknown_overload_names_the_signature(
    store: TableStore, registry: Registry
) -> None:
    b = PlanBuilder(registry)
    src = _source(b)
    m = b.map(src, {"x": b.call("add", b.col(src, "service"), b.const(1, I), return_type=I)})
    b.memory_sink(m, "out")
    with pytest.raises(PlanError, match=r"add\(STRING, INT64\)"):
        _run(b.plan(), registry, store)


def test_filter_keeps_matching_rows_and_handles_no_matches(
    store: TableStore, registry: Registry
) -> None:
    b = PlanBuilder(registry)
    src = _source(b)
    hits = b.filter(src, b.call("greaterThan", b.col(src, "latency"), b.const(9, I), return_type=B))
    none = b.filter(
        src, b.call("greaterThan", b.col(src, "latency"), b.const(10**9, I), return_type=B)
    )
    b.memory_sink(hits, "hits")
    b.memory_sink(none, "none")
    tables = _run(b.plan(), registry, store).tables
    assert tables["hits"].column("latency").to_pylist() == [10, 30, 50]
    assert tables["none"].num_rows == 0
    assert tables["none"].column_names == list(EVENTS.relation.names)


def test_limit_stops_the_source_early(registry: Registry) -> None:
    table_store = TableStore()
    table_store.add_table(EVENTS)
    for start in range(0, 1000, 10):
        table_store.append("events", _events([(start + i, "s", 200, 1, True) for i in range(10)]))
    b = PlanBuilder(registry)
    src = _source(b)
    lim = b.limit(src, 25, abortable=[src])
    b.memory_sink(lim, "out")
    result = _run(b.plan(analyze=True), registry, table_store, batch_rows=10)
    assert result.tables["out"].num_rows == 25
    source_stats = next(s for s in result.stats.operator_stats if s.node_id == src.id)
    # The scan stopped soon after the limit was reached instead of reading all 1000 rows.
    assert source_stats.records_out < 100


# ------------------------------------------------------------------ aggregation


def test_groupby_outputs_keys_then_aggregates(store: TableStore, registry: Registry) -> None:
    b = PlanBuilder(registry)
    src = _source(b)
    agg = b.agg(
        src,
        ["service"],
        {
            "n": ("count", [b.col(src, "latency")]),
            "total": ("sum", [b.col(src, "latency")]),
            "avg": ("mean", [b.col(src, "latency")]),
            "lo": ("min", [b.col(src, "latency")]),
            "hi": ("max", [b.col(src, "time_")]),
            "oks": ("sum", [b.col(src, "ok")]),
            "rate": ("mean", [b.col(src, "ok")]),
            "any_status": ("any", [b.col(src, "status")]),
        },
    )
    b.memory_sink(agg, "out")
    out = _run(b.plan(), registry, store).tables["out"]
    assert out.column_names == [
        "service",
        "n",
        "total",
        "avg",
        "lo",
        "hi",
        "oks",
        "rate",
        "any_status",
    ]
    assert out.schema.field("total").metadata[b"pyxie.semantic_type"] == b"901"
    rows = {r["service"]: r for r in _rows(out)}
    assert rows["cart"]["n"] == 2 and rows["cart"]["total"] == 40 and rows["cart"]["avg"] == 20.0
    assert rows["auth"]["lo"] == 5 and rows["auth"]["oks"] == 1 and rows["auth"]["rate"] == 0.5
    assert rows["front"]["hi"] == 500
    assert rows["cart"]["any_status"] in (200, 500)


def test_agg_without_groups_returns_one_row_even_over_no_input(registry: Registry) -> None:
    b = PlanBuilder(registry)
    src = b.empty_source(EVENTS.relation)
    agg = b.agg(
        src,
        [],
        {
            "n": ("count", [b.col(src, "latency")]),
            "s": ("sum", [b.col(src, "latency")]),
            "m": ("mean", [b.col(src, "latency")]),
            "q": ("quantiles", [b.col(src, "latency")]),
            "a": ("any", [b.col(src, "service")]),
        },
    )
    b.memory_sink(agg, "out")
    out = _run(b.plan(), registry).tables["out"].to_pylist()
    assert len(out) == 1
    assert out[0]["n"] == 0 and out[0]["s"] == 0 and out[0]["m"] == 0.0 and out[0]["a"] == ""
    assert json.loads(out[0]["q"])["p50"] == 0


def test_groupby_over_no_rows_returns_no_rows(registry: Registry) -> None:
    b = PlanBuilder(registry)
    src = b.empty_source(EVENTS.relation)
    agg = b.agg(src, ["service"], {"n": ("count", [b.col(src, "latency")])})
    b.memory_sink(agg, "out")
    out = _run(b.plan(), registry).tables["out"]
    assert out.num_rows == 0 and out.column_names == ["service", "n"]


def test_groupby_on_several_keys_with_quantiles(store: TableStore, registry: Registry) -> None:
    b = PlanBuilder(registry)
    src = _source(b)
    agg = b.agg(
        src,
        ["service", "status"],
        {"q": ("quantiles", [b.col(src, "latency")]), "n": ("count", [b.col(src, "ok")])},
    )
    b.memory_sink(agg, "out")
    out = _run(b.plan(), registry, store).tables["out"]
    assert out.schema.field("q").metadata[b"pyxie.semantic_type"] == b"1001"
    rows = {(r["service"], r["status"]): r for r in out.to_pylist()}
    assert len(rows) == 5
    assert json.loads(rows[("cart", 500)]["q"]) == {
        key: 30 for key in ("p01", "p10", "p25", "p50", "p75", "p90", "p99")
    }


def test_windowed_agg_emits_at_each_end_of_window(registry: Registry) -> None:
    relation = Relation.of(("k", S), ("v", I))
    router_batches = [
        (pa.record_batch({"k": ["a", "a"], "v": [1, 2]}, schema=relation.arrow_schema()), True),
        (pa.record_batch({"k": ["a", "b"], "v": [5, 6]}, schema=relation.arrow_schema()), True),
    ]

    async def main() -> list[pa.Table]:
        from pyxie_carnot import ResultSinkServer, SourceItem

        router = ResultSinkServer()
        b = PlanBuilder(registry, query_id="w")
        src = b.grpc_source(relation, expected_senders=1)
        agg = b.agg(src, ["k"], {"s": ("sum", [b.col(src, "v")])}, windowed=True)
        b.memory_sink(agg, "out")
        queue = router.source_queue("w", src.id)
        for position, (batch, eow) in enumerate(router_batches):
            last = position == len(router_batches) - 1
            queue.put_nowait(SourceItem(batch, eow, last, "pem"))
        result = await Carnot(registry, router=router).execute(b.plan())
        return [result.tables["out"]]

    (out,) = asyncio.run(main())
    # One result per window: {a: 3} then {a: 5, b: 6}.
    assert sorted(out.to_pylist(), key=lambda r: r["s"]) == [
        {"k": "a", "s": 3},
        {"k": "a", "s": 5},
        {"k": "b", "s": 6},
    ]


# ------------------------------------------------------------------ join


def _join_inputs(b: PlanBuilder) -> tuple[Node, Node]:
    left_rel = Relation.of(("id", I), ("name", S), ("t", T))
    right_rel = Relation.of(("id", I), ("score", F), ("flag", B), ("u", U))
    left = b.udtf_source("Left", left_rel)
    right = b.udtf_source("Right", right_rel)
    return left, right


def _register_join_udtfs(registry: Registry) -> None:
    left_rel = Relation.of(("id", I), ("name", S), ("t", T))
    right_rel = Relation.of(("id", I), ("score", F), ("flag", B), ("u", U))
    left = pa.table(
        {"id": [1, 2], "name": ["one", "two"], "t": pa.array([10, 20], pa.timestamp("ns"))},
        schema=left_rel.arrow_schema(),
    )
    right = pa.table(
        {"id": [2, 3], "score": [2.5, 3.5], "flag": [True, True], "u": [b"\x01" * 16] * 2},
        schema=right_rel.arrow_schema(),
    )
    registry.register_udtf(UDTFDef("Left", (), left_rel, lambda _c: left, "Left. Example: L()"))
    registry.register_udtf(UDTFDef("Right", (), right_rel, lambda _c: right, "R. Example: R()"))


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        ("inner", [(2, "two", 20, 2, 2.5, True, b"\x01" * 16)]),
        (
            "left",
            [
                (1, "one", 10, 0, 0.0, False, b"\x00" * 16),
                (2, "two", 20, 2, 2.5, True, b"\x01" * 16),
            ],
        ),
        (
            "right",
            [(0, "", 0, 3, 3.5, True, b"\x01" * 16), (2, "two", 20, 2, 2.5, True, b"\x01" * 16)],
        ),
        (
            "outer",
            [
                (0, "", 0, 3, 3.5, True, b"\x01" * 16),
                (1, "one", 10, 0, 0.0, False, b"\x00" * 16),
                (2, "two", 20, 2, 2.5, True, b"\x01" * 16),
            ],
        ),
    ],
)
def test_join_fills_unmatched_rows_with_zero_values_and_keeps_both_keys(
    registry: Registry, how: str, expected: list[tuple[object, ...]]
) -> None:
    _register_join_udtfs(registry)
    b = PlanBuilder(registry)
    left, right = _join_inputs(b)
    joined = b.join(left, right, how, ["id"], ["id"])
    b.memory_sink(joined, "out")
    out = _run(b.plan(), registry).tables["out"]
    assert out.column_names == ["id_x", "name", "t", "id_y", "score", "flag", "u"]
    rows = sorted(
        (r["id_x"], r["name"], r["t"], r["id_y"], r["score"], r["flag"], r["u"]) for r in _rows(out)
    )
    assert rows == sorted(expected)
    for column in out.columns:
        assert column.null_count == 0


def test_cross_join_pairs_every_row(registry: Registry) -> None:
    _register_join_udtfs(registry)
    b = PlanBuilder(registry)
    left, right = _join_inputs(b)
    b.memory_sink(b.join(left, right, "cross", [], []), "out")
    out = _run(b.plan(), registry).tables["out"]
    assert sorted(zip(out["id_x"].to_pylist(), out["id_y"].to_pylist(), strict=True)) == [
        (1, 2),
        (1, 3),
        (2, 2),
        (2, 3),
    ]


# ------------------------------------------------------------------ union


def test_time_ordered_union_merges_inputs_by_time(registry: Registry) -> None:
    store = TableStore()
    store.add_table(EVENTS)
    other = TableSchema("events2", EVENTS.relation)
    store.add_table(other)
    store.append("events", _events([(1, "a", 1, 1, True), (5, "a", 1, 1, True)]))
    store.append("events2", _events([(3, "b", 1, 1, True), (4, "b", 1, 1, True)]))
    b = PlanBuilder(registry)
    first = b.memory_source("events", EVENTS.relation, ["time_", "service"])
    second = b.memory_source("events2", EVENTS.relation, ["service", "time_"])
    merged = b.union([first, second], time_ordered=True)
    plain = b.union([first, second])
    b.memory_sink(merged, "ordered")
    b.memory_sink(plain, "plain")
    tables = _run(b.plan(), registry, store).tables
    ordered = tables["ordered"]
    assert ordered["time_"].cast(pa.int64()).to_pylist() == [1, 3, 4, 5]
    assert ordered["service"].to_pylist() == ["a", "b", "b", "a"]
    assert sorted(tables["plain"]["service"].to_pylist()) == ["a", "a", "b", "b"]


# ------------------------------------------------------------------ strings


def test_unicode_and_very_long_strings_survive_group_and_join(registry: Registry) -> None:
    long_text = "ü" * 300_000
    store = TableStore()
    store.add_table(EVENTS)
    store.append("events", _events([(1, long_text, 1, 1, True), (2, "日本", 1, 2, True)]))
    b = PlanBuilder(registry)
    src = _source(b)
    agg = b.agg(src, ["service"], {"n": ("sum", [b.col(src, "latency")])})
    b.memory_sink(agg, "out")
    out = {r["service"]: r["n"] for r in _run(b.plan(), registry, store).tables["out"].to_pylist()}
    assert out == {long_text: 1, "日本": 2}


# ------------------------------------------------------------------ errors, limits, stats


def test_unknown_parent_is_a_plan_error(registry: Registry) -> None:
    b = PlanBuilder(registry)
    src = b.empty_source(EVENTS.relation)
    b.memory_sink(src, "out")
    plan = b.plan()
    plan.fragments[0].nodes[1].parents[0] = 99
    with pytest.raises(PlanError, match="parent 99"):
        _run(plan, registry)


def test_missing_relation_is_a_plan_error(registry: Registry) -> None:
    b = PlanBuilder(registry)
    src = b.empty_source(EVENTS.relation)
    b.memory_sink(src, "out")
    plan = b.plan()
    plan.fragments[0].nodes[0].ClearField("output_relation")
    with pytest.raises(PlanError, match="no output relation"):
        _run(plan, registry)


def test_unknown_aggregate_overload_names_the_signature(registry: Registry) -> None:
    b = PlanBuilder(registry)
    src = b.empty_source(EVENTS.relation)
    agg = b.agg(src, [], {"n": ("sum", [b.col(src, "latency")])})
    b.memory_sink(agg, "out")
    plan = b.plan()
    plan.fragments[0].nodes[1].op.agg.values[0].arg_types[0] = int(S)  # type: ignore[call-overload]
    with pytest.raises(PlanError, match=r"sum\(STRING\)"):
        _run(plan, registry)


def test_memory_budget_exceeded_fails_naming_the_operator(registry: Registry) -> None:
    store = TableStore()
    store.add_table(EVENTS)
    store.append("events", _events([(i, "x" * 100, i, i, True) for i in range(2000)]))
    b = PlanBuilder(registry)
    src = _source(b)
    sink = b.memory_sink(src, "out")
    with pytest.raises(QueryMemoryExceeded, match=rf"node {sink.id} \(memory_sink\)"):
        _run(b.plan(memory_budget_bytes=10_000), registry, store)


def test_stats_count_records_and_bytes(store: TableStore, registry: Registry) -> None:
    b = PlanBuilder(registry, query_id="q-stats")
    src = _source(b)
    hits = b.filter(src, b.call("greaterThan", b.col(src, "latency"), b.const(9, I), return_type=B))
    b.memory_sink(hits, "out")
    result = _run(b.plan(), registry, store, agent_id="pem-1", analyze=True)
    stats = result.stats
    assert stats.agent_id == "pem-1"
    assert stats.records_processed == len(SAMPLE)
    assert stats.bytes_processed > 0
    by_kind = {s.operator: s for s in stats.operator_stats}
    assert by_kind["filter"].records_in == 5 and by_kind["filter"].records_out == 3
    assert by_kind["memory_sink"].records_in == 3


def test_streaming_query_is_cancelled_and_raises_query_cancelled(
    store: TableStore, registry: Registry
) -> None:
    async def main() -> None:
        carnot = Carnot(registry, store)
        b = PlanBuilder(registry, query_id="live")
        b.memory_sink(_source(b, streaming=True), "out")
        task = asyncio.ensure_future(carnot.execute(b.plan()))
        await asyncio.sleep(0.05)
        assert carnot.running_queries() == ["live"]
        assert carnot.cancel("live")
        with pytest.raises(QueryCancelled):
            await task
        assert carnot.running_queries() == []

    asyncio.run(main())


def test_streaming_query_past_its_timeout_raises_query_timeout(
    store: TableStore, registry: Registry
) -> None:
    b = PlanBuilder(registry, query_id="slow")
    b.memory_sink(_source(b, streaming=True), "out")
    with pytest.raises(QueryTimeout):
        _run(b.plan(timeout_ns=200_000_000), registry, store)
