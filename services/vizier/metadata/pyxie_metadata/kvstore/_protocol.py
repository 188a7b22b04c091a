"""The KV interface the metadata service stores everything in (Pixie's datastore interface)."""

from __future__ import annotations

from typing import Protocol

__all__ = ["KVStore", "KVStoreError", "prefix_end"]


class KVStoreError(Exception):
    """The backing store failed or refused an operation."""


class KVStore(Protocol):
    """Byte values under string keys, ordered by the keys' UTF-8 bytes.

    Range and prefix reads return `(key, value)` pairs in ascending key order. A key set with a
    TTL disappears from every read once the TTL has passed (the backend reclaims it later).
    """

    async def get(self, key: str) -> bytes | None: ...

    async def get_with_prefix(self, prefix: str) -> list[tuple[str, bytes]]: ...

    async def get_range(
        self, from_key: str, to_key: str, *, limit: int | None = None
    ) -> list[tuple[str, bytes]]:
        """Keys in `[from_key, to_key)`; the first `limit` of them when it is given."""
        ...

    async def set(self, key: str, value: bytes) -> None: ...

    async def set_with_ttl(self, key: str, value: bytes, ttl_seconds: float) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def delete_with_prefix(self, prefix: str) -> None: ...

    async def close(self) -> None: ...


def prefix_end(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string starting with `prefix`.

    None when there is none (the prefix is empty or all 0xff): the range is unbounded above.
    """
    trimmed = prefix.rstrip(b"\xff")
    if not trimmed:
        return None
    return trimmed[:-1] + bytes([trimmed[-1] + 1])
