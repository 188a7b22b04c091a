"""The vizier end of the bridge: register, then carry NATS traffic both ways, reconnecting.

One session = one `NATSBridge` stream. It opens with `register` (the vizier id and a proof: a
cluster JWT signed with the vizier's key), waits for `registerAck`, then runs four loops until
one ends: send (lanes → stream), receive (stream → vizier NATS `c2v.<topic>`), heartbeat, and
the vizier NATS subscription `v2c.>` feeding the lanes. Passthrough replies (`reply-*`) and
heartbeats use the priority lane; everything else is bulk and is dropped when its lane is full,
as Pixie drops when its queue is full. A broken session is retried with exponential backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from nats.aio.msg import Msg
from pyxie_crypto import CertificateError
from pyxie_jwt import VIZIER_AUDIENCE, cluster_claims, sign_token
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2 as cvmsgs
from pyxie_proto.cloud.subjects import HEARTBEAT_TOPIC, REGISTER_ACK_TOPIC, REGISTER_TOPIC
from pyxie_proto.cloud.vzconnpb import vzconn_pb2 as pb
from pyxie_proto.cloud.vzconnpb import vzconn_pb2_grpc as pb_grpc
from pyxie_proto.vizier.subjects import (
    REPLY_TOPIC_PREFIX,
    V2C_PREFIX,
    V2C_SUBSCRIPTION,
    c2v_subject,
)
from pyxie_service import BackgroundTask, NatsBus, get_logger
from pyxie_service.lanes import LanesClosed, PriorityLanes

from pyxie_cloud_connector.controllers.health import HealthReport
from pyxie_cloud_connector.state import VizierIdentity

__all__ = [
    "Backoff",
    "BridgeClient",
    "RegisterRefused",
]

# grpc.aio.EOF, which the stubs do not declare.
_EOF: Final[Any] = getattr(grpc.aio, "EOF")  # noqa: B009

_log = get_logger("pyxie.cloud_connector.bridge")


class RegisterRefused(Exception):
    """The cloud answered `registerAck` with a failure status."""


class Backoff:
    """Exponential backoff with jitter: initial, doubling per failure, capped; reset on success."""

    def __init__(self, initial: float, maximum: float) -> None:
        self._initial = initial
        self._maximum = maximum
        self._failures = 0

    def reset(self) -> None:
        self._failures = 0

    def next_delay(self) -> float:
        delay = min(self._maximum, self._initial * 2.0 ** min(self._failures, 30))
        self._failures += 1
        # Jitter spreads the reconnects of many viziers after a cloud restart.
        return delay * random.uniform(0.75, 1.0)


def _pack(message: Message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


@dataclass(frozen=True)
class BridgeTiming:
    register_timeout_seconds: float
    heartbeat_interval_seconds: float
    reconnect_initial_seconds: float
    reconnect_max_seconds: float


class BridgeClient:
    def __init__(
        self,
        *,
        channel_factory: Callable[[], grpc.aio.Channel],
        identity: VizierIdentity,
        bus: NatsBus,
        cluster_uid: str,
        cluster_name: str,
        vizier_version: str,
        health: Callable[[], HealthReport],
        timing: BridgeTiming,
        buffer_messages: int,
        verify_server: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._channel_factory = channel_factory
        self._verify_server = verify_server
        self._identity = identity
        self._bus = bus
        self._cluster_uid = cluster_uid
        self._cluster_name = cluster_name
        self._vizier_version = vizier_version
        self._health = health
        self._timing = timing
        self._buffer = buffer_messages
        self._backoff = Backoff(timing.reconnect_initial_seconds, timing.reconnect_max_seconds)
        self._sequence = 0
        # Runs the sessions until stopped (the connector hands it to its service).
        self.task = BackgroundTask("connector-bridge", self.run_forever)
        # Observable state for health, metrics and tests.
        self.sessions_registered = 0
        self.connected = asyncio.Event()
        self.cloud_name = ""
        self.last_error = ""
        self.dropped = 0

    async def run_forever(self) -> None:
        while True:
            try:
                await self._session()
                self.last_error = "bridge closed by the cloud"
            except asyncio.CancelledError:
                raise
            except RegisterRefused as err:
                self.last_error = str(err)
                _log.error("cloud refused the bridge registration", reason=str(err))
            except grpc.aio.AioRpcError as err:
                self.last_error = f"{err.code().name}: {err.details()}"
                _log.warning("bridge to the cloud broke", code=err.code().name)
            except CertificateError as err:
                self.last_error = str(err)
                _log.error("the cloud's certificate was refused", reason=str(err))
            except (TimeoutError, LanesClosed) as err:
                self.last_error = repr(err)
                _log.warning("bridge to the cloud broke", error=repr(err))
            except Exception as err:
                self.last_error = repr(err)
                _log.exception("bridge session failed")
            finally:
                self.connected.clear()
            await asyncio.sleep(self._backoff.next_delay())

    async def _session(self) -> None:
        if self._verify_server is not None:
            await self._verify_server()
        channel = self._channel_factory()
        session_id = str(time.time_ns())
        try:
            stub: Any = pb_grpc.VZConnServiceStub(channel)
            call: Any = stub.NATSBridge()
            await self._register(call, session_id)
            self._backoff.reset()
            self.sessions_registered += 1
            self.connected.set()
            _log.info("bridge registered", vizier_id=self._identity.vizier_id, name=self.cloud_name)
            lanes: PriorityLanes[pb.V2CBridgeMessage] = PriorityLanes(self._buffer)
            subscription = await self._bus.client.subscribe(
                V2C_SUBSCRIPTION, cb=self._forwarder(lanes, session_id)
            )
            tasks = [
                asyncio.create_task(self._send(call, lanes), name="bridge-send"),
                asyncio.create_task(self._receive(call), name="bridge-receive"),
                asyncio.create_task(self._heartbeats(lanes, session_id), name="bridge-heartbeat"),
            ]
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()
            finally:
                with contextlib.suppress(Exception):
                    await subscription.unsubscribe()
                lanes.close()
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
                call.cancel()
        finally:
            await channel.close(None)

    async def _register(self, call: Any, session_id: str) -> None:
        proof = sign_token(
            cluster_claims(cluster_id=self._identity.vizier_id, audience=VIZIER_AUDIENCE),
            self._identity.signing_key,
        )
        register = cvmsgs.RegisterVizierRequest(
            vizier_id=self._identity.vizier_id,
            jwt_key_proof=proof,
            cluster_uid=self._cluster_uid,
            cluster_name=self._cluster_name,
            vizier_version=self._vizier_version,
        )
        await call.write(
            pb.V2CBridgeMessage(topic=REGISTER_TOPIC, session_id=session_id, msg=_pack(register))
        )
        async with asyncio.timeout(self._timing.register_timeout_seconds):
            reply = await call.read()
        if reply is _EOF:
            code = await call.code()
            raise RegisterRefused(f"the cloud closed the bridge before registerAck ({code.name})")
        ack = cvmsgs.RegisterVizierAck()
        if reply.topic != REGISTER_ACK_TOPIC or not reply.msg.Unpack(ack):
            raise RegisterRefused(f"expected registerAck, got topic {reply.topic!r}")
        if ack.status != cvmsgs.RegisterVizierAck.ST_OK:
            status = cvmsgs.RegisterVizierAck.Status.Name(ack.status)
            raise RegisterRefused(f"{status}: {ack.message}")
        self.cloud_name = ack.vizier_name

    def _forwarder(self, lanes: PriorityLanes[pb.V2CBridgeMessage], session_id: str) -> Any:
        async def forward(raw: Msg) -> None:
            topic = raw.subject[len(V2C_PREFIX) :]
            try:
                envelope = cvmsgs.V2CMessage.FromString(raw.data)
            except Exception:
                _log.warning("dropping a v2c message that is not a V2CMessage", topic=topic)
                return
            message = pb.V2CBridgeMessage(topic=topic, session_id=session_id, msg=envelope.msg)
            if not lanes.offer(message, priority=topic.startswith(REPLY_TOPIC_PREFIX)):
                self.dropped += 1

        return forward

    async def _send(self, call: Any, lanes: PriorityLanes[pb.V2CBridgeMessage]) -> None:
        await send_from_lanes(lanes, call.write)

    async def _receive(self, call: Any) -> None:
        while True:
            message = await call.read()
            if message is _EOF:
                return
            envelope = cvmsgs.C2VMessage(vizier_id=self._identity.vizier_id, msg=message.msg)
            await self._bus.publish(c2v_subject(message.topic), envelope)

    async def _heartbeats(self, lanes: PriorityLanes[pb.V2CBridgeMessage], session_id: str) -> None:
        while True:
            report = self._health()
            self._sequence += 1
            beat = cvmsgs.VizierHeartbeat(
                vizier_id=self._identity.vizier_id,
                time=time.time_ns(),
                sequence_number=self._sequence,
                status=report.status,
                status_message=report.message,
                vizier_version=self._vizier_version,
            )
            # Priority lane: a bulk backlog must not make the cloud think the vizier is gone.
            lanes.offer(
                pb.V2CBridgeMessage(topic=HEARTBEAT_TOPIC, session_id=session_id, msg=_pack(beat)),
                priority=True,
            )
            await asyncio.sleep(self._timing.heartbeat_interval_seconds)


async def send_from_lanes(
    lanes: PriorityLanes[pb.V2CBridgeMessage], write: Callable[[pb.V2CBridgeMessage], Any]
) -> None:
    """Write messages in lane order (priority first) until the lanes close."""
    while True:
        try:
            message = await lanes.get()
        except LanesClosed:
            return
        await write(message)
