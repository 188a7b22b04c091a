"""VZConnService: deploy-key registration and the NATSBridge stream of every vizier.

Both methods skip JWT auth, as in Pixie: the deploy key (checked by vzmgr) or the proof of the
vizier's own key in the `register` message is the credential. After a successful register the
stream's vizier id is fixed; every message the vizier sends is published under that id, so one
vizier can never publish as another.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING, Any, Final

import grpc
from google.protobuf import any_pb2
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import MaxPayloadError
from prometheus_client import CollectorRegistry, Counter
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2 as cvmsgs
from pyxie_proto.cloud.subjects import (
    PASSTHROUGH_REQUEST_TOPIC,
    REGISTER_ACK_TOPIC,
    REGISTER_TOPIC,
    REPLY_TOPIC_PREFIX,
    c2v_subscription,
    c2v_topic,
    is_valid_topic,
    v2c_subject,
)
from pyxie_proto.cloud.vzconnpb import vzconn_pb2 as pb
from pyxie_proto.cloud.vzconnpb import vzconn_pb2_grpc as pb_grpc
from pyxie_service import (
    DeadlineExceeded,
    InvalidArgument,
    NatsBus,
    NotFound,
    PermissionDenied,
    ServiceRegistration,
    Unauthenticated,
    get_logger,
    public,
)
from pyxie_service.lanes import LanesClosed, PriorityLanes

from pyxie_vzconn.controllers.vzmgr_client import VzmgrClient

if TYPE_CHECKING:
    _Context = grpc.aio.ServicerContext[Any, Any]

__all__ = [
    "DEPLOY_KEY_METADATA_KEY",
    "VZCONN_SERVICE_NAME",
    "BridgeServicer",
]

VZCONN_SERVICE_NAME: Final = "pyxie.cloud.vzconnpb.VZConnService"
DEPLOY_KEY_METADATA_KEY: Final = "x-api-key"

_log = get_logger("pyxie.vzconn.bridge")


class _BridgeMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.messages = Counter(
            "vzconn_bridge_messages",
            "Messages carried by vzconn bridges",
            ["direction"],
            registry=registry,
        )
        self.dropped = Counter(
            "vzconn_bridge_dropped_messages",
            "Cloud-to-vizier messages dropped because the bridge buffer was full",
            registry=registry,
        )


def _wrap(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


class BridgeServicer(pb_grpc.VZConnServiceServicer):
    def __init__(
        self,
        vzmgr: VzmgrClient,
        bus: NatsBus,
        *,
        register_timeout_seconds: float,
        buffer_messages: int,
        metrics_registry: CollectorRegistry | None = None,
    ) -> None:
        self._vzmgr = vzmgr
        self._bus = bus
        self._register_timeout = register_timeout_seconds
        self._buffer = buffer_messages
        self._metrics = _BridgeMetrics(metrics_registry or CollectorRegistry())
        # Bridges opened since start (tests and /metrics watch reconnects with it).
        self.sessions_opened = 0

    def registration(self) -> ServiceRegistration:
        return ServiceRegistration(
            VZCONN_SERVICE_NAME,
            lambda server: pb_grpc.add_VZConnServiceServicer_to_server(self, server),
        )

    @public
    async def RegisterVizierDeployment(
        self, request: pb.RegisterVizierDeploymentRequest, context: _Context
    ) -> pb.RegisterVizierDeploymentResponse:
        keys = [
            value
            for key, value in context.invocation_metadata() or ()
            if key == DEPLOY_KEY_METADATA_KEY and isinstance(value, str)
        ]
        if len(keys) != 1 or not keys[0].strip():
            raise Unauthenticated(f"send the deploy key in the '{DEPLOY_KEY_METADATA_KEY}' header")
        registered = await self._vzmgr.register_deployment(
            deploy_key=keys[0].strip(),
            cluster_uid=request.k8s_cluster_uid,
            cluster_name=request.k8s_cluster_name,
            peer=context.peer(),
        )
        return pb.RegisterVizierDeploymentResponse(
            vizier_id=registered.vizier_id,
            vizier_name=registered.vizier_name,
            jwt_signing_key=registered.jwt_signing_key,
        )

    @public
    async def NATSBridge(
        self, request_iterator: AsyncIterator[pb.V2CBridgeMessage], context: _Context
    ) -> AsyncIterator[pb.C2VBridgeMessage]:
        incoming = aiter(request_iterator)
        register = await self._first_message(incoming)
        ack = await self._vzmgr.vizier_connected(register)
        yield pb.C2VBridgeMessage(topic=REGISTER_ACK_TOPIC, msg=_wrap(ack))
        if ack.status != cvmsgs.RegisterVizierAck.ST_OK:
            _log.info("bridge register refused", vizier_id=register.vizier_id, reason=ack.message)
            if ack.status == cvmsgs.RegisterVizierAck.ST_FAILED_NOT_FOUND:
                raise NotFound(f"vizier not registered: {ack.message}")
            raise PermissionDenied(f"vizier register refused: {ack.message}")
        self.sessions_opened += 1
        session = _Session(register.vizier_id, self._bus, self._buffer, self._metrics)
        async with contextlib.aclosing(session.run(incoming)) as outgoing:
            async for message in outgoing:
                yield message

    async def _first_message(
        self, incoming: AsyncIterator[pb.V2CBridgeMessage]
    ) -> cvmsgs.RegisterVizierRequest:
        try:
            async with asyncio.timeout(self._register_timeout):
                first = await anext(incoming)
        except TimeoutError:
            raise DeadlineExceeded(
                f"no '{REGISTER_TOPIC}' message within {self._register_timeout:g} s"
            ) from None
        except StopAsyncIteration:
            raise InvalidArgument(f"bridge closed before its '{REGISTER_TOPIC}' message") from None
        if first.topic != REGISTER_TOPIC:
            raise InvalidArgument(
                f"the first bridge message must have topic '{REGISTER_TOPIC}', not {first.topic!r}"
            )
        register = cvmsgs.RegisterVizierRequest()
        if not first.msg.Unpack(register):
            raise InvalidArgument(
                f"the '{REGISTER_TOPIC}' message must carry a RegisterVizierRequest"
            )
        try:
            uuid.UUID(register.vizier_id)
        except ValueError:
            raise InvalidArgument("the vizier id in the register message is not a UUID") from None
        return register


class _Session:
    """One registered vizier's bridge: cloud NATS c2v.<id>.* ⇄ stream ⇄ v2c.<shard>.<id>.*."""

    def __init__(
        self, vizier_id: str, bus: NatsBus, buffer_messages: int, metrics: _BridgeMetrics
    ) -> None:
        self._vizier_id = vizier_id
        self._bus = bus
        self._metrics = metrics
        self._to_vizier: PriorityLanes[pb.C2VBridgeMessage] = PriorityLanes(buffer_messages)
        self._to_cloud: PriorityLanes[pb.V2CBridgeMessage] = PriorityLanes(buffer_messages)

    async def run(
        self, incoming: AsyncIterator[pb.V2CBridgeMessage]
    ) -> AsyncGenerator[pb.C2VBridgeMessage, None]:
        subscription = await self._subscribe()
        reader = asyncio.create_task(self._read(incoming), name="vzconn-bridge-read")
        publisher = asyncio.create_task(self._publish(), name="vzconn-bridge-publish")
        _log.info("bridge open", vizier_id=self._vizier_id)
        getter: asyncio.Future[pb.C2VBridgeMessage] | None = None
        try:
            while True:
                getter = asyncio.ensure_future(self._to_vizier.get())
                done, _ = await asyncio.wait(
                    (getter, reader, publisher), return_when=asyncio.FIRST_COMPLETED
                )
                if getter not in done:
                    getter.cancel()
                    await self._finish(reader, publisher)
                    return
                yield getter.result()
                self._metrics.messages.labels("c2v").inc()
        finally:
            _log.info("bridge closed", vizier_id=self._vizier_id)
            await subscription.unsubscribe()
            # The stream can end (client gone, server stopping) while `getter` waits: cancel
            # it before closing the lanes, or closing wakes it into a LanesClosed that nobody
            # retrieves ("Task exception was never retrieved", seen once mid-suite).
            tasks: list[asyncio.Future[Any]] = [reader, publisher]
            if getter is not None:
                tasks.append(getter)
            for task in tasks:
                task.cancel()
            self._to_vizier.close()
            self._to_cloud.close()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, LanesClosed):
                    await task

    async def _finish(self, reader: asyncio.Task[None], publisher: asyncio.Task[None]) -> None:
        """The vizier closed its side, or a task failed: publish what was read, then end."""
        for task in (reader, publisher):
            if task.done() and not task.cancelled():
                error = task.exception()
                if error is not None and not isinstance(error, LanesClosed):
                    raise error
        if reader.done():
            self._to_cloud.close()
            with contextlib.suppress(LanesClosed):
                await publisher

    async def _subscribe(self) -> Subscription:
        async def deliver(raw: Msg) -> None:
            topic = c2v_topic(self._vizier_id, raw.subject)
            try:
                envelope = cvmsgs.C2VMessage.FromString(raw.data)
            except Exception:
                _log.warning("dropping a c2v message that is not a C2VMessage", topic=topic)
                return
            message = pb.C2VBridgeMessage(topic=topic, msg=envelope.msg)
            if not self._to_vizier.offer(message, priority=topic == PASSTHROUGH_REQUEST_TOPIC):
                self._metrics.dropped.inc()
                _log.warning("bridge buffer full: c2v message dropped", topic=topic)

        return await self._bus.client.subscribe(c2v_subscription(self._vizier_id), cb=deliver)

    async def _read(self, incoming: AsyncIterator[pb.V2CBridgeMessage]) -> None:
        async for message in incoming:
            if not is_valid_topic(message.topic) or message.topic == REGISTER_TOPIC:
                _log.warning("dropping a bridge message with a bad topic", topic=message.topic)
                continue
            # Awaiting a full lane slows the vizier down through gRPC flow control.
            await self._to_cloud.put(message, priority=message.topic.startswith(REPLY_TOPIC_PREFIX))

    async def _publish(self) -> None:
        while True:
            message = await self._to_cloud.get()
            envelope = cvmsgs.V2CMessage(
                vizier_id=self._vizier_id, session_id=message.session_id, msg=message.msg
            )
            try:
                await self._bus.publish(v2c_subject(self._vizier_id, message.topic), envelope)
            except MaxPayloadError:
                # One message over the NATS max payload must not end the bridge (this task's
                # death closed the lanes): drop it, say so, keep the stream.
                self._metrics.dropped.inc()
                _log.warning(
                    "bridge message over the NATS max payload dropped",
                    topic=message.topic,
                    size=envelope.ByteSize(),
                )
                continue
            self._metrics.messages.labels("v2c").inc()
