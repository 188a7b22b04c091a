"""The tracepoint registry (Pixie's tracepoint manager) and `MetadataTracepointService`.

* `RegisterTracepoint`: a deployment gets a UUID, is stored under `/tracepoint/<id>` and sent as
  `RegisterTracepointRequest` to every PEM (`Agent/<id>`). A deployment named like a live one
  with the same spec keeps its id and only gets a new TTL (ALREADY_EXISTS); a different spec
  replaces it (the old one is removed from the agents).
* Agents answer with `TracepointInfoUpdate{state, status}` on `UpdateAgent`; the combined state
  is RUNNING when any agent runs it, FAILED when every agent failed, PENDING otherwise, and
  TERMINATED once it was removed and every agent confirmed.
* TTL: past `expires_at` a tracepoint is removed like `RemoveTracepoint` would; terminated
  records stay readable (GetTracepointStatus shows them) for an hour.
* A PEM that registers later gets every live tracepoint; an expired one stops counting.
* Every change is broadcast as `GetTracepointInfoResponse` on `TracepointStatus` (and again
  every few seconds for agents that just started), which `px.GetTracepointStatus()` reads.
  The same tick publishes the computed schema on `ComputedSchema` (when a `schema` source is
  given), which Kelvin's `px.GetSchemas()` reads: dynamic tables show up there.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final

from pyxie_jwt import ServiceClaims
from pyxie_proto.vizier.messagespb import messages_pb2 as msgs
from pyxie_proto.vizier.metadatapb import metadata_pb2 as mdpb
from pyxie_proto.vizier.metadatapb import metadata_pb2_grpc as mdpb_grpc
from pyxie_proto.vizier.subjects import COMPUTED_SCHEMA, TRACEPOINT_STATUS, agent_subject
from pyxie_service import (
    BackgroundTask,
    InvalidArgument,
    ServiceRegistration,
    get_logger,
    require_claims,
)
from pyxie_service.audit import audit

from pyxie_metadata.controllers.agents import AgentRegistry
from pyxie_metadata.controllers.lifecycle import MessageBus
from pyxie_metadata.kvstore import KVStore

if TYPE_CHECKING:
    import grpc

    _Context = grpc.aio.ServicerContext[Any, Any]

__all__ = [
    "TRACEPOINT_PREFIX",
    "TRACEPOINT_SERVICE_NAME",
    "TracepointRegistry",
    "TracepointServicer",
    "tracepoint_registration",
]

TRACEPOINT_SERVICE_NAME: Final = "pyxie.vizier.metadatapb.MetadataTracepointService"
TRACEPOINT_PREFIX: Final = "/tracepoint/"
# Terminated tracepoints stay visible in GetTracepointStatus this long.
TERMINATED_RETENTION_NS: Final = 3600 * 10**9
# How often the TTL reaper runs and the status is re-broadcast (agents that started since).
DEFAULT_TICK_SECONDS: Final = 2.0
_ALREADY_EXISTS: Final = 6

_log = get_logger("pyxie.metadata.tracepoints")

S = msgs.TracepointState


def _key(tracepoint_id: str) -> str:
    return f"{TRACEPOINT_PREFIX}{tracepoint_id}"


def combined_state(info: mdpb.TracepointInfo) -> int:
    """One state from the agents' states (see the module docstring)."""
    states = [a.state for a in info.agents]
    if info.expected_state == S.TRACEPOINT_STATE_TERMINATED:
        live = [s for s in states if s in (S.TRACEPOINT_STATE_RUNNING, S.TRACEPOINT_STATE_PENDING)]
        return S.TRACEPOINT_STATE_TERMINATED if not live else S.TRACEPOINT_STATE_RUNNING
    if S.TRACEPOINT_STATE_RUNNING in states:
        return S.TRACEPOINT_STATE_RUNNING
    if states and all(s == S.TRACEPOINT_STATE_FAILED for s in states):
        return S.TRACEPOINT_STATE_FAILED
    return S.TRACEPOINT_STATE_PENDING


def _same_spec(a: msgs.TracepointDeployment, b: msgs.TracepointDeployment) -> bool:
    return a.target == b.target and list(a.programs) == list(b.programs)


