"""``python -m pyxie_pxl_runner check|run`` (and ``python -m pyxie_pxl``, which forwards)."""

from __future__ import annotations

import io
import json
import subprocess
import sys

from pyxie_pxl_runner.cli import main


def run_cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out)
    return code, out.getvalue()


def test_check_a_bundled_script_prints_outputs_and_the_plan():
    code, text = run_cli("check", "px/http_request_stats")
    assert code == 0
    assert text.startswith("ok: 2 output table(s): timeseries, Service Stats")
    assert "agent kelvin (kelvin)" in text and "Agg[PARTIAL]" in text


def test_check_a_file_with_an_error_shows_line_column_and_caret(tmp_path):
    script = tmp_path / "bad.pxl"
    script.write_text("import px\ndf = px.DataFrame('http_events')\ndf.x = df.nope\n")
    code, text = run_cli("check", str(script))
    assert code == 1
    lines = text.splitlines()
    assert lines[0].startswith("error: 3:8: column 'nope' not found in table 'http_events'")
    assert lines[1] == "  df.x = df.nope"
    assert lines[2] == "         ^"


def test_check_uses_a_vis_spec_and_its_variables(tmp_path):
    (tmp_path / "s.pxl").write_text(
        "import px\ndef f(n: int):\n    return px.DataFrame('network_stats').head(n)\n"
    )
    vis = {
        "variables": [{"name": "n", "type": "PX_INT64", "defaultValue": "5"}],
        "widgets": [{"name": "w", "func": {"name": "f", "args": [{"name": "n", "variable": "n"}]}}],
    }
    (tmp_path / "v.json").write_text(json.dumps(vis))
    code, text = run_cli(
        "check", str(tmp_path / "s.pxl"), "--vis", str(tmp_path / "v.json"), "--args", "n=3"
    )
    assert code == 0, text
    assert "Limit 3" in text


def test_check_rejects_unknown_script_arguments():
    code, text = run_cli("check", "px/http_data", "--args", "nope=1")
    assert code == 1
    assert "unknown script argument(s) nope" in text


def test_run_executes_over_synthetic_data():
    code, text = run_cli("run", "px/pid_memory_usage", "--events", "100", "--max-rows", "3")
    assert code == 0, text
    assert "== Process Memory (9 rows)" in text
    assert "redis-server" in text or "more rows" in text


def test_module_entry_point_exits_non_zero_on_errors(tmp_path):
    script = tmp_path / "bad.pxl"
    script.write_text("import px\nx = aa\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pyxie_pxl", "check", str(script)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "name 'aa' is not defined" in proc.stdout


def test_runner_module_entry_point_runs_over_synthetic_data():
    proc = subprocess.run(
        [sys.executable, "-m", "pyxie_pxl_runner", "run", "px/pid_memory_usage", "--events", "50"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "== Process Memory (9 rows)" in proc.stdout


def test_check_all_compiles_every_bundled_script_and_lists_them():
    from pyxie_scripts import list_scripts

    code, out = run_cli("check", "--all")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[-1] == f"{len(list_scripts())}/{len(list_scripts())} bundled scripts compile"
    assert all(" ok " in line for line in lines[:-1])
    assert any(line.startswith("px/cluster ") for line in lines)


def test_check_needs_a_script_or_all():
    code, out = run_cli("check")
    assert code != 0 and "check needs a script (or --all" in out
    code, out = run_cli("check", "px/http_data", "--all")
    assert code != 0 and "check --all takes no script" in out
