"""px version, script list|show, config, debug logs|pods, collect-logs, completion, update,
get pems: what they print and the next step their errors name."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from collections.abc import Sequence
from pathlib import Path

import pytest
from pyxie_cli import main
from pyxie_cli._ops import run as run_ops
from pyxie_cli.main import _parser


def _px(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PL_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


def test_version_and_scripts() -> None:
    code, out, _ = _px("version")
    assert code == 0 and out.startswith("px 0.1.0 (Python 3.")
    code, out, _ = _px("script", "list", "-o", "json")
    names = [json.loads(line)["name"] for line in out.splitlines()]
    assert code == 0 and "px/http_data" in names
    code, out, _ = _px("script", "show", "px/http_data")
    assert code == 0 and "import px" in out
    code, out, _ = _px("script", "show", "px/http_data", "--vis")
    assert json.loads(out)["widgets"]
    code, _, err = _px("script", "show", "px/nope")
    assert code == 2 and "`px script list` shows them" in err
    code, _, err = _px("script", "show", "px/funcs", "--vis")
    assert code == 1 and "no vis spec" in err


def test_update_says_where_it_lives_and_what_to_do_now() -> None:
    code, _, err = _px("update", "vizier")
    assert code == 1 and "issue 12" in err and "px deploy" in err


def test_config_names_what_is_missing(state: Path) -> None:
    code, out, _ = _px("config")
    assert code == 0 and str(state) in out
    assert "log in with `px auth login`" in out and "`px demo deploy` starts one" in out


def test_debug_logs_tails_every_service_log(state: Path) -> None:
    logs = state / "vizier" / "logs"
    logs.mkdir(parents=True)
    (logs / "query_broker.log").write_text("".join(f"line {i}\n" for i in range(100)))
    (logs / "metadata.log").write_text("metadata started\n")
    code, out, _ = _px("debug", "logs", "query_broker", "-n", "3")
    assert code == 0 and "== vizier/logs/query_broker.log" in out
    assert out.splitlines()[1:] == ["line 97", "line 98", "line 99"]
    code, out, _ = _px("debug", "logs")
    assert "metadata started" in out and "line 99" in out
    code, _, err = _px("debug", "logs", "kelvin")
    assert code == 1 and "px demo deploy" in err


def test_collect_logs_writes_logs_and_status(state: Path, tmp_path: Path) -> None:
    logs = state / "cloud" / "logs"
    logs.mkdir(parents=True)
    (logs / "api.log").write_text("api listening\n")
    calls: list[list[str]] = []

    def runner(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        calls.append(list(argv))
        return subprocess.CompletedProcess(argv, 3, stdout=f"status of {argv[-2]}\n", stderr="")

    target = tmp_path / "bundle.tar.gz"
    parser = _parser()
    args = parser.parse_args(["collect-logs", "-o", str(target)])
    out, err = io.StringIO(), io.StringIO()
    assert run_ops(args, parser, out, err, runner) == 0
    with tarfile.open(target) as archive:
        names = set(archive.getnames())
        status = archive.extractfile("status/vizier.txt")
        assert status is not None and status.read() == b"status of vizier\n"
    assert {"logs/cloud/logs/api.log", "status/cloud.txt", "summary.json"} <= names
    assert [argv[-2:] for argv in calls] == [["vizier", "status"], ["cloud", "status"]]


def test_completion_covers_every_command() -> None:
    code, out, _ = _px("completion", "bash")
    assert code == 0 and "complete -F _px_complete px" in out
    top = next(line for line in out.splitlines() if line.strip().startswith('"")'))
    words = top.split('words="')[1].split('"')[0].split()
    for command in ("run", "live", "get", "debug", "collect-logs", "demo", "script", "version"):
        assert command in words
    assert '"get") words="' in out and "pems" in out.split('"get") words="')[1].split('"')[0]
    assert _px("completion", "zsh")[1].startswith("autoload -U +X bashcompinit")


def test_completion_script_runs_in_bash() -> None:
    script = _px("completion", "bash")[1]
    probe = script + '\nCOMP_WORDS=(px get p); COMP_CWORD=2; _px_complete; echo "${COMPREPLY[@]}"\n'
    done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["pems"]


def test_help_text_shows_examples(capsys: pytest.CaptureFixture[str]) -> None:
    commands = (
        ["run"],
        ["live"],
        ["get", "pems"],
        ["get", "cluster"],
        ["script"],
        ["debug"],
        ["collect-logs"],
        ["demo"],
        ["completion"],
        ["version"],
        ["update"],
    )
    for argv in commands:
        with pytest.raises(SystemExit):
            main([*argv, "--help"])
        assert "examples:" in capsys.readouterr().out, argv


def test_get_pems_runs_the_agent_status_script() -> None:
    import pyarrow as pa
    from pyxie_client import ScriptResult

    seen: list[str] = []

    async def execute(target: object, pxl: str, funcs: object) -> ScriptResult:
        seen.append(pxl)
        table = pa.table({"agent_id": ["pem-1", "kelvin"], "agent_state": ["HEALTHY", "HEALTHY"]})
        return ScriptResult(tables={"agents": table})

    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["get", "pems", "--direct", "127.0.0.1:1", "--token", "t"],
        stdout=out,
        stderr=err,
        execute=execute,  # type: ignore[arg-type]
    )
    from pyxie_scripts import load_script

    assert code == 0 and seen == [load_script("px/agent_status").pxl]
    assert "pem-1" in out.getvalue() and "kelvin" in out.getvalue()
