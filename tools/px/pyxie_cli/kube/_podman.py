"""Play rendered Kubernetes objects with ``podman kube play`` (podman 4.3) on one host.

What podman 4.3 does with each kind, and what ``to_podman`` does about it:

- Deployment, Pod, PersistentVolumeClaim (a named volume), ConfigMap, Secret: played as is.
- DaemonSet: podman 4.3 refuses it (``kube play`` learnt DaemonSets in 4.5); on one host a
  DaemonSet is one pod, so it becomes a Deployment with one replica.
- StatefulSet: refused as well; becomes a one-replica Deployment whose volumeClaimTemplates
  become PersistentVolumeClaims named ``<template>-<statefulset>-0`` (Kubernetes' names).
- Namespace, Service, NetworkPolicy, ServiceAccount and RBAC objects: no meaning without a
  cluster, dropped. The charts render with ``network.hostNetwork=true`` for podman, so pods
  reach each other on 127.0.0.1 and no Service is needed.
- ``readinessProbe.grpc`` (unknown to podman 4.3's parser) becomes a TCP probe.
- Secret: podman 4.3 stores it as a podman secret but then fails to read it for ``secretKeyRef``
  ("secret ... is not valid JSON"); it becomes a ConfigMap (which podman keeps only in the
  played file, written 0600) and the references follow.
- ConfigMap volumes: podman 4.3 copies them into named volumes and keeps those after
  ``kube down``; ``Podman`` removes them before playing and when taking down.
- ``containerPort`` on the host network: podman 4.3 reads it as a port mapping and refuses
  it ("PortMappings can only be used with Bridge"); dropped (informational there anyway).
"""

from __future__ import annotations

import base64
import copy
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

from pyxie_cli.kube._render import KubeError, repo_root

__all__ = ["PODMAN_DROPPED_KINDS", "Podman", "PodmanError", "pod_name", "to_podman"]

Obj = dict[str, Any]

PODMAN_DROPPED_KINDS = frozenset(
    {
        "Namespace",
        "Service",
        "NetworkPolicy",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "PodDisruptionBudget",
    }
)


class PodmanError(KubeError):
    """podman failed or is missing."""


def _as_deployment(obj: Obj) -> Obj:
    spec = obj["spec"]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": copy.deepcopy(obj["metadata"]),
        "spec": {
            "replicas": 1,
            "selector": copy.deepcopy(spec["selector"]),
            "template": copy.deepcopy(spec["template"]),
        },
    }


def _fix_pod(pod_spec: Obj) -> None:
    for container in pod_spec.get("containers", []):
        if pod_spec.get("hostNetwork"):
            # podman 4.3 takes containerPort as a port mapping, refused on the host network.
            container.pop("ports", None)
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            spec = container.get(probe)
            if spec and "grpc" in spec:
                spec["tcpSocket"] = {"port": spec.pop("grpc")["port"]}


def _secret_refs_to_config_maps(pod_spec: Obj) -> None:
    for container in pod_spec.get("containers", []) + pod_spec.get("initContainers", []):
        for env in container.get("env", []):
            ref = env.get("valueFrom", {}).pop("secretKeyRef", None)
            if ref is not None:
                env["valueFrom"]["configMapKeyRef"] = ref
    for volume in pod_spec.get("volumes", []):
        secret = volume.pop("secret", None)
        if secret is not None:
            volume["configMap"] = {"name": secret["secretName"]}


def _secret_as_config_map(obj: Obj) -> Obj:
    data = {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}
    data |= {k: str(v) for k, v in (obj.get("stringData") or {}).items()}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": obj["metadata"]["name"],
            "namespace": obj["metadata"].get("namespace"),
        },
        "data": data,
    }


def pod_name(plane: str, workload: str) -> str:
    """The podman pod of a workload: the cloud's ``pyxie-nats`` -> ``pyxie-cloud-nats-pod-0``."""
    return f"{_renamed(plane, workload)}-pod-0"


def _renamed(plane: str, name: str) -> str:
    return name.replace("pyxie-", f"pyxie-{plane}-", 1) if plane else name


def to_podman(objects: list[Obj], plane: str = "") -> list[Obj]:
    """What podman 4.3 can play of ``objects`` (see the module docstring).

    Podman has one flat namespace for pods: with ``plane``, workloads are renamed
    ``pyxie-<plane>-<name>`` so the cloud's and the vizier's NATS can run side by side.
    """
    converted: list[Obj] = []
    for obj in objects:
        kind = obj.get("kind")
        if kind in PODMAN_DROPPED_KINDS:
            continue
        if kind == "DaemonSet":
            obj = _as_deployment(obj)
        elif kind == "StatefulSet":
            name = obj["metadata"]["name"]
            deployment = _as_deployment(obj)
            pod_spec = deployment["spec"]["template"]["spec"]
            for template in obj["spec"].get("volumeClaimTemplates", []):
                claim = f"{template['metadata']['name']}-{name}-0"
                converted.append(
                    {
                        "apiVersion": "v1",
                        "kind": "PersistentVolumeClaim",
                        "metadata": {
                            "name": claim,
                            "namespace": obj["metadata"].get("namespace"),
                        },
                        "spec": copy.deepcopy(template["spec"]),
                    }
                )
                pod_spec.setdefault("volumes", []).append(
                    {
                        "name": template["metadata"]["name"],
                        "persistentVolumeClaim": {"claimName": claim},
                    }
                )
            obj = deployment
        elif kind == "Secret":
            obj = _secret_as_config_map(obj)
        else:
            obj = copy.deepcopy(obj)
        if obj.get("kind") in ("Deployment", "Pod"):
            obj["metadata"]["name"] = _renamed(plane, obj["metadata"]["name"])
            pod_spec = (
                obj["spec"]["template"]["spec"] if obj["kind"] == "Deployment" else obj["spec"]
            )
            _fix_pod(pod_spec)
            _secret_refs_to_config_maps(pod_spec)
        converted.append(obj)
    # Configuration first: podman resolves Secrets/ConfigMaps/volumes while it creates pods.
    order = {"Secret": 0, "ConfigMap": 0, "PersistentVolumeClaim": 1}
    converted.sort(key=lambda o: order.get(str(o.get("kind")), 2))
    return converted


