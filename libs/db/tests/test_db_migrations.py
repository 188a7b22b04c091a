from pathlib import Path

import pytest
from pyxie_db import MigrationError, Migrations, create_engine, open_migrated, session_factory
from sqlalchemy import text

EXAMPLE = Migrations("example", Path(__file__).parent / "migrations_example")


def test_upgrade_then_downgrade_against_real_postgres(fresh_database: str) -> None:
    assert EXAMPLE.current(fresh_database) is None
    EXAMPLE.upgrade(fresh_database)
    assert EXAMPLE.current(fresh_database) == EXAMPLE.head() == "0002"
    EXAMPLE.downgrade(fresh_database, "0001")
    assert EXAMPLE.current(fresh_database) == "0001"
    EXAMPLE.downgrade(fresh_database)
    assert EXAMPLE.current(fresh_database) is None


def test_two_services_keep_separate_version_tables(fresh_database: str, tmp_path: Path) -> None:
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    (other_dir / "0001_gadgets.py").write_text(
        '"""gadgets"""\nimport sqlalchemy as sa\nfrom alembic import op\n'
        'revision = "g1"\ndown_revision = None\n'
        "def upgrade():\n"
        "    op.create_table('gadgets', sa.Column('id', sa.Integer, primary_key=True))\n"
        "def downgrade():\n    op.drop_table('gadgets')\n"
    )
    other = Migrations("other", other_dir)
    EXAMPLE.upgrade(fresh_database)
    other.upgrade(fresh_database)
    assert (EXAMPLE.current(fresh_database), other.current(fresh_database)) == ("0002", "g1")


async def test_async_engine_reads_what_migrations_created(fresh_database: str) -> None:
    EXAMPLE.upgrade(fresh_database)
    engine = create_engine(fresh_database)
    try:
        async with session_factory(engine)() as session:
            await session.execute(text("INSERT INTO widgets (name) VALUES ('w')"))
            await session.commit()
            color = (await session.execute(text("SELECT color FROM widgets"))).scalar_one()
        assert color == "red"
    finally:
        await engine.dispose()


async def test_open_migrated_upgrades_to_head_and_returns_a_working_pool(
    fresh_database: str,
) -> None:
    engine = await open_migrated(EXAMPLE, fresh_database)
    try:
        assert EXAMPLE.current(fresh_database) == EXAMPLE.head()
        async with session_factory(engine)() as session:
            await session.execute(text("INSERT INTO widgets (name) VALUES ('w')"))
            await session.commit()
        # Running it again (a restart) finds nothing to do and keeps the data.
        again = await open_migrated(EXAMPLE, fresh_database)
        async with session_factory(again)() as session:
            count = (await session.execute(text("SELECT count(*) FROM widgets"))).scalar_one()
        await again.dispose()
        assert count == 1
    finally:
        await engine.dispose()


def test_a_failing_migration_reports_the_service_and_revision(
    fresh_database: str, tmp_path: Path
) -> None:
    broken_dir = tmp_path / "broken"
    broken_dir.mkdir()
    (broken_dir / "0001_bad.py").write_text(
        '"""bad"""\nfrom alembic import op\nrevision = "b1"\ndown_revision = None\n'
        "def upgrade():\n    op.execute('SELECT * FROM no_such_table')\n"
        "def downgrade():\n    pass\n"
    )
    with pytest.raises(MigrationError, match="broken: upgrade to head failed"):
        Migrations("broken", broken_dir).upgrade(fresh_database)
    assert Migrations("broken", broken_dir).current(fresh_database) is None
