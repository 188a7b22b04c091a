"""``make kube-demo``: the rendered charts played with podman on this host, with the demo shop.

    python -m pyxie_cli.kube.demo up      # cloud, demo org, vizier (eBPF PEM), demo shop
    python -m pyxie_cli.kube.demo down    # stops all of it and removes its volumes
    python -m pyxie_cli.kube.demo status

1. the cloud chart (host network, ports 6xxxx: see ``values``) is played and its api answers
   over TLS with the CA the chart generated;
2. a demo org with an admin, an API key and a deploy key is made (as the devstack does);
3. the vizier chart, rendered with that deploy key and the cloud's CA, is played: its cloud
   connector registers, the other services start with the key the cloud issued, and the PEM
   traces the whole host with eBPF;
4. the demo shop (front end + load generator) runs on the host as processes; its HTTP traffic is
   what the PEM sees.

State (manifests 0600, the CA, the org's keys, the shop's pids) lives in
``$PL_STATE_DIR/kube-demo`` (default ``~/.local/state/pyxie/kube-demo``).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pyxie_cli.kube._podman import Podman, to_podman
from pyxie_cli.kube._render import KubeError, render, repo_root
from pyxie_cli.kube.values import (
    PODMAN_CLOUD_VALUES,
    PODMAN_VIZIER_VALUES,
    api_serving,
    cloud_endpoints,
)

__all__ = ["down", "state_dir", "up"]

NAMESPACE = "pyxie"
Obj = dict[str, Any]


def state_dir() -> Path:
    base = os.environ.get("PL_STATE_DIR") or str(Path.home() / ".local" / "state" / "pyxie")
    return Path(base) / "kube-demo"


def say(message: str) -> None:
    print(f"[kube-demo] {message}", file=sys.stderr, flush=True)


def secret_value(objects: list[Obj], name: str, key: str) -> str:
    for obj in objects:
        if obj["kind"] == "Secret" and obj["metadata"]["name"] == name:
            if key in (obj.get("data") or {}):
                return base64.b64decode(obj["data"][key]).decode()
            return str(obj["stringData"][key])
    raise KubeError(f"the rendered chart has no Secret {name}/{key}")


def _wait(what: str, timeout: float, probe: Callable[[], Any], every: float = 2.0) -> Any:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            value = probe()
        except Exception as exc:  # not ready yet
            last = exc
        else:
            if value:
                return value
        time.sleep(every)
    raise KubeError(f"{what}: not ready after {timeout:.0f}s ({last})")


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def _cluster(endpoints: Any, ca: bytes, api_key: str) -> tuple[str, str]:
    import grpc
    from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb
    from pyxie_proto.api.cloudpb import cloudapi_pb2_grpc as cpb_grpc

    creds = grpc.ssl_channel_credentials(root_certificates=ca)
    with grpc.secure_channel(endpoints.api, creds) as channel:
        reply = cpb_grpc.VizierClusterInfoStub(channel).GetClusterInfo(
            cpb.GetClusterInfoRequest(), metadata=(("pixie-api-key", api_key),), timeout=10
        )
    for cluster in reply.clusters:
        number = (cluster.id.high_bits << 64) | cluster.id.low_bits
        return str(uuid.UUID(int=number)), cpb.ClusterStatus.Name(cluster.status)
    return "", "none"


def _start_shop(state: Path) -> list[int]:
    from pyxie_devstack._process import free_port

    front, orders = free_port("127.0.0.1"), free_port("127.0.0.1")
    logs = state / "logs"
    logs.mkdir(exist_ok=True)
    argvs = [
        ["frontend", "--port", str(front), "--orders-url", f"http://127.0.0.1:{orders}"],
        ["loadgen", "--frontend-url", f"http://127.0.0.1:{front}", "--rps", "10"],
    ]
    pids = []
    for argv in argvs:
        with open(logs / f"demo-{argv[0]}.log", "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "pyxie_testing.demo", *argv],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=os.environ | {"PYTHONUNBUFFERED": "1"},
            )
        pids.append(proc.pid)
    return pids


def up(state: Path) -> dict[str, str]:
    from pyxie_devstack.cloud._bootstrap import create_demo_org

    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    cloud, vizier = Podman(state / "cloud.yaml"), Podman(state / "vizier.yaml")
    if cloud.manifest.exists() or vizier.manifest.exists():
        raise KubeError(f"a kube demo is running ({state}); `make kube-demo-stop` first")
    say("rendering the cloud chart and playing it with podman")
    objects = render("pyxie-cloud", PODMAN_CLOUD_VALUES, namespace=NAMESPACE)
    ca = secret_value(objects, "pyxie-cloud-tls", "ca.crt").encode()
    jwt = secret_value(objects, "pyxie-cloud-secrets", "jwt-signing-key")
    (state / "ca.crt").write_bytes(ca)
    endpoints = cloud_endpoints(PODMAN_CLOUD_VALUES)
    cloud.play(to_podman(objects, "cloud"))
    _wait("cloud api (TLS)", 180, lambda: api_serving(endpoints, ca))
    org = _wait(
        "demo org",
        60,
        lambda: create_demo_org(endpoints, ca, jwt_key=jwt, password=uuid.uuid4().hex),
    )
    say(f"cloud up: api {endpoints.api}; demo org {org.org_name}; playing the vizier")
    values = PODMAN_VIZIER_VALUES | {
        "deployKey": org.deploy_key,
        "cloudAddr": endpoints.vzconn,
        "cloudCACert": ca.decode(),
        "clusterName": "kube-demo",
    }
    vizier.play(to_podman(render("pyxie-vizier", values, namespace=NAMESPACE), "vizier"))

    def healthy() -> str:
        cluster_id, status = _cluster(endpoints, ca, org.api_key)
        return cluster_id if status == "CS_HEALTHY" else ""

    cluster_id = str(_wait("vizier HEALTHY", 300, healthy, every=3))
    pids = _start_shop(state)
    info = {
        "api": endpoints.api,
        "ca": str(state / "ca.crt"),
        "api_key": org.api_key,
        "deploy_key": org.deploy_key,
        "cluster_id": cluster_id,
        "email": org.email,
        "password": org.password,
        "shop_pids": " ".join(map(str, pids)),
    }
    _write_private(state / "demo.json", json.dumps(info, indent=2))
    return info


def _stop_pid(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)  # the shop processes lead their own sessions
    except ProcessLookupError:
        return
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def down(state: Path) -> list[str]:
    stopped = []
    record = state / "demo.json"
    if record.exists():
        for pid in json.loads(record.read_text())["shop_pids"].split():
            _stop_pid(int(pid))
        record.unlink()
        stopped.append("demo shop")
    for name in ("vizier", "cloud"):
        play = Podman(state / f"{name}.yaml")
        if play.manifest.exists():
            play.down()
            stopped.append(name)
    return stopped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pyxie_cli.kube.demo")
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("--state-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    state = args.state_dir or state_dir()
    try:
        if args.action == "up":
            try:
                info = up(state)
            except BaseException:
                say("start failed; taking down what was started")
                down(state)
                raise
            pxapi = repo_root() / "testing" / "compat" / "kube" / "pxapi_rows.py"
            print(
                f"kube demo up (state {state}):\n"
                f"  cloud api   {info['api']} (TLS, CA {info['ca']})\n"
                f"  vizier      {info['cluster_id']} HEALTHY\n"
                f"  admin       {info['email']} / {info['password']}\n"
                f"  API key     {info['api_key']}\n"
                "query the traced demo shop through the cloud:\n"
                f"  uv run px run px/http_data --cloud-addr {info['api']} --ca-cert {info['ca']}"
                f" --api-key {info['api_key']} -c {info['cluster_id']}\n"
                f"  (pxapi 0.9.0: {pxapi})\n"
                "stop it: make kube-demo-stop"
            )
        elif args.action == "down":
            stopped = down(state)
            print(f"stopped: {', '.join(stopped) or 'nothing was running'}")
        else:
            if not (state / "demo.json").exists():
                print("kube demo: not running")
                return 1
            info = json.loads((state / "demo.json").read_text())
            _, status = _cluster(
                cloud_endpoints(PODMAN_CLOUD_VALUES),
                Path(info["ca"]).read_bytes(),
                info["api_key"],
            )
            print(f"kube demo: vizier {info['cluster_id']} {status}")
    except KubeError as exc:
        print(f"kube-demo: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
