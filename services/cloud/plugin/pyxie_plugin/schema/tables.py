"""The tables the plugin service owns, as SQLAlchemy Core objects (migrations create them)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

__all__ = ["metadata", "org_retention_plugins", "retention_scripts"]

metadata = sa.MetaData()

# A row exists while the org has the plugin enabled (Pixie's org_data_retention_plugins).
org_retention_plugins = sa.Table(
    "org_retention_plugins",
    metadata,
    sa.Column("org_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("plugin_id", sa.Text, primary_key=True),
    sa.Column("version", sa.Text, nullable=False),
    sa.Column("configurations", sa.LargeBinary, nullable=False),
    sa.Column("custom_export_url", sa.LargeBinary),
    sa.Column("insecure_tls", sa.Boolean, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# Scripts go with their plugin: disabling the plugin (deleting its row) deletes them.
retention_scripts = sa.Table(
    "retention_scripts",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("org_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("plugin_id", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("contents", sa.Text, nullable=False),
    sa.Column("export_url", sa.LargeBinary),
    sa.Column("frequency_s", sa.BigInteger, nullable=False),
    sa.Column("cluster_ids", pg.ARRAY(pg.UUID(as_uuid=True)), nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("is_preset", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
