"""A column too large for one Arrow array (or for memory) fails the query cleanly.

Found by an attack suite: a 1 MiB string constant assigned to a column over 8192 rows asked for
an 8 GiB column; Arrow answered "array cannot contain more than 2147483646 bytes" and the
caller got INTERNAL. Now it is QueryMemoryExceeded (RESOURCE_EXHAUSTED), found before anything
is allocated.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from pyxie_carnot import QueryMemoryExceeded, run_plan, status_code_of
from pyxie_carnot.plan_builder import PlanBuilder
from pyxie_carnot.registry import Registry, UDTFDef
from pyxie_carnot.udas import register_all as register_udas
from pyxie_types import DataType, Relation

_REL = Relation.of(
    ("id", DataType.INT64),
)
_ROWS = 8192


def _registry() -> Registry:
    registry = Registry()
    register_udas(registry)
    table = pa.table({"id": list(range(_ROWS))}, _REL.arrow_schema())
    registry.register_udtf(UDTFDef("Rows", (), _REL, lambda _c: table, "Rows. Example: Rows()"))

    def widen(_ctx: Any, ids: Any) -> Any:
        # 300 KiB per row: 2.4 GB for the batch, past Arrow's 2 GiB per string array.
        return pc.binary_repeat(pa.array(["x" * 1024] * len(ids)), 300)

    registry.register_scalar(
        "widen", (DataType.INT64,), DataType.STRING, widen, "Widen. Example: widen(1)"
    )
    return registry


def test_a_big_constant_over_many_rows_is_a_clean_memory_error() -> None:
    registry = _registry()
    b = PlanBuilder(registry)
    rows = b.udtf_source("Rows", _REL)
    mapped = b.map(rows, {"s": b.const("s" * (1 << 20), DataType.STRING)})
    b.memory_sink(mapped, "out")
    with pytest.raises(QueryMemoryExceeded, match="would make a column of 8589934592 bytes") as e:
        run_plan(b.plan(), registry, None)
    assert status_code_of(e.value) == 8  # RESOURCE_EXHAUSTED


def test_a_small_constant_still_broadcasts() -> None:
    registry = _registry()
    b = PlanBuilder(registry)
    rows = b.udtf_source("Rows", _REL)
    b.memory_sink(b.map(rows, {"s": b.const("abc", DataType.STRING)}), "out")
    out = run_plan(b.plan(), registry, None).tables["out"]
    assert out.num_rows == _ROWS and set(out.column("s").to_pylist()) == {"abc"}


@pytest.mark.slow
def test_a_function_result_over_arrows_limit_is_a_clean_memory_error() -> None:
    registry = _registry()
    b = PlanBuilder(registry)
    rows = b.udtf_source("Rows", _REL)
    call = b.call("widen", b.col(rows, "id"), return_type=DataType.STRING)
    b.memory_sink(b.map(rows, {"s": call}), "out")
    with pytest.raises(QueryMemoryExceeded, match="too large"):
        run_plan(b.plan(), registry, None)
