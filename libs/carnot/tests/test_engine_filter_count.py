"""filter -> count without groups: the filter counts the rows its condition keeps instead of
copying them, and the table scan hands it the stored batches unjoined. Every test compares the
counting path against the row-copying one (the same filter also feeding a sink, which keeps
it from counting) or against Arrow computing the answer directly."""

from __future__ import annotations

import asyncio
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from pyxie_carnot import Carnot, ResultSinkServer, SourceItem, run_plan
from pyxie_carnot.plan_builder import Expr, Node, PlanBuilder
from pyxie_carnot.registry import Registry
from pyxie_carnot.udas import register_all as register_udas
from pyxie_proto.carnot.planpb import plan_pb2
from pyxie_table_store import TableStore
from pyxie_types import Column, DataType, Relation, SemanticType, TableSchema

I, B, T = DataType.INT64, DataType.BOOLEAN, DataType.TIME64NS  # noqa: E741

EVENTS = TableSchema(
    "events",
    Relation(
        (
            Column("time_", T, SemanticType.ST_TIME_NS),
            Column("status", I),
            Column("latency", I),
        )
    ),
)
BATCHES = 7
ROWS = 1000


def _registry() -> Registry:
    registry = Registry()
    register_udas(registry)

    def ge(_ctx: Any, a: Any, b: Any) -> Any:
        return pc.greater_equal(a, b)

    def ge_or_null(_ctx: Any, a: Any, b: Any) -> Any:
        # a >= b, but null wherever a is a multiple of 7 (the filter must drop those rows).
        multiple = pc.equal(pc.subtract(a, pc.multiply(pc.divide(a, 7), 7)), 0)
        return pc.if_else(multiple, pa.scalar(None, pa.bool_()), pc.greater_equal(a, b))

    def add(_ctx: Any, a: Any, b: Any) -> Any:
        return pc.add(a, b)

    registry.register_scalar("ge", (I, I), B, ge, "a >= b. Example: a >= 1")
    registry.register_scalar("ge_or_null", (I, I), B, ge_or_null, "Example: ge_or_null(a, 1)")
    registry.register_scalar("add", (I, I), I, add, "a + b. Example: a + 1")
    return registry


def _table(batches: int = BATCHES, rows: int = ROWS) -> tuple[TableStore, pa.Table]:
    """A store of ``batches`` appended batches of ``rows`` rows, and the same rows in one table."""
    store = TableStore()
    store.add_table(EVENTS)
    appended = []
    for b in range(batches):
        first = b * rows
        batch = pa.RecordBatch.from_arrays(
            [
                pa.array(range(first, first + rows), pa.int64()).cast(pa.timestamp("ns")),
                pa.array([(i * 37) % 600 for i in range(first, first + rows)], pa.int64()),
                pa.array([i % 1000 for i in range(first, first + rows)], pa.int64()),
            ],
            schema=EVENTS.arrow_schema(),
        )
        store.append("events", batch)
        appended.append(batch)
    return store, pa.Table.from_batches(appended)


@pytest.fixture
def registry() -> Registry:
    return _registry()


def _plan(
    registry: Registry,
    condition: Any,
    *,
    also_sink_rows: bool,
    stage: int = plan_pb2.AGG_STAGE_FULL,
    values: Any = None,
    **source: Any,
) -> plan_pb2.Plan:
    b = PlanBuilder(registry, query_id="fc")
    src = b.memory_source("events", EVENTS.relation, **source)
    kept = b.filter(src, condition(b, src))
    if also_sink_rows:
        # A second consumer of the filter's rows: the filter must copy them (no counting).
        b.memory_sink(kept, "rows")
    agg = b.agg(
        kept,
        [],
        values(b, kept) if values else {"n": ("count", [b.col(kept, "status")])},
        stage=stage,
    )
    b.memory_sink(agg, "out")
    return b.plan()


def _ge(column: str, value: int, fn: str = "ge") -> Any:
    def condition(b: PlanBuilder, src: Node) -> Expr:
        return b.call(fn, b.col(src, column), b.const(value, I), return_type=B)

    return condition


def _both(registry: Registry, store: TableStore, condition: Any, **kw: Any) -> tuple[Any, Any]:
    """(counting path, copying path) results of the same filter -> count."""
    counted = run_plan(_plan(registry, condition, also_sink_rows=False, **kw), registry, store)
    copied = run_plan(_plan(registry, condition, also_sink_rows=True, **kw), registry, store)
    return counted, copied


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("status", 400),  # some rows
        ("status", 0),  # every row (all-true masks)
        ("status", 10_000),  # no row (all-false masks)
        ("latency", 999),  # one row per stored batch
    ],
)
def test_count_equals_the_number_of_filtered_rows(
    registry: Registry, column: str, value: int
) -> None:
    store, table = _table()
    counted, copied = _both(registry, store, _ge(column, value))
    expected = int(pc.sum(pc.greater_equal(table[column], value)).as_py() or 0)
    assert counted.tables["out"].to_pylist() == [{"n": expected}]
    assert copied.tables["out"].to_pylist() == [{"n": expected}]
    assert copied.tables["rows"].num_rows == expected


