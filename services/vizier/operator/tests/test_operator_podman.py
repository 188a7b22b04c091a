"""The reconciler core on the podman backend, with real containers (root, podman + runc).

A one-component "release" (the local NATS image, pinned by its digest) is deployed by the
reconciler; its container is killed; the reconciler reports the crash with its exit code and
restarts it only once the backoff has passed (the clock is the test's).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyxie_operator.backends.podman import PodmanBackend, podman
from pyxie_operator.controllers.reconciler import Reconciler, Timing
from pyxie_operator.controllers.resource import VizierSpec
from pyxie_operator.testing import FakeReleases
from pyxie_release.verify import VerifiedRelease

pytestmark = [pytest.mark.root, pytest.mark.slow]

IMAGE = "localhost/pyxie-nats:0.1.0"


def _image_digest() -> str:
    if shutil.which("podman") is None or os.geteuid() != 0:
        pytest.skip("needs root and podman (tools/setup_deploy.sh)")
    proc = subprocess.run(
        ["podman", "image", "inspect", "--format", "{{.Digest}}", IMAGE],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        pytest.skip(f"{IMAGE} is missing (make images)")
    return proc.stdout.strip()


def one_nats(chart: str, values: dict[str, Any], namespace: str) -> list[dict[str, Any]]:
    """Stands in for the chart: one Deployment whose image the reconciler pins by digest."""
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "pyxie-nats", "namespace": namespace},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "nats"}},
                "template": {
                    "metadata": {"labels": {"app": "nats"}},
                    "spec": {
                        "hostNetwork": True,
                        "containers": [
                            {
                                "name": "nats",
                                "image": IMAGE,
                                "args": ["-a", "127.0.0.1", "-p", "-1"],
                            }
                        ],
                    },
                },
            },
        }
    ]


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[PodmanBackend]:
    digest = _image_digest()
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "key").write_text("px-dep-" + "0" * 32)
    plane = f"optest{os.getpid()}"
    backend = PodmanBackend(tmp_path, plane=plane)
    backend.release = VerifiedRelease(  # type: ignore[attr-defined]
        version="0.1.0", images={"nats": f"localhost/pyxie-nats@{digest}"}, chart_digest=""
    )
    try:
        yield backend
    finally:
        if backend.deployed():
            backend.down()


def test_a_crashed_container_is_reported_then_restarted_after_its_backoff(
    backend: PodmanBackend,
) -> None:
    spec = VizierSpec(version="0.1.0", cloud_addr="127.0.0.1:1", deploy_key_secret="key")
    now = [0.0]
    core = Reconciler(
        backend,
        FakeReleases({"0.1.0": backend.release}),  # type: ignore[attr-defined]
        one_nats,
        namespace="pyxie",
        target="podman:test",
        timing=Timing(backoff_initial_seconds=10),
        clock=lambda: now[0],
    )
    status = core.tick(spec)
    assert status.version == "0.1.0" and backend.deployed()
    name = f"pyxie-{backend.plane}-nats-pod-0-nats"
    image = podman("container", "inspect", "--format", "{{.ImageName}}", name).strip()
    assert image == backend.release.images["nats"]  # type: ignore[attr-defined]
    status = core.tick(spec)
    assert status.components == {"nats": "running"}
    # The cloud address is closed: reported, and nothing else is wrong.
    assert status.reason == "CloudUnreachable" and "127.0.0.1:1" in status.message

    pid = int(podman("container", "inspect", "--format", "{{.State.Pid}}", name).strip())
    os.kill(pid, signal.SIGKILL)
    podman("wait", name)
    status = core.tick(spec)
    assert status.phase == "Degraded" and status.reason == "CrashLoop"
    assert "nats crashed" in status.message and "exit 137" in status.message
    assert "backoff 10s" in status.message
    now[0] = 5.0  # inside the backoff: not restarted yet
    core.tick(spec)
    assert podman("container", "inspect", "--format", "{{.State.Running}}", name).strip() == "false"
    now[0] = 11.0
    status = core.tick(spec)
    assert status.components["nats"] == "restarted"
    assert podman("container", "inspect", "--format", "{{.State.Running}}", name).strip() == "true"
    assert any("restarted nats after crash 1" in r for r in status.repairs)
    # A second crash soon after doubles the backoff.
    pid = int(podman("container", "inspect", "--format", "{{.State.Pid}}", name).strip())
    os.kill(pid, signal.SIGKILL)
    podman("wait", name)
    status = core.tick(spec)
    assert "crash 2, backoff 20s" in status.message
    assert (backend.state / "vizier.status.json").exists()
