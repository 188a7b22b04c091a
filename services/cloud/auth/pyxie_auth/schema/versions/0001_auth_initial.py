"""auth: orgs, users, api_keys, invites, revoked_tokens

Revision ID: auth_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "auth_0001"
down_revision = None


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "orgs",
        sa.Column("id", sa.Uuid, primary_key=True),
        # Display name, NFKC-normalised; `name_key` (case-folded) is what must be unique.
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("name_key", sa.Text, nullable=False, unique=True),
        # Email domain the org claims (from the identity provider's hosted domain).
        sa.Column("domain_name", sa.Text, nullable=True, unique=True),
        sa.Column("enable_approvals", sa.Boolean, nullable=False, server_default=sa.false()),
        # HS256 key for invite tokens, sealed with the database key (pyxie_crypto envelope).
        sa.Column("invite_signing_key", sa.LargeBinary, nullable=False),
        *_timestamps(),
        sa.CheckConstraint("domain_name = lower(domain_name)", name="orgs_domain_lower"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("org_id", sa.Uuid, sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=True),
        sa.Column("email", sa.Text, nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False, server_default=""),
        # argon2id PHC string; NULL for users who only log in through an identity provider.
        sa.Column("password_hash", sa.Text, nullable=True),
        sa.Column("identity_provider", sa.Text, nullable=True),
        sa.Column("auth_provider_id", sa.Text, nullable=True),
        sa.Column("is_approved", sa.Boolean, nullable=False, server_default=sa.true()),
        *_timestamps(),
        sa.UniqueConstraint("identity_provider", "auth_provider_id", name="users_identity_unique"),
        sa.CheckConstraint("email = lower(email)", name="users_email_lower"),
        sa.CheckConstraint(
            "(identity_provider IS NULL) = (auth_provider_id IS NULL)",
            name="users_identity_complete",
        ),
    )
    op.create_index("users_org_id", "users", ["org_id"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("org_id", sa.Uuid, sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "user_id", sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        # sha256 of the key text: the only form of the key the cloud keeps.
        sa.Column("hashed_key", sa.LargeBinary, nullable=False, unique=True),
        sa.Column("scope", sa.Text, nullable=False, server_default="admin"),
        sa.Column(
            "cluster_ids",
            postgresql.ARRAY(sa.Uuid),
            nullable=False,
            server_default=sa.text("'{}'::uuid[]"),
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint("scope IN ('admin', 'read-only')", name="api_keys_scope_known"),
        sa.CheckConstraint("octet_length(hashed_key) = 32", name="api_keys_hash_is_sha256"),
    )
    op.create_index("api_keys_org_id", "api_keys", ["org_id"])
    op.create_table(
        "invites",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("org_id", sa.Uuid, sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("email", sa.Text, nullable=False),
        # sha256 of the invite token; the token itself is only ever in the invite link.
        sa.Column("token_hash", sa.LargeBinary, nullable=False, unique=True),
        sa.Column(
            "created_by", sa.Uuid, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint("email = lower(email)", name="invites_email_lower"),
    )
    op.create_table(
        "revoked_tokens",
        sa.Column("jti", sa.Text, primary_key=True),
        # After this moment no token with this id can be valid, so the row can go.
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("revoked_tokens_expires_at", "revoked_tokens", ["expires_at"])


def downgrade() -> None:
    op.drop_table("revoked_tokens")
    op.drop_table("invites")
    op.drop_index("api_keys_org_id", table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_index("users_org_id", table_name="users")
    op.drop_table("users")
    op.drop_table("orgs")
