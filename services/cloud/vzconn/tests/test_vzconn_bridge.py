"""vzconn over real TLS: deploy-key registration, the register handshake, topic mapping."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import grpc
import pytest
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2 as cvmsgs
from pyxie_proto.cloud.vzconnpb import vzconn_pb2 as pb
from pyxie_proto.cloud.vzconnpb import vzconn_pb2_grpc as pb_grpc
from pyxie_service import NatsBus
from pyxie_vzconn.testing import CloudFactory, pack, register_message


async def test_registration_without_a_deploy_key_is_unauthenticated(
    cloud_side: CloudFactory,
) -> None:
    async with cloud_side() as cloud, cloud.channel() as channel:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await pb_grpc.VZConnServiceStub(channel).RegisterVizierDeployment(
                pb.RegisterVizierDeploymentRequest(k8s_cluster_uid="u", k8s_cluster_name="n")
            )
        assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
        registered = await cloud.new_vizier(channel)
        assert registered.vizier_name == "prod"
        uuid.UUID(registered.vizier_id)


async def test_bridge_traffic_before_register_is_rejected(cloud_side: CloudFactory) -> None:
    async with cloud_side() as cloud, cloud.channel() as channel:
        call = pb_grpc.VZConnServiceStub(channel).NATSBridge()
        await call.write(pb.V2CBridgeMessage(topic="heartbeat", msg=pack(cvmsgs.VizierHeartbeat())))
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call.read()
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "register" in (raised.value.details() or "")


async def test_a_bridge_that_never_registers_times_out(cloud_side: CloudFactory) -> None:
    async with cloud_side(register_timeout_seconds=0.3) as cloud, cloud.channel() as channel:
        call = pb_grpc.VZConnServiceStub(channel).NATSBridge()
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call.read()
        assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


async def test_a_register_with_a_wrong_key_gets_a_failed_ack_and_the_stream_ends(
    cloud_side: CloudFactory,
) -> None:
    async with cloud_side() as cloud, cloud.channel() as channel:
        registered = await cloud.new_vizier(channel)
        call = pb_grpc.VZConnServiceStub(channel).NATSBridge()
        await call.write(register_message(registered.vizier_id, "x" * 64))
        reply = await call.read()
        ack = cvmsgs.RegisterVizierAck()
        assert reply.topic == "registerAck" and reply.msg.Unpack(ack)
        assert ack.status == cvmsgs.RegisterVizierAck.ST_FAILED_REJECTED
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call.read()
        assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_bridge_maps_topics_to_sharded_subjects_under_the_registered_id(
    cloud_side: CloudFactory, nats_server: Any
) -> None:
    async with cloud_side() as cloud, cloud.channel() as channel:
        registered = await cloud.new_vizier(channel)
        vizier_id = registered.vizier_id
        shard = uuid.UUID(vizier_id).hex[-2:]
        bus = await NatsBus.connect(nats_server.url, name="test-cloud")
        seen: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()

        async def collect(raw: Any) -> None:
            await seen.put((raw.subject, raw.data))

        await bus.client.subscribe("v2c.>", cb=collect)
        try:
            call = pb_grpc.VZConnServiceStub(channel).NATSBridge()
            await call.write(register_message(vizier_id, registered.jwt_signing_key))
            ack_message = await call.read()
            ack = cvmsgs.RegisterVizierAck()
            assert ack_message.msg.Unpack(ack) and ack.status == cvmsgs.RegisterVizierAck.ST_OK
            payload = pack(cvmsgs.VizierHeartbeat(vizier_id=str(uuid.uuid4())))
            # Neither a dotted topic nor a wildcard can leave the vizier's own namespace.
            for bad in ("a.b", "*", ">", "register"):
                await call.write(pb.V2CBridgeMessage(topic=bad, session_id="s1", msg=payload))
            await call.write(pb.V2CBridgeMessage(topic="Metrics", session_id="s1", msg=payload))
            subject, data = await asyncio.wait_for(seen.get(), 20)
            assert subject == f"v2c.{shard}.{vizier_id}.Metrics"
            envelope = cvmsgs.V2CMessage.FromString(data)
            assert (envelope.vizier_id, envelope.session_id) == (vizier_id, "s1")
            assert envelope.msg == payload
            assert seen.empty()

            # Cloud to vizier: c2v.<id>.<topic> arrives with the prefix stripped.
            request = pack(cvmsgs.C2VAPIStreamRequest(request_id="r1"))
            await bus.client.publish(
                f"c2v.{vizier_id}.VizierPassthroughRequest",
                cvmsgs.C2VMessage(vizier_id=vizier_id, msg=request).SerializeToString(),
            )
            delivered = await asyncio.wait_for(call.read(), 20)
            assert (delivered.topic, delivered.msg) == ("VizierPassthroughRequest", request)
            await call.done_writing()
            # The vizier closing its side ends the stream cleanly.
            assert await asyncio.wait_for(call.read(), 20) is grpc.aio.EOF  # type: ignore[attr-defined]
        finally:
            await bus.drain()


async def test_mtls_rejects_a_client_without_a_certificate(cloud_side: CloudFactory) -> None:
    async with cloud_side(tls_require_client_cert=True) as cloud:
        async with cloud.channel() as anonymous:
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await pb_grpc.VZConnServiceStub(anonymous).RegisterVizierDeployment(
                    pb.RegisterVizierDeploymentRequest(), timeout=10
                )
            assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
        async with cloud.channel(client_cert=True) as with_cert:
            registered = await cloud.new_vizier(with_cert)
            assert registered.vizier_name == "prod"
