"""The compiler stands alone: importing it loads no engine, and it declares no engine dependency.

Functions come through the ``pyxie_types.catalog.FunctionCatalog`` contract; the engine
(``pyxie_carnot``), its SQL/DuckDB comparisons, the table store and the synthetic data are
composed by the query broker, ``pyxie_pxl_runner`` and tests, never by ``pyxie_pxl``.
"""

from __future__ import annotations

import subprocess
import sys

from pyxie_testing.imports import modules_loaded_by, requirement_closure

_ENGINE_SIDE = (
    "pyxie_carnot",
    "duckdb",
    "pyxie_table_store",
    "pyxie_synthetic",
    "pyxie_pxl_runner",
)


def test_the_probe_sees_an_engine_import() -> None:
    assert modules_loaded_by("import pyxie_pxl, pyxie_carnot", _ENGINE_SIDE) == ["pyxie_carnot"]


def test_importing_the_compiler_loads_no_engine() -> None:
    statement = "import pyxie_pxl, pyxie_pxl.compiler, pyxie_pxl.planner, pyxie_pxl.explain"
    assert modules_loaded_by(statement, _ENGINE_SIDE) == []


def test_compiling_a_script_loads_no_engine() -> None:
    # Compiling imports more of the compiler than importing it does; a catalog with no
    # functions is enough for a script that calls none.
    statement = (
        "from pyxie_pxl import Compiler\n"
        "from pyxie_types.tables import ALL_TABLES\n"
        "class Empty:\n"
        "    def kind_of(self, name): return None\n"
        "plan = Compiler(Empty(), {t.name: t for t in ALL_TABLES}).compile(\n"
        "    \"import px\\npx.display(px.DataFrame('http_events').head(3))\")\n"
        "assert plan.to_plan() is not None"
    )
    assert modules_loaded_by(statement, _ENGINE_SIDE) == []


def test_the_compiler_declares_no_engine_dependency() -> None:
    closure = requirement_closure("pyxie-pxl")
    assert "pyxie-scripts" in closure  # the probe reads real metadata
    assert closure.isdisjoint({"pyxie-carnot", "duckdb", "pyxie-table-store", "pyxie-synthetic"})


def test_the_compile_main_forwards_to_the_runner() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pyxie_pxl", "check", "px/http_data"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("ok: ")
