"""A join's output counts against the memory budget and is streamed in bounded pieces.

Found by an attack suite: a cross join of 2000 x 2000 wide rows built ~1.65 GB in Kelvin past
its 1 GiB budget without an error, because only the join's inputs were counted.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest
from pyxie_carnot import QueryMemoryExceeded, run_plan
from pyxie_carnot.plan_builder import PlanBuilder
from pyxie_carnot.registry import Registry, UDTFDef
from pyxie_carnot.udas import register_all as register_udas
from pyxie_types import DataType, Relation

INT, STR = DataType.INT64, DataType.STRING
_ROWS = 2000
_WIDE = "w" * 200  # ~200 bytes per row and side: the product would be ~1.6 GB


def _registry(rows: int, key: int | None) -> Registry:
    """Two UDTF sources of ``rows`` wide rows; ``key`` set: every row has that join key."""
    registry = Registry()
    register_udas(registry)
    for name, prefix in (("Left", "l"), ("Right", "r")):
        relation = Relation.of((f"{prefix}id", INT), (f"{prefix}text", STR))
        ids = [key if key is not None else i for i in range(rows)]
        table = pa.table(
            {f"{prefix}id": ids, f"{prefix}text": [_WIDE] * rows},
            schema=relation.arrow_schema(),
        )
        registry.register_udtf(
            UDTFDef(name, (), relation, lambda _c, t=table: t, f"{name}. Example: {name}()")
        )
    return registry


def _plan(registry: Registry, how: str, budget: int, *, count: bool = False) -> Any:
    b = PlanBuilder(registry)
    left = b.udtf_source("Left", Relation.of(("lid", INT), ("ltext", STR)))
    right = b.udtf_source("Right", Relation.of(("rid", INT), ("rtext", STR)))
    keys: tuple[list[str], list[str]] = ([], []) if how == "cross" else (["lid"], ["rid"])
    joined = b.join(left, right, how, *keys)
    if count:
        joined = b.agg(joined, [], {"n": ("count", [b.col(joined, "lid")])})
    b.memory_sink(joined, "out")
    return b.plan(memory_budget_bytes=budget)


@pytest.mark.parametrize(
    ("how", "key"), [("cross", None), ("inner", 7), ("outer", 7), ("right", 7)]
)
def test_a_join_whose_output_outgrows_the_budget_fails_cleanly(how: str, key: int | None) -> None:
    registry = _registry(_ROWS, key)
    with pytest.raises(QueryMemoryExceeded, match="exceeded its memory budget of 64000000 bytes"):
        run_plan(_plan(registry, how, 64_000_000), registry, None, batch_rows=8192)


def test_a_large_product_consumed_by_an_aggregate_streams_within_the_budget() -> None:
    # 4 million rows flow through, but no more than a piece at a time exists.
    registry = _registry(_ROWS, None)
    result = run_plan(_plan(registry, "cross", 64_000_000, count=True), registry, None)
    assert result.tables["out"].column("n").to_pylist() == [_ROWS * _ROWS]


_CHILD = """
import resource, sys
sys.path.insert(0, sys.argv[1])
from test_engine_join_budget import _plan, _registry
from pyxie_carnot import QueryMemoryExceeded, run_plan
registry = _registry(2000, None)
try:
    run_plan(_plan(registry, "cross", 64_000_000), registry, None)
except QueryMemoryExceeded:
    print("failed cleanly", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


def test_the_failing_cross_join_never_builds_the_product() -> None:
    """In a process of its own, so its peak memory is its own: the 1.6 GB product of the
    2000 x 2000 cross join is never built, the query fails long before."""
    import subprocess
    import sys
    from pathlib import Path

    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout.split()
    assert out[:2] == ["failed", "cleanly"], out
    assert int(out[2]) < 700 * 2**20, f"peak RSS {int(out[2]) >> 20} MiB"
