"""Builtin UDAs: signatures, semantics, state round trips, t-digest accuracy, distributed merge."""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from pyxie_carnot import run_plan
from pyxie_carnot.plan_builder import PlanBuilder
from pyxie_carnot.registry import Registry, UDTFDef
from pyxie_carnot.udas import QUANTILE_KEYS, UDA, register_all
from pyxie_proto.carnot.planpb import plan_pb2
from pyxie_types import Column, DataType, Relation, SemanticType

INT, FLT, STR, BOOL, TIME, U128 = (
    DataType.INT64,
    DataType.FLOAT64,
    DataType.STRING,
    DataType.BOOLEAN,
    DataType.TIME64NS,
    DataType.UINT128,
)


@pytest.fixture
def registry() -> Registry:
    registry = Registry()
    register_all(registry)
    return registry


def _uda(registry: Registry, name: str, *types: DataType) -> UDA:
    impl = registry.lookup_uda(name, types).impl()
    assert isinstance(impl, UDA)
    return impl


def _one_group(uda: UDA, values: pa.Array) -> Any:
    gids = np.zeros(len(values), dtype=np.int64)
    if uda.arrow_update is not None:
        table = pa.table({f"c{i}": c for i, c in enumerate(uda.prepare([values]))})
        specs = [(f"c{i}", fn, opts) for i, (fn, opts) in enumerate(uda.arrow_update)]
        result = table.group_by([]).aggregate(specs) if uda.arrow_ungrouped else None
        if result is not None:
            states = [
                result.column(f"c{i}_{fn}").combine_chunks()
                for i, (fn, _) in enumerate(uda.arrow_update)
            ]
            return uda.finalize(states)[0].as_py()
    return uda.finalize(uda.update([values], gids, 1))[0].as_py()


def test_every_uda_has_a_docstring_with_an_example(registry: Registry) -> None:
    for uda in registry.udas():
        assert "Example" in uda.doc, uda.signature


def test_signatures_follow_pixie(registry: Registry) -> None:
    returns = {u.signature: u.return_type for u in registry.udas()}
    assert returns["sum(BOOLEAN)"] is INT
    assert returns["sum(FLOAT64)"] is FLT
    assert returns["mean(BOOLEAN)"] is FLT and returns["mean(INT64)"] is FLT
    assert returns["min(TIME64NS)"] is TIME
    assert returns["quantiles(INT64)"] is STR
    assert all(f"count({t.name})" in returns for t in (INT, FLT, STR, BOOL, TIME, U128))
    assert all(f"any({t.name})" in returns for t in (INT, FLT, STR, BOOL, TIME, U128))
    assert "min(STRING)" not in returns and "quantiles(STRING)" not in returns


def test_semantic_types_propagate(registry: Registry) -> None:
    duration = [SemanticType.ST_DURATION_NS]
    assert registry.lookup_uda("mean", [INT]).output_semantic_type(duration) is duration[0]
    assert registry.lookup_uda("sum", [INT]).output_semantic_type(duration) is duration[0]
    assert registry.lookup_uda("max", [INT]).output_semantic_type(duration) is duration[0]
    assert (
        registry.lookup_uda("quantiles", [INT]).output_semantic_type(duration)
        is SemanticType.ST_DURATION_NS_QUANTILES
    )
    assert (
        registry.lookup_uda("quantiles", [FLT]).output_semantic_type([SemanticType.ST_NONE])
        is SemanticType.ST_QUANTILES
    )
    assert (
        registry.lookup_uda("count", [INT]).output_semantic_type(duration) is SemanticType.ST_NONE
    )


def test_bool_sum_counts_true_and_bool_mean_is_the_rate(registry: Registry) -> None:
    flags = pa.array([True, False, True, True])
    assert _one_group(_uda(registry, "sum", BOOL), flags) == 3
    assert _one_group(_uda(registry, "mean", BOOL), flags) == 0.75


