"""`pyxie.vizier.metadatapb.MetadataService`: agent updates stream, schemas, agent info and
the raw KV entries under a prefix (GetWithPrefixKey, for debugging)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import TYPE_CHECKING, Any, Final

from pyxie_jwt import ServiceClaims
from pyxie_proto.vizier.metadatapb import metadata_pb2 as mdpb
from pyxie_proto.vizier.metadatapb import metadata_pb2_grpc as mdpb_grpc
from pyxie_service import ServiceRegistration, require_claims
from pyxie_service.errors import FailedPrecondition, InvalidArgument

from pyxie_metadata.controllers.agents import AgentRegistry, agent_state
from pyxie_metadata.controllers.schema import SchemaRegistry
from pyxie_metadata.controllers.updates import AgentUpdateTracker
from pyxie_metadata.kvstore import KVStore

if TYPE_CHECKING:
    import grpc

    _Context = grpc.aio.ServicerContext[Any, Any]

__all__ = [
    "DEFAULT_MAX_UPDATES_PER_RESPONSE",
    "DEFAULT_MAX_UPDATE_INTERVAL_MS",
    "METADATA_SERVICE_NAME",
    "MetadataServicer",
    "metadata_registration",
]

METADATA_SERVICE_NAME: Final = "pyxie.vizier.metadatapb.MetadataService"
# The query broker's tracker values (MaxUpdateInterval=5s, MaxUpdatesPerResponse=100), used
# when a request leaves them at 0.
DEFAULT_MAX_UPDATE_INTERVAL_MS: Final = 5000
DEFAULT_MAX_UPDATES_PER_RESPONSE: Final = 100
# Entries one GetWithPrefixKey response carries: a debugging call must not ship the store.
MAX_PREFIX_ENTRIES: Final = 10_000


class MetadataServicer(mdpb_grpc.MetadataServiceServicer):
    """Serves the registry's view; only service tokens (other vizier services) may call it."""

    def __init__(
        self,
        registry: AgentRegistry,
        schema: SchemaRegistry,
        tracker: AgentUpdateTracker,
        *,
        unhealthy_threshold_seconds: float,
        wall_clock_ns: Callable[[], int] = time.time_ns,
        kv: KVStore | None = None,
    ) -> None:
        self._kv = kv
        self._registry = registry
        self._schema = schema
        self._tracker = tracker
        self._unhealthy_after_ns = int(unhealthy_threshold_seconds * 1e9)
        self._wall_clock_ns = wall_clock_ns

    def agent_status(self, agent: mdpb.AgentStatus, now_ns: int) -> mdpb.AgentStatus:
        """The stored agent with its state and the tables it holds filled in."""
        agent.state = agent_state(agent, now_ns, self._unhealthy_after_ns)  # type: ignore[assignment]
        agent.tables.extend(self._schema.tables_of(agent.info.agent_id))
        return agent

    async def GetAgentInfo(
        self, request: mdpb.AgentInfoRequest, context: _Context
    ) -> mdpb.AgentInfoResponse:
        require_claims(ServiceClaims)
        now = self._wall_clock_ns()
        return mdpb.AgentInfoResponse(
            info=[self.agent_status(agent, now) for agent in self._registry.all()]
        )

    async def GetSchemas(
        self, request: mdpb.SchemaRequest, context: _Context
    ) -> mdpb.SchemaResponse:
        require_claims(ServiceClaims)
        return mdpb.SchemaResponse(schema=self._schema.computed_schema())

    async def GetWithPrefixKey(
        self, request: mdpb.WithPrefixKeyRequest, context: _Context
    ) -> mdpb.WithPrefixKeyResponse:
        require_claims(ServiceClaims)
        if not request.prefix:
            raise InvalidArgument("GetWithPrefixKey needs a non-empty prefix, e.g. /agent/")
        if self._kv is None:
            raise FailedPrecondition("this metadata service has no KV store")
        entries = await self._kv.get_with_prefix(request.prefix)
        return mdpb.WithPrefixKeyResponse(
            kvs=[
                mdpb.WithPrefixKeyResponse.KV(key=key, value=value)
                for key, value in entries[:MAX_PREFIX_ENTRIES]
            ],
            truncated=len(entries) > MAX_PREFIX_ENTRIES,
        )

    async def GetAgentUpdates(
        self, request: mdpb.AgentUpdatesRequest, context: _Context
    ) -> AsyncIterator[mdpb.AgentUpdatesResponse]:
        """The full state first, then the deltas of each version, each ending with the schema
        and `end_of_version`; an empty response every interval when nothing changed. Ends when
        a newer stream opens."""
        require_claims(ServiceClaims)
        interval_ms = request.max_update_interval_ms or DEFAULT_MAX_UPDATE_INTERVAL_MS
        interval = max(interval_ms, 1) / 1000
        per_response = max(request.max_updates_per_response, 0) or DEFAULT_MAX_UPDATES_PER_RESPONSE
        cursor = self._tracker.open_cursor()
        try:
            for response in self._version(self._registry.ids(), per_response):
                yield response
            while True:
                changes = await cursor.wait(interval)
                if cursor.closed:
                    return
                if not changes:
                    yield mdpb.AgentUpdatesResponse()
                    continue
                for response in self._version(changes.agent_ids, per_response):
                    yield response
        finally:
            self._tracker.release(cursor)

    def _version(
        self, agent_ids: Iterable[str], per_response: int
    ) -> list[mdpb.AgentUpdatesResponse]:
        """One version: agent updates in chunks, then the schema with end_of_version."""
        now = self._wall_clock_ns()
        updates: list[mdpb.AgentUpdate] = []
        for agent_id in sorted(agent_ids):
            agent = self._registry.get(agent_id)
            if agent is None:
                updates.append(mdpb.AgentUpdate(agent_id=agent_id, deleted=True))
            else:
                updates.append(
                    mdpb.AgentUpdate(agent_id=agent_id, agent=self.agent_status(agent, now))
                )
        responses = [
            mdpb.AgentUpdatesResponse(agent_updates=updates[start : start + per_response])
            for start in range(0, len(updates), per_response)
        ]
        responses.append(
            mdpb.AgentUpdatesResponse(schema=self._schema.computed_schema(), end_of_version=True)
        )
        return responses


def metadata_registration(servicer: MetadataServicer) -> ServiceRegistration:
    return ServiceRegistration(
        METADATA_SERVICE_NAME,
        lambda server: mdpb_grpc.add_MetadataServiceServicer_to_server(servicer, server),
    )
