"""Numbering, storing and fanning out metadata updates; gap fill over NATS request/reply."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pyxie_metadata.controllers import MetadataPublisher, MissingMetadataResponder
from pyxie_metadata.kvstore import SqliteKVStore
from pyxie_metadata.providers import ScopedUpdate
from pyxie_metadata.testing import REPLY_WITHIN
from pyxie_proto.vizier.messagespb import messages_pb2 as msgs
from pyxie_proto.vizier.metadatapb import metadata_pb2 as mdpb
from pyxie_proto.vizier.subjects import MISSING_METADATA_REQUESTS
from pyxie_service import NatsBus


class Topic:
    """Everything published on one K8sUpdates/<selector> subject."""

    def __init__(self) -> None:
        self.updates: asyncio.Queue[msgs.MetadataUpdate] = asyncio.Queue()

    async def deliver(self, message: msgs.VizierMessage) -> None:
        self.updates.put_nowait(message.metadata_update)

    async def take(self, count: int) -> list[msgs.MetadataUpdate]:
        return [await asyncio.wait_for(self.updates.get(), REPLY_WITHIN) for _ in range(count)]


@pytest.fixture
async def bus(nats_server: Any) -> AsyncIterator[NatsBus]:
    connection = await NatsBus.connect(nats_server.url, name="publisher-test")
    yield connection
    await connection.drain()


@pytest.fixture
async def kv(tmp_path: Path) -> AsyncIterator[SqliteKVStore]:
    store = await SqliteKVStore.open(tmp_path / "kv.sqlite")
    yield store
    await store.close()


async def listen(bus: NatsBus, selector: str) -> Topic:
    topic = Topic()
    await bus.subscribe(f"K8sUpdates/{selector}", msgs.VizierMessage, topic.deliver)
    await bus.flush()
    return topic


def node(name: str, ip: str) -> ScopedUpdate:
    return ScopedUpdate(
        msgs.MetadataUpdate(node=msgs.NodeUpdate(uid=f"n-{name}", name=name, internal_ip=ip))
    )


def service(name: str, stop: int = 0) -> ScopedUpdate:
    return ScopedUpdate(
        msgs.MetadataUpdate(
            service=msgs.ServiceUpdate(
                uid=f"s-{name}", name=name, namespace="demo", stop_timestamp_ns=stop
            )
        )
    )


def pod(name: str, node_ip: str, node_name: str) -> ScopedUpdate:
    update = msgs.MetadataUpdate(
        pod=msgs.PodUpdate(uid=f"p-{name}", name=name, namespace="demo", node_name=node_name)
    )
    return ScopedUpdate(update, (node_ip, node_name))


def kinds(updates: list[msgs.MetadataUpdate]) -> list[tuple[str, str]]:
    out = []
    for update in updates:
        kind = update.WhichOneof("update") or ""
        out.append((kind, getattr(update, kind).name))
    return out


async def test_node_scoped_updates_go_to_their_node_and_to_all_with_per_topic_prev_versions(
    kv: SqliteKVStore, bus: NatsBus
) -> None:
    publisher = await MetadataPublisher.load(kv, bus, update_ttl_seconds=3600)
    all_topic, node_a, node_b = (
        await listen(bus, "all"),
        await listen(bus, "10.0.0.1"),
        await listen(bus, "10.0.0.2"),
    )
    await publisher.publish([node("a", "10.0.0.1"), node("b", "10.0.0.2")])
    await publisher.publish([pod("web-a", "10.0.0.1", "a"), pod("web-b", "10.0.0.2", "b")])

    on_all = await all_topic.take(4)
    assert kinds(on_all) == [("node", "a"), ("node", "b"), ("pod", "web-a"), ("pod", "web-b")]
    versions = [u.version for u in on_all]
    assert versions == sorted(versions) and len(set(versions)) == 4
    assert [u.prev_version for u in on_all] == [0, *versions[:-1]]

    # Node a's topic: node a, then node b (cluster-scoped: every known node), then its pod.
    on_a = await node_a.take(3)
    assert kinds(on_a) == [("node", "a"), ("node", "b"), ("pod", "web-a")]
    assert [u.prev_version for u in on_a] == [0, on_a[0].version, on_a[1].version]
    # Node b's topic: node a replayed when b became known, node b, its own pod; never web-a.
    on_b = await node_b.take(3)
    assert kinds(on_b) == [("node", "a"), ("node", "b"), ("pod", "web-b")]
    assert node_b.updates.empty()


async def test_a_new_node_first_gets_the_cluster_scoped_objects_that_exist(
    kv: SqliteKVStore, bus: NatsBus
) -> None:
    publisher = await MetadataPublisher.load(kv, bus, update_ttl_seconds=3600)
    await publisher.publish([service("frontend"), service("orders"), service("gone")])
    await publisher.publish([service("gone", stop=123)])
    late = await listen(bus, "late-node")
    await publisher.publish([node("late-node", "10.9.9.9")])
    on_late = await late.take(3)
    assert kinds(on_late) == [("service", "frontend"), ("service", "orders"), ("node", "late-node")]
    assert on_late[0].prev_version == 0


async def test_missing_metadata_is_answered_from_the_store_over_nats(
    kv: SqliteKVStore, bus: NatsBus
) -> None:
    publisher = await MetadataPublisher.load(kv, bus, update_ttl_seconds=3600)
    responder = MissingMetadataResponder(bus.client, publisher)
    await responder.start()
    try:
        await publisher.publish([node("a", "10.0.0.1")])
        await publisher.publish([pod(f"web-{i}", "10.0.0.1", "a") for i in range(5)])
        everything = await bus.request(
            MISSING_METADATA_REQUESTS,
            mdpb.MissingMetadataRequest(selector="10.0.0.1"),
            mdpb.MissingMetadataResponse,
            reply_within=REPLY_WITHIN,
        )
        assert kinds(list(everything.updates)) == [
            ("node", "a"),
            *[("pod", f"web-{i}") for i in range(5)],
        ]
        first, last = everything.updates[0].version, everything.updates[-1].version
        assert (everything.first_update_available, everything.last_update_available) == (
            first,
            last,
        )

        middle = await bus.request(
            MISSING_METADATA_REQUESTS,
            mdpb.MissingMetadataRequest(
                selector="10.0.0.1",
                from_version=everything.updates[2].version,
                to_version=everything.updates[4].version,
            ),
            mdpb.MissingMetadataResponse,
            reply_within=REPLY_WITHIN,
        )
        assert kinds(list(middle.updates)) == [("pod", "web-1"), ("pod", "web-2")]
        assert middle.updates[0].prev_version == everything.updates[1].version

        unknown = await bus.request(
            MISSING_METADATA_REQUESTS,
            mdpb.MissingMetadataRequest(selector="nowhere"),
            mdpb.MissingMetadataResponse,
            reply_within=REPLY_WITHIN,
        )
        assert unknown == mdpb.MissingMetadataResponse()
    finally:
        await responder.stop()


async def test_versions_and_topics_continue_after_a_restart(
    kv: SqliteKVStore, bus: NatsBus
) -> None:
    first = await MetadataPublisher.load(kv, bus, update_ttl_seconds=3600)
    await first.publish([node("a", "10.0.0.1"), pod("web", "10.0.0.1", "a")])
    second = await MetadataPublisher.load(kv, bus, update_ttl_seconds=3600)
    assert second.version == first.version
    assert second.topic_version("10.0.0.1") == first.topic_version("10.0.0.1")
    node_a = await listen(bus, "10.0.0.1")
    # A cluster-scoped update still reaches the nodes known before the restart.
    await second.publish([service("frontend")])
    [update] = await node_a.take(1)
    assert update.version == first.version + 1
    assert update.prev_version == first.topic_version("10.0.0.1")


async def test_stored_updates_expire_with_their_ttl(kv: SqliteKVStore, bus: NatsBus) -> None:
    publisher = await MetadataPublisher.load(kv, bus, update_ttl_seconds=0.05)
    await publisher.publish([service("frontend")])
    await asyncio.sleep(0.1)
    response = await publisher.missing(mdpb.MissingMetadataRequest(selector="all"))
    assert list(response.updates) == []
    assert response.first_update_available == 0
