"""px deploy / delete and the chart -> podman conversion (no cluster, no containers here).

The Helm-backed tests need the tool venv (``deploy/helm/setup.sh``); testing/compat/kube/run
plays the same objects with podman for real.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from pyxie_cli.kube import PODMAN_DROPPED_KINDS, RenderError, render, to_podman
from pyxie_cli.kube._render import repo_root
from pyxie_cli.main import main

HELM = (repo_root() / ".tools" / "helm-venv" / "bin" / "python").exists()
needs_helm = pytest.mark.skipif(not HELM, reason="Helm tool venv missing (deploy/helm/setup.sh)")
KEY = "px-dep-" + "a1" * 16


def _pod(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": name}},
        "spec": {"containers": [{"name": name, "image": "x"}], **spec},
    }


def test_daemonset_and_statefulset_become_single_replica_deployments() -> None:
    objects = [
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "pyxie-pem", "namespace": "pl"},
            "spec": {"selector": {"matchLabels": {"app": "pem"}}, "template": _pod("pem")},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "pyxie-etcd", "namespace": "pl"},
            "spec": {
                "serviceName": "pyxie-etcd",
                "selector": {"matchLabels": {"app": "etcd"}},
                "template": _pod("etcd"),
                "volumeClaimTemplates": [
                    {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}
                ],
            },
        },
    ]
    out = to_podman(objects, "vizier")
    kinds = [(o["kind"], o["metadata"]["name"]) for o in out]
    assert kinds == [
        ("PersistentVolumeClaim", "data-pyxie-etcd-0"),
        ("Deployment", "pyxie-vizier-pem"),
        ("Deployment", "pyxie-vizier-etcd"),
    ]
    etcd = out[2]["spec"]
    assert etcd["replicas"] == 1
    assert etcd["template"]["spec"]["volumes"] == [
        {"name": "data", "persistentVolumeClaim": {"claimName": "data-pyxie-etcd-0"}}
    ]


def test_secrets_become_config_maps_and_cluster_objects_are_dropped() -> None:
    pod = _pod("api", hostNetwork=True)
    container = pod["spec"]["containers"][0]
    container["env"] = [
        {"name": "K", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
        {"name": "P", "value": "1"},
    ]
    container["ports"] = [{"containerPort": 1}]
    container["readinessProbe"] = {"grpc": {"port": 7}}
    pod["spec"]["volumes"] = [{"name": "tls", "secret": {"secretName": "s"}}]
    objects = [
        {"apiVersion": "v1", "kind": kind, "metadata": {"name": kind.lower()}}
        for kind in sorted(PODMAN_DROPPED_KINDS)
    ] + [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s"},
            "data": {"k": "aGVsbG8="},  # "hello"
            "stringData": {"plain": "text"},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "pyxie-api"},
            "spec": {"selector": {"matchLabels": {"app": "api"}}, "template": pod},
        },
    ]
    out = to_podman(objects)
    assert [o["kind"] for o in out] == ["ConfigMap", "Deployment"]
    assert out[0]["data"] == {"k": "hello", "plain": "text"}
    spec = out[1]["spec"]["template"]["spec"]
    ctr = spec["containers"][0]
    assert ctr["env"][0]["valueFrom"] == {"configMapKeyRef": {"name": "s", "key": "k"}}
    assert "ports" not in ctr  # host network: podman 4.3 refuses port mappings
    assert ctr["readinessProbe"] == {"tcpSocket": {"port": 7}}
    assert spec["volumes"] == [{"name": "tls", "configMap": {"name": "s"}}]
    # The input is left alone.
    assert objects[-1]["spec"]["template"]["spec"]["containers"][0]["ports"]


def _px(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_px_deploy_without_a_key_says_how_to_get_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PX_DEPLOY_KEY", raising=False)
    code, _, err = _px("deploy", "--vzconn-addr", "cloud:51600")
    assert code == 1
    assert "no deploy key" in err and "px deploy-key create" in err


def test_px_deploy_without_a_cloud_address(monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = _px("deploy", "-k", KEY)
    assert code == 1 and "no cloud address" in err


@needs_helm
def test_px_deploy_refuses_a_malformed_key() -> None:
    code, _, err = _px("deploy", "-k", "px-api-notadeploykey", "--vzconn-addr", "cloud:51600")
    assert code == 1
    assert "'/deployKey'" in err and "px-dep-" in err


@needs_helm
def test_px_deploy_without_a_cluster(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    code, _, err = _px("deploy", "-k", KEY, "--vzconn-addr", "cloud:51600")
    assert code == 1
    assert "no Kubernetes cluster" in err and "--podman" in err


@needs_helm
def test_px_deploy_dry_run_renders_the_key_and_address() -> None:
    code, out, _ = _px("deploy", "-k", KEY, "--vzconn-addr", "cloud:51600", "--dry-run")
    assert code == 0
    assert KEY in out and "value: cloud:51600" in out and "kind: DaemonSet" in out


@needs_helm
def test_chart_schema_names_the_bad_value() -> None:
    with pytest.raises(RenderError, match="dataAccess"):
        render(
            "pyxie-vizier",
            {"deployKey": KEY, "cloudAddr": "a:1", "dataAccess": "Everything"},
            namespace="pl",
        )