def test_null_conditions_drop_their_rows_as_filter_does(registry: Registry) -> None:
    store, table = _table()
    counted, copied = _both(registry, store, _ge("status", 300, "ge_or_null"))
    expected = sum(1 for s in table["status"].to_pylist() if s >= 300 and s % 7)
    assert 0 < expected < pc.sum(pc.greater_equal(table["status"], 300)).as_py()
    assert counted.tables["out"].to_pylist() == [{"n": expected}]
    assert copied.tables["rows"].num_rows == expected


@pytest.mark.parametrize("flag", [True, False])
def test_constant_conditions_keep_every_row_or_none(registry: Registry, flag: bool) -> None:
    store, _ = _table()

    def condition(b: PlanBuilder, src: Node) -> Expr:
        return b.const(flag, B)

    counted, copied = _both(registry, store, condition)
    expected = BATCHES * ROWS if flag else 0
    assert counted.tables["out"].to_pylist() == [{"n": expected}]
    assert copied.tables["out"].to_pylist() == [{"n": expected}]


@pytest.mark.parametrize(
    ("start", "stop"),
    [
        (2500, None),  # from the middle of a stored batch on
        (1000, 2999),  # exactly two stored batches
        (999, 1000),  # the last row of one batch and the first of the next
        (10**9, None),  # nothing in range (the scan emits only its end of stream)
    ],
)
def test_time_bounds_and_stored_batch_edges(
    registry: Registry, start: int, stop: int | None
) -> None:
    store, table = _table()
    source: dict[str, Any] = {"start_ns": start}
    if stop is not None:
        source["stop_ns"] = stop
    counted, copied = _both(registry, store, _ge("status", 300), **source)
    times = table["time_"].cast(pa.int64())
    in_range = pc.greater_equal(times, start)
    if stop is not None:
        in_range = pc.and_(in_range, pc.less_equal(times, stop))
    expected = pc.sum(pc.and_(in_range, pc.greater_equal(table["status"], 300))).as_py() or 0
    assert counted.tables["out"].to_pylist() == [{"n": expected}]
    assert copied.tables["out"].to_pylist() == [{"n": expected}]


def test_several_counts_and_partial_states_match_the_copying_path(registry: Registry) -> None:
    store, _ = _table()

    def values(b: PlanBuilder, kept: Node) -> dict[str, Any]:
        return {
            "a": ("count", [b.col(kept, "status")]),
            "b": ("count", [b.const(1, I)]),
            "c": ("count", [b.col(kept, "latency")]),
        }

    counted, copied = _both(
        registry, store, _ge("status", 200), stage=plan_pb2.AGG_STAGE_PARTIAL, values=values
    )
    # PARTIAL output is the serialized state each agent sends to Kelvin: byte for byte the same.
    assert counted.tables["out"].equals(copied.tables["out"])
    assert counted.tables["out"].num_rows == 1


def test_count_of_a_computed_argument_and_mixed_aggregates_agree_with_copying(
    registry: Registry,
) -> None:
    store, table = _table()
    expected = pc.sum(pc.greater_equal(table["status"], 100)).as_py()

    def computed(b: PlanBuilder, kept: Node) -> dict[str, Any]:
        return {
            "n": ("count", [b.call("add", b.col(kept, "status"), b.const(1, I), return_type=I)])
        }

    def mixed(b: PlanBuilder, kept: Node) -> dict[str, Any]:
        return {"n": ("count", [b.col(kept, "status")]), "s": ("sum", [b.col(kept, "latency")])}

    for values in (computed, mixed):
        counted, copied = _both(registry, store, _ge("status", 100), values=values)
        assert counted.tables["out"].to_pylist() == copied.tables["out"].to_pylist()
        assert counted.tables["out"].column("n").to_pylist() == [expected]
    kept = table.filter(pc.greater_equal(table["status"], 100))
    assert counted.tables["out"].column("s").to_pylist() == [pc.sum(kept["latency"]).as_py()]


