"""``px`` lists and sends bundled scripts from ``pyxie_scripts``: no compiler, no engine."""

from __future__ import annotations

import json
import subprocess
import sys


def _run(probe: str) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    loaded: list[str] = json.loads(proc.stdout.splitlines()[-1])
    return loaded


def test_px_loads_no_compiler_or_engine_to_list_and_resolve_scripts() -> None:
    probe = (
        "import io, json, sys\n"
        "from pyxie_cli._script import resolve_script\n"
        "from pyxie_cli.main import main\n"
        "out = io.StringIO()\n"
        "assert main(['scripts', 'list'], stdout=out) == 0, out.getvalue()\n"
        "assert 'px/http_data' in out.getvalue()\n"
        "script = resolve_script('px/http_data', None, None)\n"
        "assert script.exec_funcs({'start_time': '-10m'})\n"
        "print(json.dumps([m for m in ('pyxie_pxl', 'pyxie_carnot', 'duckdb') "
        "if m in sys.modules]))"
    )
    assert _run(probe) == []