class TracepointRegistry:
    """Tracepoints, their per-agent status and TTLs, persisted in the KV store."""

    def __init__(
        self,
        kv: KVStore,
        bus: MessageBus,
        agents: AgentRegistry,
        *,
        tick_seconds: float = DEFAULT_TICK_SECONDS,
        wall_clock_ns: Callable[[], int] = time.time_ns,
        schema: Callable[[], mdpb.ComputedSchema] | None = None,
    ) -> None:
        self._schema = schema
        self._kv = kv
        self._bus = bus
        self._agents = agents
        self._clock = wall_clock_ns
        self._tick_seconds = tick_seconds
        self._tracepoints: dict[str, mdpb.TracepointInfo] = {}
        self._lock = asyncio.Lock()
        self._ticker = BackgroundTask("tracepoint-ttl", self._tick_forever)

    @classmethod
    async def load(
        cls, kv: KVStore, bus: MessageBus, agents: AgentRegistry, **kwargs: Any
    ) -> TracepointRegistry:
        registry = cls(kv, bus, agents, **kwargs)
        for _, raw in await kv.get_with_prefix(TRACEPOINT_PREFIX):
            info = mdpb.TracepointInfo.FromString(raw)
            registry._tracepoints[info.id] = info
        return registry

    def start(self) -> None:
        self._ticker.start()

    async def stop(self) -> None:
        await self._ticker.stop()

    # ------------------------------------------------------------ reads

    def get(self, ids: Iterable[str] = ()) -> list[mdpb.TracepointInfo]:
        wanted = set(ids)
        infos = [info for info in self._tracepoints.values() if not wanted or info.id in wanted]
        return sorted(infos, key=lambda info: (info.create_time_ns, info.id))

    def _live(self, name: str) -> mdpb.TracepointInfo | None:
        for info in self._tracepoints.values():
            if info.name == name and info.expected_state == S.TRACEPOINT_STATE_RUNNING:
                return info
        return None

    def _pems(self) -> list[str]:
        return sorted(a.info.agent_id for a in self._agents.all() if a.info.collects_data)

    # ------------------------------------------------------------ changes

    async def register(
        self, deployments: Iterable[msgs.TracepointDeployment], *, actor: str = "service"
    ) -> list[mdpb.TracepointRegistration]:
        results = []
        async with self._lock:
            for deployment in deployments:
                results.append(await self._register_one(deployment, actor))
        await self.broadcast()
        return results

    async def _register_one(
        self, deployment: msgs.TracepointDeployment, actor: str
    ) -> mdpb.TracepointRegistration:
        if not deployment.name or not deployment.programs or deployment.ttl_ns <= 0:
            raise InvalidArgument(
                "a tracepoint deployment needs a name, at least one program and a positive ttl"
            )
        now = self._clock()
        existing = self._live(deployment.name)
        if existing is not None and _same_spec(existing.deployment, deployment):
            existing.expires_at_ns = now + deployment.ttl_ns
            existing.deployment.ttl_ns = deployment.ttl_ns
            await self._save(existing)
            return mdpb.TracepointRegistration(
                id=existing.id,
                name=existing.name,
                status_code=_ALREADY_EXISTS,
                status_message="tracepoint already exists; its ttl was extended",
            )
        if existing is not None:
            _log.info("tracepoint replaced by a new spec", name=deployment.name, id=existing.id)
            await self._terminate(existing)
        info = mdpb.TracepointInfo(
            id=str(uuid.uuid4()),
            name=deployment.name,
            state=S.TRACEPOINT_STATE_PENDING,
            expected_state=S.TRACEPOINT_STATE_RUNNING,
            table_names=[p.table_name for p in deployment.programs],
            create_time_ns=now,
            expires_at_ns=now + deployment.ttl_ns,
            deployment=deployment,
        )
        pems = self._pems()
        for agent_id in pems:
            info.agents.add(agent_id=agent_id, state=S.TRACEPOINT_STATE_PENDING)
        self._tracepoints[info.id] = info
        await self._save(info)
        for agent_id in pems:
            await self._send_register(agent_id, info)
        audit(
            "tracepoint.register",
            "allowed",
            actor=actor,
            target=info.name,
            tracepoint_id=info.id,
            tables=",".join(info.table_names),
            agents=str(len(pems)),
        )
        _log.info("tracepoint registered", name=info.name, id=info.id, agents=len(pems))
        return mdpb.TracepointRegistration(id=info.id, name=info.name)

    async def remove(self, names: Iterable[str]) -> list[str]:
        removed = []
        async with self._lock:
            for name in names:
                info = self._live(name)
                if info is not None:
                    await self._terminate(info)
                    removed.append(name)
        if removed:
            await self.broadcast()
        return removed

    async def _terminate(self, info: mdpb.TracepointInfo) -> None:
        info.expected_state = S.TRACEPOINT_STATE_TERMINATED
        info.state = combined_state(info)  # type: ignore[assignment]
        await self._save(info)
        for status in info.agents:
            await self._bus.publish(
                agent_subject(status.agent_id),
                msgs.VizierMessage(
                    tracepoint_message=msgs.TracepointMessage(
                        remove_tracepoint_request=msgs.RemoveTracepointRequest(id=info.id)
                    )
                ),
            )
        _log.info("tracepoint removed", name=info.name, id=info.id)

    async def update_from_agent(self, update: msgs.TracepointInfoUpdate) -> None:
        async with self._lock:
            info = self._tracepoints.get(update.id)
            if info is None:
                _log.info("status of an unknown tracepoint", id=update.id)
                return
            for status in info.agents:
                if status.agent_id == update.agent_id:
                    break
            else:
                status = info.agents.add(agent_id=update.agent_id)
            status.state = update.state
            status.status_code = update.status_code
            status.status_message = update.status_message
            info.state = combined_state(info)  # type: ignore[assignment]
            await self._save(info)
        await self.broadcast()

    async def agent_registered(self, agent: msgs.AgentInfo) -> None:
        """A (re-)registered PEM gets every live tracepoint."""
        if not agent.collects_data:
            return
        async with self._lock:
            for info in self._tracepoints.values():
                if info.expected_state != S.TRACEPOINT_STATE_RUNNING:
                    continue
                if not any(a.agent_id == agent.agent_id for a in info.agents):
                    info.agents.add(agent_id=agent.agent_id, state=S.TRACEPOINT_STATE_PENDING)
                    info.state = combined_state(info)  # type: ignore[assignment]
                    await self._save(info)
                await self._send_register(agent.agent_id, info)

    async def agent_removed(self, agent_id: str) -> None:
        """An expired or replaced agent no longer counts toward any tracepoint's state."""
        changed = False
        async with self._lock:
            for info in self._tracepoints.values():
                kept = [a for a in info.agents if a.agent_id != agent_id]
                if len(kept) != len(info.agents):
                    del info.agents[:]
                    info.agents.extend(kept)
                    info.state = combined_state(info)  # type: ignore[assignment]
                    await self._save(info)
                    changed = True
        if changed:
            await self.broadcast()

    async def expire_overdue(self) -> list[str]:
        """Remove tracepoints past their TTL; forget terminated ones after the retention."""
        now = self._clock()
        expired = []
        async with self._lock:
            for info in list(self._tracepoints.values()):
                if info.expected_state == S.TRACEPOINT_STATE_RUNNING and info.expires_at_ns <= now:
                    _log.info("tracepoint ttl expired", name=info.name, id=info.id)
                    await self._terminate(info)
                    expired.append(info.name)
                elif (
                    info.expected_state == S.TRACEPOINT_STATE_TERMINATED
                    and info.expires_at_ns + TERMINATED_RETENTION_NS <= now
                ):
                    del self._tracepoints[info.id]
                    await self._kv.delete(_key(info.id))
        if expired:
            await self.broadcast()
        return expired

    async def broadcast(self) -> None:
        response = mdpb.GetTracepointInfoResponse(tracepoints=self.get())
        await self._bus.publish(TRACEPOINT_STATUS, response)

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self._tick_seconds)
            try:
                if not await self.expire_overdue():
                    await self.broadcast()
                if self._schema is not None:
                    await self._bus.publish(
                        COMPUTED_SCHEMA, mdpb.SchemaResponse(schema=self._schema())
                    )
            except Exception:
                _log.exception("tracepoint ttl check failed")

    async def _save(self, info: mdpb.TracepointInfo) -> None:
        await self._kv.set(_key(info.id), info.SerializeToString())

    async def _send_register(self, agent_id: str, info: mdpb.TracepointInfo) -> None:
        await self._bus.publish(
            agent_subject(agent_id),
            msgs.VizierMessage(
                tracepoint_message=msgs.TracepointMessage(
                    register_tracepoint_request=msgs.RegisterTracepointRequest(
                        id=info.id, deployment=info.deployment
                    )
                )
            ),
        )


