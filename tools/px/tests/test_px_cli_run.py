"""px: argument parsing, script arguments, output formats and error rendering."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow as pa
import pytest
from pyxie_cli import EXIT_SCRIPT_ERROR, EXIT_UNAVAILABLE, EXIT_USAGE, main
from pyxie_cli._output import format_duration_ns
from pyxie_cli._script import CliUsageError, parse_script_args, resolve_script
from pyxie_cli._target import Target
from pyxie_client import CompilerErrorDetail, PxLError, ScriptError, ScriptResult
from pyxie_devstack.vizier_state import NodeRecord, VizierEndpoints, write_endpoints
from pyxie_proto.api.vizierpb import vizierapi_pb2 as vpb
from pyxie_types import UPID, Column, DataType, Relation, SemanticType

FuncList = list[vpb.ExecuteScriptRequest.FuncToExecute]

_T0 = 1_700_000_000_123_456_789


def _canned_result() -> ScriptResult:
    relation = Relation.of(
        Column("time_", DataType.TIME64NS, SemanticType.ST_TIME_NS),
        Column("upid", DataType.UINT128, SemanticType.ST_UPID),
        Column("service", DataType.STRING, SemanticType.ST_SERVICE_NAME),
        Column("latency", DataType.INT64, SemanticType.ST_DURATION_NS),
        Column("ok", DataType.BOOLEAN),
        Column("ratio", DataType.FLOAT64),
    )
    table = pa.Table.from_pydict(
        {
            "time_": pa.array([_T0, _T0 + 1], pa.timestamp("ns")),
            "upid": pa.array(
                [UPID(1, 42, 1000).to_bytes(), UPID(1, 43, 2000).to_bytes()], pa.binary(16)
            ),
            "service": ["default/frontend", "default/orders, with comma"],
            "latency": [1_500_000, 850],
            "ok": [True, False],
            "ratio": [0.25, 1.0 / 3.0],
        },
        schema=relation.arrow_schema(),
    )
    stats = Relation.of(Column("n", DataType.INT64))
    return ScriptResult(
        query_id="q-1",
        tables={"Table": table, "stats": pa.table({"n": pa.array([7], pa.int64())})},
        relations={"Table": relation, "stats": stats},
    )


class _Recorder:
    """A stand-in for the vizier call: records what px would send, returns a canned result."""

    def __init__(self, result: ScriptResult | None = None, error: Exception | None = None):
        self.result = result or _canned_result()
        self.error = error
        self.calls: list[tuple[Target, str, FuncList]] = []

    async def __call__(self, target: Target, pxl: str, funcs: FuncList) -> ScriptResult:
        self.calls.append((target, pxl, funcs))
        if self.error is not None:
            raise self.error
        return self.result


def _run(argv: list[str], executor: _Recorder) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdout=out, stderr=err, execute=executor)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def local_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A state dir as `vizier up` leaves it: endpoints plus a 0600 signing key."""
    monkeypatch.setenv("PL_STATE_DIR", str(tmp_path))
    write_endpoints(
        tmp_path,
        VizierEndpoints(
            broker="127.0.0.1:50300",
            metadata="127.0.0.1:50400",
            kelvin="127.0.0.1:59300",
            nats="nats://127.0.0.1:4222",
            nodes=(NodeRecord("node1", "", "127.0.0.1"),),
        ),
    )
    key = tmp_path / "vizier" / "jwt_signing_key"
    key.write_text("k" * 64)
    key.chmod(0o600)
    return tmp_path


def _args_of(func: vpb.ExecuteScriptRequest.FuncToExecute) -> dict[str, str]:
    return {arg.name: arg.value for arg in func.arg_values}


def test_script_arguments_become_the_exec_funcs_typed_args(local_stack: Path) -> None:
    recorder = _Recorder()
    code, _, _ = _run(
        ["run", "px/http_data", "--", "--start_time", "-10m", "--max_num_records=50"], recorder
    )
    assert code == 0
    target, pxl, funcs = recorder.calls[0]
    assert "def http_data(" in pxl
    assert [f.func_name for f in funcs] == ["http_data"]
    assert funcs[0].output_table_prefix == "Table"
    # vis variable max_num_records feeds the function argument num_head; unset ones default.
    assert _args_of(funcs[0]) == {
        "start_time": "-10m",
        "source_filter": "",
        "destination_filter": "",
        "num_head": "50",
    }
    assert target.address == "127.0.0.1:50300"
    assert target.direct and not target.encrypt and target.token


def test_unknown_script_argument_lists_the_accepted_ones(local_stack: Path) -> None:
    code, _, err = _run(["run", "px/http_data", "--", "--max_rows", "5"], _Recorder())
    assert code == EXIT_USAGE
    assert "no argument --max_rows" in err and "--max_num_records" in err


