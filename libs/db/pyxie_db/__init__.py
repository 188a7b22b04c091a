"""PostgreSQL for control-plane services: async engines and per-service Alembic migrations.

Each service owns its tables and its migrations (``<service>/schema/`` holding an Alembic
``versions/`` folder). Services may share one database, so each keeps its migration state in its
own version table (``alembic_version_<service>``). A service migrates in one place: its
``app.build`` calls ``open_migrated(MIGRATIONS, dsn)``, which upgrades to head and returns the
engine.
"""

from ._engine import async_dsn, create_engine, open_migrated, session_factory
from ._migrations import MigrationError, Migrations

__all__ = [
    "MigrationError",
    "Migrations",
    "async_dsn",
    "create_engine",
    "open_migrated",
    "session_factory",
]
