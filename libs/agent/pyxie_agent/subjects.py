"""The vizier NATS subjects an agent talks on (Pixie's names)."""

from __future__ import annotations

from typing import Final

__all__ = [
    "KELVIN_SELECTOR",
    "MISSING_METADATA_REQUESTS",
    "UPDATE_AGENT",
    "agent_subject",
    "k8s_updates_subject",
]

# Agents -> metadata: registration and heartbeats.
UPDATE_AGENT: Final = "UpdateAgent"
# Agents -> metadata (request/reply): metadata updates an agent missed on its selector.
MISSING_METADATA_REQUESTS: Final = "MissingMetadataRequests"
# The K8s update selector of Kelvin, which needs every update (PEMs use their host IP).
KELVIN_SELECTOR: Final = "all"


def agent_subject(agent_id: str) -> str:
    """Metadata and the broker -> one agent: acks, nacks, ExecuteQueryRequest, cancel."""
    return f"Agent/{agent_id}"


def k8s_updates_subject(selector: str) -> str:
    """Metadata -> agents: MetadataUpdate messages for one node (host IP) or `all`."""
    return f"K8sUpdates/{selector}"