def test_a_non_integer_for_an_int64_variable_is_rejected_before_sending() -> None:
    script = resolve_script("px/http_data", None, None)
    with pytest.raises(CliUsageError, match="--max_num_records takes an integer"):
        parse_script_args(script, ["--max_num_records", "lots"])


def test_script_argument_needs_a_value_and_may_not_repeat() -> None:
    script = resolve_script("px/http_data", None, None)
    with pytest.raises(CliUsageError, match="needs a value"):
        parse_script_args(script, ["--start_time"])
    with pytest.raises(CliUsageError, match="given twice"):
        parse_script_args(script, ["--start_time", "-1m", "--start_time=-2m"])


def test_boolean_variable_works_as_a_bare_flag(tmp_path: Path) -> None:
    (tmp_path / "s.pxl").write_text("import px\n")
    (tmp_path / "vis.json").write_text(
        json.dumps({"variables": [{"name": "verbose", "type": "PX_BOOLEAN"}, {"name": "x"}]})
    )
    script = resolve_script(None, str(tmp_path / "s.pxl"), None)
    assert parse_script_args(script, ["--verbose", "--x", "1"]) == {"verbose": "true", "x": "1"}
    assert parse_script_args(script, ["--verbose=no"]) == {"verbose": "false"}


def test_unknown_bundled_script_is_a_usage_error(local_stack: Path) -> None:
    code, _, err = _run(["run", "px/no_such_script"], _Recorder())
    assert code == EXIT_USAGE
    assert "no bundled script 'px/no_such_script'" in err


def test_script_name_and_file_exclude_each_other(tmp_path: Path, local_stack: Path) -> None:
    (tmp_path / "a.pxl").write_text("import px\npx.display(px.Version())\n")
    code, _, err = _run(["run", "px/http_data", "-f", str(tmp_path / "a.pxl")], _Recorder())
    assert code == EXIT_USAGE and "not both" in err


def test_file_without_vis_runs_with_no_exec_funcs(tmp_path: Path, local_stack: Path) -> None:
    (tmp_path / "a.pxl").write_text("import px\npx.display(px.Version())\n")
    recorder = _Recorder()
    code, _, _ = _run(["run", "-f", str(tmp_path / "a.pxl")], recorder)
    assert code == 0
    assert recorder.calls[0][1].startswith("import px") and recorder.calls[0][2] == []


def test_json_output_is_one_object_per_row_with_its_table_name(local_stack: Path) -> None:
    code, out, _ = _run(["run", "px/http_data", "-o", "json"], _Recorder())
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["_tableName"] for r in rows] == ["Table", "Table", "stats"]
    first = rows[0]
    assert first["time_"] == "2023-11-14T22:13:20.123456789Z"
    assert first["upid"] == "1:42:1000"
    assert first["service"] == "default/frontend"
    assert first["latency"] == 1_500_000 and first["ok"] is True and first["ratio"] == 0.25
    assert rows[2] == {"_tableName": "stats", "n": 7}


def test_csv_output_has_a_header_per_table_and_quotes_commas(local_stack: Path) -> None:
    code, out, _ = _run(["run", "px/http_data", "-o", "csv"], _Recorder())
    assert code == 0
    blocks = out.split("\n\n")
    table_rows = list(csv.reader(io.StringIO(blocks[0])))
    assert table_rows[0] == ["_tableName", "time_", "upid", "service", "latency", "ok", "ratio"]
    assert table_rows[2][3] == "default/orders, with comma"
    assert table_rows[2][4] == "850"
    assert list(csv.reader(io.StringIO(blocks[1]))) == [["_tableName", "n"], ["stats", "7"]]


def test_table_output_aligns_columns_and_formats_durations(local_stack: Path) -> None:
    code, out, _ = _run(["run", "px/http_data"], _Recorder())
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "Table (2 rows)"
    header = lines[1]
    assert header.split() == ["TIME_", "UPID", "SERVICE", "LATENCY", "OK", "RATIO"]
    row = lines[2]
    # Every column starts where its header starts.
    assert row.index("1:42:1000") == header.index("UPID")
    assert row.index("1.5ms") == header.index("LATENCY")
    assert "0.333333" in lines[3] and "850ns" in lines[3]
    assert "stats (1 row)" in out


def test_duration_formatting_picks_the_largest_unit() -> None:
    assert format_duration_ns(850) == "850ns"
    assert format_duration_ns(12_300) == "12.3µs"
    assert format_duration_ns(2_500_000_000) == "2.5s"