def containers_conf() -> Path:
    return repo_root() / "deploy" / "images" / "containers.conf"


class Podman:
    """``podman kube play`` / ``kube down`` of one YAML file (kept to take it down again)."""

    def __init__(self, manifest: Path) -> None:
        self.manifest = manifest

    @staticmethod
    def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = os.environ | {"CONTAINERS_CONF": str(containers_conf())}
        try:
            proc = subprocess.run(
                ["podman", *argv], env=env, capture_output=True, text=True, check=False
            )
        except FileNotFoundError:
            raise PodmanError("podman is not installed (tools/setup_deploy.sh)") from None
        if check and proc.returncode != 0:
            raise PodmanError(f"podman {' '.join(argv[:2])} failed: {proc.stderr.strip()}")
        return proc

    @property
    def _volumes_file(self) -> Path:
        return self.manifest.with_name(self.manifest.name + ".volumes")

    def play(self, objects: list[Obj]) -> str:
        """Play ``objects``; a PVC whose volume exists already is reused (podman 4.3 would
        refuse to play it again: "volume already exists")."""
        self.manifest.parent.mkdir(parents=True, exist_ok=True)
        claims = [o["metadata"]["name"] for o in objects if o["kind"] == "PersistentVolumeClaim"]
        pods = [
            o["metadata"]["name"] + ("-pod-0" if o["kind"] == "Deployment" else "")
            for o in objects
            if o["kind"] in ("Deployment", "Pod")
        ]
        # podman 4.3 copies a ConfigMap mounted as a volume into a named volume of the same name
        # and leaves it behind on `kube down`: such volumes are derived data, made afresh here.
        config_volumes = sorted(
            {
                volume["configMap"]["name"]
                for o in objects
                if o["kind"] in ("Deployment", "Pod")
                for volume in (
                    o["spec"]["template"]["spec"] if o["kind"] == "Deployment" else o["spec"]
                ).get("volumes", [])
                if "configMap" in volume
            }
        )
        for name in config_volumes:
            self._run("volume", "rm", "-f", name, check=False)
        self._volumes_file.write_text(
            json.dumps({"volumes": claims, "config_volumes": config_volumes, "pods": pods})
        )
        existing = {
            name
            for name in claims
            if self._run("volume", "exists", name, check=False).returncode == 0
        }
        objects = [
            o
            for o in objects
            if not (o["kind"] == "PersistentVolumeClaim" and o["metadata"]["name"] in existing)
        ]
        self.manifest.write_text(yaml.safe_dump_all(objects, sort_keys=False))
        os.chmod(self.manifest, 0o600)  # it holds the Secrets
        return self._run("kube", "play", str(self.manifest)).stdout

    def down(self, *, volumes: bool = True) -> list[str]:
        """Stop and remove the pods; with ``volumes`` also the named volumes (PVCs)."""
        if not self.manifest.exists():
            return []
        self._run("kube", "down", str(self.manifest), check=False)
        record: dict[str, list[str]] = {"volumes": [], "pods": []}
        if self._volumes_file.exists():
            record = json.loads(self._volumes_file.read_text())
        # `kube down` stops at the first pod it cannot find (a half-played file): be thorough.
        for pod in record["pods"]:
            self._run("pod", "rm", "-f", "-t", "10", pod, check=False)
        for name in record.get("config_volumes", []):
            self._run("volume", "rm", "-f", name, check=False)
        removed = []
        if volumes:
            for name in record["volumes"]:
                if self._run("volume", "rm", "-f", name, check=False).returncode == 0:
                    removed.append(name)
        self._volumes_file.unlink(missing_ok=True)
        self.manifest.unlink()
        return removed

    @classmethod
    def container_id(cls, pod: str, container: str) -> str:
        out = cls._run(
            "ps",
            "-a",
            "--filter",
            f"pod={pod}",
            "--filter",
            f"name={pod}-{container}",
            "--format",
            "{{.ID}}",
        ).stdout.split()
        if not out:
            raise PodmanError(f"no container {container} in pod {pod}")
        return out[0]

    @classmethod
    def inspect(cls, ref: str, fmt: str) -> str:
        return cls._run("inspect", "--format", fmt, ref).stdout.strip()

    @classmethod
    def logs(cls, ref: str, tail: int = 40) -> str:
        proc = cls._run("logs", "--tail", str(tail), ref, check=False)
        return proc.stdout + proc.stderr
