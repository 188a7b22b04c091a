from __future__ import annotations

import psycopg
from pyxie_plugin.schema import MIGRATIONS


def _tables(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
    return {row[0] for row in rows}


def test_plugin_migrations_upgrade_and_downgrade_against_real_postgres(
    fresh_database: str,
) -> None:
    MIGRATIONS.upgrade(fresh_database)
    assert MIGRATIONS.current(fresh_database) == MIGRATIONS.head()
    assert {"org_retention_plugins", "retention_scripts"} <= _tables(fresh_database)
    MIGRATIONS.downgrade(fresh_database)
    assert MIGRATIONS.current(fresh_database) is None
    assert _tables(fresh_database) == {"alembic_version_plugin"}
    MIGRATIONS.upgrade(fresh_database)
    assert MIGRATIONS.current(fresh_database) == MIGRATIONS.head()
