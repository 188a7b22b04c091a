"""The agent core against real NATS, with a fake of the metadata service's NATS side."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from pyxie_agent import (
    Agent,
    AgentConfig,
    AgentError,
    AgentExpiredError,
    MetadataApplier,
    RegistrationTimeoutError,
    proc_start_time_ticks,
)
from pyxie_agent.testing import FakeMetadataService
from pyxie_carnot.metadata import InMemoryMetadataState
from pyxie_proto.vizier.messagespb import messages_pb2
from pyxie_proto.vizier.subjects import UPDATE_AGENT
from pyxie_service.natsbus import NatsBus
from pyxie_types import UPID, TableSchema
from pyxie_types.tables import HTTP_EVENTS, PROCESS_STATS

# Short periods keep the suite quick; the logic does not depend on their values.
FAST = {"heartbeat_interval_s": 0.05, "registration_jitter_max_s": 0.0}


@pytest.fixture
async def bus(nats_server: Any) -> AsyncIterator[NatsBus]:
    bus = await NatsBus.connect(nats_server.url, name="agent-test")
    yield bus
    await bus.drain()


@pytest.fixture
async def metadata(bus: NatsBus) -> AsyncIterator[FakeMetadataService]:
    async with FakeMetadataService(bus) as fake:
        yield fake


class _Agents:
    """Builds agents and stops them at the end of the test."""

    def __init__(self, bus: NatsBus) -> None:
        self.bus = bus
        self.started: list[Agent] = []

    async def start(self, **kwargs: Any) -> Agent:
        config_fields = {k: kwargs.pop(k) for k in list(kwargs) if k in AgentConfig.__slots__}
        agent = Agent(self.bus, AgentConfig(**{**FAST, **config_fields}), **kwargs)
        await agent.start()
        self.started.append(agent)
        return agent


@pytest.fixture
async def agents(bus: NatsBus) -> AsyncIterator[_Agents]:
    holder = _Agents(bus)
    yield holder
    for agent in holder.started:
        await agent.stop()


async def test_agent_registers_with_its_info_and_takes_the_asid_from_the_response(
    metadata: FakeMetadataService, agents: _Agents
) -> None:
    agent = await agents.start(host_ip="10.0.0.7", k8s_selector="10.0.0.7", collects_data=True)
    await asyncio.wait_for(agent.registered.wait(), 10)

    request = metadata.registrations[0]
    assert request.info.agent_id == agent.agent_id
    assert request.info.host_info.host_ip == "10.0.0.7"
    assert request.info.collects_data
    assert request.asid == 0
    assert agent.asid == metadata.asids[agent.agent_id]


async def test_heartbeats_carry_rising_sequence_numbers(
    metadata: FakeMetadataService, agents: _Agents
) -> None:
    agent = await agents.start()
    await metadata.wait_until(lambda: len(metadata.heartbeats_of(agent.agent_id)) >= 4)

    sequence = [b.sequence_number for b in metadata.heartbeats_of(agent.agent_id)]
    # A slow ack makes the agent resend a beat, so numbers may repeat but never go back.
    assert sequence == sorted(sequence)
    assert sorted(set(sequence))[:4] == [1, 2, 3, 4]


async def test_an_unacked_heartbeat_is_resent_unchanged_until_acked(
    bus: NatsBus, agents: _Agents
) -> None:
    seen: list[int] = []

    def ack_from_third_copy(beat: messages_pb2.Heartbeat) -> bool:
        seen.append(beat.sequence_number)
        return seen.count(1) >= 3 or beat.sequence_number > 1

    async with FakeMetadataService(bus, ack_heartbeat=ack_from_third_copy) as metadata:
        agent = await agents.start()
        await metadata.wait_until(lambda: len(metadata.heartbeats_of(agent.agent_id)) >= 4)

    beats = metadata.heartbeats_of(agent.agent_id)
    first_three = [b.SerializeToString() for b in beats[:3]]
    assert first_three[0] == first_three[1] == first_three[2]
    assert beats[3].sequence_number == 2
    assert agent.heartbeats.resends >= 2


async def test_schema_rides_on_the_first_heartbeat_and_again_when_it_changes(
    metadata: FakeMetadataService, agents: _Agents
) -> None:
    schemas: dict[str, TableSchema] = {HTTP_EVENTS.name: HTTP_EVENTS}
    agent = await agents.start(schemas=lambda: dict(schemas))
    await metadata.wait_until(lambda: _distinct_beats(metadata, agent) >= 3)

    beats = _by_sequence(metadata, agent)
    assert beats[0].update_info.does_update_schema
    assert [t.name for t in beats[0].update_info.schema] == ["http_events"]
    assert [c.name for c in beats[0].update_info.schema[0].columns] == list(
        HTTP_EVENTS.relation.names
    )
    assert not any(b.update_info.does_update_schema for b in beats[1:3])

    last_seen = max(b.sequence_number for b in beats)
    schemas[PROCESS_STATS.name] = PROCESS_STATS

    def later_beats() -> list[messages_pb2.Heartbeat]:
        return [b for b in _by_sequence(metadata, agent) if b.sequence_number > last_seen]

    await metadata.wait_until(lambda: any(b.update_info.does_update_schema for b in later_beats()))
    changed = next(b for b in later_beats() if b.update_info.does_update_schema)
    assert sorted(t.name for t in changed.update_info.schema) == ["http_events", "process_stats"]


async def test_process_events_are_reported_once_acked(
    metadata: FakeMetadataService, agents: _Agents
) -> None:
    batches = [
        ([messages_pb2.ProcessCreated(pid=41, cmdline="a")], []),
        ([], [messages_pb2.ProcessTerminated(stop_timestamp_ns=5)]),
    ]

    def events() -> tuple[list[Any], list[Any]]:
        return batches.pop(0) if batches else ([], [])

    agent = await agents.start(process_events=events)
    await metadata.wait_until(lambda: _distinct_beats(metadata, agent) >= 3)

    beats = _by_sequence(metadata, agent)
    assert [p.pid for p in beats[0].update_info.process_created] == [41]
    assert [p.stop_timestamp_ns for p in beats[1].update_info.process_terminated] == [5]
    assert not beats[2].update_info.process_created


async def test_nack_with_reregister_registers_again_keeping_the_asid_and_resends_the_schema(
    metadata: FakeMetadataService, agents: _Agents
) -> None:
    agent = await agents.start(schemas=lambda: {HTTP_EVENTS.name: HTTP_EVENTS})
    await metadata.wait_until(lambda: len(metadata.heartbeats_of(agent.agent_id)) >= 2)
    asid = agent.asid

    await metadata.nack(agent.agent_id, reregister=True)
    await metadata.wait_until(lambda: len(metadata.registrations) >= 2)
    beats_before = len(metadata.heartbeats_of(agent.agent_id))
    await metadata.wait_until(
        lambda: any(
            b.update_info.does_update_schema
            for b in metadata.heartbeats_of(agent.agent_id)[beats_before:]
        )
    )

    assert metadata.registrations[1].asid == asid
    assert agent.asid == asid
    assert agent.registrations == 2
    assert not agent.fatal.done()


async def test_nack_without_reregister_ends_the_agent(
    metadata: FakeMetadataService, agents: _Agents
) -> None:
    fatal: list[AgentError] = []
    agent = await agents.start(on_fatal=fatal.append)
    await metadata.wait_until(lambda: len(metadata.heartbeats_of(agent.agent_id)) >= 1)

    await metadata.nack(agent.agent_id, reregister=False)
    error = await asyncio.wait_for(agent.fatal, 10)

    assert isinstance(error, AgentExpiredError)
    assert fatal == [error]


async def test_an_agent_started_before_the_metadata_service_registers_once_it_is_up(
    bus: NatsBus, agents: _Agents
) -> None:
    first_request = asyncio.Event()

    async def observe(_: messages_pb2.VizierMessage) -> None:
        first_request.set()

    observer = await bus.subscribe(UPDATE_AGENT, messages_pb2.VizierMessage, observe)
    await bus.flush()
    agent = await agents.start(registration_resend_s=0.1)
    # The first request reached no metadata service: it was not subscribed yet.
    await asyncio.wait_for(first_request.wait(), 10)
    await observer.unsubscribe()
    async with FakeMetadataService(bus) as metadata:
        await asyncio.wait_for(agent.registered.wait(), 10)

    assert agent.asid == metadata.asids[agent.agent_id]
    assert agent.registrations == 1
    assert not agent.fatal.done()


async def test_registration_without_answer_times_out_as_a_fatal_error(
    bus: NatsBus, agents: _Agents
) -> None:
    async with FakeMetadataService(bus, answer_registrations=False) as metadata:
        agent = await agents.start(registration_timeout_s=0.2)
        error = await asyncio.wait_for(agent.fatal, 10)

    assert isinstance(error, RegistrationTimeoutError)
    assert "RegisterAgentResponse" in str(error)
    assert len(metadata.registrations) == 1
    assert not metadata.heartbeats_of(agent.agent_id)


async def test_metadata_updates_map_this_hosts_pids_to_their_pod(
    metadata: FakeMetadataService, agents: _Agents
) -> None:
    state = InMemoryMetadataState(host="node-1")
    applier = MetadataApplier(state)
    agent = await agents.start(k8s_selector="node-1", metadata=applier)
    await asyncio.wait_for(agent.registered.wait(), 10)
    await metadata.wait_until(lambda: len(metadata.heartbeats_of(agent.agent_id)) >= 1)

    updates = [
        messages_pb2.MetadataUpdate(
            version=1,
            namespace=messages_pb2.NamespaceUpdate(uid="ns-uid", name="shop"),
        ),
        messages_pb2.MetadataUpdate(
            version=2,
            prev_version=1,
            pod=messages_pb2.PodUpdate(
                uid="pod-uid", name="orders-0", namespace="shop", pod_ip="10.1.0.5"
            ),
        ),
        messages_pb2.MetadataUpdate(
            version=3,
            prev_version=2,
            service=messages_pb2.ServiceUpdate(
                uid="svc-uid", name="orders", namespace="shop", pod_ids=["pod-uid"]
            ),
        ),
        messages_pb2.MetadataUpdate(
            version=4,
            prev_version=3,
            container=messages_pb2.ContainerUpdate(
                cid="c-1", name="orders", pod_id="pod-uid", pids=[os.getpid(), 2**31 - 1]
            ),
        ),
    ]
    for update in updates:
        await metadata.publish_update("node-1", update)
    await _eventually(lambda: applier.updates_applied == 4)

    ticks = proc_start_time_ticks(os.getpid())
    assert ticks is not None
    process = state.process(UPID(agent.asid, os.getpid(), ticks).value)
    assert process is not None and process.container_id == "c-1"
    container = state.container("c-1")
    assert container is not None and container.pod_id == "pod-uid"
    pod = state.pod("pod-uid")
    assert pod is not None and pod.qualified_name == "shop/orders-0"
    assert state.service_ids_of_pod("pod-uid") == ("svc-uid",)
    assert state.namespace_id("shop") == "ns-uid"
    assert state.asid() == agent.asid
    assert applier.last_version == 4


async def _eventually(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    async def poll() -> None:
        # The applier runs in the NATS callback and signals nothing a test could await.
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout_s)


def _by_sequence(metadata: FakeMetadataService, agent: Agent) -> list[messages_pb2.Heartbeat]:
    """One heartbeat per sequence number (resends of an unacked beat are identical)."""
    unique = {b.sequence_number: b for b in metadata.heartbeats_of(agent.agent_id)}
    return [unique[n] for n in sorted(unique)]


def _distinct_beats(metadata: FakeMetadataService, agent: Agent) -> int:
    return len({b.sequence_number for b in metadata.heartbeats_of(agent.agent_id)})


def _pod_update(version: int, prev: int, name: str) -> messages_pb2.MetadataUpdate:
    return messages_pb2.MetadataUpdate(
        version=version,
        prev_version=prev,
        pod=messages_pb2.PodUpdate(uid=f"uid-{name}", name=name, namespace="ns"),
    )


async def test_updates_published_before_the_agent_subscribed_are_fetched_after_registration(
    metadata: FakeMetadataService, agents: _Agents
) -> None:
    await metadata.publish_update("node-2", _pod_update(1, 0, "early-a"))
    await metadata.publish_update("node-2", _pod_update(2, 1, "early-b"))
    state = InMemoryMetadataState()
    applier = MetadataApplier(state, start_time_ticks=None)

    await agents.start(k8s_selector="node-2", metadata=applier)
    await _eventually(lambda: applier.last_version == 2)

    assert state.pod_id_by_name("ns", "early-a") == "uid-early-a"
    assert state.pod_id_by_name("ns", "early-b") == "uid-early-b"
    assert metadata.missing_requests[0].selector == "node-2"


async def test_a_gap_in_update_versions_is_filled_before_the_newer_update_applies(
    metadata: FakeMetadataService, agents: _Agents
) -> None:
    state = InMemoryMetadataState()
    applier = MetadataApplier(state, start_time_ticks=None)
    agent = await agents.start(k8s_selector="node-3", metadata=applier)
    await metadata.wait_until(lambda: bool(metadata.heartbeats_of(agent.agent_id)))
    await _eventually(lambda: bool(metadata.missing_requests))  # the initial sync is done

    await metadata.publish_update("node-3", _pod_update(7, 0, "first"))
    await metadata.publish_update("node-3", _pod_update(9, 7, "lost"), publish=False)
    await metadata.publish_update("node-3", _pod_update(12, 9, "after-gap"))
    await _eventually(lambda: applier.last_version == 12)

    assert state.pod_id_by_name("ns", "lost") == "uid-lost"
    asked = [(r.from_version, r.to_version) for r in metadata.missing_requests]
    assert (8, 12) in asked
