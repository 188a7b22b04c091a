"""Agent registration, heartbeats, expiry and the schema registry over a real NATS."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from pyxie_metadata.keys import ASID_KEY, agent_key
from pyxie_metadata.kvstore import EtcdKVStore
from pyxie_metadata.testing import (
    FakeAgent,
    RunningMetadata,
    make_settings,
    start_metadata,
    table,
)
from pyxie_proto.types.typespb import types_pb2
from pyxie_proto.vizier.messagespb import messages_pb2 as msgs
from pyxie_proto.vizier.metadatapb import metadata_pb2 as mdpb
from pyxie_service import NatsBus

Starter = Callable[..., Any]


@pytest.fixture
async def start(tmp_path: Path, nats_server: Any) -> AsyncIterator[Callable[..., Any]]:
    running: list[RunningMetadata] = []

    async def starter(**overrides: Any) -> RunningMetadata:
        metadata = await start_metadata(make_settings(tmp_path, **overrides), nats_server.url)
        running.append(metadata)
        return metadata

    yield starter
    for metadata in running:
        await metadata.stop()


@pytest.fixture
async def agents(agent_bus: NatsBus) -> AsyncIterator[Callable[..., Any]]:
    made: list[FakeAgent] = []

    async def make(**kwargs: Any) -> FakeAgent:
        agent = await FakeAgent(agent_bus, **kwargs).listen()
        made.append(agent)
        return agent

    yield make
    for agent in made:
        await agent.close()


async def agent_info(metadata: RunningMetadata) -> dict[str, mdpb.AgentStatus]:
    response = await metadata.stub.GetAgentInfo(mdpb.AgentInfoRequest(), metadata=metadata.auth)
    return {status.info.agent_id: status for status in response.info}


async def test_registration_assigns_distinct_asids_and_replies_on_the_agent_subject(
    start: Starter, agents: Starter
) -> None:
    metadata = await start()
    first = await agents(hostname="node-a", host_ip="10.0.0.1")
    second = await agents(hostname="node-b", host_ip="10.0.0.2")
    first_asid = await first.register()
    second_asid = await second.register()
    assert first_asid >= 1 and second_asid >= 1 and first_asid != second_asid
    info = await agent_info(metadata)
    assert {agent_id: status.asid for agent_id, status in info.items()} == {
        first.agent_id: first_asid,
        second.agent_id: second_asid,
    }
    assert info[first.agent_id].info.host_info.host_ip == "10.0.0.1"
    assert info[first.agent_id].state == mdpb.AGENT_STATE_HEALTHY


async def test_re_registration_keeps_the_asid(start: Starter, agents: Starter) -> None:
    await start()
    agent = await agents()
    asid = await agent.register()
    assert await agent.register() == asid


async def test_re_registration_after_a_nack_keeps_the_asid_it_asks_for(
    start: Starter, agents: Starter, tmp_path: Path
) -> None:
    metadata = await start(agent_expiration_timeout_seconds=0.3)
    agent = await agents()
    asid = await agent.register()
    await agent.receive("heartbeat_nack")  # expired: the agent is gone from the registry
    assert agent.agent_id not in await agent_info(metadata)
    other = await agents(hostname="node-z", host_ip="10.0.0.99")
    other_asid = await other.register()
    assert other_asid != asid
    assert await agent.register(asid=asid) == asid


async def test_same_host_re_registration_evicts_the_old_agent_and_tells_it_to_exit(
    start: Starter, agents: Starter
) -> None:
    metadata = await start()
    old = await agents(hostname="node-a", host_ip="10.0.0.1")
    await old.register()
    await old.heartbeat(tables=[table("http_events", "time_")])
    new = await agents(hostname="node-a", host_ip="10.0.0.1")
    await new.register()
    nack = await old.receive("heartbeat_nack")
    assert nack.heartbeat_nack.reregister is False
    info = await agent_info(metadata)
    assert set(info) == {new.agent_id}
    schema = await metadata.stub.GetSchemas(mdpb.SchemaRequest(), metadata=metadata.auth)
    assert list(schema.schema.tables) == []


async def test_a_kelvin_and_a_pem_on_the_same_host_do_not_evict_each_other(
    start: Starter, agents: Starter
) -> None:
    metadata = await start()
    pem = await agents(hostname="host", host_ip="10.0.0.5", collects_data=True)
    kelvin = await agents(hostname="host", host_ip="10.0.0.5", collects_data=False)
    other_netns = await agents(hostname="host", host_ip="10.0.0.5", netns_inode=4026532000)
    for agent in (pem, kelvin, other_netns):
        await agent.register()
    assert set(await agent_info(metadata)) == {pem.agent_id, kelvin.agent_id, other_netns.agent_id}


async def test_heartbeat_is_acked_with_its_sequence_number_and_the_time(
    start: Starter, agents: Starter
) -> None:
    await start()
    agent = await agents()
    await agent.register()
    first = await agent.heartbeat()
    second = await agent.heartbeat()
    assert (first.sequence_number, second.sequence_number) == (1, 2)
    assert first.time > 0 and second.time >= first.time


async def test_heartbeat_from_an_unknown_agent_is_nacked_with_reregister(
    start: Starter, agents: Starter
) -> None:
    await start()
    stranger = await agents()
    await stranger.send_heartbeat()
    nack = await stranger.receive("heartbeat_nack")
    assert nack.heartbeat_nack.reregister is True


async def test_a_silent_agent_expires_is_deleted_and_told_not_to_reregister(
    start: Starter, agents: Starter
) -> None:
    metadata = await start(agent_expiration_timeout_seconds=0.5)
    agent = await agents()
    await agent.register()
    await agent.heartbeat(tables=[table("process_stats", "time_", "upid")])
    nack = await agent.receive("heartbeat_nack")
    assert nack.heartbeat_nack.reregister is False
    assert await agent_info(metadata) == {}
    assert await metadata.kv.get(agent_key(agent.agent_id)) is None
    schema = await metadata.stub.GetSchemas(mdpb.SchemaRequest(), metadata=metadata.auth)
    assert list(schema.schema.tables) == []
    # Whatever it sends now is from an unknown agent.
    await agent.send_heartbeat()
    assert (await agent.receive("heartbeat_nack")).heartbeat_nack.reregister is True


async def test_heartbeats_keep_an_agent_alive_past_the_expiry_timeout(
    start: Starter, agents: Starter
) -> None:
    await start(agent_expiration_timeout_seconds=1.0)
    agent = await agents()
    await agent.register()
    for _ in range(6):
        await asyncio.sleep(0.3)
        await agent.heartbeat()  # a nack instead of the ack fails inside


async def test_an_agent_without_heartbeats_becomes_unresponsive_then_healthy_again(
    start: Starter, agents: Starter
) -> None:
    metadata = await start(unhealthy_agent_threshold_seconds=1.0)
    agent = await agents()
    await agent.register()
    await agent.heartbeat()
    assert (await agent_info(metadata))[agent.agent_id].state == mdpb.AGENT_STATE_HEALTHY
    for _ in range(100):
        if (await agent_info(metadata))[agent.agent_id].state == mdpb.AGENT_STATE_UNRESPONSIVE:
            break
        await asyncio.sleep(0.05)
    assert (await agent_info(metadata))[agent.agent_id].state == mdpb.AGENT_STATE_UNRESPONSIVE
    await agent.heartbeat()
    assert (await agent_info(metadata))[agent.agent_id].state == mdpb.AGENT_STATE_HEALTHY


async def test_schema_is_the_union_of_agent_tables_with_their_agents(
    start: Starter, agents: Starter
) -> None:
    metadata = await start()
    pem_a = await agents(hostname="a", host_ip="10.0.0.1")
    pem_b = await agents(hostname="b", host_ip="10.0.0.2")
    await pem_a.register()
    await pem_b.register()
    await pem_a.heartbeat(tables=[table("http_events", "time_"), table("process_stats", "upid")])
    await pem_b.heartbeat(tables=[table("http_events", "time_"), table("conn_stats", "bytes")])

    async def schema() -> mdpb.ComputedSchema:
        response = await metadata.stub.GetSchemas(mdpb.SchemaRequest(), metadata=metadata.auth)
        return response.schema

    def holders(computed: mdpb.ComputedSchema) -> dict[str, set[str]]:
        return {name: set(ids.agent_ids) for name, ids in computed.table_name_to_agent_ids.items()}

    computed = await schema()
    assert [t.name for t in computed.tables] == ["conn_stats", "http_events", "process_stats"]
    assert holders(computed) == {
        "conn_stats": {pem_b.agent_id},
        "http_events": {pem_a.agent_id, pem_b.agent_id},
        "process_stats": {pem_a.agent_id},
    }
    info = await agent_info(metadata)
    assert list(info[pem_a.agent_id].tables) == ["http_events", "process_stats"]

    # A drops process_stats (only A had it: it goes) and http_events (B still has it).
    await pem_a.heartbeat(tables=[table("conn_stats", "bytes")])
    assert holders(await schema()) == {
        "conn_stats": {pem_a.agent_id, pem_b.agent_id},
        "http_events": {pem_b.agent_id},
    }
    # A heartbeat without does_update_schema leaves the schema alone.
    await pem_a.heartbeat()
    assert set(holders(await schema())) == {"conn_stats", "http_events"}


async def test_the_newest_schema_of_a_table_wins(start: Starter, agents: Starter) -> None:
    metadata = await start()
    agent = await agents()
    await agent.register()
    await agent.heartbeat(tables=[table("http_events", "time_")])
    await agent.heartbeat(tables=[table("http_events", "time_", "latency")])
    response = await metadata.stub.GetSchemas(mdpb.SchemaRequest(), metadata=metadata.auth)
    assert [c.name for c in response.schema.tables[0].columns] == ["time_", "latency"]


async def test_processes_created_and_terminated_are_stored_by_upid(
    start: Starter, agents: Starter
) -> None:
    metadata = await start()
    agent = await agents()
    asid = await agent.register()
    upid = types_pb2.UInt128(high=(asid << 32) | 4242, low=987654)
    created = msgs.ProcessCreated(
        upid=upid, start_timestamp_ns=111, cmdline="python -m app", cgroup="/x", pid=4242
    )
    await agent.heartbeat(created=[created])
    key = f"/processes/{asid}:4242:987654"
    stored = mdpb.ProcessInfo.FromString(await metadata.kv.get(key) or b"")
    assert (stored.pid, stored.cmdline, stored.agent_id) == (4242, "python -m app", agent.agent_id)
    assert stored.stop_timestamp_ns == 0
    await agent.heartbeat(terminated=[msgs.ProcessTerminated(upid=upid, stop_timestamp_ns=222)])
    stopped = mdpb.ProcessInfo.FromString(await metadata.kv.get(key) or b"")
    assert (stopped.cmdline, stopped.stop_timestamp_ns) == ("python -m app", 222)


async def test_a_restarted_metadata_service_rebuilds_its_state_from_the_kv_file(
    start: Starter, agents: Starter
) -> None:
    first_run = await start()
    pem = await agents(hostname="a", host_ip="10.0.0.1")
    kelvin = await agents(hostname="a", host_ip="10.0.0.1", collects_data=False)
    pem_asid = await pem.register()
    kelvin_asid = await kelvin.register()
    await pem.heartbeat(tables=[table("http_events", "time_")])
    await first_run.stop()

    second_run = await start()
    info = await agent_info(second_run)
    assert {agent_id: status.asid for agent_id, status in info.items()} == {
        pem.agent_id: pem_asid,
        kelvin.agent_id: kelvin_asid,
    }
    assert list(info[pem.agent_id].tables) == ["http_events"]
    # The agents carry on: their heartbeats are acked, not nacked.
    await pem.heartbeat()
    await kelvin.heartbeat()
    # The ASID counter went on too.
    newcomer = await agents(hostname="b", host_ip="10.0.0.2")
    assert await newcomer.register() not in (pem_asid, kelvin_asid)
    # Same-host eviction still knows who was where.
    replacement = await agents(hostname="a", host_ip="10.0.0.1")
    await replacement.register()
    assert (await pem.receive("heartbeat_nack")).heartbeat_nack.reregister is False


async def test_agents_registered_before_a_restart_expire_if_they_stay_silent(
    start: Starter, agents: Starter
) -> None:
    first_run = await start()
    agent = await agents()
    await agent.register()
    await first_run.stop()
    second_run = await start(agent_expiration_timeout_seconds=0.3)
    assert (await agent.receive("heartbeat_nack")).heartbeat_nack.reregister is False
    assert await agent_info(second_run) == {}


async def test_registry_works_over_etcd(
    tmp_path: Path, nats_server: Any, etcd_server: Any, agents: Starter
) -> None:
    settings = make_settings(tmp_path, kv_backend="etcd")
    kv = await EtcdKVStore.open(f"{etcd_server.host}:{etcd_server.port}")
    # The session's etcd is shared: start from an empty key space for the agent keys.
    for prefix in ("/agent/", "/hostnameIP/", "/asid", "/computedSchema"):
        await kv.delete_with_prefix(prefix)
    metadata = await start_metadata(settings, nats_server.url, kv=kv)
    try:
        agent = await agents()
        asid = await agent.register()
        await agent.heartbeat(tables=[table("http_events", "time_")])
        assert await kv.get(ASID_KEY) == str(asid + 1).encode()
        stored = mdpb.AgentStatus.FromString(await kv.get(agent_key(agent.agent_id)) or b"")
        assert stored.asid == asid
        assert list((await agent_info(metadata))[agent.agent_id].tables) == ["http_events"]
    finally:
        await metadata.stop()
