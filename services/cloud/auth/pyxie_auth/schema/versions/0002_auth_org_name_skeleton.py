"""auth: org name keys become lookalike skeletons (as vizier names have)

Revision ID: auth_0002
Revises: auth_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "auth_0002"
down_revision = "auth_0001"


def upgrade() -> None:
    from pyxie_auth.controllers._names import org_name_key

    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, name, name_key FROM orgs")).fetchall()
    taken = {row.name_key for row in rows}
    for row in rows:
        key = org_name_key(row.name)
        # Two existing orgs whose names are lookalikes keep their old key: both exist already.
        if key != row.name_key and key not in taken:
            conn.execute(
                sa.text("UPDATE orgs SET name_key = :key WHERE id = :id"),
                {"key": key, "id": row.id},
            )
            taken.add(key)


def downgrade() -> None:
    # Skeleton keys are as unique as the case-folded ones were; nothing to undo.
    pass
