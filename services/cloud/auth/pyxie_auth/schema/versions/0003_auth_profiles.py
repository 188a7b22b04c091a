"""auth: profiles (user settings and attributes) and per-org IDE configs

Revision ID: auth_0003
Revises: auth_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "auth_0003"
down_revision = "auth_0002"


def upgrade() -> None:
    op.create_table(
        "user_profiles",
        sa.Column(
            "user_id",
            sa.Uuid,
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("profile_picture", sa.Text, nullable=False, server_default=""),
        sa.Column("analytics_optout", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("tour_seen", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_table(
        "org_ide_configs",
        sa.Column(
            "org_id", sa.Uuid, sa.ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("ide_name", sa.Text, primary_key=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint("length(ide_name) BETWEEN 1 AND 64", name="ide_name_length"),
        sa.CheckConstraint("length(path) BETWEEN 1 AND 2048", name="ide_path_length"),
    )


def downgrade() -> None:
    op.drop_table("org_ide_configs")
    op.drop_table("user_profiles")
