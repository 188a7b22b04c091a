from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

if TYPE_CHECKING:
    from ._migrations import Migrations

__all__ = ["async_dsn", "create_engine", "open_migrated", "session_factory"]

# Connections a service keeps open; control-plane services are small and mostly idle.
_POOL_SIZE = 5


def async_dsn(dsn: str) -> str:
    """A SQLAlchemy URL using psycopg 3 for a libpq-style ``postgresql://`` DSN."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if dsn.startswith(prefix):
            return "postgresql+psycopg://" + dsn[len(prefix) :]
    raise ValueError("expected a postgresql:// DSN")


def create_engine(dsn: str) -> AsyncEngine:
    """An async engine that checks connections before use, so a PostgreSQL restart heals."""
    return _create_async_engine(async_dsn(dsn), pool_size=_POOL_SIZE, pool_pre_ping=True)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def open_migrated(migrations: Migrations, dsn: str) -> AsyncEngine:
    """The ONE place a service migrates: its tables to the newest schema, then a pool.

    A service that owns tables calls this from its `app.build`; Alembic is synchronous, so it
    runs in a worker thread and the event loop stays free (signals, readiness) meanwhile.
    """
    await asyncio.to_thread(migrations.upgrade, dsn)
    return create_engine(dsn)
