"""The vizier NATS subjects the metadata service serves (Pixie's names)."""

from __future__ import annotations

from typing import Final

__all__ = [
    "ALL_SELECTOR",
    "MISSING_METADATA_SUBJECT",
    "UPDATE_AGENT_SUBJECT",
    "agent_subject",
    "metadata_updates_subject",
]

# Agents -> metadata: VizierMessage{register_agent_request | heartbeat}.
UPDATE_AGENT_SUBJECT: Final = "UpdateAgent"
# Agents -> metadata, request/reply: metadatapb.MissingMetadataRequest -> MissingMetadataResponse.
MISSING_METADATA_SUBJECT: Final = "MissingMetadataRequests"
# The selector Kelvin listens on: it gets every update.
ALL_SELECTOR: Final = "all"


def agent_subject(agent_id: str) -> str:
    """Metadata/broker -> one agent: VizierMessage{register_agent_response | heartbeat_ack...}."""
    return f"Agent/{agent_id}"


def metadata_updates_subject(selector: str) -> str:
    """Metadata -> agents: VizierMessage{metadata_update} for a node selector or `all`."""
    return f"K8sUpdates/{selector}"
