"""The auth service's tables: Alembic migrations in `versions/`, ORM mappings in `tables`."""

from pathlib import Path

from pyxie_db import Migrations

__all__ = ["MIGRATIONS"]

MIGRATIONS = Migrations("auth", Path(__file__).parent / "versions")
