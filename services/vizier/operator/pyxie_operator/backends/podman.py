"""The podman backend: the vizier chart played by ``podman kube play`` on this host.

The resource is a file (``<state>/vizier.yaml``, the same ``Vizier`` document as in Kubernetes)
and its status another (``<state>/vizier.status.json``); secrets are files under
``<state>/secrets`` (mode 0600). Workloads are converted with ``pyxie_cli.kube.to_podman``
(as ``px deploy --podman``), then:

- every pod gets ``restartPolicy: Never``: the operator restarts a crashed container itself,
  with the kubelet's doubling backoff, so that a crash loop is seen and reported;
- ConfigMaps and volume claims are prefixed with the plane name, so two deployments on one
  host (or a vizier and another helper's checks) never share a volume.

A release's images are pulled by digest before anything running is touched.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any, Final

import yaml
from pyxie_cli.kube import Podman, pod_name, to_podman
from pyxie_cli.kube._podman import containers_conf

from pyxie_operator.backends._net import etcd_health_at, tcp_reachable
from pyxie_operator.controllers.backend import ComponentState, EtcdHealth
from pyxie_operator.controllers.resource import VizierSpec, VizierStatus

__all__ = ["PodmanBackend"]

Obj = dict[str, Any]
_STATUS_FILE: Final = "operator_status.json"
# Written by the cloud connector on the identity volume: the cloud's latest update offer.
_OFFER_FILE: Final = "operator_offer.json"
# How long a repaired etcd may take to elect itself leader again.
_ETCD_REPAIR_SECONDS: Final = 60.0


class PodmanError(RuntimeError):
    pass


def podman(*argv: str, check: bool = True) -> str:
    env = os.environ | {"CONTAINERS_CONF": str(containers_conf())}
    proc = subprocess.run(["podman", *argv], env=env, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise PodmanError(f"podman {' '.join(argv[:2])}: {proc.stderr.strip()[-500:]}")
    return proc.stdout


class PodmanBackend:
    name = "podman"

    def __init__(
        self,
        state_dir: Path,
        *,
        plane: str = "vizier",
        values: Obj | None = None,
        tls_verify: bool = True,
    ) -> None:
        self.state = state_dir
        self.plane = plane
        self._values = copy.deepcopy(values or {})
        self._tls_verify = tls_verify
        self.play = Podman(state_dir / "vizier-play.yaml")

    # -- resource ---------------------------------------------------------------------------

    @property
    def resource_file(self) -> Path:
        return self.state / "vizier.yaml"

    @property
    def status_file(self) -> Path:
        return self.state / "vizier.status.json"

    def read_resource(self) -> Obj:
        return dict(yaml.safe_load(self.resource_file.read_text()))

    def deploy_key(self, spec: VizierSpec) -> str:
        return (self.state / "secrets" / spec.deploy_key_secret).read_text().strip()

    def base_values(self) -> Obj:
        return copy.deepcopy(self._values)

    def read_offer(self) -> str:
        mount = self._volume_mountpoint(self._prefixed("pyxie-vizier-identity"))
        if mount is None:
            return ""
        try:
            offer = json.loads((mount / _OFFER_FILE).read_text())
        except (OSError, ValueError):
            return ""
        version = offer.get("version") if isinstance(offer, dict) else None
        return version if isinstance(version, str) else ""

    def read_status(self) -> VizierStatus:
        try:
            return VizierStatus.from_dict(json.loads(self.status_file.read_text()))
        except (OSError, ValueError):
            return VizierStatus()

    def write_status(self, status: VizierStatus) -> None:
        text = json.dumps(status.to_dict(), indent=2)
        tmp = self.status_file.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(self.status_file)
        # For the cloud: the connector reads it from the identity volume it mounts.
        mount = self._volume_mountpoint(self._prefixed("pyxie-vizier-identity"))
        if mount is not None:
            target = mount / _STATUS_FILE
            tmp = mount / (_STATUS_FILE + ".tmp")
            tmp.write_text(text)
            os.chmod(tmp, 0o644)
            tmp.replace(target)

    # -- deploy -----------------------------------------------------------------------------

    def _prefixed(self, name: str) -> str:
        return f"{self.plane}-{name}"

    def convert(self, objects: list[Obj]) -> list[Obj]:
        """``objects`` as podman plays them for this plane (see the module docstring)."""
        converted = to_podman(objects, self.plane)
        for obj in converted:
            kind = obj["kind"]
            if kind in ("ConfigMap", "PersistentVolumeClaim"):
                obj["metadata"]["name"] = self._prefixed(obj["metadata"]["name"])
            if kind not in ("Deployment", "Pod"):
                continue
            pod = obj["spec"]["template"]["spec"] if kind == "Deployment" else obj["spec"]
            pod["restartPolicy"] = "Never"
            for volume in pod.get("volumes", []):
                if "configMap" in volume:
                    volume["configMap"]["name"] = self._prefixed(volume["configMap"]["name"])
                if "persistentVolumeClaim" in volume:
                    claim = volume["persistentVolumeClaim"]
                    claim["claimName"] = self._prefixed(claim["claimName"])
            for container in pod.get("containers", []) + pod.get("initContainers", []):
                for env in container.get("env", []):
                    ref = env.get("valueFrom", {}).get("configMapKeyRef")
                    if ref is not None:
                        ref["name"] = self._prefixed(ref["name"])
        return converted

    def prepare(self, objects: list[Obj]) -> None:
        images = sorted(
            {
                container["image"]
                for obj in self.convert(objects)
                if obj["kind"] == "Deployment"
                for container in obj["spec"]["template"]["spec"]["containers"]
            }
        )
        for image in images:
            if self._exists(image):
                continue
            podman("pull", "--quiet", f"--tls-verify={str(self._tls_verify).lower()}", image)

    @staticmethod
    def _exists(image: str) -> bool:
        env = os.environ | {"CONTAINERS_CONF": str(containers_conf())}
        return (
            subprocess.run(
                ["podman", "image", "exists", image], env=env, capture_output=True, check=False
            ).returncode
            == 0
        )

    def apply(self, objects: list[Obj]) -> None:
        self.state.mkdir(parents=True, exist_ok=True)
        if self.play.manifest.exists():
            self.play.down(volumes=False)  # identity and etcd data outlive a release
        self.play.play(self.convert(objects))

    def deployed(self) -> bool:
        return self.play.manifest.exists()

    def down(self) -> None:
        """Remove the vizier and its volumes (``pyxie_operator down``)."""
        self.play.down(volumes=True)

    # -- observe ----------------------------------------------------------------------------

    def _pods(self) -> list[str]:
        record = self.play.manifest.with_name(self.play.manifest.name + ".volumes")
        try:
            return list(json.loads(record.read_text())["pods"])
        except (OSError, ValueError, KeyError):
            return []

    def _component(self, pod: str) -> str:
        return pod.removeprefix(f"pyxie-{self.plane}-").removesuffix("-pod-0")

    def _container(self, component: str) -> str:
        pod = pod_name(self.plane, f"pyxie-{component}")
        return f"{pod}-{component}"

    def observe(self) -> list[ComponentState]:
        states = []
        for pod in self._pods():
            component = self._component(pod)
            name = self._container(component)
            raw = podman("container", "inspect", name, check=False)
            try:
                info = json.loads(raw)[0]
            except (ValueError, IndexError):
                states.append(ComponentState(component, False, reason="container missing"))
                continue
            state = info["State"]
            running = bool(state.get("Running"))
            exit_code = None if running else int(state.get("ExitCode", 0))
            reason = ""
            if not running:
                reason = "OOMKilled" if state.get("OOMKilled") else (state.get("Error") or "Error")
            last_log = ""
            if not running:
                tail = podman("logs", "--tail", "3", name, check=False).strip().splitlines()
                last_log = tail[-1][:300] if tail else ""
            states.append(
                ComponentState(
                    component,
                    running,
                    restarts=int(info.get("RestartCount", 0)),
                    exit_code=exit_code,
                    reason=reason,
                    last_log=last_log,
                )
            )
        return states

    def restart(self, component: str) -> None:
        podman("start", self._container(component))

    # -- etcd -------------------------------------------------------------------------------

    def _etcd_port(self) -> int:
        return int(self._values.get("etcd", {}).get("port", 2379))

    def etcd_health(self) -> EtcdHealth | None:
        if "etcd" not in map(self._component, self._pods()):
            return None
        running = podman(
            "container",
            "inspect",
            "--format",
            "{{.State.Running}}",
            self._container("etcd"),
            check=False,
        ).strip()
        if running != "true":
            return None  # a crashed etcd is restarted like any crashed component
        return etcd_health_at(f"http://127.0.0.1:{self._etcd_port()}")

    def repair_etcd(self) -> str:
        """Restart etcd once with ``--force-new-cluster``: it keeps its data and forgets the
        members that are gone, so it is a one-member cluster with a quorum again."""
        name = self._container("etcd")
        info = json.loads(podman("container", "inspect", name))[0]
        image = info["ImageName"] if "@" in info.get("ImageName", "") else info["Image"]
        args = [a for a in info["Config"]["Cmd"] or [] if a != "--force-new-cluster"]
        mounts = [
            f"{m['Name']}:{m['Destination']}" for m in info["Mounts"] if m.get("Type") == "volume"
        ]
        podman("stop", "-t", "10", name)
        repair = f"{name}-repair"
        podman("rm", "-f", repair, check=False)
        argv = ["run", "-d", "--name", repair, "--network", "host", "--user", "10001:10001"]
        for mount in mounts:
            argv += ["-v", mount]
        podman(*argv, image, *args, "--force-new-cluster")
        url = f"http://127.0.0.1:{self._etcd_port()}"
        try:
            deadline = time.monotonic() + _ETCD_REPAIR_SECONDS
            while not etcd_health_at(url).healthy:
                if time.monotonic() > deadline:
                    raise PodmanError("etcd did not elect a leader after --force-new-cluster")
                time.sleep(1)
        finally:
            podman("rm", "-f", "-t", "10", repair, check=False)
        podman("start", name)
        return "restarted it once with --force-new-cluster from its own data (one member again)"

    # -- surroundings -----------------------------------------------------------------------

    def cloud_reachable(self, spec: VizierSpec) -> str:
        return tcp_reachable(spec.cloud_addr)

    def other_viziers(self) -> list[str]:
        ours = set(self._pods())
        names = podman("pod", "ps", "--format", "{{.Name}}", check=False).split()
        return sorted(n for n in names if n.endswith("-cloud-connector-pod-0") and n not in ours)

    def _volume_mountpoint(self, volume: str) -> Path | None:
        out = podman("volume", "inspect", "--format", "{{.Mountpoint}}", volume, check=False)
        return Path(out.strip()) if out.strip() else None
