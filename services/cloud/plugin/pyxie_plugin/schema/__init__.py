"""The plugin service's tables (SQLAlchemy Core) and their Alembic migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from pyxie_db import Migrations

from pyxie_plugin.schema.tables import metadata, org_retention_plugins, retention_scripts

__all__ = ["MIGRATIONS", "metadata", "org_retention_plugins", "retention_scripts"]

MIGRATIONS: Final = Migrations("plugin", Path(__file__).parent / "versions")
