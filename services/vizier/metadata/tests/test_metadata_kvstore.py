"""The KV contract, run against both backends: a real SQLite file and a real etcd."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pyxie_metadata.kvstore import (
    EtcdKVStore,
    KVStore,
    KVStoreError,
    SqliteKVStore,
    parse_etcd_endpoint,
    prefix_end,
)


@pytest.fixture(params=["sqlite", "etcd"])
async def kv(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[KVStore]:
    store: KVStore
    if request.param == "sqlite":
        store = await SqliteKVStore.open(tmp_path / "kv.sqlite", reap_interval=0.2)
    else:
        etcd = request.getfixturevalue("etcd_server")
        store = await EtcdKVStore.open(f"{etcd.host}:{etcd.port}")
    yield store
    await store.close()


@pytest.fixture
def root() -> str:
    """A key prefix of this test's own: the etcd server is shared by the whole session."""
    return f"/test-{uuid.uuid4().hex}"


async def test_set_then_get_returns_the_value_and_missing_keys_are_none(
    kv: KVStore, root: str
) -> None:
    await kv.set(f"{root}/agent/a", b"\x00agent-a\xff")
    assert await kv.get(f"{root}/agent/a") == b"\x00agent-a\xff"
    assert await kv.get(f"{root}/agent/missing") is None


async def test_set_overwrites_the_previous_value(kv: KVStore, root: str) -> None:
    await kv.set(f"{root}/asid", b"1")
    await kv.set(f"{root}/asid", b"2")
    assert await kv.get(f"{root}/asid") == b"2"


async def test_get_with_prefix_returns_only_matching_keys_in_key_order(
    kv: KVStore, root: str
) -> None:
    for key in ("agent/c", "agent/a", "agentDataInfo/a", "agent/b", "asid"):
        await kv.set(f"{root}/{key}", key.encode())
    found = await kv.get_with_prefix(f"{root}/agent/")
    assert found == [
        (f"{root}/agent/a", b"agent/a"),
        (f"{root}/agent/b", b"agent/b"),
        (f"{root}/agent/c", b"agent/c"),
    ]


async def test_get_range_is_half_open(kv: KVStore, root: str) -> None:
    for version in range(1, 6):
        await kv.set(f"{root}/update/{version:020d}", str(version).encode())
    found = await kv.get_range(f"{root}/update/{2:020d}", f"{root}/update/{4:020d}")
    assert [value for _key, value in found] == [b"2", b"3"]


async def test_get_range_with_a_limit_returns_the_first_keys(kv: KVStore, root: str) -> None:
    for version in range(1, 6):
        await kv.set(f"{root}/update/{version:020d}", str(version).encode())
    found = await kv.get_range(f"{root}/update/", f"{root}/update0", limit=2)
    assert [value for _key, value in found] == [b"1", b"2"]
    assert await kv.get_range(f"{root}/update/", f"{root}/update0", limit=0) == []


async def test_delete_removes_one_key(kv: KVStore, root: str) -> None:
    await kv.set(f"{root}/a", b"1")
    await kv.set(f"{root}/ab", b"2")
    await kv.delete(f"{root}/a")
    await kv.delete(f"{root}/never-set")
    assert await kv.get(f"{root}/a") is None
    assert await kv.get(f"{root}/ab") == b"2"


async def test_delete_with_prefix_keeps_keys_outside_the_prefix(kv: KVStore, root: str) -> None:
    for key in ("processes/1", "processes/2", "processesX", "process"):
        await kv.set(f"{root}/{key}", b"x")
    await kv.delete_with_prefix(f"{root}/processes/")
    remaining = [key for key, _value in await kv.get_with_prefix(f"{root}/")]
    assert remaining == [f"{root}/process", f"{root}/processesX"]


async def test_a_key_set_with_a_ttl_disappears_after_it(kv: KVStore, root: str) -> None:
    await kv.set_with_ttl(f"{root}/short", b"soon gone", 1.0)
    await kv.set_with_ttl(f"{root}/long", b"stays", 3600)
    assert await kv.get(f"{root}/short") == b"soon gone"
    # etcd's lease checker and the SQLite reaper both work in the background: poll.
    for _ in range(200):
        if await kv.get(f"{root}/short") is None:
            break
        await asyncio.sleep(0.05)
    assert await kv.get(f"{root}/short") is None
    assert await kv.get_with_prefix(f"{root}/") == [(f"{root}/long", b"stays")]


async def test_set_without_ttl_clears_an_earlier_ttl(kv: KVStore, root: str) -> None:
    await kv.set_with_ttl(f"{root}/k", b"v1", 1.0)
    await kv.set(f"{root}/k", b"v2")
    await asyncio.sleep(1.5)
    assert await kv.get(f"{root}/k") == b"v2"


async def test_a_non_positive_ttl_is_refused(kv: KVStore, root: str) -> None:
    with pytest.raises(ValueError, match="ttl_seconds"):
        await kv.set_with_ttl(f"{root}/k", b"v", 0)


async def test_a_closed_store_refuses_operations(kv: KVStore, root: str) -> None:
    await kv.close()
    with pytest.raises(KVStoreError, match="closed"):
        await kv.get(f"{root}/k")


async def test_sqlite_values_survive_reopening_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "kv.sqlite"
    first = await SqliteKVStore.open(path)
    await first.set("/asid", b"7")
    await first.set_with_ttl("/processes/1:2:3", b"p", 3600)
    await first.close()
    second = await SqliteKVStore.open(path)
    try:
        assert await second.get("/asid") == b"7"
        assert await second.get("/processes/1:2:3") == b"p"
    finally:
        await second.close()


async def test_sqlite_reaper_deletes_expired_rows(tmp_path: Path) -> None:
    store = await SqliteKVStore.open(tmp_path / "kv.sqlite", reap_interval=3600)
    try:
        await store.set_with_ttl("/a", b"1", 0.01)
        await store.set("/b", b"2")
        await asyncio.sleep(0.05)
        assert await store.reap_expired() == 1
        assert await store.reap_expired() == 0
    finally:
        await store.close()


async def test_etcd_open_fails_fast_when_etcd_is_unreachable() -> None:
    with pytest.raises(KVStoreError):
        await EtcdKVStore.open("127.0.0.1:1", rpc_timeout=1.0)


def test_prefix_end_is_the_next_prefix() -> None:
    assert prefix_end(b"/agent/") == b"/agent0"
    assert prefix_end(b"a\xff\xff") == b"b"
    assert prefix_end(b"\xff") is None
    assert prefix_end(b"") is None


def test_parse_etcd_endpoint_accepts_host_port_and_urls() -> None:
    assert parse_etcd_endpoint("127.0.0.1:2379") == ("127.0.0.1", 2379)
    assert parse_etcd_endpoint("http://etcd.local:12379") == ("etcd.local", 12379)
    assert parse_etcd_endpoint("pl-etcd") == ("pl-etcd", 2379)
    with pytest.raises(ValueError, match="etcd endpoint"):
        parse_etcd_endpoint("http://")
