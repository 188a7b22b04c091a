"""Orgs, users, invites and token revocation: each use case is one database transaction."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from pyxie_crypto import AtRestCipher, CryptoError
from pyxie_jwt import UserClaims
from pyxie_service import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    get_logger,
)
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pyxie_auth.controllers._invites import (
    InviteClaims,
    InviteTokenError,
    hash_invite_token,
    new_invite_key,
    sign_invite,
    unverified_invite_org,
    verify_invite,
)
from pyxie_auth.controllers._names import (
    email_domain,
    normalise_email,
    normalise_org_name,
    org_name_key,
)
from pyxie_auth.controllers._passwords import Passwords
from pyxie_auth.controllers._tokens import Clock, utc_now
from pyxie_auth.oidc import OIDCIdentity
from pyxie_auth.schema.tables import InviteRow, OrgRow, RevokedTokenRow, UserRow

__all__ = ["Accounts", "InvalidCredentials"]

_log = get_logger("pyxie.auth.accounts")

# The one answer to every failed password login: unknown email, wrong password and an
# identity-provider-only account look the same to the caller.
_INVALID_CREDENTIALS = "invalid email or password"
_INVALID_INVITE = "invite is invalid, expired or already used"
# Display names come from people and identity providers; keep them to a sane size.
_MAX_USER_NAME_CHARS = 128


class InvalidCredentials(Unauthenticated):
    def __init__(self) -> None:
        super().__init__(_INVALID_CREDENTIALS)


def _clean_name(raw: str) -> str:
    name = " ".join(raw.split())
    if len(name) > _MAX_USER_NAME_CHARS:
        raise InvalidArgument(f"name is longer than {_MAX_USER_NAME_CHARS} characters")
    return name


def _uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidArgument(f"{what} {value!r} is not a UUID") from None


class Accounts:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        cipher: AtRestCipher,
        passwords: Passwords,
        domain: str,
        invite_lifetime: timedelta,
        clock: Clock = utc_now,
    ) -> None:
        self._sessions = sessions
        self._cipher = cipher
        self._passwords = passwords
        self._domain = domain
        self._invite_lifetime = invite_lifetime
        self._clock = clock

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session, session.begin():
            yield session

    # -- orgs ---------------------------------------------------------------------------

    def _seal_invite_key(self, org_id: uuid.UUID, key: bytes) -> bytes:
        # The org id is authenticated with the key, so a sealed key copied to another org's
        # row does not open there.
        return self._cipher.encrypt(key, associated_data=org_id.bytes)

    def _open_invite_key(self, org: OrgRow) -> bytes:
        try:
            return self._cipher.decrypt(org.invite_signing_key, associated_data=org.id.bytes)
        except CryptoError:
            _log.error("cannot open an org's invite signing key", org_id=str(org.id))
            raise FailedPrecondition("the org's invite key cannot be read") from None

    async def _create_org(
        self, session: AsyncSession, raw_name: str, *, domain_name: str | None = None
    ) -> OrgRow:
        name = normalise_org_name(raw_name)
        key = org_name_key(name)
        taken = await session.scalar(select(OrgRow.id).where(OrgRow.name_key == key))
        if taken is not None:
            raise AlreadyExists(f"an org named {name!r} already exists")
        org_id = uuid.uuid4()
        org = OrgRow(
            id=org_id,
            name=name,
            name_key=key,
            domain_name=domain_name,
            enable_approvals=False,
            invite_signing_key=self._seal_invite_key(org_id, new_invite_key()),
        )
        session.add(org)
        return org

    # -- users --------------------------------------------------------------------------

    async def _flush_new_user(self, session: AsyncSession, user: UserRow) -> None:
        session.add(user)
        try:
            await session.flush()
        except IntegrityError as exc:
            # Two signups racing for one email or org name: the database decides.
            text = str(exc.orig)
            if "orgs_name_key_key" in text:
                raise AlreadyExists("an org with this name already exists") from None
            if "orgs_domain_name_key" in text:
                raise AlreadyExists("another org already claims this domain") from None
            raise AlreadyExists("an account with this email already exists") from None

    async def signup(
        self, *, email: str, password: str, name: str, org_name: str, invite_token: str
    ) -> UserRow:
        email = normalise_email(email)
        name = _clean_name(name)
        if org_name and invite_token:
            raise InvalidArgument("give either org_name (to create an org) or invite_token")
        password_hash = await self._passwords.hash(password)
        async with self._transaction() as session:
            if await session.scalar(select(UserRow.id).where(UserRow.email == email)):
                raise AlreadyExists("an account with this email already exists")
            org_id: uuid.UUID | None = None
            if invite_token:
                org_id = (await self._consume_invite(session, invite_token, email)).id
            elif org_name:
                org_id = (await self._create_org(session, org_name)).id
            user = UserRow(
                id=uuid.uuid4(),
                org_id=org_id,
                email=email,
                name=name,
                password_hash=password_hash,
                is_approved=True,
            )
            await self._flush_new_user(session, user)
        _log.info("user signed up", user_id=str(user.id), org_id=str(org_id or ""))
        return user

    async def password_login(self, *, email: str, password: str) -> UserRow:
        try:
            email = normalise_email(email)
        except InvalidArgument:
            await self._passwords.verify(None, password)
            raise InvalidCredentials() from None
        async with self._transaction() as session:
            user = await session.scalar(select(UserRow).where(UserRow.email == email))
            stored = None if user is None else user.password_hash
            if not await self._passwords.verify(stored, password) or user is None:
                raise InvalidCredentials()
            if stored is not None and self._passwords.needs_rehash(stored):
                user.password_hash = await self._passwords.hash(password)
            await self._check_can_log_in(session, user)
        return user

    async def _check_can_log_in(self, session: AsyncSession, user: UserRow) -> None:
        if not user.is_approved:
            raise PermissionDenied("this account is waiting for approval by the org")

    async def oidc_login(
        self, identity: OIDCIdentity, *, create: bool, invite_token: str, org_name: str
    ) -> tuple[UserRow, bool]:
        email = normalise_email(identity.email)
        name = _clean_name(identity.name)
        async with self._transaction() as session:
            user = await session.scalar(
                select(UserRow).where(
                    UserRow.identity_provider == identity.issuer,
                    UserRow.auth_provider_id == identity.subject,
                )
            )
            created = False
            if user is None:
                user = await session.scalar(select(UserRow).where(UserRow.email == email))
                if user is not None:
                    # An account with this email exists (password signup or another provider).
                    # Linking it on an unverified email would hand it to whoever typed it.
                    if not identity.email_verified or user.identity_provider is not None:
                        raise AlreadyExists("an account with this email already exists")
                    user.identity_provider = identity.issuer
                    user.auth_provider_id = identity.subject
                elif not create:
                    raise NotFound("no account for this identity; sign up first")
                else:
                    user = await self._create_oidc_user(
                        session, identity, email, name, invite_token, org_name
                    )
                    created = True
            elif invite_token and user.org_id is None:
                user.org_id = (await self._consume_invite(session, invite_token, email)).id
                user.is_approved = True
            if not created:
                await self._check_can_log_in(session, user)
        return user, created

    async def _create_oidc_user(
        self,
        session: AsyncSession,
        identity: OIDCIdentity,
        email: str,
        name: str,
        invite_token: str,
        org_name: str,
    ) -> UserRow:
        org_id: uuid.UUID | None = None
        approved = True
        if invite_token:
            if not identity.email_verified:
                raise PermissionDenied("the identity provider has not verified this email")
            org_id = (await self._consume_invite(session, invite_token, email)).id
        else:
            domain_org = None
            if identity.email_verified:
                domain_org = await session.scalar(
                    select(OrgRow).where(OrgRow.domain_name == email_domain(email))
                )
            if domain_org is not None:
                org_id = domain_org.id
                approved = not domain_org.enable_approvals
            elif org_name:
                # The org claims the provider's hosted domain only when the provider vouches
                # for it and for this user's address in it; a free-mail domain never qualifies.
                claims_domain = (
                    identity.hosted_domain
                    if identity.email_verified
                    and identity.hosted_domain
                    and identity.hosted_domain == email_domain(email)
                    else None
                )
                org_id = (await self._create_org(session, org_name, domain_name=claims_domain)).id
        user = UserRow(
            id=uuid.uuid4(),
            org_id=org_id,
            email=email,
            name=name,
            password_hash=None,
            identity_provider=identity.issuer,
            auth_provider_id=identity.subject,
            is_approved=approved,
        )
        await self._flush_new_user(session, user)
        _log.info("user created from OIDC login", user_id=str(user.id), org_id=str(org_id or ""))
        if not approved:
            raise PermissionDenied("this account is waiting for approval by the org")
        return user

    async def user_behind(self, claims: UserClaims) -> UserRow:
        """The user a user token names, if they and their org still exist and agree."""
        user_id = _uuid(claims.user_id, "user id")
        async with self._transaction() as session:
            await self._check_not_revoked(session, claims.token_id)
            user = await session.get(UserRow, user_id)
            if user is None:
                raise Unauthenticated("the user of this token no longer exists")
            token_org = claims.org_id
            if token_org and (user.org_id is None or str(user.org_id) != token_org):
                raise Unauthenticated("the user of this token is no longer in its org")
            await self._check_can_log_in(session, user)
        return user

    async def user(self, user_id: uuid.UUID) -> UserRow | None:
        async with self._transaction() as session:
            return await session.get(UserRow, user_id)

    async def org_exists(self, org_id: uuid.UUID) -> bool:
        async with self._transaction() as session:
            return await session.get(OrgRow, org_id) is not None

    # -- revocation ---------------------------------------------------------------------

    @staticmethod
    async def _check_not_revoked(session: AsyncSession, token_id: str) -> None:
        if await session.get(RevokedTokenRow, token_id) is not None:
            raise Unauthenticated("this token has been revoked (logged out)")

    async def check_not_revoked(self, token_id: str) -> None:
        async with self._transaction() as session:
            await self._check_not_revoked(session, token_id)

    async def revoke(self, token_id: str, *, until: datetime) -> None:
        """Revoke a token id until `until`; rows past their time are pruned on the way."""
        async with self._transaction() as session:
            await session.execute(
                delete(RevokedTokenRow).where(RevokedTokenRow.expires_at < self._clock())
            )
            statement = insert(RevokedTokenRow).values(jti=token_id, expires_at=until)
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=[RevokedTokenRow.jti],
                    set_={"expires_at": statement.excluded.expires_at},
                    where=RevokedTokenRow.expires_at < statement.excluded.expires_at,
                )
            )

    # -- invites ------------------------------------------------------------------------

    async def create_invite(
        self, *, org_id: uuid.UUID, email: str, created_by: uuid.UUID | None
    ) -> tuple[str, datetime]:
        """A one-use invite; `email=""` makes an open invite anyone can accept (Pixie's
        CreateInviteToken), else only that address can."""
        email = normalise_email(email) if email else ""
        now = self._clock()
        expires_at = now + self._invite_lifetime
        async with self._transaction() as session:
            org = await session.get(OrgRow, org_id)
            if org is None:
                raise NotFound("org not found")
            invite_id = uuid.uuid4()
            token = sign_invite(
                InviteClaims(invite_id=invite_id, org_id=org_id, email=email),
                self._open_invite_key(org),
                domain=self._domain,
                issued_at=now,
                expires_at=expires_at,
            )
            session.add(
                InviteRow(
                    id=invite_id,
                    org_id=org_id,
                    email=email,
                    token_hash=hash_invite_token(token),
                    created_by=created_by,
                    expires_at=expires_at,
                )
            )
        _log.info("invite created", org_id=str(org_id), invite_id=str(invite_id))
        return token, expires_at

    async def _consume_invite(self, session: AsyncSession, token: str, email: str) -> OrgRow:
        try:
            org_id = unverified_invite_org(token)
        except InviteTokenError:
            raise PermissionDenied(_INVALID_INVITE) from None
        org = await session.get(OrgRow, org_id)
        if org is None:
            raise PermissionDenied(_INVALID_INVITE)
        try:
            claims = verify_invite(token, self._open_invite_key(org), domain=self._domain)
        except InviteTokenError as exc:
            _log.info("invite rejected", reason=str(exc))
            raise PermissionDenied(_INVALID_INVITE) from None
        invite = await session.scalar(
            select(InviteRow)
            .where(InviteRow.token_hash == hash_invite_token(token))
            .with_for_update()
        )
        if (
            invite is None
            or invite.id != claims.invite_id
            or invite.org_id != org.id
            or invite.used_at is not None
            or invite.expires_at <= self._clock()
        ):
            raise PermissionDenied(_INVALID_INVITE)
        if invite.email and invite.email != email:
            raise PermissionDenied("this invite was sent to another email address")
        invite.used_at = self._clock()
        return org

    async def invite_is_valid(self, token: str, org_id: uuid.UUID) -> bool:
        """The invite is `org_id`'s, signed with its current key, unused and unexpired."""
        async with self._transaction() as session:
            org = await session.get(OrgRow, org_id)
            if org is None:
                return False
            try:
                claims = verify_invite(token, self._open_invite_key(org), domain=self._domain)
            except InviteTokenError:
                return False
            invite = await session.scalar(
                select(InviteRow).where(InviteRow.token_hash == hash_invite_token(token))
            )
            return (
                invite is not None
                and invite.id == claims.invite_id
                and invite.org_id == org_id
                and invite.used_at is None
                and invite.expires_at > self._clock()
            )

    async def revoke_all_invites(self, org_id: uuid.UUID) -> None:
        """A new invite key for the org: every invite signed with the old one stops verifying."""
        async with self._transaction() as session:
            org = await session.get(OrgRow, org_id, with_for_update=True)
            if org is None:
                raise NotFound("org not found")
            org.invite_signing_key = self._seal_invite_key(org_id, new_invite_key())
            await session.execute(
                delete(InviteRow).where(InviteRow.org_id == org_id, InviteRow.used_at.is_(None))
            )
        _log.info("invites revoked", org_id=str(org_id))

    async def create_org_for(self, user_id: uuid.UUID, org_name: str) -> OrgRow:
        """A new org with `user_id` (who has none yet) as its first member."""
        async with self._transaction() as session:
            user = await session.get(UserRow, user_id, with_for_update=True)
            if user is None:
                raise NotFound("user not found")
            if user.org_id is not None:
                raise FailedPrecondition("you already belong to an org; leave it first")
            org = await self._create_org(session, org_name)
            await session.flush()
            user.org_id = org.id
            await self._flush_new_user(session, user)
        _log.info("org created", org_id=str(org.id), user_id=str(user_id))
        return org
