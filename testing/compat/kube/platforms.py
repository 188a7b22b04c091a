"""Where the kube checks play the charts: podman on this host, or a kind cluster (GitHub CI).

Both give the checks the same surface: play the cloud and the vizier objects, the cloud's
endpoints as seen from the host (api over TLS, auth for the bootstrap), the vzconn address the
vizier dials, kill the PEM and wait until it is back, take everything down.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pyxie_cli.kube import Podman, pod_name, to_podman
from pyxie_cli.kube.values import PODMAN_CLOUD_VALUES, PODMAN_VIZIER_VALUES, cloud_endpoints
from pyxie_devstack.cloud import CloudEndpoints

Obj = dict[str, Any]


def _wait(what: str, timeout: float, probe: Any, every: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"{what}: not after {timeout:.0f}s")


class PodmanPlatform:
    """``podman kube play`` here: host network, ports 6xxxx (see pyxie_cli.kube.values)."""

    name = "podman"
    cloud_namespace = vizier_namespace = "pyxie"
    cloud_values: Obj = PODMAN_CLOUD_VALUES
    vizier_values: Obj = PODMAN_VIZIER_VALUES

    def __init__(self, state: Path) -> None:
        self.cloud = Podman(state / "cloud.yaml")
        self.vizier = Podman(state / "vizier.yaml")
        self.endpoints: CloudEndpoints = cloud_endpoints(PODMAN_CLOUD_VALUES)

    def vzconn_addr(self) -> str:
        return self.endpoints.vzconn

    def play_cloud(self, objects: list[Obj]) -> None:
        self.cloud.play(to_podman(objects, "cloud"))

    def play_vizier(self, objects: list[Obj]) -> None:
        self.vizier.play(to_podman(objects, "vizier"))

    def kill_pem(self) -> str:
        import os
        import signal

        ref = Podman.container_id(pod_name("vizier", "pyxie-pem"), "pem")
        before = int(Podman.inspect(ref, "{{.RestartCount}}") or 0)
        pid = int(Podman.inspect(ref, "{{.State.Pid}}"))
        os.kill(pid, signal.SIGKILL)  # as if the PEM crashed
        _wait(
            "PEM container restarted",
            120,
            lambda: (
                int(Podman.inspect(ref, "{{.RestartCount}}") or 0) > before
                and Podman.inspect(ref, "{{.State.Running}}") == "true"
            ),
        )
        new_pid = int(Podman.inspect(ref, "{{.State.Pid}}"))
        assert new_pid != pid, "the PEM kept its pid"
        return f"container restarted by podman (pid {pid} -> {new_pid})"

    def diagnostics(self) -> str:
        lines = []
        for name in ("cloud-connector", "pem", "metadata", "query-broker", "kelvin"):
            try:
                ref = Podman.container_id(pod_name("vizier", f"pyxie-{name}"), name)
                lines.append(f"--- {name} ---\n{Podman.logs(ref)}")
            except Exception as exc:
                lines.append(f"--- {name}: {exc}")
        return "\n".join(lines)

    def down(self) -> None:
        for play in (self.vizier, self.cloud):
            play.down()


class KindPlatform:
    """``kubectl apply`` to the current context (a kind cluster with the images loaded).

    The cloud's api and auth are reached through ``kubectl port-forward`` on the host ports the
    podman values use; the vizier dials vzconn by its Service name inside the cluster.
    """

    name = "kind"
    cloud_namespace = "pyxie-cloud"
    vizier_namespace = "pl"
    cloud_values: Obj = {"image": {"pullPolicy": "Never"}}
    vizier_values: Obj = {"image": {"pullPolicy": "Never"}}

    def __init__(self, state: Path) -> None:
        self.state = state
        self.forwards: list[subprocess.Popen[bytes]] = []
        self.endpoints = cloud_endpoints(PODMAN_CLOUD_VALUES)

    @staticmethod
    def kubectl(*argv: str, stdin: str | None = None, check: bool = True) -> str:
        proc = subprocess.run(
            ["kubectl", *argv], input=stdin, capture_output=True, text=True, check=False
        )
        if check and proc.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(argv[:3])}: {proc.stderr.strip()}")
        return proc.stdout

    def _apply(self, objects: list[Obj], namespace: str) -> None:
        order = {"Namespace": 0}
        objects = sorted(objects, key=lambda o: order.get(o["kind"], 1))
        self.kubectl(
            "apply",
            "-f",
            "-",
            stdin=json.dumps({"kind": "List", "apiVersion": "v1", "items": objects}),
        )
        for obj in objects:
            if obj["kind"] in ("Deployment", "DaemonSet", "StatefulSet"):
                kind = obj["kind"].lower()
                # Vizier services wait for the key the connector writes: roll out in any order.
                self.kubectl(
                    "-n",
                    namespace,
                    "rollout",
                    "status",
                    f"{kind}/{obj['metadata']['name']}",
                    "--timeout=300s",
                )

    def vzconn_addr(self) -> str:
        return f"pyxie-vzconn.{self.cloud_namespace}.svc:51600"

    def play_cloud(self, objects: list[Obj]) -> None:
        self._apply(objects, self.cloud_namespace)
        for service, local, remote in (("pyxie-api", 61200, 51200), ("pyxie-auth", 60100, 50100)):
            self.forwards.append(
                subprocess.Popen(
                    [
                        "kubectl",
                        "-n",
                        self.cloud_namespace,
                        "port-forward",
                        f"svc/{service}",
                        f"{local}:{remote}",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=sys.stderr,
                )
            )

    def play_vizier(self, objects: list[Obj]) -> None:
        self.kubectl(
            "apply",
            "-f",
            "-",
            stdin=json.dumps({"kind": "List", "apiVersion": "v1", "items": objects}),
        )

    def kill_pem(self) -> str:
        selector = "app.kubernetes.io/name=pyxie-pem"
        old = self.kubectl(
            "-n",
            self.vizier_namespace,
            "get",
            "pod",
            "-l",
            selector,
            "-o",
            "jsonpath={.items[0].metadata.name}",
        )
        self.kubectl("-n", self.vizier_namespace, "delete", "pod", old, "--wait=true")
        self.kubectl(
            "-n",
            self.vizier_namespace,
            "rollout",
            "status",
            "daemonset/pyxie-pem",
            "--timeout=180s",
        )
        new = self.kubectl(
            "-n",
            self.vizier_namespace,
            "get",
            "pod",
            "-l",
            selector,
            "-o",
            "jsonpath={.items[0].metadata.name}",
        )
        assert new and new != old, f"no new PEM pod ({old} -> {new})"
        return f"pod {old} deleted, the DaemonSet made {new}"

    def diagnostics(self) -> str:
        return self.kubectl("-n", self.vizier_namespace, "get", "pods", "-o", "wide", check=False)

    def down(self) -> None:
        for proc in self.forwards:
            proc.terminate()
        for namespace in (self.vizier_namespace, self.cloud_namespace):
            self.kubectl("delete", "namespace", namespace, "--ignore-not-found", check=False)
        self.kubectl(
            "delete",
            "clusterrole,clusterrolebinding",
            "-l",
            "app.kubernetes.io/part-of=pyxie-vizier",
            check=False,
        )