class TracepointServicer(mdpb_grpc.MetadataTracepointServiceServicer):
    """Only service tokens (the query broker) may call it."""

    def __init__(self, registry: TracepointRegistry) -> None:
        self._registry = registry

    async def RegisterTracepoint(
        self, request: mdpb.RegisterTracepointRequest, context: _Context
    ) -> mdpb.RegisterTracepointResponse:
        claims = require_claims(ServiceClaims)
        registrations = await self._registry.register(
            request.deployments, actor=f"service:{claims.service_id}"
        )
        return mdpb.RegisterTracepointResponse(tracepoints=registrations)

    async def GetTracepointInfo(
        self, request: mdpb.GetTracepointInfoRequest, context: _Context
    ) -> mdpb.GetTracepointInfoResponse:
        require_claims(ServiceClaims)
        return mdpb.GetTracepointInfoResponse(tracepoints=self._registry.get(request.ids))

    async def RemoveTracepoint(
        self, request: mdpb.RemoveTracepointRequest, context: _Context
    ) -> mdpb.RemoveTracepointResponse:
        require_claims(ServiceClaims)
        return mdpb.RemoveTracepointResponse(removed=await self._registry.remove(request.names))


def tracepoint_registration(servicer: TracepointServicer) -> ServiceRegistration:
    return ServiceRegistration(
        TRACEPOINT_SERVICE_NAME,
        lambda server: mdpb_grpc.add_MetadataTracepointServiceServicer_to_server(servicer, server),
    )
