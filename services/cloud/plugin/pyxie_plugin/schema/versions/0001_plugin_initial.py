"""plugin: each org's retention-plugin configs and retention scripts.

Revision ID: plugin_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "plugin_0001"
down_revision = None


def upgrade() -> None:
    now = sa.text("now()")
    op.create_table(
        "org_retention_plugins",
        sa.Column("org_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("plugin_id", sa.Text, primary_key=True),
        sa.Column("version", sa.Text, nullable=False),
        # AES-256-GCM envelope (pyxie_crypto.AtRestCipher) of a JSON object (config key ->
        # value: the export headers, API keys among them), bound to org and plugin.
        sa.Column("configurations", sa.LargeBinary, nullable=False),
        # Envelope of the org's export URL (it may carry credentials); NULL = the default.
        sa.Column("custom_export_url", sa.LargeBinary),
        sa.Column("insecure_tls", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
    )
    op.create_table(
        "retention_scripts",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("org_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("plugin_id", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("contents", sa.Text, nullable=False),
        # Envelope of a per-script export URL, bound to the script id; NULL = the plugin's.
        sa.Column("export_url", sa.LargeBinary),
        sa.Column("frequency_s", sa.BigInteger, nullable=False),
        # Empty = every cluster of the org.
        sa.Column(
            "cluster_ids",
            pg.ARRAY(pg.UUID(as_uuid=True)),
            nullable=False,
            server_default=sa.text("'{}'::uuid[]"),
        ),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("is_preset", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.UniqueConstraint("org_id", "name", name="retention_scripts_org_name_key"),
        sa.CheckConstraint("frequency_s > 0", name="retention_scripts_frequency_positive"),
        sa.ForeignKeyConstraint(
            ["org_id", "plugin_id"],
            ["org_retention_plugins.org_id", "org_retention_plugins.plugin_id"],
            name="retention_scripts_plugin_enabled_fkey",
            ondelete="CASCADE",
        ),
    )
    op.create_index("retention_scripts_org_idx", "retention_scripts", ["org_id"])


def downgrade() -> None:
    op.drop_table("retention_scripts")
    op.drop_table("org_retention_plugins")
