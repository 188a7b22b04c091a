"""vzmgr: vizier registry, deploy keys and the deploy-key audit log.

Revision ID: vzmgr_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "vzmgr_0001"
down_revision = None

_STATUSES = (
    "UNKNOWN",
    "HEALTHY",
    "UNHEALTHY",
    "DISCONNECTED",
    "UPDATING",
    "CONNECTED",
    "UPDATE_FAILED",
    "DEGRADED",
)


def upgrade() -> None:
    status = pg.ENUM(*_STATUSES, name="vizier_status")
    status.create(op.get_bind())
    status_column = pg.ENUM(*_STATUSES, name="vizier_status", create_type=False)
    now = sa.text("now()")
    op.create_table(
        "vizier_cluster",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("org_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("project_name", sa.Text, nullable=False, server_default="default"),
        sa.Column("cluster_uid", sa.Text, nullable=False, server_default=""),
        sa.Column("cluster_name", sa.Text, nullable=False),
        # Confusable skeleton of the name (Unicode TR39 style); unique across ALL orgs, so two
        # viziers can neither share a name nor have lookalike names anywhere on the platform.
        sa.Column("name_skeleton", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.UniqueConstraint("org_id", "cluster_name", name="vizier_cluster_org_name_key"),
        sa.UniqueConstraint("name_skeleton", name="vizier_cluster_name_skeleton_key"),
    )
    op.create_index("vizier_cluster_uid_idx", "vizier_cluster", ["cluster_uid"])
    op.create_index("vizier_cluster_name_idx", "vizier_cluster", ["cluster_name"])
    op.create_index("vizier_cluster_org_idx", "vizier_cluster", ["org_id"])
    op.create_table(
        "vizier_cluster_info",
        sa.Column(
            "vizier_cluster_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey("vizier_cluster.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("status", status_column, nullable=False, server_default="DISCONNECTED"),
        sa.Column("last_heartbeat", sa.DateTime(timezone=True)),
        # AES-256-GCM envelope (pyxie_crypto.AtRestCipher) bound to the vizier id.
        sa.Column("jwt_signing_key", sa.LargeBinary),
        sa.Column("vizier_version", sa.Text, nullable=False, server_default=""),
        sa.Column("num_nodes", sa.Integer, nullable=False, server_default="0"),
        sa.Column("num_instrumented_nodes", sa.Integer, nullable=False, server_default="0"),
        sa.Column("status_message", sa.Text, nullable=False, server_default=""),
        sa.Column("prev_status", status_column),
        sa.Column("prev_status_time", sa.DateTime(timezone=True)),
        sa.Column("prev_status_message", sa.Text),
    )
    op.create_table(
        "vizier_deployment_keys",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("org_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        # sha256 of the key text; the key itself is shown once at creation and never stored.
        sa.Column("hashed_key", sa.LargeBinary, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("last_used_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("hashed_key", name="vizier_deployment_keys_hashed_key_key"),
    )
    op.create_index("vizier_deployment_keys_org_idx", "vizier_deployment_keys", ["org_id"])
    op.create_table(
        "deploy_key_audit",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("key_id", pg.UUID(as_uuid=True)),
        sa.Column("org_id", pg.UUID(as_uuid=True)),
        sa.Column("cluster_uid", sa.Text, nullable=False),
        sa.Column("cluster_name", sa.Text, nullable=False),
        sa.Column("vizier_id", pg.UUID(as_uuid=True)),
        sa.Column("peer", sa.Text, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("deploy_key_audit_key_idx", "deploy_key_audit", ["key_id"])
    # As Pixie: the row remembers its previous status, when it changed and why.
    op.execute(
        """
        CREATE FUNCTION vizier_cluster_info_prev_status() RETURNS trigger AS $$
        BEGIN
          IF NEW.status IS DISTINCT FROM OLD.status THEN
            NEW.prev_status := OLD.status;
            NEW.prev_status_time := now();
            NEW.prev_status_message := OLD.status_message;
          END IF;
          RETURN NEW;
        END;
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        """
        CREATE TRIGGER vizier_cluster_info_prev_status
        BEFORE UPDATE ON vizier_cluster_info
        FOR EACH ROW EXECUTE FUNCTION vizier_cluster_info_prev_status()
        """
    )
    op.execute(
        """
        CREATE FUNCTION vizier_cluster_touch_updated_at() RETURNS trigger AS $$
        BEGIN
          NEW.updated_at := now();
          RETURN NEW;
        END;
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        """
        CREATE TRIGGER vizier_cluster_touch_updated_at
        BEFORE UPDATE ON vizier_cluster
        FOR EACH ROW EXECUTE FUNCTION vizier_cluster_touch_updated_at()
        """
    )


def downgrade() -> None:
    op.drop_table("deploy_key_audit")
    op.drop_table("vizier_deployment_keys")
    op.execute("DROP TRIGGER vizier_cluster_info_prev_status ON vizier_cluster_info")
    op.drop_table("vizier_cluster_info")
    op.execute("DROP TRIGGER vizier_cluster_touch_updated_at ON vizier_cluster")
    op.drop_table("vizier_cluster")
    op.execute("DROP FUNCTION vizier_cluster_info_prev_status()")
    op.execute("DROP FUNCTION vizier_cluster_touch_updated_at()")
    pg.ENUM(name="vizier_status").drop(op.get_bind())
