"""The vizier registry: provisioning with deploy keys, bridge registration, heartbeats, status.

Every provisioning runs in one transaction under a global advisory lock: provisioning is rare,
and serialising it makes the "same cluster UID in the org" rule and the platform-wide name rule
race-free without retry loops. The outcome of every deploy-key use, good or bad, is written to
`deploy_key_audit` in its own transaction, so a rejected attempt is recorded too.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, cast

import sqlalchemy as sa
from pyxie_crypto import AtRestCipher, CryptoError
from pyxie_jwt import (
    VIZIER_AUDIENCE,
    ClusterClaims,
    InvalidTokenError,
    SigningKey,
    cluster_claims,
    sign_token,
    verify_token,
)
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2 as cvmsgs
from pyxie_service import (
    Aborted,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ServiceError,
    Unauthenticated,
    get_logger,
)
from pyxie_service.audit import audit as audit_event
from pyxie_service.text import check_text, for_log
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from pyxie_vzmgr.controllers.deploy_keys import DeployKeyStore
from pyxie_vzmgr.controllers.naming import (
    InvalidNameError,
    normalize_name,
    random_name,
    skeleton,
    suffixed_name,
)
from pyxie_vzmgr.schema import deploy_key_audit, vizier_cluster, vizier_cluster_info

__all__ = [
    "NAME_ATTEMPTS",
    "Provisioned",
    "VizierRecord",
    "VizierRegistry",
    "status_from_proto",
    "status_to_proto",
]

# Pixie: the plain name, then up to 9 `name_<8 hex>` variants.
NAME_ATTEMPTS: Final = 10
# Key of the transaction-scoped advisory lock that serialises provisioning.
_PROVISION_LOCK: Final = 0x767A6D67  # "vzmg"
_DISCONNECTED: Final = "DISCONNECTED"
# Kubernetes UIDs are 36 characters; anything far longer is not one.
_MAX_CLUSTER_UID_CHARS: Final = 256
_KEY_ASSOCIATED_DATA: Final = b"vizier_cluster_info.jwt_signing_key:"

_log = get_logger("pyxie.vzmgr.registry")


def status_to_proto(status: str) -> cvmsgs.VizierStatus:
    return cast(cvmsgs.VizierStatus, cvmsgs.VizierStatus.Value(f"VZ_ST_{status}"))


def status_from_proto(status: cvmsgs.VizierStatus) -> str:
    return cvmsgs.VizierStatus.Name(status).removeprefix("VZ_ST_")


@dataclass(frozen=True, slots=True)
class VizierRecord:
    id: uuid.UUID
    org_id: uuid.UUID
    name: str
    cluster_uid: str
    status: str
    last_heartbeat: datetime | None
    status_message: str
    vizier_version: str
    num_nodes: int
    num_instrumented_nodes: int
    prev_status: str | None
    prev_status_time: datetime | None


@dataclass(frozen=True, slots=True)
class Provisioned:
    vizier_id: uuid.UUID
    name: str
    # The vizier's new JWT signing key: returned to the vizier once, stored encrypted.
    signing_key: SigningKey
    how: str  # "created", "claimed" or "reclaimed"


@dataclass(slots=True)
class _Audit:
    key_id: uuid.UUID | None = None
    org_id: uuid.UUID | None = None
    vizier_id: uuid.UUID | None = None


_RECORD_COLUMNS: Final = (
    vizier_cluster.c.id,
    vizier_cluster.c.org_id,
    vizier_cluster.c.cluster_name,
    vizier_cluster.c.cluster_uid,
    vizier_cluster_info.c.status,
    vizier_cluster_info.c.last_heartbeat,
    vizier_cluster_info.c.status_message,
    vizier_cluster_info.c.vizier_version,
    vizier_cluster_info.c.num_nodes,
    vizier_cluster_info.c.num_instrumented_nodes,
    vizier_cluster_info.c.prev_status,
    vizier_cluster_info.c.prev_status_time,
)
_JOINED: Final = vizier_cluster.join(
    vizier_cluster_info, vizier_cluster_info.c.vizier_cluster_id == vizier_cluster.c.id
)


def _record(row: Any) -> VizierRecord:
    return VizierRecord(
        id=row.id,
        org_id=row.org_id,
        name=row.cluster_name,
        cluster_uid=row.cluster_uid,
        status=row.status,
        last_heartbeat=row.last_heartbeat,
        status_message=row.status_message,
        vizier_version=row.vizier_version,
        num_nodes=row.num_nodes,
        num_instrumented_nodes=row.num_instrumented_nodes,
        prev_status=row.prev_status,
        prev_status_time=row.prev_status_time,
    )


def parse_uuid(text: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except (ValueError, TypeError):
        raise InvalidArgument(f"{what} {text!r} is not a UUID") from None


class VizierRegistry:
    def __init__(self, engine: AsyncEngine, cipher: AtRestCipher) -> None:
        self._engine = engine
        self._cipher = cipher

    # --- provisioning -------------------------------------------------------------------------

    async def provision(
        self, *, deploy_key: str, cluster_uid: str, cluster_name: str, peer: str
    ) -> Provisioned:
        """ProvisionOrClaimVizier: create, claim or reclaim a vizier for a deploy key."""
        audit = _Audit()
        uid = cluster_uid.strip()
        try:
            provisioned = await self._provision(deploy_key, uid, cluster_name, audit)
        except ServiceError as err:
            await self._audit(audit, uid, cluster_name, peer, "rejected", err.message)
            raise
        except Exception:
            await self._audit(audit, uid, cluster_name, peer, "error", "internal error")
            raise
        await self._audit(
            audit, uid, cluster_name, peer, provisioned.how, f"vizier name {provisioned.name}"
        )
        return provisioned

    async def _provision(
        self, deploy_key: str, uid: str, requested_name: str, audit: _Audit
    ) -> Provisioned:
        try:
            wanted = normalize_name(requested_name)
        except InvalidNameError as err:
            raise InvalidArgument(str(err)) from None
        check_text(uid, field="cluster UID", max_chars=_MAX_CLUSTER_UID_CHARS)
        async with self._engine.begin() as conn:
            await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PROVISION_LOCK)))
            key = await DeployKeyStore.lookup_for_use(conn, deploy_key)
            if key is None:
                raise Unauthenticated("invalid deploy key")
            audit.key_id, audit.org_id = key.id, key.org_id
            now = (await conn.execute(sa.select(sa.func.now()))).scalar_one()
            if key.expires_at is not None and key.expires_at <= now:
                raise Unauthenticated("deploy key has expired")
            await DeployKeyStore.mark_used(conn, key.id)
            vizier_id, how, current_name = await self._find_row(conn, key.org_id, uid)
            audit.vizier_id = vizier_id
            name = await self._choose_name(conn, wanted, current_name, vizier_id)
            signing_key = SigningKey.generate()
            sealed = self._seal_key(vizier_id, signing_key)
            if how == "created":
                await conn.execute(
                    vizier_cluster.insert().values(
                        id=vizier_id,
                        org_id=key.org_id,
                        project_name="default",
                        cluster_uid=uid,
                        cluster_name=name,
                        name_skeleton=skeleton(name),
                    )
                )
                await conn.execute(
                    vizier_cluster_info.insert().values(
                        vizier_cluster_id=vizier_id, status=_DISCONNECTED, jwt_signing_key=sealed
                    )
                )
            else:
                await conn.execute(
                    vizier_cluster.update()
                    .where(vizier_cluster.c.id == vizier_id)
                    .values(cluster_uid=uid, cluster_name=name, name_skeleton=skeleton(name))
                )
                # A new key on every (re)claim: whoever held the old one can no longer connect.
                await conn.execute(
                    vizier_cluster_info.update()
                    .where(vizier_cluster_info.c.vizier_cluster_id == vizier_id)
                    .values(jwt_signing_key=sealed)
                )
        _log.info("vizier provisioned", vizier_id=str(vizier_id), name=name, how=how)
        return Provisioned(vizier_id, name, signing_key, how)

    @staticmethod
    async def _find_row(
        conn: AsyncConnection, org_id: uuid.UUID, uid: str
    ) -> tuple[uuid.UUID, str, str | None]:
        """(vizier id, how, its current name) for the row this registration takes."""
        if uid:
            same_cluster = (
                await conn.execute(
                    sa.select(vizier_cluster.c.id, vizier_cluster.c.cluster_name, _status())
                    .select_from(_JOINED)
                    .where(vizier_cluster.c.org_id == org_id, vizier_cluster.c.cluster_uid == uid)
                    .with_for_update()
                )
            ).first()
            if same_cluster is not None:
                if same_cluster.status != _DISCONNECTED:
                    raise FailedPrecondition(
                        f"a vizier for cluster UID {uid!r} is already active in this org "
                        f"(status {same_cluster.status}); a second vizier in the same cluster "
                        "is not allowed"
                    )
                return same_cluster.id, "reclaimed", same_cluster.cluster_name
        empty = (
            await conn.execute(
                sa.select(vizier_cluster.c.id, vizier_cluster.c.cluster_name)
                .select_from(_JOINED)
                .where(
                    vizier_cluster.c.org_id == org_id,
                    vizier_cluster.c.cluster_uid == "",
                    vizier_cluster_info.c.status == _DISCONNECTED,
                )
                .order_by(vizier_cluster.c.created_at)
                .limit(1)
                .with_for_update()
            )
        ).first()
        if empty is not None:
            return empty.id, "claimed", empty.cluster_name
        return uuid.uuid4(), "created", None

    @staticmethod
    async def _choose_name(
        conn: AsyncConnection, wanted: str, current: str | None, vizier_id: uuid.UUID
    ) -> str:
        if current is not None and (
            not wanted or wanted == current or wanted == current.rpartition("_")[0]
        ):
            return current
        base = wanted or random_name()
        for attempt in range(NAME_ATTEMPTS):
            candidate = base if attempt == 0 else suffixed_name(base)
            holder = (
                await conn.execute(
                    sa.select(vizier_cluster.c.cluster_name).where(
                        vizier_cluster.c.name_skeleton == skeleton(candidate),
                        vizier_cluster.c.id != vizier_id,
                    )
                )
            ).first()
            if holder is None:
                return candidate
            if attempt == 0 and wanted and holder.cluster_name.casefold() != wanted.casefold():
                # Not the same name but one that looks like it: refuse rather than suffix, so
                # that nobody can register a lookalike of another vizier (Pixie issue #1653).
                # The other name is not echoed: it may belong to another org.
                raise InvalidArgument(
                    f"vizier name {wanted!r} is confusable with an existing vizier name "
                    "(lookalike characters such as Cyrillic U+0430 for Latin 'a', '0' for 'O' or "
                    "'1' for 'l'); choose a different name"
                )
        raise Aborted(f"no free vizier name found for {base!r} after {NAME_ATTEMPTS} attempts")

    async def _audit(
        self, audit: _Audit, uid: str, name: str, peer: str, outcome: str, detail: str
    ) -> None:
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    deploy_key_audit.insert().values(
                        key_id=audit.key_id,
                        org_id=audit.org_id,
                        # What the caller sent is untrusted: escaped and bounded (a NUL
                        # would make PostgreSQL refuse the row).
                        cluster_uid=for_log(uid),
                        cluster_name=for_log(name),
                        vizier_id=audit.vizier_id,
                        peer=for_log(peer),
                        outcome=outcome,
                        detail=for_log(detail),
                    )
                )
        except Exception:
            # The caller's answer stands; an operator must see that the audit trail has a gap.
            _log.exception("could not write the deploy key audit row", outcome=outcome)
            raise
        finally:
            # The cloud-wide audit log (org admins read it through auth) gets it too.
            audit_event(
                "vizier.register",
                "refused"
                if outcome == "rejected"
                else "failed"
                if outcome == "error"
                else "allowed",
                actor=for_log(peer),
                target=str(audit.vizier_id or "") or for_log(uid),
                org_id=str(audit.org_id or ""),
                reason=for_log(detail),
                how=outcome,
                deploy_key_id=str(audit.key_id or ""),
            )

    # --- keys -----------------------------------------------------------------------------------

    def _seal_key(self, vizier_id: uuid.UUID, key: SigningKey) -> bytes:
        return self._cipher.encrypt(
            key.reveal_text().encode("utf-8"), _KEY_ASSOCIATED_DATA + vizier_id.bytes
        )

    async def _signing_key(self, conn: AsyncConnection, vizier_id: uuid.UUID) -> SigningKey | None:
        sealed = (
            await conn.execute(
                sa.select(vizier_cluster_info.c.jwt_signing_key).where(
                    vizier_cluster_info.c.vizier_cluster_id == vizier_id
                )
            )
        ).scalar_one_or_none()
        if sealed is None:
            return None
        try:
            text = self._cipher.decrypt(sealed, _KEY_ASSOCIATED_DATA + vizier_id.bytes)
        except CryptoError:
            _log.error("stored vizier signing key cannot be decrypted", vizier_id=str(vizier_id))
            raise
        return SigningKey(text.decode("utf-8"))

    async def connection_token(self, vizier_id: uuid.UUID) -> str:
        """A cluster JWT (audience vizier, 1 h) signed with the vizier's own key."""
        async with self._engine.connect() as conn:
            key = await self._signing_key(conn, vizier_id)
        if key is None:
            raise NotFound(f"vizier {vizier_id} has no signing key yet")
        claims = cluster_claims(cluster_id=str(vizier_id), audience=VIZIER_AUDIENCE)
        return sign_token(claims, key)

    # --- bridge registration, heartbeats, status ---------------------------------------------

    async def vizier_connected(
        self, register: cvmsgs.RegisterVizierRequest
    ) -> cvmsgs.RegisterVizierAck:
        ack = cvmsgs.RegisterVizierAck
        try:
            vizier_id = uuid.UUID(register.vizier_id)
        except ValueError:
            return ack(status=ack.ST_FAILED_NOT_FOUND, message="vizier id is not a UUID")
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    sa.select(vizier_cluster.c.cluster_name, vizier_cluster.c.cluster_uid).where(
                        vizier_cluster.c.id == vizier_id
                    )
                )
            ).first()
            key = await self._signing_key(conn, vizier_id) if row is not None else None
            if row is None or key is None:
                return ack(status=ack.ST_FAILED_NOT_FOUND, message="unknown vizier")
            try:
                claims = verify_token(register.jwt_key_proof, key, audience=VIZIER_AUDIENCE)
            except InvalidTokenError as err:
                _log.info("bridge register rejected", vizier_id=str(vizier_id), reason=str(err))
                return ack(status=ack.ST_FAILED_REJECTED, message="invalid proof of vizier key")
            if not isinstance(claims, ClusterClaims) or claims.cluster_id != str(vizier_id):
                return ack(status=ack.ST_FAILED_REJECTED, message="proof does not name this vizier")
            if register.cluster_uid and row.cluster_uid and register.cluster_uid != row.cluster_uid:
                return ack(
                    status=ack.ST_FAILED_REJECTED,
                    message="cluster UID differs from the one this vizier registered with",
                )
            await conn.execute(
                vizier_cluster_info.update()
                .where(vizier_cluster_info.c.vizier_cluster_id == vizier_id)
                .values(
                    status="CONNECTED",
                    status_message="",
                    vizier_version=register.vizier_version,
                    last_heartbeat=sa.func.now(),
                )
            )
        _log.info("vizier connected", vizier_id=str(vizier_id), name=row.cluster_name)
        return ack(status=ack.ST_OK, vizier_name=row.cluster_name)

    async def record_heartbeat(self, vizier_id: uuid.UUID, beat: cvmsgs.VizierHeartbeat) -> bool:
        """Apply a heartbeat; False when the vizier is unknown."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                vizier_cluster_info.update()
                .where(vizier_cluster_info.c.vizier_cluster_id == vizier_id)
                .values(
                    status=status_from_proto(beat.status),
                    status_message=beat.status_message,
                    num_nodes=beat.num_nodes,
                    num_instrumented_nodes=beat.num_instrumented_nodes,
                    vizier_version=beat.vizier_version,
                    last_heartbeat=sa.func.now(),
                )
            )
        return bool(result.rowcount)

    async def mark_silent_viziers_disconnected(
        self, *, timeout_seconds: float, updating_timeout_seconds: float
    ) -> int:
        """The status monitor's sweep; returns how many viziers became DISCONNECTED."""
        info = vizier_cluster_info.c
        silent_since = sa.func.now() - sa.func.make_interval(0, 0, 0, 0, 0, 0, timeout_seconds)
        updating_since = sa.func.now() - sa.func.make_interval(
            0, 0, 0, 0, 0, 0, updating_timeout_seconds
        )
        async with self._engine.begin() as conn:
            result = await conn.execute(
                vizier_cluster_info.update()
                .where(
                    sa.or_(
                        sa.and_(
                            info.status.not_in((_DISCONNECTED, "UPDATING")),
                            sa.or_(
                                info.last_heartbeat.is_(None), info.last_heartbeat < silent_since
                            ),
                        ),
                        sa.and_(info.status == "UPDATING", info.last_heartbeat < updating_since),
                    )
                )
                .values(status=_DISCONNECTED, status_message="no heartbeat from the vizier")
            )
        return int(result.rowcount)

    # --- reads ----------------------------------------------------------------------------------

    async def get(self, vizier_id: uuid.UUID) -> VizierRecord:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(*_RECORD_COLUMNS)
                    .select_from(_JOINED)
                    .where(vizier_cluster.c.id == vizier_id)
                )
            ).first()
        if row is None:
            raise NotFound(f"no vizier {vizier_id}")
        return _record(row)

    async def by_org(self, org_id: uuid.UUID) -> list[VizierRecord]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                sa.select(*_RECORD_COLUMNS)
                .select_from(_JOINED)
                .where(vizier_cluster.c.org_id == org_id)
                .order_by(vizier_cluster.c.cluster_name)
            )
            return [_record(row) for row in rows]


def _status() -> sa.ColumnElement[str]:
    return vizier_cluster_info.c.status
