"""widget colour

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.add_column("widgets", sa.Column("color", sa.Text, nullable=False, server_default="red"))


def downgrade() -> None:
    op.drop_column("widgets", "color")