def test_compile_error_is_printed_with_a_caret_under_the_column(local_stack: Path) -> None:
    pxl = "import px\ndf = px.DataFrame(table='nope')\npx.display(df)\n"
    error = PxLError(
        3, "compile failed", [CompilerErrorDetail(2, 6, "Table 'nope' not found")], pxl
    )
    code, out, err = _run(["run", "px/http_data"], _Recorder(error=error))
    assert code == EXIT_SCRIPT_ERROR and out == ""
    lines = err.splitlines()
    assert "PxL, line 2, Table 'nope' not found" in err
    source_line = next(i for i, line in enumerate(lines) if "px.DataFrame" in line)
    caret = lines[source_line + 1]
    assert caret.index("^") == lines[source_line].index("px.DataFrame")


def test_unreachable_vizier_says_how_to_check_it(local_stack: Path) -> None:
    code, _, err = _run(
        ["run", "px/http_data"], _Recorder(error=ScriptError(14, "connection refused"))
    )
    assert code == EXIT_UNAVAILABLE
    assert "cannot reach the vizier at 127.0.0.1:50300" in err and "vizier status" in err


def test_script_error_message_is_shown(local_stack: Path) -> None:
    code, _, err = _run(["run", "px/http_data"], _Recorder(error=ScriptError(9, "no agents")))
    assert code == EXIT_SCRIPT_ERROR and "error: no agents" in err


def test_without_a_local_stack_px_says_how_to_start_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PL_STATE_DIR", str(tmp_path))
    code, _, err = _run(["run", "px/http_data"], _Recorder())
    assert code == EXIT_USAGE
    assert "vizier up" in err and "--direct" in err


def test_direct_with_token_needs_no_local_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PL_STATE_DIR", str(tmp_path))
    recorder = _Recorder()
    code, _, _ = _run(
        ["run", "px/http_data", "--direct", "10.0.0.5:50300", "--token", "t0k", "-e"], recorder
    )
    assert code == 0
    target = recorder.calls[0][0]
    assert (target.address, target.token, target.encrypt) == ("10.0.0.5:50300", "t0k", True)


def test_cloud_mode_encrypts_by_default(local_stack: Path) -> None:
    recorder = _Recorder()
    argv = ["run", "px/http_data", "--cloud-addr", "cloud:443", "-c", "abc", "--api-key", "k"]
    assert _run(argv, recorder)[0] == 0
    target = recorder.calls[0][0]
    assert not target.direct and target.encrypt and target.api_key == "k"
    assert _run([*argv, "--no-e2e-encryption"], recorder)[0] == 0
    assert not recorder.calls[1][0].encrypt


def test_scripts_list_shows_bundled_scripts_with_descriptions() -> None:
    code, out, _ = _run(["scripts", "list"], _Recorder())
    assert code == 0
    listed = dict(line.split(None, 1) for line in out.splitlines())
    assert listed["px/http_data"] == "HTTP Data"
    assert "px/service_stats" in listed


def _hostile_result() -> ScriptResult:
    """Values an attacker chose by sending requests to a traced service."""
    table = pa.table(
        {
            "req_path": [
                "/\x1b]0;pwned\x07\x1b[2J\x1b[31mred",  # set title, clear screen, colour
                '=HYPERLINK("http://evil.test","click")',
                "/\u202etxt.exe",  # right-to-left override
                "-2+3",
                "@SUM(A1)",
            ],
            "n": pa.array([1, 2, 3, 4, 5], pa.int64()),
        }
    )
    return ScriptResult(
        query_id="q-h",
        tables={"http": table},
        relations={
            "http": Relation.of(Column("req_path", DataType.STRING), Column("n", DataType.INT64))
        },
    )


def test_table_output_escapes_terminal_control_and_bidi_characters(local_stack: Path) -> None:
    code, out, _ = _run(["run", "px/http_data"], _Recorder(_hostile_result()))
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "\\x1b]0;pwned\\x07" in out
    assert "/\\u202etxt.exe" in out


def test_csv_output_defuses_spreadsheet_formulas(local_stack: Path) -> None:
    code, out, _ = _run(["run", "px/http_data", "-o", "csv"], _Recorder(_hostile_result()))
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    paths = [row[1] for row in rows[1:]]
    assert paths[1] == '\'=HYPERLINK("http://evil.test","click")'
    assert paths[3] == "'-2+3" and paths[4] == "'@SUM(A1)"
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    # Numbers stay numbers.
    assert [row[2] for row in rows[1:]] == ["1", "2", "3", "4", "5"]


def test_json_output_keeps_values_exact_but_escapes_control_characters(local_stack: Path) -> None:
    code, out, _ = _run(["run", "px/http_data", "-o", "json"], _Recorder(_hostile_result()))
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out
    first = json.loads(out.splitlines()[0])
    assert first["req_path"].startswith("/\x1b]0;pwned\x07")
