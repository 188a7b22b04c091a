from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect
from sqlalchemy.pool import NullPool

from ._engine import async_dsn

__all__ = ["MigrationError", "Migrations"]

_ENV_PY = '''"""Alembic environment written by pyxie_db: per-service version table."""
from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

config = context.config
# NullPool: the connection is closed when the block ends, also when a migration fails (a pooled
# one stayed open until the engine was garbage-collected).
engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=NullPool)
try:
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            version_table=config.get_main_option("version_table"),
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()
finally:
    engine.dispose()
'''


class MigrationError(Exception):
    pass


@dataclass(frozen=True)
class Migrations:
    """A service's migration scripts: ``versions_dir`` holds Alembic revision files."""

    service: str
    versions_dir: Path

    @property
    def version_table(self) -> str:
        return f"alembic_version_{self.service}"

    def _config(self, dsn: str, work_dir: Path) -> Config:
        # Alembic wants a script directory with env.py; ours is generic, so it is written next
        # to a link to the service's versions folder rather than copied into every service.
        work_dir.mkdir(parents=True, exist_ok=True)
        (work_dir / "env.py").write_text(_ENV_PY)
        (work_dir / "script.py.mako").write_text("")
        versions = work_dir / "versions"
        if not versions.exists():
            versions.symlink_to(self.versions_dir.resolve(), target_is_directory=True)
        config = Config()
        config.set_main_option("script_location", str(work_dir))
        config.set_main_option("sqlalchemy.url", async_dsn(dsn).replace("%", "%%"))
        config.set_main_option("version_table", self.version_table)
        return config

    def _run(self, dsn: str, action: str, revision: str) -> None:
        import tempfile

        if not self.versions_dir.is_dir():
            raise MigrationError(f"no migrations folder at {self.versions_dir}")
        with tempfile.TemporaryDirectory(prefix=f"pyxie-migrate-{self.service}-") as tmp:
            config = self._config(dsn, Path(tmp) / "alembic")
            try:
                if action == "upgrade":
                    command.upgrade(config, revision)
                else:
                    command.downgrade(config, revision)
            except Exception as err:
                raise MigrationError(
                    f"{self.service}: {action} to {revision} failed: {err}"
                ) from err

    def upgrade(self, dsn: str, revision: str = "head") -> None:
        self._run(dsn, "upgrade", revision)

    def downgrade(self, dsn: str, revision: str = "base") -> None:
        self._run(dsn, "downgrade", revision)

    def head(self) -> str:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            config = self._config("postgresql://x", Path(tmp) / "alembic")
            heads = ScriptDirectory.from_config(config).get_heads()
        if len(heads) != 1:
            raise MigrationError(f"{self.service} has {len(heads)} migration heads: {heads}")
        return heads[0]

    def current(self, dsn: str) -> str | None:
        engine = create_engine(async_dsn(dsn), poolclass=NullPool)
        try:
            with engine.connect() as conn:
                if not inspect(conn).has_table(self.version_table):
                    return None
                from sqlalchemy import text

                row = conn.execute(text(f"SELECT version_num FROM {self.version_table}")).first()
                return None if row is None else str(row[0])
        finally:
            engine.dispose()
