"""The metadata service's logic: agent registry and lifecycle, schema, update cursors, the
gRPC servicer and the metadata publisher."""

from pyxie_metadata.controllers.agents import AgentRegistry, Registration, agent_state
from pyxie_metadata.controllers.lifecycle import AgentLifecycle, MessageBus
from pyxie_metadata.controllers.publisher import (
    MISSING_METADATA_BATCH,
    MetadataPublisher,
    MissingMetadataResponder,
)
from pyxie_metadata.controllers.schema import SchemaRegistry
from pyxie_metadata.controllers.servicer import (
    DEFAULT_MAX_UPDATE_INTERVAL_MS,
    DEFAULT_MAX_UPDATES_PER_RESPONSE,
    METADATA_SERVICE_NAME,
    MetadataServicer,
    metadata_registration,
)
from pyxie_metadata.controllers.updates import AgentUpdateCursor, AgentUpdateTracker

__all__ = [
    "DEFAULT_MAX_UPDATES_PER_RESPONSE",
    "DEFAULT_MAX_UPDATE_INTERVAL_MS",
    "METADATA_SERVICE_NAME",
    "MISSING_METADATA_BATCH",
    "AgentLifecycle",
    "AgentRegistry",
    "AgentUpdateCursor",
    "AgentUpdateTracker",
    "MessageBus",
    "MetadataPublisher",
    "MetadataServicer",
    "MissingMetadataResponder",
    "Registration",
    "SchemaRegistry",
    "agent_state",
    "metadata_registration",
]
