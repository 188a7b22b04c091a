"""The agent registry: agents, ASIDs and the same-host index, written through to the KV store."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pyxie_proto.vizier.messagespb import messages_pb2 as msgs
from pyxie_proto.vizier.metadatapb import metadata_pb2 as mdpb

from pyxie_metadata.keys import (
    AGENT_PREFIX,
    ASID_KEY,
    agent_key,
    host_key,
    process_key,
)
from pyxie_metadata.kvstore import KVStore

__all__ = ["AgentRegistry", "Registration", "agent_state", "format_upid"]

# Pixie's ASID counter starts at 1; 0 means "none" on the wire.
_FIRST_ASID = 1

Clock = Callable[[], int]


@dataclass(frozen=True, slots=True)
class Registration:
    """What a RegisterAgentRequest did: the stored agent and the agents it evicted."""

    agent: mdpb.AgentStatus
    evicted: list[str] = field(default_factory=list)


def format_upid(upid_high: int, upid_low: int) -> str:
    """Pixie's printed UPID `asid:pid:start_time` from the two halves of a UInt128."""
    return f"{upid_high >> 32}:{upid_high & 0xFFFFFFFF}:{upid_low}"


def agent_state(agent: mdpb.AgentStatus, now_ns: int, unhealthy_after_ns: int) -> int:
    """UNRESPONSIVE after `unhealthy_after_ns` without a heartbeat, else HEALTHY."""
    if now_ns - agent.last_heartbeat_ns > unhealthy_after_ns:
        return int(mdpb.AGENT_STATE_UNRESPONSIVE)
    return int(mdpb.AGENT_STATE_HEALTHY)


class AgentRegistry:
    """Registered agents (as `AgentStatus` without state/tables) keyed by agent id.

    Every change is written to the KV store before the in-memory view changes, so a restarted
    metadata service rebuilds exactly what it had acknowledged (`AgentRegistry.load`).
    """

    def __init__(self, kv: KVStore, *, clock: Clock = time.time_ns) -> None:
        self._kv = kv
        self._clock = clock
        self._agents: dict[str, mdpb.AgentStatus] = {}

    @classmethod
    async def load(cls, kv: KVStore, *, clock: Clock = time.time_ns) -> AgentRegistry:
        registry = cls(kv, clock=clock)
        for _key, raw in await kv.get_with_prefix(AGENT_PREFIX):
            agent = mdpb.AgentStatus.FromString(raw)
            registry._agents[agent.info.agent_id] = agent
        return registry

    def __contains__(self, agent_id: object) -> bool:
        return agent_id in self._agents

    def get(self, agent_id: str) -> mdpb.AgentStatus | None:
        agent = self._agents.get(agent_id)
        return None if agent is None else _copy(agent)

    def all(self) -> list[mdpb.AgentStatus]:
        return [_copy(self._agents[agent_id]) for agent_id in sorted(self._agents)]

    def ids(self) -> set[str]:
        return set(self._agents)

    async def register(self, info: msgs.AgentInfo, requested_asid: int = 0) -> Registration:
        """Store the agent; evict the agent registered from the same host/netns/role, if any.

        ASID: the agent's own when it is already registered, else the one it asks for (a
        re-registration after HeartbeatNack{reregister}) unless another agent holds it, else
        the next value of the `/asid` counter.
        """
        agent_id = info.agent_id
        if not agent_id:
            raise ValueError("RegisterAgentRequest without an agent_id")
        evicted: list[str] = []
        same_host = await self._kv.get(host_key(info))
        if same_host is not None:
            previous = same_host.decode()
            if previous != agent_id and previous in self._agents:
                await self.delete(previous)
                evicted.append(previous)
        now = self._clock()
        existing = self._agents.get(agent_id)
        if existing is not None:
            asid, created = existing.asid, existing.create_time_ns
            if host_key(existing.info) != host_key(info):
                await self._kv.delete(host_key(existing.info))
        else:
            taken = {agent.asid for agent in self._agents.values()}
            if requested_asid and requested_asid not in taken:
                asid = requested_asid
            else:
                asid = await self._next_asid(taken)
            created = now
        agent = mdpb.AgentStatus(
            info=info, asid=asid, create_time_ns=created, last_heartbeat_ns=now
        )
        await self._kv.set(agent_key(agent_id), agent.SerializeToString())
        await self._kv.set(host_key(info), agent_id.encode())
        self._agents[agent_id] = agent
        return Registration(_copy(agent), evicted)

    async def _next_asid(self, taken: set[int]) -> int:
        raw = await self._kv.get(ASID_KEY)
        asid = int(raw) if raw else _FIRST_ASID
        # A kept (requested) ASID may be ahead of the counter: skip over live ones.
        while asid in taken:
            asid += 1
        await self._kv.set(ASID_KEY, str(asid + 1).encode())
        return asid

    async def record_heartbeat(self, agent_id: str) -> mdpb.AgentStatus | None:
        agent = self._agents.get(agent_id)
        if agent is None:
            return None
        updated = _copy(agent)
        updated.last_heartbeat_ns = self._clock()
        await self._kv.set(agent_key(agent_id), updated.SerializeToString())
        self._agents[agent_id] = updated
        return _copy(updated)

    async def delete(self, agent_id: str) -> bool:
        agent = self._agents.get(agent_id)
        if agent is None:
            return False
        await self._kv.delete(agent_key(agent_id))
        key = host_key(agent.info)
        owner = await self._kv.get(key)
        if owner is not None and owner.decode() == agent_id:
            await self._kv.delete(key)
        del self._agents[agent_id]
        return True

    async def record_processes(
        self,
        agent_id: str,
        created: Iterable[msgs.ProcessCreated],
        terminated: Iterable[msgs.ProcessTerminated],
        ttl_seconds: float,
    ) -> None:
        """Store `/processes/<upid>` records (Pixie keeps them for a day)."""
        for process in created:
            upid = format_upid(process.upid.high, process.upid.low)
            info = mdpb.ProcessInfo(
                agent_id=agent_id,
                pid=process.pid,
                start_timestamp_ns=process.start_timestamp_ns,
                cmdline=process.cmdline,
                cgroup=process.cgroup,
            )
            info.upid.CopyFrom(process.upid)
            await self._kv.set_with_ttl(process_key(upid), info.SerializeToString(), ttl_seconds)
        for ended in terminated:
            key = process_key(format_upid(ended.upid.high, ended.upid.low))
            raw = await self._kv.get(key)
            info = mdpb.ProcessInfo() if raw is None else mdpb.ProcessInfo.FromString(raw)
            if raw is None:
                info.upid.CopyFrom(ended.upid)
                info.agent_id = agent_id
            info.stop_timestamp_ns = ended.stop_timestamp_ns
            await self._kv.set_with_ttl(key, info.SerializeToString(), ttl_seconds)


def _copy(agent: mdpb.AgentStatus) -> mdpb.AgentStatus:
    clone = mdpb.AgentStatus()
    clone.CopyFrom(agent)
    return clone
