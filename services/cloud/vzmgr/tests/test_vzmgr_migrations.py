from __future__ import annotations

import psycopg
from pyxie_vzmgr.schema import MIGRATIONS


def _tables(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
    return {row[0] for row in rows}


def test_migrations_upgrade_and_downgrade_against_real_postgres(fresh_database: str) -> None:
    MIGRATIONS.upgrade(fresh_database)
    assert MIGRATIONS.current(fresh_database) == MIGRATIONS.head()
    assert {
        "vizier_cluster",
        "vizier_cluster_info",
        "vizier_deployment_keys",
        "deploy_key_audit",
    } <= _tables(fresh_database)
    MIGRATIONS.downgrade(fresh_database)
    assert MIGRATIONS.current(fresh_database) is None
    assert _tables(fresh_database) == {"alembic_version_vzmgr"}
    # Downgrade dropped the enum and functions too: upgrading again works.
    MIGRATIONS.upgrade(fresh_database)
    assert MIGRATIONS.current(fresh_database) == MIGRATIONS.head()
