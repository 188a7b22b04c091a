"""The Kubernetes backend: the vizier's objects applied with the official client.

Objects are created or updated with server-side apply (one PATCH per object,
``application/apply-patch+yaml``, field manager ``pyxie-operator``); the kubelet pulls each image
by the digest the operator pinned and restarts crashed containers with its own backoff, so this
backend reports crash loops (reason, exit code, last log line) and deletes a pod only to repair.
Status goes on the ``Vizier`` resource's status subresource and into the ConfigMap
``pyxie-operator-status``, which the cloud connector mounts (optional) and folds into the
heartbeats the cloud stores.

Verified here only against recorded API objects (``tests/recorded``): no API server runs on
this machine.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from typing import Any, Final

from kubernetes import client as k8s

from pyxie_operator.backends._net import etcd_health_at, tcp_reachable
from pyxie_operator.controllers.backend import ComponentState, EtcdHealth
from pyxie_operator.controllers.manifests import component_of
from pyxie_operator.controllers.resource import GROUP, PLURAL, VERSION, VizierSpec, VizierStatus

__all__ = ["STATUS_CONFIG_MAP", "KubeApiError", "KubernetesBackend"]

Obj = dict[str, Any]
FIELD_MANAGER: Final = "pyxie-operator"
STATUS_CONFIG_MAP: Final = "pyxie-operator-status"
STATUS_MOUNT: Final = "/var/lib/pyxie/operator"
PART_OF: Final = "app.kubernetes.io/part-of=pyxie-vizier"
ETCD_REPAIR_ANNOTATION: Final = "pyxie.dev/etcd-repair"

# kind -> (API group path, plural, namespaced)
_KINDS: Final[dict[str, tuple[str, str, bool]]] = {
    "Namespace": ("api/v1", "namespaces", False),
    "ServiceAccount": ("api/v1", "serviceaccounts", True),
    "Secret": ("api/v1", "secrets", True),
    "ConfigMap": ("api/v1", "configmaps", True),
    "Service": ("api/v1", "services", True),
    "PersistentVolumeClaim": ("api/v1", "persistentvolumeclaims", True),
    "Pod": ("api/v1", "pods", True),
    "Deployment": ("apis/apps/v1", "deployments", True),
    "DaemonSet": ("apis/apps/v1", "daemonsets", True),
    "StatefulSet": ("apis/apps/v1", "statefulsets", True),
    "NetworkPolicy": ("apis/networking.k8s.io/v1", "networkpolicies", True),
    "Role": ("apis/rbac.authorization.k8s.io/v1", "roles", True),
    "RoleBinding": ("apis/rbac.authorization.k8s.io/v1", "rolebindings", True),
    "ClusterRole": ("apis/rbac.authorization.k8s.io/v1", "clusterroles", False),
    "ClusterRoleBinding": ("apis/rbac.authorization.k8s.io/v1", "clusterrolebindings", False),
    "PodDisruptionBudget": ("apis/policy/v1", "poddisruptionbudgets", True),
}


class KubeApiError(RuntimeError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


class KubernetesBackend:
    name = "kubernetes"

    def __init__(
        self,
        api: k8s.ApiClient,
        *,
        namespace: str,
        name: str,
        etcd_probe: Callable[[str], EtcdHealth] = etcd_health_at,
        reachable: Callable[[str], str] = tcp_reachable,
    ) -> None:
        self._api = api
        self.namespace = namespace
        self.resource_name = name
        self._etcd_probe = etcd_probe
        self._reachable = reachable

    # -- raw REST (the typed client would drop fields of objects it does not model) ------------

    def request(
        self, method: str, path: str, body: Obj | None = None, *, content_type: str = ""
    ) -> Any:
        config = self._api.configuration
        headers = {"Accept": "application/json"}
        token = config.get_api_key_with_prefix("BearerToken") if config.api_key else None
        if token:
            headers["authorization"] = token
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
        response = self._api.call_api(
            method,
            config.host + path,
            header_params=headers,
            body=body,
        )
        response.read()  # type: ignore[no-untyped-call]
        raw = response.data or b""
        data = raw.decode() if isinstance(raw, bytes) else str(raw)
        if response.status >= 400:
            raise KubeApiError(response.status, data[:300])
        if not data:
            return None
        try:
            return json.loads(data)
        except ValueError:
            return data

    def _path(self, kind: str, name: str = "", namespace: str | None = None) -> str:
        group, plural, namespaced = _KINDS[kind]
        path = f"/{group}"
        if namespaced:
            path += f"/namespaces/{namespace or self.namespace}"
        path += f"/{plural}"
        return path + (f"/{name}" if name else "")

    def _vizier_path(self, suffix: str = "") -> str:
        return (
            f"/apis/{GROUP}/{VERSION}/namespaces/{self.namespace}/{PLURAL}/"
            f"{self.resource_name}{suffix}"
        )

    def _get(self, path: str) -> Obj | None:
        try:
            found = self.request("GET", path)
        except KubeApiError as exc:
            if exc.status == 404:
                return None
            raise
        return found if isinstance(found, dict) else None

    # -- resource ---------------------------------------------------------------------------

    def read_resource(self) -> Obj:
        found = self._get(self._vizier_path())
        if found is None:
            raise KubeApiError(404, f"Vizier {self.namespace}/{self.resource_name} not found")
        return found

    def deploy_key(self, spec: VizierSpec) -> str:
        import base64

        secret = self._get(self._path("Secret", spec.deploy_key_secret))
        if secret is None or "deploy-key" not in (secret.get("data") or {}):
            raise KubeApiError(404, f"Secret {spec.deploy_key_secret} has no deploy-key")
        return base64.b64decode(secret["data"]["deploy-key"]).decode().strip()

    def base_values(self) -> Obj:
        return {"namespace": {"create": False}}

    def read_offer(self) -> str:
        # The connector's offer file lies on the vizier's identity volume, which this operator
        # (in its own namespace) does not mount: on Kubernetes a new version comes through the
        # Vizier's spec only.
        return ""

    def read_status(self) -> VizierStatus:
        found = self._get(self._vizier_path())
        return VizierStatus.from_dict((found or {}).get("status"))

    def write_status(self, status: VizierStatus) -> None:
        self.request(
            "PATCH",
            self._vizier_path("/status"),
            {"status": status.to_dict()},
            content_type="application/merge-patch+json",
        )
        self._apply_one(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": STATUS_CONFIG_MAP, "namespace": self.namespace},
                "data": {"status.json": json.dumps(status.to_dict())},
            }
        )

    # -- deploy -----------------------------------------------------------------------------

    def _apply_one(self, obj: Obj) -> None:
        kind = obj["kind"]
        if kind not in _KINDS:
            raise KubeApiError(422, f"the operator does not apply {kind}")
        path = self._path(kind, obj["metadata"]["name"], obj["metadata"].get("namespace"))
        query = urllib.parse.urlencode({"fieldManager": FIELD_MANAGER, "force": "true"})
        self.request("PATCH", f"{path}?{query}", obj, content_type="application/apply-patch+yaml")

    def prepare(self, objects: list[Obj]) -> None:
        """Nothing to pull ahead: the kubelet pulls each pinned digest where the pod lands."""

    def apply(self, objects: list[Obj]) -> None:
        order = {"Namespace": 0, "ServiceAccount": 1, "Secret": 1, "ConfigMap": 1}
        for obj in sorted(objects, key=lambda o: order.get(o["kind"], 2)):
            obj = json.loads(json.dumps(obj))
            if (
                obj["kind"] in ("Deployment",)
                and obj["metadata"]["name"] == "pyxie-cloud-connector"
            ):
                _mount_status(obj["spec"]["template"]["spec"])
            self._apply_one(obj)

    def deployed(self) -> bool:
        return self._get(self._path("Deployment", "pyxie-cloud-connector")) is not None

    def _pods(self) -> list[Obj]:
        query = urllib.parse.urlencode({"labelSelector": PART_OF})
        found = self.request("GET", f"{self._path('Pod')}?{query}")
        return list((found or {}).get("items", []))

    def observe(self) -> list[ComponentState]:
        pods = self._pods()
        counts: dict[str, int] = {}
        for pod in pods:
            label = pod["metadata"].get("labels", {}).get("app.kubernetes.io/name", "")
            counts[label] = counts.get(label, 0) + 1
        states = []
        for pod in pods:
            label = pod["metadata"].get("labels", {}).get("app.kubernetes.io/name", "")
            component = label.removeprefix("pyxie-")
            if counts[label] > 1:
                component += f"@{pod['spec'].get('nodeName', pod['metadata']['name'])}"
            statuses = pod.get("status", {}).get("containerStatuses") or []
            if not statuses:
                phase = pod.get("status", {}).get("phase", "Pending")
                states.append(ComponentState(component, False, reason=phase, self_restarting=True))
                continue
            main = statuses[0]
            running = "running" in (main.get("state") or {}) and bool(main.get("ready", True))
            waiting = (main.get("state") or {}).get("waiting") or {}
            last = (main.get("lastState") or {}).get("terminated") or {}
            exit_code = last.get("exitCode") if not running else None
            last_log = ""
            if not running and last:
                last_log = self._last_log(pod["metadata"]["name"], main["name"])
            states.append(
                ComponentState(
                    component,
                    running,
                    restarts=int(main.get("restartCount", 0)),
                    exit_code=exit_code,
                    reason=waiting.get("reason") or last.get("reason", ""),
                    last_log=last_log,
                    self_restarting=True,
                )
            )
        return states

    def _last_log(self, pod: str, container: str) -> str:
        query = urllib.parse.urlencode({"container": container, "previous": "true", "tailLines": 3})
        try:
            text = self.request("GET", f"{self._path('Pod', pod)}/log?{query}")
        except KubeApiError:
            return ""
        lines = str(text or "").strip().splitlines()
        return lines[-1][:300] if lines else ""

    def restart(self, component: str) -> None:
        for pod in self._pods():
            label = pod["metadata"].get("labels", {}).get("app.kubernetes.io/name", "")
            if label == f"pyxie-{component.split('@')[0]}":
                self.request("DELETE", self._path("Pod", pod["metadata"]["name"]))

    # -- etcd -------------------------------------------------------------------------------

    def etcd_health(self) -> EtcdHealth | None:
        sts = self._get(self._path("StatefulSet", "pyxie-etcd"))
        if sts is None:
            return None
        args = sts["spec"]["template"]["spec"]["containers"][0].get("args", [])
        port = next(
            (a.rsplit(":", 1)[1] for a in args if a.startswith("--listen-client-urls=")), "2379"
        )
        health = self._etcd_probe(f"http://pyxie-etcd.{self.namespace}.svc:{port}")
        if health.healthy and "--force-new-cluster" in args:
            # Repaired: the next restart must not force a new cluster again.
            self._set_force_new_cluster(sts, False)
        return health

    def _set_force_new_cluster(self, sts: Obj, on: bool) -> None:
        container = sts["spec"]["template"]["spec"]["containers"][0]
        args = [a for a in container.get("args", []) if a != "--force-new-cluster"]
        if on:
            args.append("--force-new-cluster")
        patch = {
            "spec": {
                "template": {
                    "metadata": {"annotations": {ETCD_REPAIR_ANNOTATION: str(on).lower()}},
                    "spec": {"containers": [{"name": container["name"], "args": args}]},
                }
            }
        }
        self.request(
            "PATCH",
            self._path("StatefulSet", "pyxie-etcd"),
            patch,
            content_type="application/strategic-merge-patch+json",
        )

    def repair_etcd(self) -> str:
        sts = self._get(self._path("StatefulSet", "pyxie-etcd"))
        if sts is None:
            return "no etcd to repair"
        self._set_force_new_cluster(sts, True)
        return (
            "rolled etcd with --force-new-cluster (it keeps its data, forgets lost members); "
            "the flag is removed once it is healthy"
        )

    # -- surroundings -----------------------------------------------------------------------

    def cloud_reachable(self, spec: VizierSpec) -> str:
        return self._reachable(spec.cloud_addr)

    def other_viziers(self) -> list[str]:
        found = self.request("GET", f"/apis/{GROUP}/{VERSION}/{PLURAL}")
        others = {
            f"{v['metadata']['namespace']}/{v['metadata']['name']}"
            for v in (found or {}).get("items", [])
            if (v["metadata"]["namespace"], v["metadata"]["name"])
            != (self.namespace, self.resource_name)
        }
        query = urllib.parse.urlencode(
            {"labelSelector": "app.kubernetes.io/name=pyxie-cloud-connector"}
        )
        deployments = self.request("GET", f"/apis/apps/v1/deployments?{query}")
        for item in (deployments or {}).get("items", []):
            namespace = item["metadata"]["namespace"]
            if namespace != self.namespace:
                others.add(f"{namespace}/{item['metadata']['name']} (unmanaged)")
        return sorted(others)


def _mount_status(pod: Obj) -> None:
    """The connector reads the operator's status from the ConfigMap (optional: absent is fine)."""
    pod.setdefault("volumes", []).append(
        {
            "name": "operator-status",
            "configMap": {"name": STATUS_CONFIG_MAP, "optional": True},
        }
    )
    for container in pod["containers"]:
        if component_of(container["image"]) != "cloud-connector":
            continue
        container.setdefault("volumeMounts", []).append(
            {"name": "operator-status", "mountPath": STATUS_MOUNT, "readOnly": True}
        )
        for env in container.get("env", []):
            if env.get("name") == "PL_OPERATOR_STATUS_FILE":
                env["value"] = f"{STATUS_MOUNT}/status.json"
