"""GetCronScriptHistory reads its provider (awaitable UDTF) or says what is missing."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from pyxie_carnot import Carnot, CarnotError
from pyxie_carnot.builtins import default_registry
from pyxie_carnot.plan_builder import PlanBuilder
from pyxie_carnot.udtfs import CRON_SCRIPT_HISTORY_EXTRA, CronScriptRun


class _History:
    async def history(self) -> Sequence[CronScriptRun]:
        await asyncio.sleep(0)
        return [
            CronScriptRun("a", 5, error_message="boom"),
            CronScriptRun("b", 7, execution_time_ns=3, records_processed=9),
        ]


def _run(carnot: Carnot) -> dict[str, list[object]]:
    registry = carnot.registry
    builder = PlanBuilder(registry)
    udtf = registry.lookup_udtf("GetCronScriptHistory")
    builder.memory_sink(builder.udtf_source("GetCronScriptHistory", udtf.relation), "out")
    result = asyncio.run(carnot.execute(builder.plan()))
    table = result.tables["out"]
    out: dict[str, list[object]] = {
        name: table.column(name).to_pylist() for name in table.column_names if name != "timestamp"
    }
    out["timestamp"] = table.column("timestamp").cast("int64").to_pylist()
    return out


def test_history_rows_come_from_the_provider() -> None:
    carnot = Carnot(default_registry())
    carnot.func_ctx.extras[CRON_SCRIPT_HISTORY_EXTRA] = _History()
    table = _run(carnot)
    assert table["script_id"] == ["a", "b"]
    assert table["error_message"] == ["boom", ""]
    assert table["records_processed"] == [0, 9]
    assert table["timestamp"] == [5, 7]


def test_without_metadata_the_error_says_so() -> None:
    with pytest.raises(CarnotError, match="PL_METADATA_ADDRESS"):
        _run(Carnot(default_registry()))