def test_numeric_udas_on_one_group(registry: Registry) -> None:
    values = pa.array([3, 1, 2])
    assert _one_group(_uda(registry, "count", INT), values) == 3
    assert _one_group(_uda(registry, "sum", INT), values) == 6
    assert _one_group(_uda(registry, "mean", INT), values) == 2.0
    assert _one_group(_uda(registry, "min", INT), values) == 1
    assert _one_group(_uda(registry, "max", FLT), pa.array([1.5, -2.0])) == 1.5
    assert _one_group(_uda(registry, "any", STR), pa.array(["x", "x"])) == "x"


@pytest.mark.parametrize(
    ("name", "data_type", "states"),
    [
        ("count", INT, [pa.array([5, 7], pa.int64())]),
        ("sum", FLT, [pa.array([1.5, -2.25])]),
        ("mean", INT, [pa.array([1.5, 2.0]), pa.array([3, 4], pa.int64())]),
        ("min", TIME, [pa.array([1, 2], pa.int64()).cast(pa.timestamp("ns"))]),
        ("any", STR, [pa.array(["héllo", ""])]),
        ("any", U128, [pa.array([b"\x00" * 16, b"\xff" * 16], pa.binary(16))]),
        ("any", BOOL, [pa.array([True, False])]),
    ],
)
def test_partial_states_round_trip_through_strings(
    registry: Registry, name: str, data_type: DataType, states: list[pa.Array]
) -> None:
    uda = _uda(registry, name, data_type)
    encoded = uda.serialize(states)
    assert encoded.type == pa.string()
    decoded = uda.deserialize(encoded)
    assert [d.type for d in decoded] == [s.type for s in states]
    assert [d.view(pa.int64()) if pa.types.is_timestamp(d.type) else d for d in decoded] == [
        s.view(pa.int64()) if pa.types.is_timestamp(s.type) else s for s in states
    ]


def test_quantiles_are_close_to_exact_percentiles_per_group(registry: Registry) -> None:
    rng = np.random.default_rng(7)
    values = rng.lognormal(10, 1, 200_000)
    gids = rng.integers(0, 4, len(values))
    uda = _uda(registry, "quantiles", FLT)
    out = uda.finalize(uda.update([pa.array(values)], gids, 4)).to_pylist()
    for group in range(4):
        estimate = json.loads(out[group])
        assert list(estimate) == [k for k, _ in QUANTILE_KEYS]
        in_group = np.sort(values[gids == group])
        for key, p in QUANTILE_KEYS:
            # Rank error of a compression-1000 t-digest is far below 0.5 % at any quantile.
            rank = np.searchsorted(in_group, estimate[key]) / len(in_group)
            assert abs(rank - p) < 0.005, (group, key)


