"""``px deploy`` / ``px delete`` as Pixie's: the vizier chart onto a cluster, or onto this host.

``px deploy --deploy-key px-dep-... --vzconn-addr cloud.example.com:51600 [--ca-cert ca.crt]``
renders ``k8s/charts/pyxie-vizier`` with Helm's engine (the values schema refuses a malformed
key or address with a message naming it) and applies the objects with ``kubectl apply`` to the
current kubectl context. ``--podman`` plays them on this host instead (host network, see
``pyxie_cli.kube.values``). ``px delete`` removes what ``px deploy`` made.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, TextIO

import yaml

from pyxie_cli.kube._podman import Podman, to_podman
from pyxie_cli.kube._render import KubeError, render
from pyxie_cli.kube.values import PODMAN_VIZIER_VALUES

__all__ = ["add_arguments", "delete", "deploy", "podman_state_dir"]

Obj = dict[str, Any]
PART_OF = "app.kubernetes.io/part-of=pyxie-vizier"
DEFAULT_VZCONN_PORT = 51600
# Namespaced kinds the vizier chart makes (deleted by label), then the cluster-scoped ones.
_NAMESPACED = (
    "deployments,daemonsets,statefulsets,services,configmaps,secrets,pvc,networkpolicies,"
    "serviceaccounts"
)
_CLUSTER = "clusterroles,clusterrolebindings"


def podman_state_dir() -> Path:
    base = os.environ.get("PL_STATE_DIR") or str(Path.home() / ".local" / "state" / "pyxie")
    return Path(base) / "podman"


def add_arguments(deploy: argparse.ArgumentParser, delete: argparse.ArgumentParser) -> None:
    """Arguments of the chart-based ``px deploy`` (beside ``--local``) and of ``px delete``."""
    deploy.add_argument(
        "--vzconn-addr",
        default="",
        help="the cloud's vzconn host:port the vizier registers with "
        f"(default: --cloud-addr's host, port {DEFAULT_VZCONN_PORT})",
    )
    deploy.add_argument("-n", "--namespace", default="pl", help="Kubernetes namespace")
    deploy.add_argument("--podman", action="store_true", help="run the vizier here with podman")
    deploy.add_argument(
        "--data-access", choices=["Full", "Restricted", "PIIRestricted"], default=None
    )
    deploy.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="a chart value"
    )
    deploy.add_argument("-f", "--values", action="append", default=[], help="a values file")
    deploy.add_argument(
        "--dry-run", action="store_true", help="print the objects instead of applying them"
    )
    delete.add_argument("-n", "--namespace", default="pl", help="Kubernetes namespace")
    delete.add_argument("--podman", action="store_true", help="the vizier played here")
    delete.add_argument("--keep-data", action="store_true", help="keep the volumes (--podman)")


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def _values(args: argparse.Namespace) -> dict[str, Any]:
    key = (args.deploy_key or os.environ.get("PX_DEPLOY_KEY", "")).strip()
    if not key:
        raise KubeError(
            "no deploy key: pass --deploy-key (create one with `px deploy-key create`) "
            "or set PX_DEPLOY_KEY"
        )
    vzconn = args.vzconn_addr
    if not vzconn:
        if not args.cloud_addr:
            raise KubeError("no cloud address: pass --vzconn-addr host:port (or --cloud-addr)")
        vzconn = f"{args.cloud_addr.rsplit(':', 1)[0]}:{DEFAULT_VZCONN_PORT}"
    values: dict[str, Any] = {}
    if args.podman:
        _merge(values, {k: v for k, v in PODMAN_VIZIER_VALUES.items()})
    values |= {"deployKey": key, "cloudAddr": vzconn}
    if args.cluster_name:
        values["clusterName"] = args.cluster_name
    if args.ca_cert:
        try:
            values["cloudCACert"] = Path(args.ca_cert).read_text()
        except OSError as exc:
            raise KubeError(f"cannot read --ca-cert {args.ca_cert}: {exc.strerror}") from None
    if args.data_access:
        values["dataAccess"] = args.data_access
    for name in args.values:
        try:
            _merge(values, yaml.safe_load(Path(name).read_text()) or {})
        except (OSError, yaml.YAMLError) as exc:
            raise KubeError(f"cannot read values file {name}: {exc}") from None
    for item in args.set:
        dotted, sep, raw = item.partition("=")
        if not sep:
            raise KubeError(f"--set {item!r}: expected KEY=VALUE")
        node = values
        parts = dotted.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = yaml.safe_load(raw) if raw else ""
    return values


def _kubectl(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    if shutil.which("kubectl") is None:
        raise KubeError("kubectl is not installed; use --podman to run the vizier on this host")
    return subprocess.run(
        ["kubectl", *argv], input=stdin, capture_output=True, text=True, check=False
    )


def _current_context() -> str:
    proc = _kubectl("config", "current-context")
    if proc.returncode != 0:
        raise KubeError(
            "no Kubernetes cluster: kubectl has no current context "
            f"({proc.stderr.strip() or 'empty kubeconfig'}); "
            "point kubectl at a cluster, or use --podman to run the vizier on this host"
        )
    return proc.stdout.strip()


def _kind_order(obj: Obj) -> int:
    return {"Namespace": 0, "ServiceAccount": 1, "ClusterRole": 1, "Secret": 1}.get(
        str(obj.get("kind")), 2
    )


def deploy(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    values = _values(args)
    objects = sorted(render("pyxie-vizier", values, namespace=args.namespace), key=_kind_order)
    if args.dry_run:
        out.write(yaml.safe_dump_all(objects, sort_keys=False))
        return 0
    if args.podman:
        play = Podman(podman_state_dir() / "vizier.yaml")
        if play.manifest.exists():
            raise KubeError(
                f"a vizier is already played here ({play.manifest}); `px delete --podman` first"
            )
        play.play(to_podman(objects, "vizier"))
        out.write(
            f"Vizier played with podman ({len(objects)} objects); it registers with "
            f"{values['cloudAddr']}. `px get viziers` shows its status; "
            "`px delete --podman` removes it.\n"
        )
        return 0
    context = _current_context()
    err.write(f"applying {len(objects)} objects to context {context}, namespace {args.namespace}\n")
    proc = _kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(objects, sort_keys=False))
    if proc.returncode != 0:
        raise KubeError(f"kubectl apply failed: {proc.stderr.strip()}")
    out.write(proc.stdout)
    out.write("Vizier deployed; `px get viziers` shows its status once it registers.\n")
    return 0


def delete(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.podman:
        play = Podman(podman_state_dir() / "vizier.yaml")
        if not play.manifest.exists():
            raise KubeError(f"no vizier played here ({play.manifest} is missing)")
        removed = play.down(volumes=not args.keep_data)
        out.write(f"Vizier removed (volumes removed: {', '.join(removed) or 'none'})\n")
        return 0
    context = _current_context()
    err.write(f"deleting the vizier from context {context}, namespace {args.namespace}\n")
    for kinds, scope in ((_NAMESPACED, ["-n", args.namespace]), (_CLUSTER, [])):
        proc = _kubectl("delete", kinds, "-l", PART_OF, "--ignore-not-found", *scope)
        if proc.returncode != 0:
            raise KubeError(f"kubectl delete failed: {proc.stderr.strip()}")
        out.write(proc.stdout)
    # The namespace goes too when the chart made it (it carries the chart's label).
    label = _kubectl(
        "get",
        "namespace",
        args.namespace,
        "-o",
        "jsonpath={.metadata.labels.app\\.kubernetes\\.io/part-of}",
    )
    if label.returncode == 0 and label.stdout.strip() == "pyxie-vizier":
        out.write(_kubectl("delete", "namespace", args.namespace).stdout)
    return 0