def test_stats_count_the_kept_rows(registry: Registry) -> None:
    store, table = _table()
    plan = _plan(registry, _ge("status", 400), also_sink_rows=False)
    result = run_plan(plan, registry, store, analyze=True)
    expected = pc.sum(pc.greater_equal(table["status"], 400)).as_py()
    by_kind = {s.operator: s for s in result.stats.operator_stats}
    assert by_kind["filter"].records_in == BATCHES * ROWS
    assert by_kind["filter"].records_out == expected == by_kind["agg"].records_in
    assert 0 < by_kind["filter"].bytes_out < by_kind["filter"].bytes_in
    assert by_kind["agg"].records_out == 1


def test_the_scan_hands_a_counting_filter_its_stored_batches_unjoined(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pyxie_carnot._exec import _transforms

    store, table = _table()
    # The copying path joins stored batches (batch_rows allows four per batch).
    copied = run_plan(
        _plan(registry, _ge("status", 400), also_sink_rows=True),
        registry,
        store,
        batch_rows=4 * ROWS,
    )
    assert max(len(c) for c in copied.tables["rows"]["status"].chunks) > ROWS

    def refuse(*_args: Any, **_kw: Any) -> Any:
        raise AssertionError("the counting path copied rows")

    # The counting path neither joins stored batches nor emits filtered ones.
    monkeypatch.setattr(pa, "concat_batches", refuse)
    monkeypatch.setattr(_transforms.FilterOperator, "emit", refuse)
    result = run_plan(
        _plan(registry, _ge("status", 400), also_sink_rows=False),
        registry,
        store,
        analyze=True,
        batch_rows=4 * ROWS,
    )
    expected = pc.sum(pc.greater_equal(table["status"], 400)).as_py()
    assert result.tables["out"].to_pylist() == [{"n": expected}]
    by_kind = {s.operator: s for s in result.stats.operator_stats}
    assert by_kind["memory_source"].records_out == BATCHES * ROWS


def test_the_same_count_with_one_and_two_arrow_threads(registry: Registry) -> None:
    store, _ = _table(batches=20, rows=5000)
    plan = _plan(registry, _ge("status", 400), also_sink_rows=False)
    threads = pa.cpu_count()
    try:
        pa.set_cpu_count(1)
        one = run_plan(plan, registry, store).tables["out"]
        pa.set_cpu_count(2)
        two = run_plan(plan, registry, store).tables["out"]
    finally:
        pa.set_cpu_count(threads)
    assert one.equals(two) and one.num_rows == 1


def test_windows_and_empty_batches_from_remote_agents(registry: Registry) -> None:
    relation = Relation.of(("status", I))
    schema = relation.arrow_schema()

    def batch(values: list[int]) -> pa.RecordBatch:
        return pa.RecordBatch.from_arrays([pa.array(values, pa.int64())], schema=schema)

    # (batch, end of window): two windows, with empty batches inside and at their ends.
    items = [
        (batch([500, 200, 404]), False),
        (batch([]), False),
        (batch([503]), True),
        (batch([]), False),
        (batch([200, 201]), True),
        (batch([]), True),
    ]

    async def main(also_sink_rows: bool) -> pa.Table:
        router = ResultSinkServer()
        b = PlanBuilder(registry, query_id="w")
        src = b.grpc_source(relation, expected_senders=1)
        kept = b.filter(src, _ge("status", 400)(b, src))
        if also_sink_rows:
            b.memory_sink(kept, "rows")
        agg = b.agg(kept, [], {"n": ("count", [b.col(kept, "status")])}, windowed=True)
        b.memory_sink(agg, "out")
        queue = router.source_queue("w", src.id)
        for position, (item, eow) in enumerate(items):
            queue.put_nowait(SourceItem(item, eow, position == len(items) - 1, "pem"))
        result = await Carnot(registry, router=router).execute(b.plan())
        return result.tables["out"]

    counted = asyncio.run(main(False))
    copied = asyncio.run(main(True))
    # One count per window: 3 errors, then none, then none for the last (empty) window.
    assert counted.to_pylist() == copied.to_pylist() == [{"n": 3}, {"n": 0}, {"n": 0}]


def test_a_count_straight_off_the_scan_counts_every_row_in_range(registry: Registry) -> None:
    store, _ = _table()
    b = PlanBuilder(registry, query_id="sc")
    src = b.memory_source("events", EVENTS.relation, start_ns=1500, stop_ns=5499)
    agg = b.agg(src, [], {"n": ("count", [b.col(src, "latency")])})
    b.memory_sink(agg, "out")
    result = run_plan(b.plan(), registry, store, batch_rows=4 * ROWS, analyze=True)
    assert result.tables["out"].to_pylist() == [{"n": 4000}]
    by_kind = {s.operator: s for s in result.stats.operator_stats}
    assert by_kind["agg"].records_in == 4000