def test_quantiles_built_on_several_threads_stay_accurate(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pyxie_carnot.udas import _tdigest

    # Rows split over threads once there are this many per thread (2 M in production).
    monkeypatch.setattr(_tdigest, "_PARALLEL_MIN_POINTS", 20_000)
    monkeypatch.setattr(pa, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    rng = np.random.default_rng(11)
    values = rng.lognormal(10, 1, 120_000)
    gids = rng.integers(0, 3, len(values))
    uda = _uda(registry, "quantiles", FLT)
    out = uda.finalize(uda.update([pa.array(values)], gids, 3)).to_pylist()
    for group in range(3):
        estimate = json.loads(out[group])
        in_group = np.sort(values[gids == group])
        for key, p in QUANTILE_KEYS:
            rank = np.searchsorted(in_group, estimate[key]) / len(in_group)
            assert abs(rank - p) < 0.005, (group, key)
        assert estimate["p01"] >= in_group[0] and estimate["p99"] <= in_group[-1]


def test_quantiles_of_few_values_are_exact_at_the_ends(registry: Registry) -> None:
    uda = _uda(registry, "quantiles", INT)
    out = json.loads(uda.finalize(uda.update([pa.array([5])], np.zeros(1, np.int64), 1))[0].as_py())
    assert set(out.values()) == {5}


def test_quantile_states_merge_like_one_digest(registry: Registry) -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(0, 1, 90_000)
    uda = _uda(registry, "quantiles", FLT)
    parts = [
        uda.deserialize(
            uda.serialize(uda.update([pa.array(chunk)], np.zeros(len(chunk), np.int64), 1))
        )[0]
        for chunk in np.array_split(values, 3)
    ]
    merged = uda.merge([pa.concat_arrays(parts)], np.zeros(3, np.int64), 1)
    estimate = json.loads(uda.finalize(merged)[0].as_py())
    exact = np.percentile(values, [1, 10, 25, 50, 75, 90, 99])
    for (key, _), expected in zip(QUANTILE_KEYS, exact, strict=True):
        assert abs(estimate[key] - expected) < 0.02, key


# ------------------------------------------------------------------ distributed aggregation

DATA = Relation(
    (
        Column("svc", STR),
        Column("latency", INT, SemanticType.ST_DURATION_NS),
        Column("ok", BOOL),
        Column("t", TIME),
        Column("ratio", FLT),
    )
)
VALUES = {
    "n": ("count", "latency"),
    "total": ("sum", "latency"),
    "oks": ("sum", "ok"),
    "rate": ("mean", "ok"),
    "avg": ("mean", "latency"),
    "first": ("min", "t"),
    "top": ("max", "ratio"),
    "q": ("quantiles", "latency"),
}


def _data(seed: int, n: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "svc": pa.array(rng.choice(["a", "b", "c", "d"], n)),
            "latency": pa.array(rng.integers(0, 10**6, n)),
            "ok": pa.array(rng.random(n) < 0.9),
            "t": pa.array(rng.integers(0, 10**12, n)).cast(pa.timestamp("ns")),
            "ratio": pa.array(rng.random(n)),
        },
        schema=DATA.arrow_schema(),
    )


def _agg_plan(
    registry: Registry, udtf: str, relation: Relation, stage: int, groups: list[str]
) -> plan_pb2.Plan:
    b = PlanBuilder(registry)
    src = b.udtf_source(udtf, relation)
    if stage == plan_pb2.AGG_STAGE_FINALIZE:
        values = {k: (uda, [b.col(src, k)]) for k, (uda, _) in VALUES.items()}
        arg_types = {k: [DATA.column(col).data_type] for k, (_, col) in VALUES.items()}
    else:
        values = {k: (uda, [b.col(src, col)]) for k, (uda, col) in VALUES.items()}
        arg_types = None
    agg = b.agg(src, groups, values, stage=stage, arg_types=arg_types)
    b.memory_sink(agg, "out")
    return b.plan()


@pytest.mark.parametrize("groups", [["svc"], []])
def test_three_partials_merged_by_finalize_equal_the_full_aggregate(
    registry: Registry, groups: list[str]
) -> None:
    chunks = [_data(seed, 20_000) for seed in range(3)]
    whole = pa.concat_tables(chunks)
    for i, chunk in enumerate(chunks):
        registry.register_udtf(
            UDTFDef(f"Chunk{i}", (), DATA, lambda _c, t=chunk: t, "A chunk. Example: Chunk0()")
        )
    registry.register_udtf(UDTFDef("Whole", (), DATA, lambda _c: whole, "All. Example: Whole()"))

    partials = [
        run_plan(
            _agg_plan(registry, f"Chunk{i}", DATA, plan_pb2.AGG_STAGE_PARTIAL, groups), registry
        ).tables["out"]
        for i in range(3)
    ]
    partial_relation = Relation.from_arrow_schema(partials[0].schema)
    assert all(c.data_type is STR for c in partial_relation.columns[len(groups) :])
    states = pa.concat_tables(partials)
    registry.register_udtf(
        UDTFDef("States", (), partial_relation, lambda _c: states, "States. Example: States()")
    )
    final = run_plan(
        _agg_plan(registry, "States", partial_relation, plan_pb2.AGG_STAGE_FINALIZE, groups),
        registry,
    ).tables["out"]
    full = run_plan(
        _agg_plan(registry, "Whole", DATA, plan_pb2.AGG_STAGE_FULL, groups), registry
    ).tables["out"]

    def keyed(table: pa.Table) -> dict[Any, dict[str, Any]]:
        table = table.set_column(
            table.schema.get_field_index("first"), "first", table["first"].cast(pa.int64())
        )
        return {tuple(r[g] for g in groups): r for r in table.to_pylist()}

    merged, expected = keyed(final), keyed(full)
    assert final.column_names == full.column_names == [*groups, *VALUES]
    assert merged.keys() == expected.keys()
    for key, row in expected.items():
        got = merged[key]
        for name in ("n", "total", "oks", "first", "top"):
            assert got[name] == row[name], name
        assert got["rate"] == pytest.approx(row["rate"])
        assert got["avg"] == pytest.approx(row["avg"])
        q_got, q_full = json.loads(got["q"]), json.loads(row["q"])
        for name, value in q_full.items():
            # Uniform on [0, 1e6): both estimates lie within 0.5 % of the range.
            assert abs(q_got[name] - value) < 5_000, name


# ------------------------------------------------------------------ mean of INT64 without a cast

BIG = Relation((Column("svc", STR), Column("v", INT)))


@pytest.mark.parametrize("groups", [["svc"], []])
@pytest.mark.parametrize("with_quantiles", [False, True])
@pytest.mark.parametrize(
    "values",
    [
        # Sums that overflow int64: the chunk is summed as FLOAT64 instead.
        [2**62, 2**62, 2**62, -5, 2**62 - 1, 2**62, 7],
        [-(2**63), -(2**63) + 1, -3, 2**63 - 1, 2**63 - 1],
        # Sums that fit: exact int64 sums, cast per group (beyond 2^53 a float sum rounds).
        [2**53 + 1, 2**53 + 3, 1, 2**40, -(2**52)],
    ],
)
def test_mean_of_int64_is_the_true_mean_also_where_an_int64_sum_overflows(
    registry: Registry, values: list[int], groups: list[str], with_quantiles: bool
) -> None:
    svcs = ["a", "b"] * len(values)
    table = pa.table(
        {"svc": pa.array(svcs[: len(values)]), "v": pa.array(values, pa.int64())},
        schema=BIG.arrow_schema(),
    )
    registry.register_udtf(UDTFDef("Big", (), BIG, lambda _c: table, "Rows. Example: Big()"))
    b = PlanBuilder(registry)
    src = b.udtf_source("Big", BIG)
    aggs: dict[str, tuple[str, list[Any]]] = {"avg": ("mean", [b.col(src, "v")])}
    if with_quantiles:
        aggs["q"] = ("quantiles", [b.col(src, "v")])
    agg = b.agg(src, groups, aggs)
    b.memory_sink(agg, "out")
    out = run_plan(b.plan(), registry).tables["out"]
    assert out.column("avg").type == pa.float64()
    got = dict(
        zip(
            out.column("svc").to_pylist() if groups else [None],
            out.column("avg").to_pylist(),
            strict=True,
        )
    )
    for key in got:
        members = [v for v, s in zip(values, svcs, strict=False) if key is None or s == key]
        # Within float rounding of the values; the int64 sum as a float, divided, where
        # no sum of the rows can overflow int64.
        scale = max(abs(v) for v in members)
        assert abs(got[key] - sum(members) / len(members)) <= scale * 1e-15
        if max(abs(v) for v in values) * len(values) < 2**63:
            assert got[key] == float(sum(members)) / len(members)
