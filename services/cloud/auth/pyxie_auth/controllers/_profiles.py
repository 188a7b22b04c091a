"""Profiles and org management (Pixie's profile and project-manager services): user settings
and attributes, user updates and deletion, org members and IDE configs.

Every method takes the verified `Caller` and limits itself to the caller's org; an object of
another org looks exactly like a missing one (NotFound), so ids of other orgs leak nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Final

from pyxie_service import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from pyxie_service.audit import audit
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pyxie_auth.controllers._caller import Caller
from pyxie_auth.schema.tables import APIKeyRow, OrgIDEConfigRow, OrgRow, UserProfileRow, UserRow

__all__ = ["IDEConfig", "Profiles", "UserView"]

# A picture is a URL (or a data: URL of a small avatar); bounded so a row stays small.
_MAX_PICTURE_CHARS: Final = 16_384
_MAX_IDE_NAME_CHARS: Final = 64
_MAX_IDE_PATH_CHARS: Final = 2048
# Enough for any team's editors; bounds what one org can store.
_MAX_IDE_CONFIGS_PER_ORG: Final = 32


@dataclass(frozen=True, slots=True)
class UserView:
    user: UserRow
    profile_picture: str


@dataclass(frozen=True, slots=True)
class IDEConfig:
    ide_name: str
    path: str


def _clean_ide_name(raw: str) -> str:
    name = raw.strip()
    if not name:
        raise InvalidArgument("ide_name must not be empty")
    if len(name) > _MAX_IDE_NAME_CHARS or not name.isprintable():
        raise InvalidArgument(f"ide_name must be printable and at most {_MAX_IDE_NAME_CHARS} chars")
    return name


class Profiles:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session, session.begin():
            yield session

    @staticmethod
    def _own_org(caller: Caller) -> uuid.UUID:
        if caller.org_id is None:
            raise FailedPrecondition("you do not belong to an org yet (create or join one)")
        return caller.org_id

    async def _member(self, session: AsyncSession, caller: Caller, user_id: uuid.UUID) -> UserRow:
        """A user of the caller's org (the caller itself always qualifies)."""
        user = await session.get(UserRow, user_id)
        if user is None or (user.id != caller.user_id and user.org_id != caller.org_id):
            raise NotFound(f"no user {user_id} in your org")
        return user

    @staticmethod
    async def _profile(session: AsyncSession, user_id: uuid.UUID) -> UserProfileRow:
        row = await session.get(UserProfileRow, user_id, with_for_update=True)
        if row is None:
            row = UserProfileRow(
                user_id=user_id, profile_picture="", analytics_optout=False, tour_seen=False
            )
            session.add(row)
        return row

    @staticmethod
    def _require_self(caller: Caller, user_id: uuid.UUID, what: str) -> None:
        if user_id != caller.user_id:
            raise PermissionDenied(f"only the user themselves can {what}")

    # -- users --------------------------------------------------------------------------

    async def user(self, caller: Caller, user_id: uuid.UUID) -> UserView:
        async with self._transaction() as session:
            user = await self._member(session, caller, user_id)
            profile = await session.get(UserProfileRow, user.id)
            return UserView(user, profile.profile_picture if profile else "")

    async def settings(self, caller: Caller, user_id: uuid.UUID) -> UserProfileRow:
        async with self._transaction() as session:
            await self._member(session, caller, user_id)
            self._require_self(caller, user_id, "read their settings")
            return await self._profile(session, user_id)

    async def update_profile(
        self,
        caller: Caller,
        user_id: uuid.UUID,
        *,
        analytics_optout: bool | None = None,
        tour_seen: bool | None = None,
    ) -> None:
        caller.require_admin("change settings")
        async with self._transaction() as session:
            await self._member(session, caller, user_id)
            self._require_self(caller, user_id, "change their settings")
            profile = await self._profile(session, user_id)
            if analytics_optout is not None:
                profile.analytics_optout = analytics_optout
            if tour_seen is not None:
                profile.tour_seen = tour_seen

    async def update_user(
        self,
        caller: Caller,
        user_id: uuid.UUID,
        *,
        picture: str | None,
        is_approved: bool | None,
    ) -> UserView:
        caller.require_admin("update users")
        async with self._transaction() as session:
            user = await self._member(session, caller, user_id)
            profile = await self._profile(session, user_id)
            if picture is not None:
                self._require_self(caller, user_id, "change their picture")
                if len(picture) > _MAX_PICTURE_CHARS:
                    raise InvalidArgument(f"display_picture is over {_MAX_PICTURE_CHARS} chars")
                profile.profile_picture = picture
            if is_approved is not None and is_approved != user.is_approved:
                if user_id == caller.user_id:
                    raise PermissionDenied("you cannot change your own approval")
                user.is_approved = is_approved
                audit(
                    "user.approval",
                    "applied",
                    actor=str(caller.user_id),
                    target=str(user_id),
                    org_id=str(caller.org_id or ""),
                    approved=str(is_approved),
                )
            return UserView(user, profile.profile_picture)

    async def delete_user(self, caller: Caller, user_id: uuid.UUID) -> None:
        caller.require_admin("delete users")
        async with self._transaction() as session:
            user = await self._member(session, caller, user_id)
            self._require_self(caller, user_id, "delete their account")
            await session.delete(user)
        audit("user.delete", "applied", actor=str(caller.user_id), target=str(user_id))

    # -- orgs ---------------------------------------------------------------------------

    async def org(self, caller: Caller, org_id: uuid.UUID) -> OrgRow:
        async with self._transaction() as session:
            org = await session.get(OrgRow, org_id)
            if org is None or org.id != caller.org_id:
                raise NotFound(f"no org {org_id} that you belong to")
            return org

    async def update_org(
        self, caller: Caller, org_id: uuid.UUID, *, enable_approvals: bool | None
    ) -> OrgRow:
        caller.require_admin("update the org")
        async with self._transaction() as session:
            org = await session.get(OrgRow, org_id, with_for_update=True)
            if org is None or org.id != caller.org_id:
                raise NotFound(f"no org {org_id} that you belong to")
            if enable_approvals is not None:
                org.enable_approvals = enable_approvals
            return org

    async def members(self, caller: Caller, org_id: uuid.UUID) -> list[UserView]:
        if org_id != self._own_org(caller):
            raise NotFound(f"no org {org_id} that you belong to")
        async with self._transaction() as session:
            rows = await session.execute(
                select(UserRow, UserProfileRow.profile_picture)
                .outerjoin(UserProfileRow, UserProfileRow.user_id == UserRow.id)
                .where(UserRow.org_id == org_id)
                .order_by(UserRow.email)
            )
            return [UserView(user, picture or "") for user, picture in rows.all()]

    async def remove_member(self, caller: Caller, user_id: uuid.UUID) -> None:
        """The user leaves the caller's org; their API keys of that org are deleted with it."""
        caller.require_admin("remove users from the org")
        org_id = self._own_org(caller)
        async with self._transaction() as session:
            user = await session.get(UserRow, user_id, with_for_update=True)
            if user is None or user.org_id != org_id:
                raise NotFound(f"no user {user_id} in your org")
            user.org_id = None
            await session.execute(
                delete(APIKeyRow).where(APIKeyRow.user_id == user_id, APIKeyRow.org_id == org_id)
            )
        audit(
            "org.remove_member",
            "applied",
            actor=str(caller.user_id),
            target=str(user_id),
            org_id=str(org_id),
        )

    # -- IDE configs --------------------------------------------------------------------

    def _require_own(self, caller: Caller, org_id: uuid.UUID) -> uuid.UUID:
        if org_id != self._own_org(caller):
            raise NotFound(f"no org {org_id} that you belong to")
        return org_id

    async def add_ide_config(self, caller: Caller, org_id: uuid.UUID, config: IDEConfig) -> None:
        caller.require_admin("change IDE configs")
        self._require_own(caller, org_id)
        name = _clean_ide_name(config.ide_name)
        path = config.path.strip()
        if not path or len(path) > _MAX_IDE_PATH_CHARS:
            raise InvalidArgument(f"path must be 1 to {_MAX_IDE_PATH_CHARS} characters")
        async with self._transaction() as session:
            # Serialise adds per org so the cap holds under concurrency.
            await session.get(OrgRow, org_id, with_for_update=True)
            existing = await session.get(OrgIDEConfigRow, (org_id, name))
            if existing is not None:
                existing.path = path
                return
            count = len(
                (
                    await session.scalars(
                        select(OrgIDEConfigRow.ide_name).where(OrgIDEConfigRow.org_id == org_id)
                    )
                ).all()
            )
            if count >= _MAX_IDE_CONFIGS_PER_ORG:
                raise FailedPrecondition(
                    f"an org has at most {_MAX_IDE_CONFIGS_PER_ORG} IDE configs; delete one first"
                )
            session.add(OrgIDEConfigRow(org_id=org_id, ide_name=name, path=path))

    async def delete_ide_config(self, caller: Caller, org_id: uuid.UUID, ide_name: str) -> None:
        caller.require_admin("change IDE configs")
        self._require_own(caller, org_id)
        name = _clean_ide_name(ide_name)
        async with self._transaction() as session:
            row = await session.get(OrgIDEConfigRow, (org_id, name))
            if row is None:
                raise NotFound(f"no IDE config named {name!r}")
            await session.delete(row)

    async def ide_configs(
        self, caller: Caller, org_id: uuid.UUID, ide_name: str
    ) -> list[IDEConfig]:
        self._require_own(caller, org_id)
        query = select(OrgIDEConfigRow).where(OrgIDEConfigRow.org_id == org_id)
        if ide_name:
            query = query.where(OrgIDEConfigRow.ide_name == _clean_ide_name(ide_name))
        async with self._transaction() as session:
            rows = (await session.scalars(query.order_by(OrgIDEConfigRow.ide_name))).all()
        if ide_name and not rows:
            raise NotFound(f"no IDE config named {ide_name.strip()!r}")
        return [IDEConfig(row.ide_name, row.path) for row in rows]
