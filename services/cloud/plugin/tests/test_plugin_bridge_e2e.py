"""The cron-script sync across the real bridge: plugin service → cloud NATS → vzconn (TLS) →
cloud_connector → vizier NATS, with the real vzmgr (PostgreSQL) telling the plugin service
which viziers an org has. The vizier's script store is a small fake on the vizier's NATS (the
query broker's cron runner is the boundary)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from google.protobuf import any_pb2
from pyxie_cloud_connector.testing import FakeBroker, Stack
from pyxie_crypto import CertificateAuthority
from pyxie_jwt import SigningKey
from pyxie_plugin.testing import (
    Credentials,
    create_retention_script,
    enable_otel_plugin,
    eventually,
    running_plugin,
)
from pyxie_proto.api.vizierpb import vizierapi_pb2_grpc as vpb_grpc
from pyxie_proto.cloud import cronscripts
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2 as cvmsgs
from pyxie_proto.vizier.subjects import c2v_subject, v2c_subject
from pyxie_service import NatsBus
from pyxie_vzconn.testing import running_vzconn
from pyxie_vzmgr.testing import running_vzmgr

SECRET = "sk-over-the-bridge-1a2b"


@pytest.fixture(scope="module")
def vizier_nats() -> Iterator[Any]:
    from pyxie_devstack.nats_server import NatsServer

    state_dir = Path(tempfile.mkdtemp(prefix="pyxie-test-plugin-vizier-nats-"))
    try:
        with NatsServer(state_dir, jetstream=False) as server:
            yield server.endpoint
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)


def _pack(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


class VizierScriptStore:
    """The vizier end: applies `CronScriptsUpdates` from vizier NATS and acks each one."""

    def __init__(self, bus: NatsBus) -> None:
        self.bus = bus
        self.scripts: dict[str, cvmsgs.CronScript] = {}

    async def start(self) -> None:
        await self.bus.client.subscribe(c2v_subject(cronscripts.UPDATES_TOPIC), cb=self._on_update)
        await self.bus.client.flush()

    async def _on_update(self, raw: Any) -> None:
        update = cvmsgs.CronScriptUpdate()
        cvmsgs.C2VMessage.FromString(raw.data).msg.Unpack(update)
        reply = cvmsgs.CronScriptUpdateResponse()
        if update.HasField("upsert_req"):
            script = update.upsert_req.script
            self.scripts[str(uuid.UUID(int=(script.id.high_bits << 64) | script.id.low_bits))] = (
                script
            )
            reply.upsert_resp.SetInParent()
        else:
            sid = update.delete_req.script_id
            self.scripts.pop(str(uuid.UUID(int=(sid.high_bits << 64) | sid.low_bits)), None)
            reply.delete_resp.SetInParent()
        topic = cronscripts.updates_response_topic(update.request_id)
        await self.bus.client.publish(
            v2c_subject(topic), cvmsgs.V2CMessage(msg=_pack(reply)).SerializeToString()
        )

    async def cloud_checksum(self) -> str:
        topic = uuid.uuid4().hex
        sub = await self.bus.client.subscribe(
            c2v_subject(cronscripts.checksum_response_topic(topic)), max_msgs=1
        )
        request = cvmsgs.GetCronScriptsChecksumRequest(topic=topic)
        await self.bus.client.publish(
            v2c_subject(cronscripts.CHECKSUM_REQUEST_TOPIC),
            cvmsgs.V2CMessage(msg=_pack(request)).SerializeToString(),
        )
        raw = await sub.next_msg(timeout=30)
        reply = cvmsgs.GetCronScriptsChecksumResponse()
        cvmsgs.C2VMessage.FromString(raw.data).msg.Unpack(reply)
        return str(reply.checksum)


async def test_enabled_plugin_scripts_reach_the_vizier_over_the_bridge_and_checksums_agree(
    fresh_database: str, nats_server: Any, vizier_nats: Any, tmp_path: Path
) -> None:
    key = SigningKey.generate()
    ca_dir = tmp_path / "ca"
    ca = CertificateAuthority.create("plugin bridge test CA")
    ca.save(ca_dir)
    broker = FakeBroker()  # type: ignore[abstract]  # only HealthCheck is called
    broker_server = grpc.aio.server()
    vpb_grpc.add_VizierServiceServicer_to_server(broker, broker_server)
    broker_port = broker_server.add_insecure_port("127.0.0.1:0")
    await broker_server.start()
    cloud_bus = await NatsBus.connect(nats_server.url, name="test-cloud")
    vizier_bus = await NatsBus.connect(vizier_nats.url, name="test-vizier")
    org = uuid.uuid4()
    try:
        async with (
            running_vzmgr(fresh_database, nats_server.url, cloud_key=key) as vzmgr,
            running_vzconn(
                nats_server.url,
                f"127.0.0.1:{vzmgr.service.grpc_port}",
                cloud_key=key,
                tls_ca_dir=ca_dir,
            ) as vzconn,
            running_plugin(
                fresh_database, nats_server.url, cloud_key=key, vzmgr_addr=vzmgr.address
            ) as plugin,
        ):
            stack = Stack(
                vzmgr, vzconn, key, ca, ca_dir, cloud_bus, vizier_bus, vizier_nats.url,
                broker, broker_port, tmp_path,
            )  # fmt: skip
            store = VizierScriptStore(vizier_bus)
            await store.start()
            try:
                connector = await stack.start_connector(
                    stack.settings(deploy_key=await stack.deploy_key(str(org)))
                )
                assert connector.identity is not None
                vizier_id = connector.identity.vizier_id

                async def healthy() -> bool:
                    info = await stack.vizier_info(vizier_id)
                    return bool(info.status == cvmsgs.VZ_ST_HEALTHY)

                await eventually(healthy)
                channel = grpc.aio.insecure_channel(plugin.address)
                try:
                    scripts = await enable_otel_plugin(
                        channel,
                        Credentials(key).user(org),
                        export_url="collector.example.com:4317",
                        headers={"api-key": SECRET},
                    )

                    async def arrived() -> bool:
                        return len(store.scripts) == len(scripts) == 3

                    await eventually(arrived)
                    own = await create_retention_script(
                        channel,
                        Credentials(key).user(org),
                        name="only here",
                        contents="import px\n",
                        cluster_ids=[vizier_id],
                    )

                    async def own_arrived() -> bool:
                        return own in store.scripts

                    await eventually(own_arrived)
                finally:
                    await channel.close(None)
                endpoint = yaml.safe_load(next(iter(store.scripts.values())).configs)
                assert endpoint["otelEndpointConfig"]["headers"] == {"api-key": SECRET}
                # The vizier's checksum sync agrees with what the pushes delivered.
                assert await store.cloud_checksum() == cronscripts.cron_scripts_checksum(
                    store.scripts
                )
            finally:
                for connector in stack.connectors:
                    await connector.stop()
    finally:
        await cloud_bus.drain()
        await vizier_bus.drain()
        await broker_server.stop(0)
        await asyncio.sleep(0)
