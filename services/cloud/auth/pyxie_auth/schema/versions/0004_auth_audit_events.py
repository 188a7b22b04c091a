"""auth: audit_events, the cloud's security events readable by org admins

Revision ID: auth_0004
Revises: auth_0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "auth_0004"
down_revision = "auth_0003"


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        # No foreign key: the trail of a deleted org or user is kept.
        sa.Column("org_id", sa.Uuid, nullable=True),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False, server_default=""),
        sa.Column("target", sa.Text, nullable=False, server_default=""),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("details", postgresql.JSONB, nullable=False, server_default="{}"),
    )
    op.create_index("audit_events_org_at", "audit_events", ["org_id", sa.text("at DESC")])


def downgrade() -> None:
    op.drop_index("audit_events_org_at", table_name="audit_events")
    op.drop_table("audit_events")
