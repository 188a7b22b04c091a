"""The connector against the real cloud side: vzmgr (PostgreSQL) and vzconn over TLS, with two
real NATS servers (cloud and vizier) and a fake query broker."""

from __future__ import annotations

import asyncio
import stat
import uuid
from typing import Any

import grpc
import psycopg
import pytest
from google.protobuf import any_pb2
from pyxie_cloud_connector import load_identity
from pyxie_cloud_connector.controllers.cloud import cloud_channel, register_deployment
from pyxie_cloud_connector.testing import eventually
from pyxie_jwt import VIZIER_AUDIENCE, verify_token
from pyxie_proto.api.vizierpb import vizierapi_pb2 as vpb
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2 as cvmsgs
from pyxie_vzconn.testing import running_vzconn


def _pack(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


async def _status_is(stack: Any, vizier_id: str, status: int) -> bool:
    return bool((await stack.vizier_info(vizier_id)).status == status)


async def test_registers_once_persists_its_identity_and_becomes_healthy(
    stack_factory: Any, fresh_database: str
) -> None:
    async with stack_factory() as stack:
        settings = stack.settings(deploy_key=await stack.deploy_key())
        connector = await stack.start_connector(settings)
        identity = connector.identity
        assert identity is not None and identity.vizier_name == "edge"
        assert stat.S_IMODE(settings.state_file.stat().st_mode) == 0o600
        assert settings.jwt_key_file is not None
        assert stat.S_IMODE(settings.jwt_key_file.stat().st_mode) == 0o600
        assert settings.jwt_key_file.read_text() == identity.signing_key.reveal_text()
        await eventually(lambda: _status_is(stack, identity.vizier_id, cvmsgs.VZ_ST_HEALTHY))
        # The broker was asked with a service token signed by the key the cloud issued.
        verify_token(stack.broker.tokens[0], identity.signing_key, audience=VIZIER_AUDIENCE)
        await connector.stop()

        # A restart without a deploy key reuses the saved identity and registers nothing new;
        # a key file that drifted is rewritten from the state.
        settings.jwt_key_file.write_text("stale-key-" + "0" * 40)
        again = await stack.start_connector(stack.settings())
        assert again.identity is not None and again.identity.vizier_id == identity.vizier_id
        assert load_identity(settings.state_file) == again.identity
        with psycopg.connect(fresh_database) as conn:
            uses = conn.execute("SELECT count(*) FROM deploy_key_audit").fetchone()
        assert uses == (1,)
        assert again.bridge is not None and again.bridge.cloud_name == "edge"
        assert settings.jwt_key_file.read_text() == identity.signing_key.reveal_text()


async def test_an_unhealthy_broker_is_reported_as_unhealthy(stack_factory: Any) -> None:
    async with stack_factory() as stack:
        stack.broker.healthy = False
        connector = await stack.start_connector(stack.settings(deploy_key=await stack.deploy_key()))
        assert connector.identity is not None
        await eventually(
            lambda: _status_is(stack, connector.identity.vizier_id, cvmsgs.VZ_ST_UNHEALTHY)
        )
        info = await stack.vizier_info(connector.identity.vizier_id)
        assert info.status_message == "sick"


async def test_messages_cross_the_bridge_both_ways_with_sharded_subjects(
    stack_factory: Any,
) -> None:
    async with stack_factory() as stack:
        connector = await stack.start_connector(stack.settings(deploy_key=await stack.deploy_key()))
        assert connector.identity is not None
        vizier_id = connector.identity.vizier_id
        shard = uuid.UUID(vizier_id).hex[-2:]
        on_vizier: asyncio.Queue[Any] = asyncio.Queue()
        on_cloud: asyncio.Queue[Any] = asyncio.Queue()

        async def vizier_got(raw: Any) -> None:
            await on_vizier.put(raw)

        async def cloud_got(raw: Any) -> None:
            await on_cloud.put(raw)

        await stack.vizier_bus.client.subscribe("c2v.>", cb=vizier_got)
        await stack.cloud_bus.client.subscribe(f"v2c.{shard}.{vizier_id}.reply-x", cb=cloud_got)
        await stack.vizier_bus.flush()
        await stack.cloud_bus.flush()

        request = _pack(cvmsgs.C2VAPIStreamRequest(request_id="x", token="t"))
        await stack.cloud_bus.client.publish(
            f"c2v.{vizier_id}.VizierPassthroughRequest",
            cvmsgs.C2VMessage(vizier_id=vizier_id, msg=request).SerializeToString(),
        )
        arrived = await asyncio.wait_for(on_vizier.get(), 20)
        assert arrived.subject == "c2v.VizierPassthroughRequest"
        envelope = cvmsgs.C2VMessage.FromString(arrived.data)
        assert (envelope.vizier_id, envelope.msg) == (vizier_id, request)

        reply = _pack(cvmsgs.V2CAPIStreamResponse(request_id="x", status=vpb.Status(code=0)))
        await stack.vizier_bus.client.publish(
            "v2c.reply-x", cvmsgs.V2CMessage(msg=reply).SerializeToString()
        )
        answered = await asyncio.wait_for(on_cloud.get(), 20)
        envelope_back = cvmsgs.V2CMessage.FromString(answered.data)
        assert envelope_back.vizier_id == vizier_id
        assert envelope_back.session_id != ""
        assert envelope_back.msg == reply


async def test_after_a_vzconn_restart_the_connector_reconnects_and_is_healthy_again(
    stack_factory: Any, nats_server: Any, fresh_database: str
) -> None:
    async with stack_factory() as stack:
        connector = await stack.start_connector(stack.settings(deploy_key=await stack.deploy_key()))
        assert connector.identity is not None and connector.bridge is not None
        vizier_id = connector.identity.vizier_id
        await eventually(lambda: _status_is(stack, vizier_id, cvmsgs.VZ_ST_HEALTHY))
        port = stack.vzconn.service.grpc_port
        await stack.vzconn.service.stop()
        await eventually(lambda: _async(not connector.bridge.connected.is_set()))
        # Mark the vizier lost, as the status monitor would after 120 s of silence.
        with psycopg.connect(fresh_database) as conn:
            conn.execute("UPDATE vizier_cluster_info SET status = 'DISCONNECTED'")
        async with running_vzconn(
            nats_server.url,
            f"127.0.0.1:{stack.vzmgr.service.grpc_port}",
            cloud_key=stack.cloud_key,
            tls_ca_dir=stack.ca_dir,
            grpc_port=port,
        ):
            await eventually(lambda: _async(connector.bridge.sessions_registered >= 2))
            await eventually(lambda: _status_is(stack, vizier_id, cvmsgs.VZ_ST_HEALTHY))


async def _async(value: bool) -> bool:
    return value


async def test_mtls_connector_without_a_client_certificate_cannot_register(
    stack_factory: Any,
) -> None:
    async with stack_factory(tls_require_client_cert=True) as stack:
        key = await stack.deploy_key()

        settings = stack.settings(deploy_key=key)
        async with cloud_channel(settings) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await register_deployment(
                    channel, deploy_key=key, cluster_uid="u", cluster_name="n"
                )
            assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
        client = stack.ca.issue_client_certificate("edge-vizier")
        cert_path, key_path = client.save(stack.tmp_path / "client", "edge")
        connector = await stack.start_connector(
            stack.settings(
                deploy_key=key, cloud_client_cert_file=cert_path, cloud_client_key_file=key_path
            )
        )
        assert connector.identity is not None
        await eventually(
            lambda: _status_is(stack, connector.identity.vizier_id, cvmsgs.VZ_ST_HEALTHY)
        )
