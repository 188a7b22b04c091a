"""The etcd backend (`etcd-sdk-python`, module `pyetcd`): TTL through leases.

`PL_ETCD_ENDPOINT` may name several members (`host:port,host:port,...`): calls then fail over
to another member when one is down, as Pixie's metadata does against its etcd cluster. While a
cluster has lost quorum every call fails with `KVStoreError`; callers retry on their own
schedule and succeed again once a majority is back.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

import grpc
import pyetcd
import pyetcd.exceptions

from pyxie_metadata.kvstore._protocol import KVStoreError, prefix_end

__all__ = [
    "DEFAULT_ETCD_TIMEOUT_SECONDS",
    "EtcdKVStore",
    "parse_etcd_endpoint",
    "parse_etcd_endpoints",
]

_T = TypeVar("_T")

# Every etcd RPC; a healthy single member answers in milliseconds.
DEFAULT_ETCD_TIMEOUT_SECONDS: Final = 10.0
# pyetcd is a blocking gRPC client: a few threads keep independent callers from queueing.
_WORKER_THREADS: Final = 4
# etcd's range_end "\0" means "every key >= key".
_UNBOUNDED: Final = b"\0"
_DEFAULT_PORT: Final = 2379
# How long a member that failed a call is skipped before it is tried again.
_MEMBER_RETRY_SECONDS: Final = 2.0
_FAILOVER_ERRORS: Final = (
    pyetcd.exceptions.ConnectionFailedError,
    pyetcd.exceptions.ConnectionTimeoutError,
    pyetcd.exceptions.NoServerAvailableError,
)


def parse_etcd_endpoint(endpoint: str) -> tuple[str, int]:
    """`host:port` or `http://host:port` -> (host, port)."""
    parts = urlsplit(endpoint if "://" in endpoint else f"//{endpoint}")
    if not parts.hostname:
        raise ValueError(f"not an etcd endpoint: {endpoint!r} (want host:port)")
    return parts.hostname, parts.port or _DEFAULT_PORT


def parse_etcd_endpoints(endpoints: str) -> list[tuple[str, int]]:
    """A comma-separated list of members -> [(host, port), ...] (at least one)."""
    members = [parse_etcd_endpoint(part.strip()) for part in endpoints.split(",") if part.strip()]
    if not members:
        raise ValueError(f"no etcd endpoint in {endpoints!r} (want host:port[,host:port...])")
    return members


class EtcdKVStore:
    """`KVStore` over etcd v3. Each `set_with_ttl` grants a lease of its own, as Pixie does."""

    def __init__(self, client: Any, executor: ThreadPoolExecutor, *, members: int = 1) -> None:
        self._client = client
        self._executor = executor
        self._members = members
        self._closed = False

    @classmethod
    async def open(
        cls, endpoint: str, *, rpc_timeout: float = DEFAULT_ETCD_TIMEOUT_SECONDS
    ) -> EtcdKVStore:
        members = parse_etcd_endpoints(endpoint)
        executor = ThreadPoolExecutor(max_workers=_WORKER_THREADS, thread_name_prefix="pyxie-etcd")
        client: Any
        if len(members) == 1:
            host, port = members[0]
            client = pyetcd.Etcd3Client(host=host, port=port, timeout=rpc_timeout)
        else:
            client = pyetcd.MultiEndpointEtcd3Client(
                endpoints=[
                    pyetcd.Endpoint(host, port, secure=False, time_retry=_MEMBER_RETRY_SECONDS)
                    for host, port in members
                ],
                timeout=rpc_timeout,
                failover=True,
            )
        store = cls(client, executor, members=len(members))
        try:
            # Fail at start, not at the first agent registration, when etcd is unreachable.
            await store._run(lambda etcd: etcd.status())
        except KVStoreError:
            await store.close()
            raise
        return store

    async def _run(self, operation: Callable[[Any], _T]) -> _T:
        if self._closed:
            raise KVStoreError("the KV store is closed")
        loop = asyncio.get_running_loop()

        def call() -> _T:
            # A failed member is marked by the client; the next attempt goes to another one.
            for attempt in range(self._members):
                try:
                    return operation(self._client)
                except _FAILOVER_ERRORS as exc:
                    if attempt + 1 == self._members:
                        raise KVStoreError(f"etcd: {_describe(exc)}") from exc
                except (pyetcd.exceptions.Etcd3Exception, grpc.RpcError) as exc:
                    raise KVStoreError(f"etcd: {_describe(exc)}") from exc
            raise AssertionError("unreachable")  # pragma: no cover

        return await loop.run_in_executor(self._executor, call)

    async def get(self, key: str) -> bytes | None:
        value, _meta = await self._run(lambda etcd: etcd.get(key))
        return None if value is None else bytes(value)

    async def get_with_prefix(self, prefix: str) -> list[tuple[str, bytes]]:
        start = prefix.encode()
        end = prefix_end(start)
        return await self._range(start, _UNBOUNDED if end is None else end)

    async def get_range(
        self, from_key: str, to_key: str, *, limit: int | None = None
    ) -> list[tuple[str, bytes]]:
        if limit is not None and limit <= 0:
            return []
        return await self._range(from_key.encode(), to_key.encode(), limit)

    async def _range(
        self, start: bytes, end: bytes, limit: int | None = None
    ) -> list[tuple[str, bytes]]:
        response = await self._run(
            lambda etcd: etcd.get_range_response(start, end, sort_order="ascend", limit=limit)
        )
        return [(bytes(kv.key).decode(), bytes(kv.value)) for kv in response.kvs]

    async def set(self, key: str, value: bytes) -> None:
        await self._run(lambda etcd: etcd.put(key, value))

    async def set_with_ttl(self, key: str, value: bytes, ttl_seconds: float) -> None:
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be positive, got {ttl_seconds}")
        # Leases count whole seconds; rounding up never drops a key early.
        ttl = max(1, math.ceil(ttl_seconds))

        def put(etcd: Any) -> None:
            lease = etcd.lease(ttl)
            etcd.put(key, value, lease=lease)

        await self._run(put)

    async def delete(self, key: str) -> None:
        await self._run(lambda etcd: etcd.delete(key))

    async def delete_with_prefix(self, prefix: str) -> None:
        start = prefix.encode()
        end = prefix_end(start)
        await self._run(
            lambda etcd: etcd.kvstub.DeleteRange(
                pyetcd.etcdrpc.DeleteRangeRequest(
                    key=start, range_end=_UNBOUNDED if end is None else end
                ),
                etcd.timeout,
                credentials=etcd.call_credentials,
                metadata=etcd.metadata,
            )
        )

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._client.close)
        self._executor.shutdown(wait=True)


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
