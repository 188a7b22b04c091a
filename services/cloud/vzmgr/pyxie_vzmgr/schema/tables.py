"""The tables vzmgr owns, as SQLAlchemy Core objects for queries (migrations create them)."""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

__all__ = [
    "VIZIER_STATUSES",
    "deploy_key_audit",
    "metadata",
    "vizier_cluster",
    "vizier_cluster_info",
    "vizier_deployment_keys",
]

# Postgres enum `vizier_status`, the names of cvmsgspb.VizierStatus without the VZ_ST_ prefix.
VIZIER_STATUSES: Final = (
    "UNKNOWN",
    "HEALTHY",
    "UNHEALTHY",
    "DISCONNECTED",
    "UPDATING",
    "CONNECTED",
    "UPDATE_FAILED",
    "DEGRADED",
)

metadata = sa.MetaData()

_status = pg.ENUM(*VIZIER_STATUSES, name="vizier_status", create_type=False)

vizier_cluster = sa.Table(
    "vizier_cluster",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("org_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("project_name", sa.Text, nullable=False),
    sa.Column("cluster_uid", sa.Text, nullable=False),
    sa.Column("cluster_name", sa.Text, nullable=False),
    sa.Column("name_skeleton", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

vizier_cluster_info = sa.Table(
    "vizier_cluster_info",
    metadata,
    sa.Column("vizier_cluster_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("status", _status, nullable=False),
    sa.Column("last_heartbeat", sa.DateTime(timezone=True)),
    sa.Column("jwt_signing_key", sa.LargeBinary),
    sa.Column("vizier_version", sa.Text, nullable=False),
    sa.Column("num_nodes", sa.Integer, nullable=False),
    sa.Column("num_instrumented_nodes", sa.Integer, nullable=False),
    sa.Column("status_message", sa.Text, nullable=False),
    sa.Column("prev_status", _status),
    sa.Column("prev_status_time", sa.DateTime(timezone=True)),
    sa.Column("prev_status_message", sa.Text),
)

vizier_deployment_keys = sa.Table(
    "vizier_deployment_keys",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("org_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("hashed_key", sa.LargeBinary, nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True)),
    sa.Column("last_used_at", sa.DateTime(timezone=True)),
)

deploy_key_audit = sa.Table(
    "deploy_key_audit",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    # NULL when the presented key matched no stored key.
    sa.Column("key_id", pg.UUID(as_uuid=True)),
    sa.Column("org_id", pg.UUID(as_uuid=True)),
    sa.Column("cluster_uid", sa.Text, nullable=False),
    sa.Column("cluster_name", sa.Text, nullable=False),
    sa.Column("vizier_id", pg.UUID(as_uuid=True)),
    sa.Column("peer", sa.Text, nullable=False),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
)
