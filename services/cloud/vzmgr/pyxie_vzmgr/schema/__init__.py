"""vzmgr's tables (SQLAlchemy Core) and their Alembic migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from pyxie_db import Migrations

from pyxie_vzmgr.schema.tables import (
    VIZIER_STATUSES,
    deploy_key_audit,
    metadata,
    vizier_cluster,
    vizier_cluster_info,
    vizier_deployment_keys,
)

__all__ = [
    "MIGRATIONS",
    "VIZIER_STATUSES",
    "deploy_key_audit",
    "metadata",
    "vizier_cluster",
    "vizier_cluster_info",
    "vizier_deployment_keys",
]

MIGRATIONS: Final = Migrations("vzmgr", Path(__file__).parent / "versions")
