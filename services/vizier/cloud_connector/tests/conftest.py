"""Fixtures: two NATS servers (cloud and vizier), vzmgr on PostgreSQL, vzconn over TLS from a
test CA, and a fake query broker."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import grpc
import pytest
from pyxie_cloud_connector.testing import FakeBroker, Stack
from pyxie_crypto import CertificateAuthority
from pyxie_jwt import SigningKey
from pyxie_proto.api.vizierpb import vizierapi_pb2_grpc as vpb_grpc
from pyxie_service import NatsBus
from pyxie_vzconn.testing import running_vzconn
from pyxie_vzmgr.testing import running_vzmgr


@pytest.fixture(scope="session")
def vizier_nats() -> Iterator[Any]:
    """A second NATS server: the vizier's own bus, separate from the cloud's."""
    from pyxie_devstack.nats_server import NatsServer

    state_dir = Path(tempfile.mkdtemp(prefix="pyxie-test-vizier-nats-"))
    try:
        with NatsServer(state_dir, jetstream=False) as server:
            yield server.endpoint
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture
def stack_factory(fresh_database: str, nats_server: Any, vizier_nats: Any, tmp_path: Path) -> Any:
    @asynccontextmanager
    async def start(**vzconn_overrides: Any) -> AsyncIterator[Stack]:
        key = SigningKey.generate()
        ca_dir = tmp_path / "ca"
        ca = CertificateAuthority.create("connector test CA")
        ca.save(ca_dir)
        broker = FakeBroker()
        broker_server = grpc.aio.server()
        vpb_grpc.add_VizierServiceServicer_to_server(broker, broker_server)
        broker_port = broker_server.add_insecure_port("127.0.0.1:0")
        await broker_server.start()
        cloud_bus = await NatsBus.connect(nats_server.url, name="test-cloud")
        vizier_bus = await NatsBus.connect(vizier_nats.url, name="test-vizier")
        try:
            async with (
                running_vzmgr(fresh_database, nats_server.url, cloud_key=key) as vzmgr,
                running_vzconn(
                    nats_server.url,
                    f"127.0.0.1:{vzmgr.service.grpc_port}",
                    cloud_key=key,
                    tls_ca_dir=ca_dir,
                    **vzconn_overrides,
                ) as vzconn,
            ):
                stack = Stack(
                    vzmgr,
                    vzconn,
                    key,
                    ca,
                    ca_dir,
                    cloud_bus,
                    vizier_bus,
                    vizier_nats.url,
                    broker,
                    broker_port,
                    tmp_path,
                )
                try:
                    yield stack
                finally:
                    for connector in stack.connectors:
                        await connector.stop()
        finally:
            await cloud_bus.drain()
            await vizier_bus.drain()
            await broker_server.stop(0)

    return start
