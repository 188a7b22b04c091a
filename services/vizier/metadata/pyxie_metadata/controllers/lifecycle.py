"""The agent lifecycle over NATS (Pixie's agent topic listener and agent handlers).

* `RegisterAgentRequest` on `UpdateAgent`: the agent is stored (ASID kept on re-registration),
  any agent registered from the same host/netns/role is evicted and told to exit
  (`HeartbeatNack{reregister:false}`), and `RegisterAgentResponse{asid}` goes to `Agent/<id>`.
* `Heartbeat`: its `update_info` is applied (schema when `does_update_schema`, processes
  created/terminated), then `HeartbeatAck{time, sequence_number}` goes to `Agent/<id>`.
  A heartbeat from an unknown agent gets `HeartbeatNack{reregister:true}`.
* `TracepointMessage{TracepointInfoUpdate}`: goes to the tracepoint registry, which also
  hears of every registration (a new PEM gets the live tracepoints).
* Expiry: an agent that sends nothing for the expiration timeout is deleted (store, schema) and
  gets `HeartbeatNack{reregister:false}`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from google.protobuf.message import Message
from pyxie_proto.vizier.messagespb import messages_pb2 as msgs
from pyxie_proto.vizier.subjects import UPDATE_AGENT, agent_subject
from pyxie_service import BackgroundTask, get_logger

from pyxie_metadata.controllers.agents import AgentRegistry
from pyxie_metadata.controllers.schema import SchemaRegistry
from pyxie_metadata.controllers.updates import AgentUpdateTracker

__all__ = ["AgentLifecycle", "MessageBus", "Subscription", "TracepointSink"]

_M = TypeVar("_M", bound=Message)

_log = get_logger("pyxie.metadata.agents")


class Subscription(Protocol):
    async def unsubscribe(self, limit: int = 0) -> None: ...


class MessageBus(Protocol):
    """What the metadata service needs from NATS (`pyxie_service.NatsBus` provides it)."""

    async def publish(self, subject: str, message: Message, *, reply: str = "") -> None: ...

    async def subscribe(
        self,
        subject: str,
        message_type: type[_M],
        handler: Callable[[_M], Awaitable[None]],
        *,
        queue: str = "",
    ) -> Subscription: ...


class TracepointSink(Protocol):
    """The tracepoint registry, as the agent lifecycle feeds it."""

    async def update_from_agent(self, update: msgs.TracepointInfoUpdate) -> None: ...

    async def agent_registered(self, agent: msgs.AgentInfo) -> None: ...

    async def agent_removed(self, agent_id: str) -> None: ...


class AgentLifecycle:
    """Handles `UpdateAgent` messages one at a time and expires silent agents."""

    def __init__(
        self,
        bus: MessageBus,
        registry: AgentRegistry,
        schema: SchemaRegistry,
        tracker: AgentUpdateTracker,
        *,
        expiration_timeout: float,
        process_ttl: float,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock_ns: Callable[[], int] = time.time_ns,
        tracepoints: TracepointSink | None = None,
    ) -> None:
        self._tracepoints = tracepoints
        self._bus = bus
        self._registry = registry
        self._schema = schema
        self._tracker = tracker
        self._expiration_timeout = expiration_timeout
        self._process_ttl = process_ttl
        self._monotonic = monotonic
        self._wall_clock_ns = wall_clock_ns
        # When each live agent was last heard from (monotonic seconds).
        self._last_seen: dict[str, float] = {}
        # Registration, heartbeats and expiry each read-modify-write the registry.
        self._lock = asyncio.Lock()
        self._subscription: Subscription | None = None
        self._expiry = BackgroundTask("agent-expiry", self._expire_forever)

    async def start(self) -> None:
        """Adopt the agents in the store (fresh expiry clocks) and subscribe to `UpdateAgent`."""
        now = self._monotonic()
        for agent_id in self._registry.ids():
            self._last_seen[agent_id] = now
        if await self._schema.prune(self._registry.ids()):
            self._tracker.schema_changed()
        self._subscription = await self._bus.subscribe(
            UPDATE_AGENT, msgs.VizierMessage, self.handle
        )
        self._expiry.start()

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            self._subscription = None
        await self._expiry.stop()

    async def handle(self, message: msgs.VizierMessage) -> None:
        kind = message.WhichOneof("msg")
        async with self._lock:
            if kind == "register_agent_request":
                await self._register(message.register_agent_request)
            elif kind == "heartbeat":
                await self._heartbeat(message.heartbeat)
            elif kind == "tracepoint_message":
                tracepoint = message.tracepoint_message
                if (
                    self._tracepoints is not None
                    and tracepoint.WhichOneof("msg") == "tracepoint_info_update"
                ):
                    await self._tracepoints.update_from_agent(tracepoint.tracepoint_info_update)
            else:
                _log.warning("ignoring unexpected message on UpdateAgent", kind=kind)

    async def _register(self, request: msgs.RegisterAgentRequest) -> None:
        registration = await self._registry.register(request.info, request.asid)
        agent = registration.agent
        agent_id = agent.info.agent_id
        for evicted in registration.evicted:
            _log.info("agent replaced by a new one from the same host", agent_id=evicted)
            await self._forget(evicted)
        self._last_seen[agent_id] = self._monotonic()
        self._tracker.agent_changed(agent_id)
        _log.info(
            "agent registered",
            agent_id=agent_id,
            asid=agent.asid,
            hostname=agent.info.host_info.hostname,
            host_ip=agent.info.host_info.host_ip,
            collects_data=agent.info.collects_data,
        )
        reply = msgs.VizierMessage(
            register_agent_response=msgs.RegisterAgentResponse(asid=agent.asid)
        )
        await self._bus.publish(agent_subject(agent_id), reply)
        if self._tracepoints is not None:
            await self._tracepoints.agent_registered(agent.info)

    async def _heartbeat(self, heartbeat: msgs.Heartbeat) -> None:
        agent_id = heartbeat.agent_id
        if await self._registry.record_heartbeat(agent_id) is None:
            _log.info(
                "heartbeat from an unknown agent: asking it to re-register", agent_id=agent_id
            )
            await self._nack(agent_id, reregister=True)
            return
        self._last_seen[agent_id] = self._monotonic()
        # Applied before the ack (Pixie acks first): an ack then means "stored", so an agent
        # re-sends an unacked heartbeat's updates rather than losing them.
        update = heartbeat.update_info
        if update.does_update_schema and await self._schema.set_agent_tables(
            agent_id, update.schema
        ):
            self._tracker.schema_changed()
        if update.process_created or update.process_terminated:
            await self._registry.record_processes(
                agent_id, update.process_created, update.process_terminated, self._process_ttl
            )
        self._tracker.agent_changed(agent_id)
        ack = msgs.HeartbeatAck(
            time=self._wall_clock_ns(), sequence_number=heartbeat.sequence_number
        )
        await self._bus.publish(agent_subject(agent_id), msgs.VizierMessage(heartbeat_ack=ack))

    async def _forget(self, agent_id: str) -> None:
        """An agent is gone from the store: drop its schema entries and tell it to exit."""
        self._last_seen.pop(agent_id, None)
        if self._tracepoints is not None:
            await self._tracepoints.agent_removed(agent_id)
        if await self._schema.remove_agents([agent_id]):
            self._tracker.schema_changed()
        self._tracker.agent_changed(agent_id)
        await self._nack(agent_id, reregister=False)

    async def _nack(self, agent_id: str, *, reregister: bool) -> None:
        nack = msgs.VizierMessage(heartbeat_nack=msgs.HeartbeatNack(reregister=reregister))
        await self._bus.publish(agent_subject(agent_id), nack)

    async def expire_overdue(self) -> list[str]:
        """Delete every agent silent for the expiration timeout; returns their ids."""
        expired: list[str] = []
        async with self._lock:
            cutoff = self._monotonic() - self._expiration_timeout
            for agent_id, seen in list(self._last_seen.items()):
                if seen > cutoff:
                    continue
                _log.warning(
                    "agent expired: no message within the timeout",
                    agent_id=agent_id,
                    timeout_s=self._expiration_timeout,
                )
                await self._registry.delete(agent_id)
                await self._forget(agent_id)
                expired.append(agent_id)
        return expired

    async def _expire_forever(self) -> None:
        while True:
            now = self._monotonic()
            # Every deadline is last_seen + the same timeout and last_seen only moves forward,
            # so sleeping until the earliest current deadline never oversleeps one.
            earliest = min(self._last_seen.values(), default=now)
            await asyncio.sleep(max(0.0, earliest + self._expiration_timeout - now))
            try:
                await self.expire_overdue()
            except Exception:
                # A failing store now must not stop expiry for good.
                _log.exception("expiring agents failed")
                await asyncio.sleep(min(1.0, self._expiration_timeout))
