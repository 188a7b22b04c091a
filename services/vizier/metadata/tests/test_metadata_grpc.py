"""MetadataService through a real grpc.aio stub on port 0, with and without a service JWT."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from pyxie_metadata.testing import (
    REPLY_WITHIN,
    FakeAgent,
    RunningMetadata,
    bearer,
    make_settings,
    start_metadata,
    table,
    user_token,
)
from pyxie_proto.vizier.metadatapb import metadata_pb2 as mdpb
from pyxie_service import NatsBus


@pytest.fixture
async def metadata(tmp_path: Path, nats_server: Any) -> AsyncIterator[RunningMetadata]:
    running = await start_metadata(
        make_settings(tmp_path, agent_expiration_timeout_seconds=30), nats_server.url
    )
    yield running
    await running.stop()


async def make_agents(bus: NatsBus, count: int) -> list[FakeAgent]:
    agents = []
    for index in range(count):
        agent = await FakeAgent(bus, hostname=f"node-{index}", host_ip=f"10.0.0.{index}").listen()
        await agent.register()
        agents.append(agent)
    return agents


class Stream:
    """Reads one GetAgentUpdates stream response by response."""

    def __init__(self, metadata: RunningMetadata, **request: Any) -> None:
        self.call = metadata.stub.GetAgentUpdates(
            mdpb.AgentUpdatesRequest(**request), metadata=metadata.auth
        )

    async def next(self) -> mdpb.AgentUpdatesResponse:
        return await asyncio.wait_for(self.call.read(), REPLY_WITHIN)  # type: ignore[no-any-return]

    async def version(self) -> tuple[list[list[mdpb.AgentUpdate]], mdpb.ComputedSchema]:
        """Responses up to end_of_version, skipping keep-alives: (update chunks, schema)."""
        chunks: list[list[mdpb.AgentUpdate]] = []
        while True:
            response = await self.next()
            if response.end_of_version:
                assert not response.agent_updates
                return chunks, response.schema
            if response.agent_updates:
                chunks.append(list(response.agent_updates))


def flat(chunks: list[list[mdpb.AgentUpdate]]) -> list[mdpb.AgentUpdate]:
    return [update for chunk in chunks for update in chunk]


async def test_get_agent_updates_sends_the_full_state_first_then_deltas(
    metadata: RunningMetadata, agent_bus: NatsBus
) -> None:
    agents = await make_agents(agent_bus, 2)
    await agents[0].heartbeat(tables=[table("http_events", "time_")])
    stream = Stream(metadata, max_update_interval_ms=50)
    chunks, schema = await stream.version()
    full = flat(chunks)
    assert {update.agent_id for update in full} == {agent.agent_id for agent in agents}
    assert all(update.WhichOneof("update") == "agent" for update in full)
    assert [t.name for t in schema.tables] == ["http_events"]

    newcomer = await FakeAgent(agent_bus, hostname="node-9", host_ip="10.0.0.9").listen()
    await newcomer.register()
    delta: dict[str, mdpb.AgentUpdate] = {}
    while newcomer.agent_id not in delta:
        chunks, _schema = await stream.version()
        delta.update({update.agent_id: update for update in flat(chunks)})
    # Deltas only: agents that did not change are not sent again.
    assert set(delta) == {newcomer.agent_id}
    assert delta[newcomer.agent_id].agent.asid > 0

    await newcomer.heartbeat(tables=[table("conn_stats", "bytes")])
    while "conn_stats" not in {t.name for t in schema.tables}:
        chunks, schema = await stream.version()
        assert {update.agent_id for update in flat(chunks)} <= {newcomer.agent_id}
    assert {t.name for t in schema.tables} == {"conn_stats", "http_events"}
    assert list(schema.table_name_to_agent_ids["conn_stats"].agent_ids) == [newcomer.agent_id]
    stream.call.cancel()


async def test_a_deleted_agent_arrives_as_a_deleted_update(
    tmp_path: Path, nats_server: Any, agent_bus: NatsBus
) -> None:
    metadata = await start_metadata(
        make_settings(tmp_path, agent_expiration_timeout_seconds=0.5), nats_server.url
    )
    try:
        stream = Stream(metadata, max_update_interval_ms=50)
        await stream.version()
        [agent] = await make_agents(agent_bus, 1)
        await agent.receive("heartbeat_nack")  # expired
        deleted: list[mdpb.AgentUpdate] = []
        while not deleted:
            chunks, _schema = await stream.version()
            deleted = [u for u in flat(chunks) if u.WhichOneof("update") == "deleted"]
        assert [(u.agent_id, u.deleted) for u in deleted] == [(agent.agent_id, True)]
        stream.call.cancel()
    finally:
        await metadata.stop()


async def test_updates_are_chunked_by_max_updates_per_response_and_the_schema_comes_last(
    metadata: RunningMetadata, agent_bus: NatsBus
) -> None:
    agents = await make_agents(agent_bus, 5)
    stream = Stream(metadata, max_updates_per_response=2, max_update_interval_ms=1000)
    chunks, schema = await stream.version()
    assert [len(chunk) for chunk in chunks] == [2, 2, 1]
    assert {u.agent_id for u in flat(chunks)} == {agent.agent_id for agent in agents}
    assert isinstance(schema, mdpb.ComputedSchema)
    stream.call.cancel()


async def test_an_empty_response_comes_every_interval_when_nothing_changed(
    metadata: RunningMetadata,
) -> None:
    stream = Stream(metadata, max_update_interval_ms=20)
    chunks, _schema = await stream.version()
    assert chunks == []
    for _ in range(3):
        keep_alive = await stream.next()
        assert keep_alive == mdpb.AgentUpdatesResponse()
    stream.call.cancel()


async def test_only_the_newest_agent_updates_stream_stays_alive(
    metadata: RunningMetadata,
) -> None:
    older = Stream(metadata, max_update_interval_ms=20)
    await older.version()
    newer = Stream(metadata, max_update_interval_ms=20)
    await newer.version()
    # The older stream ends cleanly (after any responses already in flight).
    while (await older.next()) != grpc.aio.EOF:
        pass
    assert await older.call.code() == grpc.StatusCode.OK
    assert await newer.next() == mdpb.AgentUpdatesResponse()
    assert metadata.runtime.tracker.open_cursors == 1
    newer.call.cancel()


async def test_agent_info_reports_state_tables_and_host(
    metadata: RunningMetadata, agent_bus: NatsBus
) -> None:
    [pem] = await make_agents(agent_bus, 1)
    kelvin = await FakeAgent(
        agent_bus, hostname="node-0", host_ip="10.0.0.0", collects_data=False
    ).listen()
    await kelvin.register()
    await pem.heartbeat(tables=[table("http_events", "time_")])
    response = await metadata.stub.GetAgentInfo(mdpb.AgentInfoRequest(), metadata=metadata.auth)
    by_id = {status.info.agent_id: status for status in response.info}
    assert by_id[pem.agent_id].info.collects_data is True
    assert by_id[kelvin.agent_id].info.address == "10.0.0.0:59300"
    assert list(by_id[pem.agent_id].tables) == ["http_events"]
    assert list(by_id[kelvin.agent_id].tables) == []
    assert {s.state for s in response.info} == {mdpb.AGENT_STATE_HEALTHY}
    assert by_id[pem.agent_id].last_heartbeat_ns >= by_id[pem.agent_id].create_time_ns > 0


async def test_get_with_prefix_key_returns_the_stored_agents(
    metadata: RunningMetadata, agent_bus: NatsBus
) -> None:
    agents = await make_agents(agent_bus, 2)
    response = await metadata.stub.GetWithPrefixKey(
        mdpb.WithPrefixKeyRequest(prefix="/agent/", proto="pyxie.vizier.metadatapb.AgentStatus"),
        metadata=metadata.auth,
    )
    assert sorted(kv.key for kv in response.kvs) == sorted(f"/agent/{a.agent_id}" for a in agents)
    hostnames = {
        mdpb.AgentStatus.FromString(kv.value).info.host_info.hostname for kv in response.kvs
    }
    assert hostnames == {"node-0", "node-1"} and not response.truncated


async def test_get_with_prefix_key_refuses_a_whole_store_dump(metadata: RunningMetadata) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await metadata.stub.GetWithPrefixKey(
            mdpb.WithPrefixKeyRequest(prefix=""), metadata=metadata.auth
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "non-empty prefix" in (raised.value.details() or "")


@pytest.mark.parametrize(
    "method", ["GetAgentInfo", "GetSchemas", "GetAgentUpdates", "GetWithPrefixKey"]
)
async def test_calls_without_a_token_are_unauthenticated(
    metadata: RunningMetadata, method: str
) -> None:
    requests = {
        "GetAgentInfo": mdpb.AgentInfoRequest(),
        "GetSchemas": mdpb.SchemaRequest(),
        "GetAgentUpdates": mdpb.AgentUpdatesRequest(),
        "GetWithPrefixKey": mdpb.WithPrefixKeyRequest(prefix="/agent/"),
    }
    call = getattr(metadata.stub, method)(requests[method])
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        if method == "GetAgentUpdates":
            await call.read()
        else:
            await call
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_token_signed_with_another_key_is_unauthenticated(
    metadata: RunningMetadata,
) -> None:
    from pyxie_jwt import SigningKey, service_claims, sign_token

    forged = sign_token(
        service_claims(service_id="query_broker", audience="vizier"), SigningKey("x" * 48)
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await metadata.stub.GetSchemas(mdpb.SchemaRequest(), metadata=bearer(forged))
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_user_token_is_not_enough(metadata: RunningMetadata) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await metadata.stub.GetAgentInfo(mdpb.AgentInfoRequest(), metadata=bearer(user_token()))
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_user_token_cannot_dump_the_store(metadata: RunningMetadata) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await metadata.stub.GetWithPrefixKey(
            mdpb.WithPrefixKeyRequest(prefix="/"), metadata=bearer(user_token())
        )
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
