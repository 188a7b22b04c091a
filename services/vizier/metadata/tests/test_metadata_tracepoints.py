"""The tracepoint registry over a real NATS and gRPC: registration fans out to PEMs, agents'
states combine, a TTL ends a tracepoint, a later PEM gets the live ones, state survives a
restart, and only service tokens may call it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from pyxie_metadata.testing import (
    FakeAgent,
    RunningMetadata,
    bearer,
    make_settings,
    start_metadata,
    user_token,
)
from pyxie_proto.vizier.messagespb import messages_pb2 as msgs
from pyxie_proto.vizier.metadatapb import metadata_pb2 as mdpb
from pyxie_proto.vizier.metadatapb import metadata_pb2_grpc as mdpb_grpc
from pyxie_proto.vizier.subjects import TRACEPOINT_STATUS, UPDATE_AGENT
from pyxie_service import NatsBus

S = msgs.TracepointState
Starter = Callable[..., Any]


def deployment(
    name: str = "probe", ttl_s: float = 60.0, table: str = "t"
) -> msgs.TracepointDeployment:
    return msgs.TracepointDeployment(
        name=name,
        ttl_ns=int(ttl_s * 1e9),
        target=msgs.TracepointTarget(kernel=True),
        programs=[
            msgs.TracepointProgram(
                table_name=table,
                bpftrace=msgs.BPFTraceProgram(program='BEGIN { printf("n:%d\\n", 1); }'),
            )
        ],
    )


@pytest.fixture
async def start(tmp_path: Path, nats_server: Any) -> AsyncIterator[Starter]:
    running: list[RunningMetadata] = []

    async def starter() -> RunningMetadata:
        settings = make_settings(tmp_path, tracepoint_tick_seconds=0.1)
        metadata = await start_metadata(settings, nats_server.url)
        running.append(metadata)
        return metadata

    yield starter
    for metadata in running:
        await metadata.stop()


@pytest.fixture
async def agents(agent_bus: NatsBus) -> AsyncIterator[Starter]:
    made: list[FakeAgent] = []

    async def make(**kwargs: Any) -> FakeAgent:
        agent = await FakeAgent(agent_bus, **kwargs).listen()
        made.append(agent)
        return agent

    yield make
    for agent in made:
        await agent.close()


def stub(metadata: RunningMetadata) -> Any:
    return mdpb_grpc.MetadataTracepointServiceStub(metadata.channel)


async def register(metadata: RunningMetadata, *deps: msgs.TracepointDeployment) -> Any:
    request = mdpb.RegisterTracepointRequest(deployments=deps)
    return await stub(metadata).RegisterTracepoint(request, metadata=metadata.auth)


async def info(metadata: RunningMetadata) -> dict[str, mdpb.TracepointInfo]:
    response = await stub(metadata).GetTracepointInfo(
        mdpb.GetTracepointInfoRequest(), metadata=metadata.auth
    )
    return {i.name: i for i in response.tracepoints}


async def report(agent: FakeAgent, tracepoint_id: str, state: int, message: str = "") -> None:
    update = msgs.TracepointInfoUpdate(
        id=tracepoint_id,
        agent_id=agent.agent_id,
        state=state,  # type: ignore[arg-type]
        status_code=3 if state == S.TRACEPOINT_STATE_FAILED else 0,
        status_message=message,
    )
    await agent.bus.publish(
        UPDATE_AGENT,
        msgs.VizierMessage(
            tracepoint_message=msgs.TracepointMessage(tracepoint_info_update=update)
        ),
    )


async def until(condition: Callable[[], Any], timeout_s: float = 10.0) -> None:
    async def poll() -> None:
        while not await condition():  # noqa: ASYNC110 - the registry signals nothing
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), timeout_s)


async def test_registration_goes_to_every_pem_and_their_states_combine(
    start: Starter, agents: Starter
) -> None:
    metadata = await start()
    pem_a = await agents(hostname="a", host_ip="10.0.0.1")
    pem_b = await agents(hostname="b", host_ip="10.0.0.2")
    kelvin = await agents(hostname="k", host_ip="10.0.0.3", collects_data=False)
    for agent in (pem_a, pem_b, kelvin):
        await agent.register()
    response = await register(metadata, deployment())
    (registration,) = response.tracepoints
    assert registration.status_code == 0
    for pem in (pem_a, pem_b):
        message = await pem.receive("tracepoint_message")
        sent = message.tracepoint_message.register_tracepoint_request
        assert sent.id == registration.id and sent.deployment == deployment()
    assert kelvin.inbox.empty()
    assert (await info(metadata))["probe"].state == S.TRACEPOINT_STATE_PENDING

    await report(pem_a, registration.id, S.TRACEPOINT_STATE_FAILED, "no such binary")

    async def failed_on_a() -> bool:
        agents_ = (await info(metadata))["probe"].agents
        return any(a.state == S.TRACEPOINT_STATE_FAILED for a in agents_)

    await until(failed_on_a)
    assert (await info(metadata))["probe"].state == S.TRACEPOINT_STATE_PENDING
    await report(pem_b, registration.id, S.TRACEPOINT_STATE_RUNNING)

    async def running() -> bool:
        return (await info(metadata))["probe"].state == S.TRACEPOINT_STATE_RUNNING

    await until(running)
    tracepoint = (await info(metadata))["probe"]
    assert list(tracepoint.table_names) == ["t"]
    by_agent = {a.agent_id: (a.state, a.status_message) for a in tracepoint.agents}
    assert by_agent == {
        pem_a.agent_id: (S.TRACEPOINT_STATE_FAILED, "no such binary"),
        pem_b.agent_id: (S.TRACEPOINT_STATE_RUNNING, ""),
    }


async def test_same_spec_extends_the_ttl_and_a_new_spec_replaces_it(
    start: Starter, agents: Starter
) -> None:
    metadata = await start()
    pem = await agents()
    await pem.register()
    first = (await register(metadata, deployment(ttl_s=60))).tracepoints[0]
    await pem.receive("tracepoint_message")
    before = (await info(metadata))["probe"].expires_at_ns
    again = (await register(metadata, deployment(ttl_s=120))).tracepoints[0]
    assert (again.id, again.status_code) == (first.id, grpc.StatusCode.ALREADY_EXISTS.value[0])
    assert (await info(metadata))["probe"].expires_at_ns > before
    assert pem.inbox.empty()

    replaced = (await register(metadata, deployment(table="other"))).tracepoints[0]
    assert replaced.id != first.id
    removal = await pem.receive("tracepoint_message")
    assert removal.tracepoint_message.remove_tracepoint_request.id == first.id
    deploy = await pem.receive("tracepoint_message")
    assert deploy.tracepoint_message.register_tracepoint_request.id == replaced.id


async def test_the_ttl_removes_it_and_the_status_reads_terminated(
    start: Starter, agents: Starter, agent_bus: NatsBus
) -> None:
    metadata = await start()
    pem = await agents()
    await pem.register()
    broadcasts: list[mdpb.GetTracepointInfoResponse] = []

    async def on_status(message: mdpb.GetTracepointInfoResponse) -> None:
        broadcasts.append(message)

    subscription = await agent_bus.subscribe(
        TRACEPOINT_STATUS, mdpb.GetTracepointInfoResponse, on_status
    )
    try:
        registration = (await register(metadata, deployment(ttl_s=0.5))).tracepoints[0]
        await pem.receive("tracepoint_message")
        await report(pem, registration.id, S.TRACEPOINT_STATE_RUNNING)
        removal = await pem.receive("tracepoint_message")
        assert removal.tracepoint_message.remove_tracepoint_request.id == registration.id
        assert (await info(metadata))["probe"].expected_state == S.TRACEPOINT_STATE_TERMINATED
        await report(pem, registration.id, S.TRACEPOINT_STATE_TERMINATED)

        async def terminated() -> bool:
            return (await info(metadata))["probe"].state == S.TRACEPOINT_STATE_TERMINATED

        await until(terminated)

        async def broadcast_terminated() -> bool:
            return any(
                b.tracepoints and b.tracepoints[-1].state == S.TRACEPOINT_STATE_TERMINATED
                for b in broadcasts
            )

        await until(broadcast_terminated)
    finally:
        await subscription.unsubscribe()


async def test_a_later_pem_gets_live_tracepoints_and_state_survives_a_restart(
    start: Starter, agents: Starter
) -> None:
    metadata = await start()
    registration = (await register(metadata, deployment())).tracepoints[0]
    late = await agents(hostname="late", host_ip="10.0.0.9")
    await late.register()
    sent = await late.receive("tracepoint_message")
    assert sent.tracepoint_message.register_tracepoint_request.id == registration.id
    await metadata.stop()

    restarted = await start()
    assert (await info(restarted))["probe"].id == registration.id
    removed = await stub(restarted).RemoveTracepoint(
        mdpb.RemoveTracepointRequest(names=["probe", "unknown"]), metadata=restarted.auth
    )
    assert list(removed.removed) == ["probe"]


async def test_only_services_may_register(start: Starter) -> None:
    metadata = await start()
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub(metadata).RegisterTracepoint(
            mdpb.RegisterTracepointRequest(deployments=[deployment()]),
            metadata=bearer(user_token()),
        )
    assert refused.value.code() in (
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAUTHENTICATED,
    )
    with pytest.raises(grpc.aio.AioRpcError) as invalid:
        await register(metadata, msgs.TracepointDeployment(name="empty", ttl_ns=1))
    assert invalid.value.code() is grpc.StatusCode.INVALID_ARGUMENT


async def test_an_expired_pem_no_longer_counts(
    tmp_path: Path, nats_server: Any, agents: Starter
) -> None:
    settings = make_settings(
        tmp_path, tracepoint_tick_seconds=0.1, agent_expiration_timeout_seconds=0.5
    )
    metadata = await start_metadata(settings, nats_server.url)
    try:
        alive = await agents(hostname="alive", host_ip="10.0.0.1")
        dying = await agents(hostname="dying", host_ip="10.0.0.2")
        await alive.register()
        await dying.register()
        registration = (await register(metadata, deployment())).tracepoints[0]
        await report(dying, registration.id, S.TRACEPOINT_STATE_RUNNING)

        async def only_alive_left() -> bool:
            await alive.send_heartbeat()
            tracepoint = (await info(metadata))["probe"]
            return [a.agent_id for a in tracepoint.agents] == [alive.agent_id]

        await until(only_alive_left)
        assert (await info(metadata))["probe"].state == S.TRACEPOINT_STATE_PENDING
    finally:
        await metadata.stop()
