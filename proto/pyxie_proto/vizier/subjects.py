"""The vizier's NATS subjects and bridge topics (Pixie's names), defined once.

Vizier NATS carries the agents' control traffic (messages in `messagespb` / `metadatapb`) and
the vizier's half of the cloud bridge (envelopes in `cvmsgspb`):

* `UpdateAgent`: agents -> metadata, `VizierMessage{register_agent_request | heartbeat}`;
* `Agent/<agent_id>`: metadata and the query broker -> one agent (acks, nacks,
  `ExecuteQueryRequest`, `CancelQueryRequest`);
* `K8sUpdates/<selector>`: metadata -> agents, `VizierMessage{metadata_update}` for one node
  (its host IP) or `all` (Kelvin);
* `MissingMetadataRequests`: agents -> metadata, request/reply
  (`MissingMetadataRequest` -> `MissingMetadataResponse`);
* `c2v.<topic>`: cloud -> vizier, `C2VMessage` (the connector republishes what the bridge brings);
* `v2c.<topic>`: vizier -> cloud, `V2CMessage` (the connector forwards all of `v2c.>`).

Topics of the bridge: `VizierPassthroughRequest` (cloud API requests for the query broker's
passthrough proxy) and `reply-<request_id>` (its replies).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ALL_SELECTOR",
    "C2V_PREFIX",
    "COMPUTED_SCHEMA",
    "MISSING_METADATA_REQUESTS",
    "PASSTHROUGH_QUEUE_GROUP",
    "PASSTHROUGH_REQUEST_SUBJECT",
    "PASSTHROUGH_REQUEST_TOPIC",
    "REPLY_TOPIC_PREFIX",
    "TRACEPOINT_STATUS",
    "UPDATE_AGENT",
    "V2C_PREFIX",
    "V2C_SUBSCRIPTION",
    "agent_subject",
    "c2v_subject",
    "k8s_updates_subject",
    "passthrough_reply_subject",
    "reply_topic",
    "v2c_subject",
]

# Agents -> metadata: registration and heartbeats.
UPDATE_AGENT: Final = "UpdateAgent"
# Agents -> metadata (request/reply): metadata updates an agent missed on its selector.
MISSING_METADATA_REQUESTS: Final = "MissingMetadataRequests"
# Metadata -> every agent: the tracepoint registry's status (`GetTracepointInfoResponse`),
# published on every change and periodically; GetTracepointStatus() reads the last one.
TRACEPOINT_STATUS: Final = "TracepointStatus"
# Metadata -> every agent: the computed schema (`SchemaResponse`), published periodically;
# Kelvin, which stores no tables, answers px.GetSchemas()/GetTables() from it.
COMPUTED_SCHEMA: Final = "ComputedSchema"
# The K8s update selector of Kelvin, which needs every update (PEMs use their host IP).
ALL_SELECTOR: Final = "all"

C2V_PREFIX: Final = "c2v."
V2C_PREFIX: Final = "v2c."
# Everything the vizier sends to the cloud (the connector's subscription).
V2C_SUBSCRIPTION: Final = f"{V2C_PREFIX}>"

# Cloud API requests (exec / health / cancel) for the query broker's passthrough proxy.
PASSTHROUGH_REQUEST_TOPIC: Final = "VizierPassthroughRequest"
# Replies to one passthrough request travel on topic `reply-<request_id>`.
REPLY_TOPIC_PREFIX: Final = "reply-"
# NATS queue group of the passthrough proxies: with several brokers each request is served once.
PASSTHROUGH_QUEUE_GROUP: Final = "vizier-passthrough"


def agent_subject(agent_id: str) -> str:
    """Metadata and the broker -> one agent."""
    return f"Agent/{agent_id}"


def k8s_updates_subject(selector: str) -> str:
    """Metadata -> agents: metadata updates for one node (host IP) or `all`."""
    return f"K8sUpdates/{selector}"


def c2v_subject(topic: str) -> str:
    """Cloud -> vizier: where the connector republishes a bridge message of `topic`."""
    return f"{C2V_PREFIX}{topic}"


def v2c_subject(topic: str) -> str:
    """Vizier -> cloud: publishing here sends a message of `topic` over the bridge."""
    return f"{V2C_PREFIX}{topic}"


def reply_topic(request_id: str) -> str:
    return f"{REPLY_TOPIC_PREFIX}{request_id}"


PASSTHROUGH_REQUEST_SUBJECT: Final = c2v_subject(PASSTHROUGH_REQUEST_TOPIC)


def passthrough_reply_subject(request_id: str) -> str:
    """Vizier NATS subject of the replies to passthrough request `request_id`."""
    return v2c_subject(reply_topic(request_id))
