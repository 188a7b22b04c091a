"""``px`` lists and sends bundled scripts from ``pyxie_scripts``: no compiler, no engine."""

from __future__ import annotations

from pyxie_testing.imports import modules_loaded_by


def test_px_loads_no_compiler_or_engine_to_list_and_resolve_scripts() -> None:
    statement = (
        "import io\n"
        "from pyxie_cli._script import resolve_script\n"
        "from pyxie_cli.main import main\n"
        "out = io.StringIO()\n"
        "assert main(['scripts', 'list'], stdout=out) == 0, out.getvalue()\n"
        "assert 'px/http_data' in out.getvalue()\n"
        "script = resolve_script('px/http_data', None, None)\n"
        "assert script.exec_funcs({'start_time': '-10m'})"
    )
    assert modules_loaded_by(statement, ("pyxie_pxl", "pyxie_carnot", "duckdb")) == []
