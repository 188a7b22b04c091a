"""testing/compat/pxapi/run as a test: unmodified pxapi 0.9.0 through the cloud to a real
vizier tracing the demo shop's HTTP traffic (eBPF, hence root)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.root, pytest.mark.bpf]

_REPO = Path(__file__).resolve().parents[2]


def test_pxapi_passes_every_check_through_the_cloud() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: the vizier traces the demo traffic with eBPF")
    try:
        import bcc  # noqa: F401
    except ImportError:
        pytest.skip("bcc is not importable: run `make setup-bpf` (as root) first")
    state = Path(tempfile.mkdtemp(prefix="pyxie-e2e-pxapi-"))
    os.chmod(state, 0o711)
    try:
        run = subprocess.run(
            [
                sys.executable,
                str(_REPO / "testing" / "compat" / "pxapi" / "run"),
                "--state-dir",
                str(state),
                # Its own namespaces, so a `make demo` on the same machine is left alone.
                "--net-tag",
                "pxcompat",
            ],
            cwd=_REPO,
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
        )
    finally:
        # The run stops what it started; if it was killed (timeout), stop it here, before the
        # state dir (and with it the pid files) goes away.
        env = os.environ | {"PL_STATE_DIR": str(state)}
        for stack in ("vizier", "cloud"):
            subprocess.run(
                [sys.executable, "-m", "pyxie_devstack", stack, "down"],
                env=env,
                capture_output=True,
                timeout=120,
                check=False,
            )
        shutil.rmtree(state, ignore_errors=True)
    lines = run.stdout.strip().splitlines()
    output = run.stdout[-4000:] + run.stderr[-4000:]
    assert lines and lines[-1].startswith("pxapi checks: "), output
    total = lines[-1].split()[2].split("/")[1]
    assert lines[-1] == f"pxapi checks: {total}/{total} passed", output
    assert run.returncode == 0
