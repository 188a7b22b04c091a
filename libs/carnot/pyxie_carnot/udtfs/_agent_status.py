"""What the metadata-backed UDTFs read: providers of agent records, the cluster's schemas and
an agent's processes.

Providers may answer synchronously (single-process runs, tests) or with an awaitable (Kelvin
asks the metadata service over gRPC for every query, so a just-registered agent is listed).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar, runtime_checkable

from pyxie_types import TableSchema

__all__ = [
    "AGENT_STATUS_EXTRA",
    "METADATA_KV_EXTRA",
    "PROCESSES_EXTRA",
    "SCHEMAS_EXTRA",
    "TABLE_STORE_EXTRA",
    "AgentStatus",
    "AgentStatusProvider",
    "MetadataKV",
    "ProcessListing",
    "ProcessRecord",
    "SchemasProvider",
    "StaticAgentStatus",
    "then",
]

# Keys of the providers in FunctionContext.extras.
AGENT_STATUS_EXTRA = "agent_status"
SCHEMAS_EXTRA = "cluster_schemas"
PROCESSES_EXTRA = "processes"
METADATA_KV_EXTRA = "metadata_kv"
# The agent's table store (PEMs), for _DebugTableInfo: ``tables()`` -> {name: table with stats()}.
TABLE_STORE_EXTRA = "table_store"

_In = TypeVar("_In")
_Out = TypeVar("_Out")


@dataclass(frozen=True, slots=True)
class AgentStatus:
    """One agent as GetAgentStatus reports it (Pixie's column meanings)."""

    agent_id: uuid.UUID
    asid: int
    hostname: str
    ip_address: str = ""
    agent_state: str = "AGENT_STATE_HEALTHY"
    create_time_ns: int = 0
    # Nanoseconds since the agent's last heartbeat, as Pixie reports it.
    last_heartbeat_ns: int = 0
    kernel_headers_installed: bool = False
    is_kelvin: bool = False


@runtime_checkable
class AgentStatusProvider(Protocol):
    def agents(self) -> Sequence[AgentStatus] | Awaitable[Sequence[AgentStatus]]: ...


@runtime_checkable
class SchemasProvider(Protocol):
    """The union schema of the cluster (what metadata computed from every agent's tables)."""

    def schemas(self) -> Mapping[str, TableSchema] | Awaitable[Mapping[str, TableSchema]]: ...


@runtime_checkable
class MetadataKV(Protocol):
    """The metadata service's KV store: (key, value as text) under a prefix."""

    def get_with_prefix(self, prefix: str, proto: str) -> Awaitable[Sequence[tuple[str, str]]]: ...


@dataclass(frozen=True, slots=True)
class ProcessRecord:
    """One process an agent observes (its UPID is asid + pid + start ticks)."""

    pid: int
    start_time_ticks: int
    start_time_ns: int
    cmdline: str


@runtime_checkable
class ProcessListing(Protocol):
    def processes(self) -> Sequence[ProcessRecord]: ...


@dataclass(frozen=True, slots=True)
class StaticAgentStatus:
    """A fixed list of agents (single-process runs and tests)."""

    statuses: tuple[AgentStatus, ...] = ()

    def agents(self) -> Sequence[AgentStatus]:
        return self.statuses


def then(value: _In | Awaitable[_In], build: Callable[[_In], _Out]) -> _Out | Awaitable[_Out]:
    """``build(value)`` now, or once ``value`` resolves when it is awaitable."""
    if isinstance(value, Awaitable):

        async def finish() -> _Out:
            return build(await value)

        return finish()
    return build(value)
