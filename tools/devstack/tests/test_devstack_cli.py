"""``python -m pyxie_devstack`` end to end, as a developer runs it."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from pyxie_devstack._process import pid_alive, read_pid_file

pytestmark = pytest.mark.slow


@pytest.fixture
def env():
    state = Path(tempfile.mkdtemp(prefix="pyxie-cli-test-"))
    os.chmod(state, 0o711)
    yield {**os.environ, "PL_STATE_DIR": str(state)}
    subprocess.run(["rm", "-rf", str(state)], check=False)


def _cli(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "pyxie_devstack", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_infra_only_demo_proves_each_component_and_exits_zero(env):
    result = _cli(env, "demo", "--infra-only")
    assert result.returncode == 0, result.stdout + result.stderr
    for line in ("✔ NATS", "✔ PostgreSQL", "✔ etcd", "Still to come", "nothing left running"):
        assert line in result.stdout
    assert "✘" not in result.stdout


def test_up_status_down(env):
    state = Path(env["PL_STATE_DIR"])
    up = subprocess.Popen(
        [sys.executable, "-m", "pyxie_devstack", "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert up.stdout is not None
        lines = []
        for line in up.stdout:
            lines.append(line)
            if line.startswith("running"):
                break
        output = "".join(lines)
        assert "nats://127.0.0.1:" in output and "postgresql://postgres:" in output, output
        pids = {
            name: read_pid_file(state / name / f"{name}.pid")
            for name in ("nats", "etcd", "postgres")
        }
        assert all(pids.values()), pids

        status = _cli(env, "status")
        assert status.returncode == 0, status.stdout + status.stderr
        assert "'status': 'ok'" in status.stdout and "'health': 'true'" in status.stdout

        down = _cli(env, "down")
        assert down.returncode == 0, down.stdout + down.stderr
        assert up.wait(timeout=120) == 0
        assert [name for name, pid in pids.items() if pid_alive(pid)] == []
        assert _cli(env, "status").returncode == 3
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
        up.stdout.close()
