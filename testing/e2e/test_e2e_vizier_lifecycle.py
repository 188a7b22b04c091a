"""The standalone vizier's process lifecycle, without root: one node (the host), no eBPF.

`up` twice keeps the same processes, px queries the /proc tables through the broker, `status`
reports every group, and `down` leaves nothing running.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyxie_cli import main
from pyxie_devstack import DevstackSettings
from pyxie_devstack._process import pid_alive
from pyxie_devstack.vizier import VizierOptions, VizierStack

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def host_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VizierStack]:
    state = tmp_path_factory.mktemp("vizier-host")
    os.chmod(state, 0o711)
    options = VizierOptions(
        nodes=1,
        use_netns=False,
        ebpf=False,
        demo_app=False,
        broker_port=0,
        metadata_port=0,
        kelvin_port=0,
    )
    stack = VizierStack(DevstackSettings(state_dir=state), options, say=lambda _line: None)
    try:
        stack.up()
        yield stack
    finally:
        stack.down()


def _pids(stack: VizierStack) -> dict[str, int | None]:
    return {
        f"{group.name}/{name}": pid
        for group in stack.status()
        for name, pid in group.processes.items()
    }


def test_up_again_keeps_the_running_processes(host_stack: VizierStack) -> None:
    before = _pids(host_stack)
    assert set(before) == {
        "infra/nats",
        "vizier/metadata",
        "vizier/query-broker",
        "vizier/kelvin",
        f"pem-{host_stack.nodes()[0].name}/pem-{host_stack.nodes()[0].name}",
    }
    assert all(before.values())
    host_stack.up()
    assert _pids(host_stack) == before


def test_px_queries_the_proc_tables_through_the_broker(
    host_stack: VizierStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PL_STATE_DIR", str(host_stack.settings.state_dir))
    script = tmp_path / "procs.pxl"
    script.write_text(
        "import px\n"
        "df = px.DataFrame(table='process_stats', start_time='-5m')\n"
        "df = df.groupby('upid').agg(samples=('rss_bytes', px.count))\n"
        "px.display(df, 'procs')\n"
    )
    rows: list[dict[str, object]] = []
    deadline = time.monotonic() + 60  # collectors push every few seconds after registering
    while not rows and time.monotonic() < deadline:
        out, err = io.StringIO(), io.StringIO()
        code = main(["run", "-f", str(script), "-o", "json"], stdout=out, stderr=err)
        if code != 0 and "available tables: \n" in err.getvalue():
            # No collector has registered its schema with metadata yet: try again.
            time.sleep(1.0)
            continue
        assert code == 0, err.getvalue()
        rows = [json.loads(line) for line in out.getvalue().splitlines()]
        time.sleep(1.0)
    assert rows and all(row["_tableName"] == "procs" and row["samples"] > 0 for row in rows)


def test_status_command_reports_every_group_running(host_stack: VizierStack) -> None:
    env = {**os.environ, "PL_STATE_DIR": str(host_stack.settings.state_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "pyxie_devstack", "vizier", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "infra" in result.stdout and "vizier" in result.stdout and "stopped" not in result.stdout


def test_down_leaves_nothing_running(tmp_path_factory: pytest.TempPathFactory) -> None:
    state = tmp_path_factory.mktemp("vizier-down")
    os.chmod(state, 0o711)
    options = VizierOptions(
        nodes=1,
        use_netns=False,
        ebpf=False,
        demo_app=False,
        broker_port=0,
        metadata_port=0,
        kelvin_port=0,
    )
    stack = VizierStack(DevstackSettings(state_dir=state), options, say=lambda _line: None)
    try:
        stack.up()
        pids = [pid for pid in _pids(stack).values() if pid is not None]
    finally:
        stopped = stack.down()
    assert {"infra", "vizier"} <= set(stopped)
    assert [pid for pid in pids if pid_alive(pid)] == []
    assert not (state / "vizier" / "endpoints.json").exists()
    assert stack.down() == []  # a second down finds nothing to stop
