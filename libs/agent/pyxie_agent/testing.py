"""A hand-written fake of the metadata service's NATS side, for agent, PEM and Kelvin tests.

It answers RegisterAgentRequest (new ASID, or the one asked for on re-registration) and acks
heartbeats, records everything it receives, and lets a test nack, push metadata updates and
send ExecuteQueryRequests. It is a stand-in at a service boundary; the real metadata service
lives in `pyxie_metadata`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pyxie_proto.carnot.planpb import plan_pb2
from pyxie_proto.vizier.messagespb import messages_pb2
from pyxie_proto.vizier.metadatapb import metadata_pb2
from pyxie_proto.vizier.subjects import (
    MISSING_METADATA_REQUESTS,
    UPDATE_AGENT,
    agent_subject,
    k8s_updates_subject,
)
from pyxie_service.natsbus import NatsBus

__all__ = ["FakeMetadataService"]

HeartbeatPolicy = Callable[[messages_pb2.Heartbeat], bool]


class FakeMetadataService:
    """Registers agents and acks heartbeats over real NATS, recording what it sees."""

    def __init__(
        self,
        bus: NatsBus,
        *,
        answer_registrations: bool = True,
        ack_heartbeat: HeartbeatPolicy | None = None,
    ) -> None:
        self.bus = bus
        self.answer_registrations = answer_registrations
        # Decides per heartbeat whether to ack it (default: always).
        self.ack_heartbeat: HeartbeatPolicy = ack_heartbeat or (lambda _beat: True)
        self.registrations: list[messages_pb2.RegisterAgentRequest] = []
        self.heartbeats: list[messages_pb2.Heartbeat] = []
        self.asids: dict[str, int] = {}
        self._next_asid = 1
        # Updates per selector, kept to answer MissingMetadataRequests.
        self.updates: dict[str, list[messages_pb2.MetadataUpdate]] = {}
        self.missing_requests: list[metadata_pb2.MissingMetadataRequest] = []
        self._subscriptions: list[Subscription] = []
        self._changed = asyncio.Condition()

    async def start(self) -> None:
        self._subscriptions.append(
            await self.bus.subscribe(UPDATE_AGENT, messages_pb2.VizierMessage, self._on_message)
        )
        self._subscriptions.append(
            await self.bus.client.subscribe(MISSING_METADATA_REQUESTS, cb=self._on_missing)
        )
        await self.bus.flush()

    async def stop(self) -> None:
        for subscription in self._subscriptions:
            await subscription.unsubscribe()
        self._subscriptions.clear()

    async def _on_missing(self, raw: Msg) -> None:
        request = metadata_pb2.MissingMetadataRequest.FromString(raw.data)
        self.missing_requests.append(request)
        held = self.updates.get(request.selector, [])
        wanted = [
            u
            for u in held
            if u.version >= request.from_version
            and (not request.to_version or u.version < request.to_version)
        ]
        response = metadata_pb2.MissingMetadataResponse(
            updates=wanted,
            first_update_available=held[0].version if held else 0,
            last_update_available=held[-1].version if held else 0,
        )
        await raw.respond(response.SerializeToString())

    async def __aenter__(self) -> FakeMetadataService:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _on_message(self, message: messages_pb2.VizierMessage) -> None:
        kind = message.WhichOneof("msg")
        if kind == "register_agent_request":
            await self._on_register(message.register_agent_request)
        elif kind == "heartbeat":
            await self._on_heartbeat(message.heartbeat)
        async with self._changed:
            self._changed.notify_all()

    async def _on_register(self, request: messages_pb2.RegisterAgentRequest) -> None:
        self.registrations.append(request)
        if not self.answer_registrations:
            return
        agent_id = request.info.agent_id
        asid = request.asid
        if not asid:
            asid = self._next_asid
            self._next_asid += 1
        self.asids[agent_id] = asid
        await self.bus.publish(
            agent_subject(agent_id),
            messages_pb2.VizierMessage(
                register_agent_response=messages_pb2.RegisterAgentResponse(asid=asid)
            ),
        )

    async def _on_heartbeat(self, beat: messages_pb2.Heartbeat) -> None:
        self.heartbeats.append(beat)
        if self.ack_heartbeat(beat):
            await self.bus.publish(
                agent_subject(beat.agent_id),
                messages_pb2.VizierMessage(
                    heartbeat_ack=messages_pb2.HeartbeatAck(
                        time=beat.time, sequence_number=beat.sequence_number
                    )
                ),
            )

    async def wait_until(self, condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
        """Wait until `condition()` holds after some message arrived (TimeoutError if not)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(condition), timeout_s)

    def heartbeats_of(self, agent_id: str) -> list[messages_pb2.Heartbeat]:
        return [b for b in self.heartbeats if b.agent_id == agent_id]

    async def nack(self, agent_id: str, *, reregister: bool) -> None:
        await self.bus.publish(
            agent_subject(agent_id),
            messages_pb2.VizierMessage(
                heartbeat_nack=messages_pb2.HeartbeatNack(reregister=reregister)
            ),
        )

    async def publish_update(
        self, selector: str, update: messages_pb2.MetadataUpdate, *, publish: bool = True
    ) -> None:
        """Record `update` for gap fills and (unless `publish` is False) send it."""
        self.updates.setdefault(selector, []).append(update)
        if not publish:
            return
        await self.bus.publish(
            k8s_updates_subject(selector), messages_pb2.VizierMessage(metadata_update=update)
        )
        await self.bus.flush()

    async def execute(
        self, agent_id: str, query_id: str, plan: plan_pb2.Plan, *, analyze: bool = False
    ) -> None:
        """What the broker does: ExecuteQueryRequest on `Agent/<id>`."""
        await self.bus.publish(
            agent_subject(agent_id),
            messages_pb2.VizierMessage(
                execute_query_request=messages_pb2.ExecuteQueryRequest(
                    query_id=query_id, plan=plan, analyze=analyze
                )
            ),
        )
        await self.bus.flush()

    async def cancel(self, agent_id: str, query_id: str) -> None:
        await self.bus.publish(
            agent_subject(agent_id),
            messages_pb2.VizierMessage(
                cancel_query_request=messages_pb2.CancelQueryRequest(query_id=query_id)
            ),
        )
        await self.bus.flush()
