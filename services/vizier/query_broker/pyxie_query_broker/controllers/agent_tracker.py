"""The agent tracker: one `MetadataService.GetAgentUpdates` stream → the state queries plan on.

Updates are applied to a *pending* state; readers see it only once metadata marks a response
`end_of_version`. A broken stream is re-opened after a pause and starts from scratch (the
published state stays until the new stream reaches its first end of version). Agents reported
unresponsive or disconnected stay known but are not planned for; deleted agents are dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

import grpc
from pyxie_proto.vizier.metadatapb import metadata_pb2, metadata_pb2_grpc
from pyxie_pxl.planner import AgentInfo
from pyxie_service import AUTHORIZATION_METADATA_KEY, BackgroundTask, get_logger
from pyxie_types import TableSchema

__all__ = [
    "DEFAULT_UPDATES_PER_RESPONSE",
    "DEFAULT_UPDATE_INTERVAL_MS",
    "AgentTracker",
    "DistributedState",
    "TrackedAgent",
]

# Pixie's tracker asks for a response at least every 5 s and at most 100 updates per response.
DEFAULT_UPDATE_INTERVAL_MS: Final = 5_000
DEFAULT_UPDATES_PER_RESPONSE: Final = 100

_PLANNABLE_STATES: Final = frozenset(
    {metadata_pb2.AGENT_STATE_HEALTHY, metadata_pb2.AGENT_STATE_UNKNOWN}
)

_log = get_logger("pyxie.query_broker.tracker")


@dataclass(frozen=True, slots=True)
class TrackedAgent:
    agent_id: str
    # PEMs collect data (they hold tables); every other agent is a Kelvin.
    is_pem: bool
    # host:port of a Kelvin's ResultSinkService; empty for PEMs.
    address: str
    tables: frozenset[str]
    hostname: str
    state: int

    @property
    def plannable(self) -> bool:
        return self.state in _PLANNABLE_STATES

    def agent_info(self) -> AgentInfo:
        return AgentInfo(
            agent_id=self.agent_id,
            is_kelvin=not self.is_pem,
            tables=self.tables if self.is_pem else frozenset(),
            address=self.address,
        )


@dataclass(frozen=True, slots=True)
class DistributedState:
    """One published version: every known agent and the union schema."""

    agents: tuple[TrackedAgent, ...] = ()
    schemas: Mapping[str, TableSchema] = field(default_factory=dict)
    version: int = 0

    def plannable_agents(self) -> list[AgentInfo]:
        """What the planner may use: healthy PEMs and Kelvins, in a stable order."""
        return [a.agent_info() for a in sorted(self.agents, key=_order) if a.plannable]


def _order(agent: TrackedAgent) -> tuple[bool, str]:
    return (agent.is_pem, agent.agent_id)


class _Pending:
    def __init__(self) -> None:
        self.agents: dict[str, metadata_pb2.AgentStatus] = {}
        self.schema = metadata_pb2.ComputedSchema()

    def apply(self, response: metadata_pb2.AgentUpdatesResponse) -> None:
        for update in response.agent_updates:
            kind = update.WhichOneof("update")
            if kind == "deleted":
                self.agents.pop(update.agent_id, None)
            elif kind == "agent":
                agent_id = update.agent_id or update.agent.info.agent_id
                status = metadata_pb2.AgentStatus()
                status.CopyFrom(update.agent)
                self.agents[agent_id] = status
        if response.HasField("schema"):
            self.schema = metadata_pb2.ComputedSchema()
            self.schema.CopyFrom(response.schema)

    def snapshot(self, version: int) -> DistributedState:
        tables_of: dict[str, set[str]] = {}
        for table, ids in self.schema.table_name_to_agent_ids.items():
            for agent_id in ids.agent_ids:
                tables_of.setdefault(agent_id, set()).add(table)
        schemas: dict[str, TableSchema] = {}
        for table_proto in self.schema.tables:
            try:
                schemas[table_proto.name] = TableSchema.from_proto(table_proto)
            except ValueError as err:
                _log.warning(
                    "ignoring an invalid table schema", table=table_proto.name, error=str(err)
                )
        agents = tuple(
            TrackedAgent(
                agent_id=agent_id,
                is_pem=status.info.collects_data,
                address=status.info.address,
                tables=frozenset({*status.tables, *tables_of.get(agent_id, ())}),
                hostname=status.info.host_info.hostname,
                state=status.state,
            )
            for agent_id, status in self.agents.items()
        )
        return DistributedState(agents=agents, schemas=schemas, version=version)


class AgentTracker:
    """Keeps `state` current from metadata; `start()` it, `stop()` it on shutdown."""

    def __init__(
        self,
        channel: grpc.aio.Channel,
        token: Callable[[], str],
        *,
        retry_seconds: float = 5.0,
        update_interval_ms: int = DEFAULT_UPDATE_INTERVAL_MS,
    ) -> None:
        self._stub = metadata_pb2_grpc.MetadataServiceStub(channel)
        self._token = token
        self._retry_seconds = retry_seconds
        self._update_interval_ms = update_interval_ms
        self._state: DistributedState | None = None
        self._versions = 0
        self._changed = asyncio.Condition()
        # Follows metadata until stopped (the service starts and stops it).
        self.task = BackgroundTask("agent-tracker", self._run)

    @property
    def state(self) -> DistributedState | None:
        """The last complete version, or None before the first one arrived."""
        return self._state

    def table_names(self) -> set[str]:
        """Tables of the last complete version (empty before the first)."""
        return set() if self._state is None else set(self._state.schemas)

    async def wait_for(self, predicate: Callable[[DistributedState], bool]) -> DistributedState:
        """The first published state satisfying `predicate` (bound it with asyncio.timeout)."""
        async with self._changed:
            while self._state is None or not predicate(self._state):
                await self._changed.wait()
            return self._state

    async def _run(self) -> None:
        while True:
            try:
                await self._follow()
                _log.warning("agent update stream ended; reconnecting")
            except grpc.aio.AioRpcError as err:
                _log.warning(
                    "agent update stream failed; retrying",
                    code=err.code().name,
                    details=err.details(),
                    retry_seconds=self._retry_seconds,
                )
            except Exception:
                _log.exception("agent tracker failed; retrying")
            await asyncio.sleep(self._retry_seconds)

    async def _follow(self) -> None:
        request = metadata_pb2.AgentUpdatesRequest(
            max_update_interval_ms=self._update_interval_ms,
            max_updates_per_response=DEFAULT_UPDATES_PER_RESPONSE,
        )
        metadata = ((AUTHORIZATION_METADATA_KEY, f"bearer {self._token()}"),)
        pending = _Pending()
        call = self._stub.GetAgentUpdates(request, metadata=metadata)
        try:
            async for response in call:
                pending.apply(response)
                if response.end_of_version:
                    await self._publish(pending)
        finally:
            call.cancel()

    async def _publish(self, pending: _Pending) -> None:
        self._versions += 1
        state = pending.snapshot(self._versions)
        previous = self._state
        async with self._changed:
            self._state = state
            self._changed.notify_all()
        if previous is None or _summary(previous) != _summary(state):
            _log.info(
                "agent state changed",
                version=state.version,
                pems=sum(1 for a in state.agents if a.is_pem and a.plannable),
                kelvins=sum(1 for a in state.agents if not a.is_pem and a.plannable),
                tables=len(state.schemas),
            )


def _summary(state: DistributedState) -> tuple[object, ...]:
    return (
        tuple(sorted((a.agent_id, a.plannable) for a in state.agents)),
        tuple(sorted(state.schemas)),
    )
