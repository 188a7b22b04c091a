"""Deploy keys (`px-dep-<uuid>`): created once, stored as sha256, org-scoped, optional expiry."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from pyxie_service import InvalidArgument, NotFound
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from pyxie_vzmgr.schema import vizier_deployment_keys as keys_table

__all__ = ["DEPLOY_KEY_PREFIX", "DeployKey", "DeployKeyStore", "hash_deploy_key"]

DEPLOY_KEY_PREFIX: Final = "px-dep-"


def hash_deploy_key(key: str) -> bytes:
    return hashlib.sha256(key.strip().encode("utf-8")).digest()


@dataclass(frozen=True, slots=True)
class DeployKey:
    id: uuid.UUID
    org_id: uuid.UUID
    user_id: uuid.UUID
    created_at: datetime
    description: str
    expires_at: datetime | None
    last_used_at: datetime | None
    # Only set right after creation: the one time the key is shown.
    key: str = ""


def _from_row(row: Any, key: str = "") -> DeployKey:
    return DeployKey(
        id=row.id,
        org_id=row.org_id,
        user_id=row.user_id,
        created_at=row.created_at,
        description=row.description,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        key=key,
    )


_COLUMNS: Final = (
    keys_table.c.id,
    keys_table.c.org_id,
    keys_table.c.user_id,
    keys_table.c.created_at,
    keys_table.c.description,
    keys_table.c.expires_at,
    keys_table.c.last_used_at,
)


class DeployKeyStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(
        self,
        *,
        org_id: uuid.UUID,
        user_id: uuid.UUID,
        description: str,
        expires_at: datetime | None,
    ) -> DeployKey:
        key = f"{DEPLOY_KEY_PREFIX}{uuid.uuid4()}"
        async with self._engine.begin() as conn:
            if expires_at is not None:
                now = (await conn.execute(sa.select(sa.func.now()))).scalar_one()
                if expires_at <= now:
                    raise InvalidArgument("expires_at must be in the future (0 = never expires)")
            row = (
                await conn.execute(
                    keys_table.insert()
                    .values(
                        id=uuid.uuid4(),
                        org_id=org_id,
                        user_id=user_id,
                        description=description,
                        hashed_key=hash_deploy_key(key),
                        expires_at=expires_at,
                    )
                    .returning(*_COLUMNS)
                )
            ).one()
        return _from_row(row, key)

    async def list(self, org_id: uuid.UUID) -> list[DeployKey]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                sa.select(*_COLUMNS)
                .where(keys_table.c.org_id == org_id)
                .order_by(keys_table.c.created_at, keys_table.c.id)
            )
            return [_from_row(row) for row in rows]

    async def get(self, key_id: uuid.UUID, org_id: uuid.UUID) -> DeployKey:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(*_COLUMNS).where(
                        keys_table.c.id == key_id, keys_table.c.org_id == org_id
                    )
                )
            ).one_or_none()
        if row is None:
            raise NotFound(f"no deploy key {key_id} in this org")
        return _from_row(row)

    async def lookup(self, key: str, org_id: uuid.UUID) -> DeployKey:
        """The org's key whose value is `key` (found by hashing it)."""
        key = key.strip()
        if not key.startswith(DEPLOY_KEY_PREFIX):
            raise InvalidArgument(f"the key is not a deploy key ({DEPLOY_KEY_PREFIX}...)")
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(*_COLUMNS).where(
                        keys_table.c.hashed_key == hash_deploy_key(key),
                        keys_table.c.org_id == org_id,
                    )
                )
            ).one_or_none()
        if row is None:
            raise NotFound("no such deploy key in this org")
        return _from_row(row, key)

    async def delete(self, key_id: uuid.UUID, org_id: uuid.UUID) -> None:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                keys_table.delete().where(keys_table.c.id == key_id, keys_table.c.org_id == org_id)
            )
        if result.rowcount == 0:
            raise NotFound(f"no deploy key {key_id} in this org")

    @staticmethod
    async def lookup_for_use(conn: AsyncConnection, key: str) -> DeployKey | None:
        """The stored key matching `key` (locked for this transaction), or None."""
        row = (
            await conn.execute(
                sa.select(*_COLUMNS)
                .where(keys_table.c.hashed_key == hash_deploy_key(key))
                .with_for_update()
            )
        ).one_or_none()
        return None if row is None else _from_row(row)

    @staticmethod
    async def mark_used(conn: AsyncConnection, key_id: uuid.UUID) -> None:
        await conn.execute(
            keys_table.update().where(keys_table.c.id == key_id).values(last_used_at=sa.func.now())
        )
