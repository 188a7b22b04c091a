"""Bridge registration, org checks, passthrough tokens, heartbeats and the status monitor."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import psycopg
import pytest
from google.protobuf import any_pb2
from pyxie_jwt import (
    VIZIER_AUDIENCE,
    ClusterClaims,
    SigningKey,
    cluster_claims,
    sign_token,
    verify_token,
)
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2 as cvmsgs
from pyxie_proto.cloud.vzmgrpb import vzmgr_pb2 as pb
from pyxie_service import NatsBus
from pyxie_vzmgr.testing import Cloud, eventually, running_vzmgr

ACK = cvmsgs.RegisterVizierAck


def _register(vizier_id: str, proof: str) -> pb.VizierConnectedRequest:
    return pb.VizierConnectedRequest(
        register=cvmsgs.RegisterVizierRequest(
            vizier_id=vizier_id, jwt_key_proof=proof, vizier_version="0.9.0"
        )
    )


def _proof(vizier_id: str, key_text: str) -> str:
    claims = cluster_claims(cluster_id=vizier_id, audience=VIZIER_AUDIENCE)
    return sign_token(claims, SigningKey(key_text))


async def _new_vizier(
    cloud: Cloud, org: str, name: str = "prod"
) -> pb.RegisterVizierDeploymentResponse:
    return await cloud.register(await cloud.new_deploy_key(org), f"uid-{uuid.uuid4()}", name)


async def _info(cloud: Cloud, vizier_id: str) -> Any:
    return await cloud.mgr.GetVizierInfo(
        pb.GetVizierInfoRequest(vizier_id=vizier_id), metadata=cloud.service_auth()
    )


async def test_register_with_a_valid_proof_connects_the_vizier(cloud: Cloud) -> None:
    vizier = await _new_vizier(cloud, str(uuid.uuid4()))
    ack = await cloud.mgr.VizierConnected(
        _register(vizier.vizier_id, _proof(vizier.vizier_id, vizier.jwt_signing_key)),
        metadata=cloud.service_auth(),
    )
    assert (ack.status, ack.vizier_name) == (ACK.ST_OK, "prod")
    info = await _info(cloud, vizier.vizier_id)
    assert info.status == cvmsgs.VZ_ST_CONNECTED
    assert info.vizier_version == "0.9.0"
    assert info.previous_status == cvmsgs.VZ_ST_DISCONNECTED
    assert info.last_heartbeat_ns > 0


async def test_register_is_refused_for_a_wrong_proof_or_an_unknown_vizier(cloud: Cloud) -> None:
    vizier = await _new_vizier(cloud, str(uuid.uuid4()))
    other = await _new_vizier(cloud, str(uuid.uuid4()), "other")
    cases = [
        # Signed with another key.
        (
            vizier.vizier_id,
            _proof(vizier.vizier_id, SigningKey.generate().reveal_text()),
            ACK.ST_FAILED_REJECTED,
        ),
        # A valid proof of another vizier cannot connect this one.
        (vizier.vizier_id, _proof(other.vizier_id, other.jwt_signing_key), ACK.ST_FAILED_REJECTED),
        (vizier.vizier_id, "not a token", ACK.ST_FAILED_REJECTED),
        (
            str(uuid.uuid4()),
            _proof(vizier.vizier_id, vizier.jwt_signing_key),
            ACK.ST_FAILED_NOT_FOUND,
        ),
    ]
    for vizier_id, proof, expected in cases:
        ack = await cloud.mgr.VizierConnected(
            _register(vizier_id, proof), metadata=cloud.service_auth()
        )
        assert ack.status == expected
    assert (await _info(cloud, vizier.vizier_id)).status == cvmsgs.VZ_ST_DISCONNECTED


async def test_only_services_may_report_a_connected_vizier(cloud: Cloud) -> None:
    org = str(uuid.uuid4())
    vizier = await _new_vizier(cloud, org)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await cloud.mgr.VizierConnected(
            _register(vizier.vizier_id, _proof(vizier.vizier_id, vizier.jwt_signing_key)),
            metadata=cloud.user_auth(org),
        )
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_vizier_info_and_connection_info_are_org_checked(cloud: Cloud) -> None:
    org, other = str(uuid.uuid4()), str(uuid.uuid4())
    vizier = await _new_vizier(cloud, org)
    info = await cloud.mgr.GetVizierInfo(
        pb.GetVizierInfoRequest(vizier_id=vizier.vizier_id), metadata=cloud.user_auth(org)
    )
    assert (info.name, info.org_id) == ("prod", org)
    listed = await cloud.mgr.GetViziersByOrg(
        pb.GetViziersByOrgRequest(), metadata=cloud.user_auth(org)
    )
    assert [v.vizier_id for v in listed.viziers] == [vizier.vizier_id]
    for call, request in (
        (cloud.mgr.GetVizierInfo, pb.GetVizierInfoRequest(vizier_id=vizier.vizier_id)),
        (
            cloud.mgr.GetVizierConnectionInfo,
            pb.GetVizierConnectionInfoRequest(vizier_id=vizier.vizier_id),
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call(request, metadata=cloud.user_auth(other))
        assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
    listed_other = await cloud.mgr.GetViziersByOrg(
        pb.GetViziersByOrgRequest(), metadata=cloud.api_user_auth(other)
    )
    assert list(listed_other.viziers) == []


async def test_connection_info_is_a_cluster_token_signed_with_the_vizier_key(cloud: Cloud) -> None:
    org = str(uuid.uuid4())
    vizier = await _new_vizier(cloud, org)
    connection = await cloud.mgr.GetVizierConnectionInfo(
        pb.GetVizierConnectionInfoRequest(vizier_id=vizier.vizier_id), metadata=cloud.user_auth(org)
    )
    claims = verify_token(
        connection.token, SigningKey(vizier.jwt_signing_key), audience=VIZIER_AUDIENCE
    )
    assert isinstance(claims, ClusterClaims)
    assert claims.cluster_id == vizier.vizier_id
    assert (claims.expires_at - claims.issued_at).total_seconds() <= 3600 + 120


def _heartbeat(vizier_id: str, status: int, *, envelope_id: str | None = None) -> bytes:
    beat = cvmsgs.VizierHeartbeat(
        vizier_id=vizier_id,
        status=status,
        num_nodes=3,
        num_instrumented_nodes=2,
        vizier_version="0.9.1",
        status_message="fine",
    )
    payload = any_pb2.Any()
    payload.Pack(beat)
    envelope_vizier = vizier_id if envelope_id is None else envelope_id
    return cvmsgs.V2CMessage(vizier_id=envelope_vizier, msg=payload).SerializeToString()


@pytest.fixture
async def cloud_bus(nats_server: Any) -> AsyncIterator[NatsBus]:
    bus = await NatsBus.connect(nats_server.url, name="test-vizier")
    yield bus
    await bus.drain()


async def test_heartbeats_on_cloud_nats_set_status_and_counts(
    cloud: Cloud, cloud_bus: NatsBus
) -> None:
    vizier = await _new_vizier(cloud, str(uuid.uuid4()))
    shard = vizier.vizier_id[-2:]
    await cloud_bus.client.publish(
        f"v2c.{shard}.{vizier.vizier_id}.heartbeat",
        _heartbeat(vizier.vizier_id, cvmsgs.VZ_ST_HEALTHY),
    )

    async def healthy() -> bool:
        return bool((await _info(cloud, vizier.vizier_id)).status == cvmsgs.VZ_ST_HEALTHY)

    await eventually(healthy)
    info = await _info(cloud, vizier.vizier_id)
    assert (info.num_nodes, info.num_instrumented_nodes, info.vizier_version) == (3, 2, "0.9.1")


async def test_a_heartbeat_naming_another_vizier_is_ignored(
    cloud: Cloud, cloud_bus: NatsBus
) -> None:
    victim = await _new_vizier(cloud, str(uuid.uuid4()), "victim")
    liar = await _new_vizier(cloud, str(uuid.uuid4()), "liar")
    # vzconn stamps the envelope and subject with the liar's registered id; the payload lies.
    await cloud_bus.client.publish(
        f"v2c.{liar.vizier_id[-2:]}.{liar.vizier_id}.heartbeat",
        _heartbeat(victim.vizier_id, cvmsgs.VZ_ST_HEALTHY, envelope_id=liar.vizier_id),
    )
    # A marker beat for the liar itself proves the listener has processed the bad one.
    await cloud_bus.client.publish(
        f"v2c.{liar.vizier_id[-2:]}.{liar.vizier_id}.heartbeat",
        _heartbeat(liar.vizier_id, cvmsgs.VZ_ST_UNHEALTHY),
    )

    async def liar_seen() -> bool:
        return bool((await _info(cloud, liar.vizier_id)).status == cvmsgs.VZ_ST_UNHEALTHY)

    await eventually(liar_seen)
    assert (await _info(cloud, victim.vizier_id)).status == cvmsgs.VZ_ST_DISCONNECTED


async def test_silent_viziers_become_disconnected(fresh_database: str, nats_server: Any) -> None:
    key = SigningKey.generate()
    async with running_vzmgr(
        fresh_database,
        nats_server.url,
        cloud_key=key,
        heartbeat_timeout_seconds=0.3,
        status_monitor_interval_seconds=0.1,
    ) as vzmgr:
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{vzmgr.service.grpc_port}")
        cloud = Cloud(vzmgr, key, channel, fresh_database)
        try:
            vizier = await _new_vizier(cloud, str(uuid.uuid4()))
            ack = await cloud.mgr.VizierConnected(
                _register(vizier.vizier_id, _proof(vizier.vizier_id, vizier.jwt_signing_key)),
                metadata=cloud.service_auth(),
            )
            assert ack.status == ACK.ST_OK

            async def disconnected() -> bool:
                info = await _info(cloud, vizier.vizier_id)
                return bool(info.status == cvmsgs.VZ_ST_DISCONNECTED)

            await eventually(disconnected)
            info = await _info(cloud, vizier.vizier_id)
            assert info.previous_status == cvmsgs.VZ_ST_CONNECTED
            assert info.status_message == "no heartbeat from the vizier"
            with psycopg.connect(fresh_database) as conn:
                row = conn.execute(
                    "SELECT prev_status_time IS NOT NULL FROM vizier_cluster_info"
                ).fetchone()
            assert row == (True,)
        finally:
            await channel.close()
