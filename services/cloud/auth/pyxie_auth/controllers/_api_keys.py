"""API keys `px-api-<uuid>`: stored only as sha256, scoped (admin | read-only), optionally
limited to clusters, optionally expiring."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from pyxie_jwt import AccessScope
from pyxie_service import InvalidArgument, NotFound, Unauthenticated, get_logger
from pyxie_service.text import check_text
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pyxie_auth.controllers._tokens import Clock, utc_now
from pyxie_auth.schema.tables import APIKeyRow

__all__ = ["API_KEY_PREFIX", "APIKeys", "NewAPIKey", "hash_api_key", "parse_access_scope"]

API_KEY_PREFIX: Final = "px-api-"
_API_KEY_SHAPE: Final = re.compile(
    r"px-api-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)
# Descriptions are labels shown in a list.
_MAX_DESCRIPTION_CHARS: Final = 256
# A key limited to more clusters than this is a mistake, not a limit.
_MAX_CLUSTERS_PER_KEY: Final = 256
_INVALID_KEY: Final = "invalid API key"

_log = get_logger("pyxie.auth.api_keys")


def hash_api_key(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def parse_access_scope(text: str) -> AccessScope:
    """ "" means admin (Pixie keys have no scope); anything unknown is refused."""
    if not text:
        return AccessScope.ADMIN
    try:
        return AccessScope(text)
    except ValueError:
        known = ", ".join(scope.value for scope in AccessScope)
        raise InvalidArgument(f"scope {text!r} is not one of: {known}") from None


def parse_cluster_ids(values: Sequence[str]) -> list[uuid.UUID]:
    if len(values) > _MAX_CLUSTERS_PER_KEY:
        raise InvalidArgument(f"a key may be limited to at most {_MAX_CLUSTERS_PER_KEY} clusters")
    parsed: list[uuid.UUID] = []
    for value in values:
        try:
            cluster_id = uuid.UUID(value)
        except ValueError:
            raise InvalidArgument(f"cluster id {value!r} is not a UUID") from None
        if cluster_id not in parsed:
            parsed.append(cluster_id)
    return parsed


@dataclass(frozen=True, slots=True)
class NewAPIKey:
    row: APIKeyRow
    # The key itself: returned once, never stored.
    key: str


class APIKeys:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, clock: Clock = utc_now):
        self._sessions = sessions
        self._clock = clock

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session, session.begin():
            yield session

    async def create(
        self,
        *,
        org_id: uuid.UUID,
        user_id: uuid.UUID,
        description: str,
        scope: AccessScope,
        cluster_ids: list[uuid.UUID],
        expires_at: datetime | None,
    ) -> NewAPIKey:
        check_text(description, field="description", max_chars=_MAX_DESCRIPTION_CHARS)
        if expires_at is not None and expires_at <= self._clock():
            raise InvalidArgument("expiry must be in the future")
        key = API_KEY_PREFIX + str(uuid.uuid4())
        row = APIKeyRow(
            id=uuid.uuid4(),
            org_id=org_id,
            user_id=user_id,
            description=description,
            hashed_key=hash_api_key(key),
            scope=scope.value,
            cluster_ids=cluster_ids,
            expires_at=expires_at,
            created_at=self._clock(),
        )
        async with self._transaction() as session:
            session.add(row)
        _log.info(
            "API key created",
            key_id=str(row.id),
            org_id=str(org_id),
            user_id=str(user_id),
            scope=scope.value,
            clusters=len(cluster_ids),
        )
        return NewAPIKey(row=row, key=key)

    async def list(self, org_id: uuid.UUID) -> list[APIKeyRow]:
        async with self._transaction() as session:
            rows = await session.scalars(
                select(APIKeyRow)
                .where(APIKeyRow.org_id == org_id)
                .order_by(APIKeyRow.created_at, APIKeyRow.id)
            )
            return list(rows)

    async def get(self, org_id: uuid.UUID, key_id: uuid.UUID) -> APIKeyRow:
        """The key, if it belongs to `org_id`; another org's key is simply not found."""
        async with self._transaction() as session:
            row = await session.scalar(
                select(APIKeyRow).where(APIKeyRow.id == key_id, APIKeyRow.org_id == org_id)
            )
        if row is None:
            raise NotFound("API key not found")
        return row

    async def delete(self, org_id: uuid.UUID, key_id: uuid.UUID) -> None:
        async with self._transaction() as session:
            result = await session.execute(
                delete(APIKeyRow)
                .where(APIKeyRow.id == key_id, APIKeyRow.org_id == org_id)
                .returning(APIKeyRow.id)
            )
            if result.first() is None:
                raise NotFound("API key not found")
        _log.info("API key deleted", key_id=str(key_id), org_id=str(org_id))

    async def lookup(self, org_id: uuid.UUID, key: str) -> APIKeyRow:
        """The org's key whose value is `key` (found by hashing it); NotFound otherwise."""
        key = key.strip()
        if not _API_KEY_SHAPE.fullmatch(key):
            raise InvalidArgument("the key is not an API key (px-api-...)")
        async with self._transaction() as session:
            row = await session.scalar(
                select(APIKeyRow).where(
                    APIKeyRow.hashed_key == hash_api_key(key), APIKeyRow.org_id == org_id
                )
            )
        if row is None:
            raise NotFound("API key not found")
        return row

    async def use(self, key: str) -> APIKeyRow:
        """The live key with this value, its last use stamped; Unauthenticated otherwise."""
        if not _API_KEY_SHAPE.fullmatch(key):
            raise Unauthenticated(_INVALID_KEY)
        now = self._clock()
        async with self._transaction() as session:
            row = await session.scalar(
                select(APIKeyRow).where(APIKeyRow.hashed_key == hash_api_key(key))
            )
            if row is None:
                raise Unauthenticated(_INVALID_KEY)
            if row.expires_at is not None and row.expires_at <= now:
                _log.info("expired API key used", key_id=str(row.id))
                raise Unauthenticated(_INVALID_KEY)
            row.last_used_at = now
        return row
