"""Kelvin as a service: registration, JWT on its ResultSinkService, metadata, process exit."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from pyxie_agent import EXIT_AGENT_FATAL, AgentService, ServiceCallCredentials
from pyxie_agent.testing import FakeMetadataService
from pyxie_jwt import SigningKey
from pyxie_kelvin import Kelvin
from pyxie_kelvin.testing import kelvin_test_settings, running_kelvin
from pyxie_proto.carnot.carnotpb import result_sink_pb2, result_sink_pb2_grpc
from pyxie_proto.vizier.messagespb import messages_pb2
from pyxie_service.natsbus import NatsBus

KEY = "q" * 40


@pytest.fixture
async def bus(nats_server: Any) -> AsyncIterator[NatsBus]:
    bus = await NatsBus.connect(nats_server.url, name="kelvin-test")
    yield bus
    await bus.drain()


@pytest.fixture
async def metadata(bus: NatsBus) -> AsyncIterator[FakeMetadataService]:
    async with FakeMetadataService(bus) as fake:
        yield fake


@pytest.fixture
async def kelvin(bus: NatsBus) -> AsyncIterator[tuple[Kelvin, AgentService]]:
    async with running_kelvin(kelvin_test_settings(KEY), bus) as started:
        yield started


async def test_kelvin_registers_as_a_non_collecting_agent_with_its_grpc_address(
    metadata: FakeMetadataService, kelvin: tuple[Kelvin, AgentService]
) -> None:
    agent, service = kelvin[0].agent, kelvin[1]
    assert agent is not None
    await asyncio.wait_for(agent.registered.wait(), 10)
    await metadata.wait_until(lambda: bool(metadata.heartbeats_of(agent.agent_id)))

    info = metadata.registrations[0].info
    assert not info.collects_data
    assert info.address == f"127.0.0.1:{service.grpc_port}"
    # Kelvin stores no tables, so its heartbeats carry no schema.
    assert not metadata.heartbeats_of(agent.agent_id)[0].update_info.does_update_schema


async def test_kelvin_follows_the_all_selector_for_metadata(
    metadata: FakeMetadataService, kelvin: tuple[Kelvin, AgentService]
) -> None:
    agent = kelvin[0].agent
    assert agent is not None and agent.metadata is not None
    await metadata.wait_until(lambda: bool(metadata.heartbeats_of(agent.agent_id)))

    await metadata.publish_update(
        "all",
        messages_pb2.MetadataUpdate(
            version=1, pod=messages_pb2.PodUpdate(uid="p1", name="web-0", namespace="shop")
        ),
    )
    state = kelvin[0].metadata_state

    async def applied() -> None:
        # The update is applied in a NATS callback that signals nothing a test could await.
        while not state.pod_id_by_name("shop", "web-0"):  # noqa: ASYNC110
            await asyncio.sleep(0.01)

    await asyncio.wait_for(applied(), 10)
    pod = state.pod("p1")
    assert pod is not None and pod.qualified_name == "shop/web-0"


async def _transfer(address: str, metadata: tuple[tuple[str, str], ...] | None) -> Any:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = result_sink_pb2_grpc.ResultSinkServiceStub(channel)
        requests = [
            result_sink_pb2.TransferResultChunkRequest(
                sender="pem-x",
                query_id="q",
                initiate_conn=result_sink_pb2.InitiateConnection(grpc_source_id=1),
            )
        ]
        call: Any = stub.TransferResultChunk(iter(requests), metadata=metadata)
        return await call


async def test_result_sink_requires_an_agent_service_token(
    kelvin: tuple[Kelvin, AgentService],
) -> None:
    address = f"127.0.0.1:{kelvin[1].grpc_port}"

    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await _transfer(address, None)
    forged = ServiceCallCredentials(SigningKey("x" * 40), service_id="pem")
    with pytest.raises(grpc.aio.AioRpcError) as forged_denied:
        await _transfer(address, tuple(forged()))
    accepted = await _transfer(
        address, tuple(ServiceCallCredentials(SigningKey(KEY), service_id="pem")())
    )

    assert denied.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert forged_denied.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert accepted.success


@pytest.mark.slow
async def test_kelvin_process_exits_non_zero_when_the_metadata_service_expires_it(
    nats_server: Any, metadata: FakeMetadataService
) -> None:
    env = {
        **os.environ,
        "PL_JWT_SIGNING_KEY": KEY,
        "PL_NATS_URL": nats_server.url,
        "PL_GRPC_PORT": "0",
        "PL_GRPC_HOST": "127.0.0.1",
        "PL_ADVERTISE_HOST": "127.0.0.1",
        "PL_METRICS_ENABLED": "false",
        "PL_HEARTBEAT_INTERVAL_S": "0.2",
        "PL_REGISTRATION_JITTER_MAX_S": "0",
        "PL_SHUTDOWN_GRACE_SECONDS": "0.2",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pyxie_kelvin",
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await metadata.wait_until(lambda: bool(metadata.heartbeats), timeout_s=60)
        await metadata.nack(metadata.heartbeats[0].agent_id, reregister=False)
        code = await asyncio.wait_for(process.wait(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    assert code == EXIT_AGENT_FATAL
