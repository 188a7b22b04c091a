"""Test harness: PEMs over a table store the test fills (no collectors, fast heartbeats)."""

from __future__ import annotations

from pyxie_agent import AgentConfig, EngineOptions
from pyxie_carnot import Registry
from pyxie_jwt import SigningKey
from pyxie_service.natsbus import NatsBus
from pyxie_table_store import TableStore

from pyxie_pem.controllers import Pem

__all__ = ["pem_on_store"]


def pem_on_store(
    bus: NatsBus,
    table_store: TableStore,
    *,
    signing_key: SigningKey,
    host_ip: str,
    k8s_selector: str = "",
    registry: Registry | None = None,
) -> Pem:
    """A PEM serving `table_store` as node `k8s_selector` (default: its host IP); not started."""
    return Pem(
        bus,
        AgentConfig(
            host_ip=host_ip,
            k8s_selector=k8s_selector or host_ip,
            heartbeat_interval_s=0.2,
            registration_jitter_max_s=0,
        ),
        EngineOptions(signing_key=signing_key, registry=registry),
        table_store=table_store,
        process_events=False,
    )
