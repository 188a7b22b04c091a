"""What ``GetAgentStatus`` reads: a provider of agent records (the metadata service's registry)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["AGENT_STATUS_EXTRA", "AgentStatus", "AgentStatusProvider", "StaticAgentStatus"]

# Key of the provider in FunctionContext.extras.
AGENT_STATUS_EXTRA = "agent_status"


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
    def agents(self) -> Sequence[AgentStatus]: ...


@dataclass(frozen=True, slots=True)
class StaticAgentStatus:
    """A fixed list of agents (single-process runs and tests)."""

    statuses: tuple[AgentStatus, ...] = ()

    def agents(self) -> Sequence[AgentStatus]:
        return self.statuses
