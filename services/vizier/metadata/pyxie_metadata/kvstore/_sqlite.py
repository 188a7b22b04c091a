"""The embedded default: one SQLite file, TTL through an expiry column and a reaper task."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final, TypeVar

from pyxie_metadata.kvstore._protocol import KVStoreError, prefix_end

__all__ = ["DEFAULT_REAP_INTERVAL_SECONDS", "SqliteKVStore"]

_T = TypeVar("_T")

# Pixie's pebble TTL reaper runs once a minute; reads hide expired keys meanwhile.
DEFAULT_REAP_INTERVAL_SECONDS: Final = 60.0
# Another process holding the file (a second metadata by mistake) makes writes wait this long.
_BUSY_TIMEOUT_SECONDS: Final = 10.0

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS kv (
    key BLOB PRIMARY KEY,
    value BLOB NOT NULL,
    -- Unix seconds after which the key is gone; NULL = never.
    expires_at REAL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS kv_expires_at ON kv (expires_at) WHERE expires_at IS NOT NULL;
"""

_LIVE: Final = "(expires_at IS NULL OR expires_at > ?)"


class SqliteKVStore:
    """`KVStore` over a SQLite file. Build with `await SqliteKVStore.open(path)`.

    All SQLite calls run on one dedicated thread (the connection is not shared), so operations
    are applied in the order they were awaited and the event loop never blocks on disk.
    """

    def __init__(
        self, connection: sqlite3.Connection, executor: ThreadPoolExecutor, reap_interval: float
    ) -> None:
        self._connection = connection
        self._executor = executor
        self._reap_interval = reap_interval
        self._reaper: asyncio.Task[None] | None = None
        self._closed = False

    @classmethod
    async def open(
        cls, path: Path | str, *, reap_interval: float = DEFAULT_REAP_INTERVAL_SECONDS
    ) -> SqliteKVStore:
        if reap_interval <= 0:
            raise ValueError(f"reap_interval must be positive, got {reap_interval}")
        file = Path(path)
        file.parent.mkdir(parents=True, exist_ok=True)
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pyxie-kv-sqlite")
        loop = asyncio.get_running_loop()
        try:
            connection = await loop.run_in_executor(executor, _connect, file)
        except sqlite3.Error as exc:
            executor.shutdown(wait=False)
            raise KVStoreError(f"cannot open the KV file {file}: {exc}") from exc
        store = cls(connection, executor, reap_interval)
        store._reaper = asyncio.create_task(store._reap_forever(), name="kv-sqlite-reaper")
        return store

    async def _run(self, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        if self._closed:
            raise KVStoreError("the KV store is closed")
        loop = asyncio.get_running_loop()

        def call() -> _T:
            try:
                return operation(self._connection)
            except sqlite3.Error as exc:
                self._connection.rollback()
                raise KVStoreError(str(exc)) from exc

        return await loop.run_in_executor(self._executor, call)

    async def get(self, key: str) -> bytes | None:
        raw = key.encode()

        def read(db: sqlite3.Connection) -> bytes | None:
            row = db.execute(
                f"SELECT value FROM kv WHERE key = ? AND {_LIVE}", (raw, time.time())
            ).fetchone()
            return None if row is None else bytes(row[0])

        return await self._run(read)

    async def get_with_prefix(self, prefix: str) -> list[tuple[str, bytes]]:
        start = prefix.encode()
        return await self._run(lambda db: _scan(db, start, prefix_end(start)))

    async def get_range(
        self, from_key: str, to_key: str, *, limit: int | None = None
    ) -> list[tuple[str, bytes]]:
        start, end = from_key.encode(), to_key.encode()
        return await self._run(lambda db: _scan(db, start, end, limit))

    async def set(self, key: str, value: bytes) -> None:
        await self._run(lambda db: _upsert(db, key.encode(), value, None))

    async def set_with_ttl(self, key: str, value: bytes, ttl_seconds: float) -> None:
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be positive, got {ttl_seconds}")
        expires = time.time() + ttl_seconds
        await self._run(lambda db: _upsert(db, key.encode(), value, expires))

    async def delete(self, key: str) -> None:
        raw = key.encode()

        def remove(db: sqlite3.Connection) -> None:
            with db:
                db.execute("DELETE FROM kv WHERE key = ?", (raw,))

        await self._run(remove)

    async def delete_with_prefix(self, prefix: str) -> None:
        start = prefix.encode()
        end = prefix_end(start)

        def remove(db: sqlite3.Connection) -> None:
            with db:
                if end is None:
                    db.execute("DELETE FROM kv WHERE key >= ?", (start,))
                else:
                    db.execute("DELETE FROM kv WHERE key >= ? AND key < ?", (start, end))

        await self._run(remove)

    async def reap_expired(self) -> int:
        """Delete every expired key now; returns how many went."""

        def reap(db: sqlite3.Connection) -> int:
            with db:
                cursor = db.execute(
                    "DELETE FROM kv WHERE expires_at IS NOT NULL AND expires_at <= ?",
                    (time.time(),),
                )
            return cursor.rowcount

        return await self._run(reap)

    async def _reap_forever(self) -> None:
        while True:
            await asyncio.sleep(self._reap_interval)
            try:
                await self.reap_expired()
            except KVStoreError:
                # A busy file now does not stop later reaps; reads hide expired keys anyway.
                continue

    async def close(self) -> None:
        if self._closed:
            return
        if self._reaper is not None:
            self._reaper.cancel()
            await asyncio.gather(self._reaper, return_exceptions=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._connection.close)
        self._closed = True
        self._executor.shutdown(wait=True)


def _connect(file: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(
        file, timeout=_BUSY_TIMEOUT_SECONDS, isolation_level="DEFERRED", check_same_thread=False
    )
    # WAL: readers never wait for the writer, and a crash loses at most the last transaction.
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.executescript(_SCHEMA)
    connection.commit()
    return connection


def _scan(
    db: sqlite3.Connection, start: bytes, end: bytes | None, limit: int | None = None
) -> list[tuple[str, bytes]]:
    # SQLite reads LIMIT -1 as "no limit".
    count = -1 if limit is None else max(limit, 0)
    now = time.time()
    if end is None:
        rows = db.execute(
            f"SELECT key, value FROM kv WHERE key >= ? AND {_LIVE} ORDER BY key LIMIT ?",
            (start, now, count),
        ).fetchall()
    else:
        rows = db.execute(
            f"SELECT key, value FROM kv WHERE key >= ? AND key < ? AND {_LIVE} "
            "ORDER BY key LIMIT ?",
            (start, end, now, count),
        ).fetchall()
    return [(bytes(key).decode(), bytes(value)) for key, value in rows]


def _upsert(db: sqlite3.Connection, key: bytes, value: bytes, expires_at: float | None) -> None:
    with db:
        db.execute(
            "INSERT INTO kv (key, value, expires_at) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
            "expires_at = excluded.expires_at",
            (key, value, expires_at),
        )
