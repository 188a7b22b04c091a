"""The cron-script sync across the real bridge: plugin service → cloud NATS → vzconn (TLS) →
cloud_connector → vizier NATS → the query broker's cron-script runner → metadata's
CronScriptStoreService (its real store over SQLite), with the real vzmgr (PostgreSQL) telling
the plugin service which viziers an org has. Faked: the broker's MetadataService (agents and
schemas; only the cron store matters here) and the broker's health for the connector."""

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
from pyxie_metadata.controllers.cron_scripts import CronScriptStore, CronScriptStoreServicer
from pyxie_metadata.kvstore import SqliteKVStore
from pyxie_plugin.testing import (
    Credentials,
    create_retention_script,
    enable_otel_plugin,
    eventually,
    running_plugin,
)
from pyxie_proto.api.vizierpb import vizierapi_pb2_grpc as vpb_grpc
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2 as cvmsgs
from pyxie_query_broker.app import QueryBroker
from pyxie_query_broker.testing import FakeMetadata, broker_settings
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
            kv = await SqliteKVStore.open(tmp_path / "vizier-kv.sqlite")
            store = CronScriptStore(kv)
            vizier_key = SigningKey.generate()
            metadata = FakeMetadata(vizier_key)  # type: ignore[abstract]  # a test fake
            metadata.extra.append(CronScriptStoreServicer(store).registration())
            metadata_address = await metadata.start(broker_settings(vizier_key))
            metadata_channel = grpc.aio.insecure_channel(metadata_address)
            query_broker = QueryBroker(
                broker_settings(vizier_key, vizier_nats.url, cron_script_poll_seconds=0.5),
                bus=vizier_bus,
                metadata_channel=metadata_channel,
            )
            await query_broker.start()
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
                        stored = await store.scripts()
                        return len(stored) == len(scripts) == 3 and set(stored) <= set(
                            query_broker.cron_scripts.scheduled()
                        )

                    await eventually(arrived)
                    own = await create_retention_script(
                        channel,
                        Credentials(key).user(org),
                        name="only here",
                        contents="import px\n",
                        cluster_ids=[vizier_id],
                    )

                    async def own_arrived() -> bool:
                        return own in await store.scripts()

                    await eventually(own_arrived)
                finally:
                    await channel.close(None)
                stored = await store.scripts()
                endpoint = yaml.safe_load(next(iter(stored.values())).configs)
                assert endpoint["otelEndpointConfig"]["headers"] == {"api-key": SECRET}
                # The runner's checksum sync with the cloud agrees with what it stored: a
                # script the pushes missed (written only to the cloud's answer) is repaired.
                await store.delete(own)

                async def repaired() -> bool:
                    return own in await store.scripts()

                await eventually(repaired)
            finally:
                await query_broker.stop()
                await metadata_channel.close(None)
                for connector in stack.connectors:
                    await connector.stop()
                await metadata.stop()
                await kv.close()
    finally:
        await cloud_bus.drain()
        await vizier_bus.drain()
        await broker_server.stop(0)
        await asyncio.sleep(0)
