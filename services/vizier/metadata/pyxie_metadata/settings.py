"""`MetadataSettings`: every `PL_*` variable the metadata service reads, once, at start."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Final, Literal

from pydantic import Field
from pyxie_service import ServiceSettings

__all__ = [
    "AGENT_EXPIRATION_TIMEOUT_SECONDS",
    "DEFAULT_GRPC_PORT",
    "UNHEALTHY_AGENT_THRESHOLD_SECONDS",
    "MetadataSettings",
    "default_kv_path",
]

DEFAULT_GRPC_PORT: Final = 50400
# Pixie's agentExpirationTimeout: an agent silent this long is deleted and told to exit.
AGENT_EXPIRATION_TIMEOUT_SECONDS: Final = 60.0
# Pixie's UnhealthyAgentThreshold: GetAgentInfo reports UNRESPONSIVE after this much silence.
UNHEALTHY_AGENT_THRESHOLD_SECONDS: Final = 30.0
# Pixie keeps k8s updates and process records for a day (TTL 24h).
_DAY_SECONDS: Final = 24 * 3600.0

Seconds = Annotated[float, Field(gt=0)]


def default_kv_path() -> Path:
    """Where the embedded KV file lives unless `PL_KV_PATH` says otherwise."""
    return Path.home() / ".local" / "state" / "pyxie" / "metadata" / "kv.sqlite"


class MetadataSettings(ServiceSettings):
    """Env var = `PL_` + field name in upper case (e.g. `PL_KV_BACKEND=etcd`)."""

    grpc_port: Annotated[int, Field(ge=0, le=65535)] = DEFAULT_GRPC_PORT
    # Every RPC but GetAgentUpdates answers at once, and those streams only end when the
    # runtime stops after the server: a long grace would only delay every shutdown.
    shutdown_grace_seconds: float = Field(default=2.0, ge=0)

    # --- storage ---
    kv_backend: Literal["sqlite", "etcd"] = "sqlite"
    kv_path: Path = Field(default_factory=default_kv_path)
    # How often expired keys are deleted from the SQLite file (reads hide them meanwhile).
    kv_reap_interval_seconds: Seconds = 60.0
    etcd_endpoint: str = "127.0.0.1:2379"
    etcd_timeout_seconds: Seconds = 10.0

    # --- agent lifecycle ---
    agent_expiration_timeout_seconds: Seconds = AGENT_EXPIRATION_TIMEOUT_SECONDS
    unhealthy_agent_threshold_seconds: Seconds = UNHEALTHY_AGENT_THRESHOLD_SECONDS
    process_ttl_seconds: Seconds = _DAY_SECONDS
    # How often tracepoint TTLs are checked and their status re-broadcast to agents.
    tracepoint_tick_seconds: Seconds = 2.0

    # --- metadata providers and fan-out on K8sUpdates/<selector> ---
    metadata_provider: Literal["local", "kubernetes", "none"] = "local"
    metadata_update_ttl_seconds: Seconds = _DAY_SECONDS
    # Local provider: the services config (YAML or TOML); unset = the one shipped in the
    # package (`pyxie_metadata/local_services.yaml`, the demo app's services).
    local_services_config: Path | None = None
    local_scan_interval_seconds: Seconds = 5.0
    # Re-send every object once in a while so that updates expiring from the store
    # (metadata_update_ttl_seconds) never leave a late agent without them; Pixie's informers
    # resync every 12 h for the same reason.
    local_resync_interval_seconds: Seconds = 6 * 3600.0
    # The node name of the root network namespace; empty = this host's name.
    local_node_name: str = ""
    # Kubernetes provider: namespaces to watch pods/services/endpoints in (empty = all), and a
    # kubeconfig file (unset = the in-cluster service account).
    kube_namespaces: list[str] = Field(default_factory=list)
    kube_config: Path | None = None
