"""`run_local`: compile and execute a script in this process over synthetic data, for tools
and tests that want tables without a vizier (``px live``'s tests drive the app with it)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import pyarrow as pa
from pyxie_carnot import FunctionContext, run_plan
from pyxie_carnot.builtins import function_catalog, new_registry
from pyxie_pxl import CompileOptions, Compiler, DataAccess
from pyxie_scripts import exec_funcs_from_vis
from pyxie_synthetic import synthetic_store
from pyxie_types.tables import ALL_TABLES

__all__ = ["run_local"]


def run_local(
    pxl: str,
    vis: Mapping[str, Any] | None = None,
    overrides: Mapping[str, str] | None = None,
    *,
    events_per_table: int = 200,
    now_ns: int | None = None,
) -> dict[str, pa.Table]:
    """The script's output tables, by name (CompilerError on a bad script)."""
    now = time.time_ns() if now_ns is None else now_ns
    exec_funcs = exec_funcs_from_vis(dict(vis), dict(overrides or {})) if vis is not None else []
    compiler = Compiler(function_catalog(), {t.name: t for t in ALL_TABLES})
    plan = compiler.compile(
        pxl, CompileOptions(now_ns=now, exec_funcs=exec_funcs, data_access=DataAccess.parse("Full"))
    )
    registry = new_registry()
    store, cluster = synthetic_store(now_ns=now, events_per_table=events_per_table)
    context = FunctionContext(
        registry=registry,
        metadata=cluster.metadata,
        agent_id="local",
        hostname=cluster.node_name,
        table_schemas=store.schemas,
    )
    result = run_plan(plan.to_plan(), registry, store, func_ctx=context)
    return {name: result.tables[name] for name in plan.output_names if name in result.tables}
