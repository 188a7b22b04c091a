"""Metadata's etcd store against a real three-member cluster: failover and quorum loss."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyxie_devstack.etcd_server import EtcdClusterMember, plan_cluster
from pyxie_metadata.kvstore import EtcdKVStore, KVStoreError

pytestmark = pytest.mark.slow


@pytest.fixture
def members(tmp_path: Path) -> Iterator[list[EtcdClusterMember]]:
    plan = plan_cluster(tmp_path / "cluster.json", 3)
    servers = [EtcdClusterMember(tmp_path, m, plan, durable=False) for m in plan]
    try:
        # Members serve before the cluster has a leader: start them all, then wait for quorum.
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            with contextlib.suppress(Exception):
                server.stop()


async def _until_it_works(kv: EtcdKVStore, key: str, timeout_s: float = 60.0) -> bytes | None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            return await kv.get(key)
        except KVStoreError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)


async def test_calls_fail_over_and_survive_quorum_loss(members: list[EtcdClusterMember]) -> None:
    endpoints = ",".join(f"127.0.0.1:{m.member.client_port}" for m in members)
    kv = await _open_when_quorate(endpoints)
    try:
        await kv.set("/agents/a", b"one")
        # Any single member down: the other two still have quorum and the client moves on.
        for down in members:
            down.stop()
            assert await _until_it_works(kv, "/agents/a") == b"one"
            await kv.set("/agents/a", b"one")
            down.start()
        # Two of three down: no quorum, every call fails cleanly (no hang, no other error).
        members[1].stop()
        members[2].stop()
        with pytest.raises(KVStoreError):
            await kv.set("/agents/b", b"two")
        # A majority back: the data written before the loss is there and writes work again.
        members[1].start()
        assert await _until_it_works(kv, "/agents/a") == b"one"
        await kv.set("/agents/b", b"two")
        assert await kv.get("/agents/b") == b"two"
    finally:
        await kv.close()


async def _open_when_quorate(endpoints: str) -> EtcdKVStore:
    for _ in range(120):
        try:
            return await EtcdKVStore.open(endpoints, rpc_timeout=3.0)
        except KVStoreError:
            await asyncio.sleep(0.5)
    return await EtcdKVStore.open(endpoints, rpc_timeout=3.0)


def test_an_empty_endpoint_list_is_refused() -> None:
    with pytest.raises(ValueError, match="no etcd endpoint"):
        asyncio.run(EtcdKVStore.open(" , "))
