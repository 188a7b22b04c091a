"""`AgentSettings`: the `PL_*` settings PEM and Kelvin share (identity, periods, budgets)."""

from __future__ import annotations

import socket

from prometheus_client import CollectorRegistry
from pydantic import Field
from pyxie_carnot import (
    DEFAULT_EXPORT_BYTES,
    DEFAULT_MEMORY_BUDGET_BYTES,
    DEFAULT_ORG_BYTES_PER_MINUTE,
)
from pyxie_service import ServiceSettings

from ._engine import EngineOptions
from ._query import DEFAULT_RESULT_RPC_TIMEOUT_S, DEFAULT_STATS_WAIT_S
from .agent import (
    DEFAULT_HEARTBEAT_INTERVAL_S,
    DEFAULT_REGISTRATION_JITTER_MAX_S,
    DEFAULT_REGISTRATION_TIMEOUT_S,
    AgentConfig,
)

__all__ = ["AgentSettings", "detect_host_ip"]

_MIB = 1 << 20


def detect_host_ip() -> str:
    """The address this host uses for outbound traffic (no packet is sent), else loopback."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        # connect() on a UDP socket only picks the route; any routable address will do.
        probe.connect(("192.0.2.1", 9))
        return str(probe.getsockname()[0])
    except OSError:
        return "127.0.0.1"
    finally:
        probe.close()


class AgentSettings(ServiceSettings):
    """Settings of an agent process. Env var = `PL_` + field name in upper case."""

    # PL_POD_NAME, as Pixie's downward-API variable; a process name outside Kubernetes.
    pod_name: str = ""
    # PL_HOST_IP: the node's IP; detected from the default route when empty.
    host_ip: str = ""
    # Reported in AgentInfo; the machine's hostname when empty.
    hostname: str = ""
    heartbeat_interval_s: float = Field(default=DEFAULT_HEARTBEAT_INTERVAL_S, gt=0)
    registration_timeout_s: float = Field(default=DEFAULT_REGISTRATION_TIMEOUT_S, gt=0)
    # Pixie waits up to 60 s so a rollout of thousands of PEMs does not stampede the metadata
    # service; a standalone vizier's few agents should register at once (see agent.py).
    registration_jitter_max_s: float = Field(default=DEFAULT_REGISTRATION_JITTER_MAX_S, ge=0)
    # Per-query memory budget of the engine (plans may ask for less).
    query_memory_budget_mb: int = Field(default=DEFAULT_MEMORY_BUDGET_BYTES // _MIB, gt=0)
    # Deadline of the small exec-stats / error RPCs to Kelvin and the broker.
    result_rpc_timeout_s: float = Field(default=DEFAULT_RESULT_RPC_TIMEOUT_S, gt=0)
    # How long a result-producing agent waits for the stats of the agents that fed it.
    stats_wait_s: float = Field(default=DEFAULT_STATS_WAIT_S, ge=0)
    # PL_METADATA_ADDRESS: the metadata service Kelvin's GetAgentStatus / GetSchemas /
    # GetTables and px.GetCronScriptHistory ask (as Pixie's Kelvin does); empty leaves them on
    # this agent's own view.
    metadata_address: str = ""
    # px.export on this agent: OTLP bytes one export may send unless its plan says less, and
    # the bytes per minute each org may export through this agent.
    otel_export_max_bytes: int = Field(default=DEFAULT_EXPORT_BYTES, gt=0)
    otel_org_bytes_per_minute: int = Field(default=DEFAULT_ORG_BYTES_PER_MINUTE, gt=0)

    def resolved_host_ip(self) -> str:
        return self.host_ip or detect_host_ip()

    def resolved_hostname(self) -> str:
        return self.hostname or socket.gethostname()

    @property
    def query_memory_budget_bytes(self) -> int:
        return self.query_memory_budget_mb * _MIB

    def agent_config(
        self,
        *,
        collects_data: bool,
        k8s_selector: str,
        netns_inode: int = 0,
        kernel_headers_installed: bool = False,
    ) -> AgentConfig:
        """This agent's identity and periods (a fresh agent id)."""
        return AgentConfig(
            hostname=self.resolved_hostname(),
            kernel_headers_installed=kernel_headers_installed,
            host_ip=self.resolved_host_ip(),
            netns_inode=netns_inode,
            pod_name=self.pod_name,
            collects_data=collects_data,
            k8s_selector=k8s_selector,
            heartbeat_interval_s=self.heartbeat_interval_s,
            registration_timeout_s=self.registration_timeout_s,
            registration_jitter_max_s=self.registration_jitter_max_s,
        )

    def engine_options(self, *, metrics_registry: CollectorRegistry | None = None) -> EngineOptions:
        """The engine's key, budgets and deadlines from these settings."""
        return EngineOptions(
            signing_key=self.signing_key(),
            query_memory_budget_bytes=self.query_memory_budget_bytes,
            result_rpc_timeout_s=self.result_rpc_timeout_s,
            stats_wait_s=self.stats_wait_s,
            metrics_registry=metrics_registry,
            metadata_address=self.metadata_address,
            otel_export_bytes=self.otel_export_max_bytes,
            otel_org_bytes_per_minute=self.otel_org_bytes_per_minute,
        )
