"""The auth migrations upgrade and downgrade on real PostgreSQL and match the ORM tables."""

from __future__ import annotations

import psycopg
from pyxie_auth.schema import MIGRATIONS
from pyxie_auth.schema.tables import Base

TABLES = {
    "orgs",
    "users",
    "api_keys",
    "invites",
    "revoked_tokens",
    "user_profiles",
    "org_ide_configs",
    "audit_events",
}


def _tables(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
    return {row[0] for row in rows}


def _columns(dsn: str, table: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s", (table,)
        ).fetchall()
    return {row[0] for row in rows}


def test_upgrade_creates_the_tables_and_downgrade_removes_them(fresh_database: str) -> None:
    MIGRATIONS.upgrade(fresh_database)
    assert MIGRATIONS.current(fresh_database) == MIGRATIONS.head() == "auth_0004"
    assert _tables(fresh_database) >= TABLES
    MIGRATIONS.downgrade(fresh_database)
    assert MIGRATIONS.current(fresh_database) is None
    assert not _tables(fresh_database) & TABLES
    # And back up again: downgrade left nothing that blocks a fresh upgrade.
    MIGRATIONS.upgrade(fresh_database)
    assert _tables(fresh_database) >= TABLES


def test_orm_tables_match_the_migrated_columns(fresh_database: str) -> None:
    MIGRATIONS.upgrade(fresh_database)
    for table in Base.metadata.sorted_tables:
        assert {column.name for column in table.columns} == _columns(fresh_database, table.name)


def test_database_rejects_mixed_case_emails_and_revocations_without_expiry(
    fresh_database: str,
) -> None:
    MIGRATIONS.upgrade(fresh_database)
    with psycopg.connect(fresh_database) as conn:
        for statement in (
            "INSERT INTO users (id, email) VALUES (gen_random_uuid(), 'Alice@Example.com')",
            "INSERT INTO revoked_tokens (jti) VALUES ('no expiry')",
        ):
            try:
                with conn.transaction():
                    conn.execute(statement)
            except psycopg.errors.IntegrityError:
                continue
            raise AssertionError(f"accepted: {statement}")
