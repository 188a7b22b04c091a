"""`pyxie.cloud.authpb.AuthService` and `APIKeyService` over the account and key logic."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from pyxie_jwt import AccessScope, APIUserClaims, UserClaims
from pyxie_proto.cloud.authpb import auth_pb2 as apb
from pyxie_proto.cloud.authpb import auth_pb2_grpc as apb_grpc
from pyxie_service import (
    FailedPrecondition,
    InvalidArgument,
    ServiceError,
    ServiceRegistration,
    Unauthenticated,
    get_logger,
)
from pyxie_service.audit import audit

from pyxie_auth.controllers._accounts import Accounts
from pyxie_auth.controllers._api_keys import APIKeys, parse_access_scope, parse_cluster_ids
from pyxie_auth.controllers._caller import caller_of, require_service
from pyxie_auth.controllers._tokens import Clock, MintedToken, TokenMinter, utc_now
from pyxie_auth.oidc import IdentityProvider, OIDCError
from pyxie_auth.schema.tables import APIKeyRow, UserRow

if TYPE_CHECKING:
    import grpc

    _Context = grpc.aio.ServicerContext[Any, Any]

__all__ = [
    "API_KEY_SERVICE_NAME",
    "AUTH_SERVICE_NAME",
    "APIKeyServicer",
    "AuthServicer",
    "api_key_registration",
    "auth_registration",
]

AUTH_SERVICE_NAME: Final = "pyxie.cloud.authpb.AuthService"
API_KEY_SERVICE_NAME: Final = "pyxie.cloud.authpb.APIKeyService"

_log = get_logger("pyxie.auth")


def _ns(moment: datetime | None) -> int:
    if moment is None:
        return 0
    return int(moment.timestamp() * 1_000_000_000)


def _from_ns(value: int) -> datetime | None:
    if value == 0:
        return None
    if value < 0:
        raise InvalidArgument("a time must not be negative")
    return datetime.fromtimestamp(value / 1_000_000_000, UTC)


def _user_info(user: UserRow) -> apb.UserInfo:
    return apb.UserInfo(
        user_id=str(user.id),
        org_id="" if user.org_id is None else str(user.org_id),
        email=user.email,
        name=user.name,
    )


def _login_response(minted: MintedToken, user: UserRow, *, created: bool) -> apb.LoginResponse:
    return apb.LoginResponse(
        token=minted.token,
        expires_at_ns=minted.expires_at_ns,
        user=_user_info(user),
        user_created=created,
    )


def _api_key(row: APIKeyRow, key: str = "") -> apb.APIKey:
    return apb.APIKey(
        id=str(row.id),
        org_id=str(row.org_id),
        user_id=str(row.user_id),
        created_at_ns=_ns(row.created_at),
        description=row.description,
        key=key,
        scope=row.scope,
        cluster_ids=[str(cluster_id) for cluster_id in row.cluster_ids],
        expires_at_ns=_ns(row.expires_at),
        last_used_at_ns=_ns(row.last_used_at),
    )


class AuthServicer(apb_grpc.AuthServiceServicer):
    """Logins and tokens. Every method requires a cloud service token (the api gateway)."""

    def __init__(
        self,
        accounts: Accounts,
        api_keys: APIKeys,
        tokens: TokenMinter,
        *,
        identity_provider: IdentityProvider | None,
        clock: Clock = utc_now,
    ) -> None:
        self._accounts = accounts
        self._api_keys = api_keys
        self._tokens = tokens
        self._idp = identity_provider
        self._clock = clock

    def _login_token(self, user: UserRow) -> MintedToken:
        return self._tokens.login_token(
            user_id=str(user.id),
            org_id="" if user.org_id is None else str(user.org_id),
            email=user.email,
        )

    async def Signup(self, request: apb.SignupRequest, context: _Context) -> apb.LoginResponse:
        require_service()
        user = await self._accounts.signup(
            email=request.email,
            password=request.password,
            name=request.name,
            org_name=request.org_name,
            invite_token=request.invite_token,
        )
        return _login_response(self._login_token(user), user, created=True)

    async def PasswordLogin(
        self, request: apb.PasswordLoginRequest, context: _Context
    ) -> apb.LoginResponse:
        require_service()
        user = await self._accounts.password_login(email=request.email, password=request.password)
        return _login_response(self._login_token(user), user, created=False)

    async def OIDCLogin(
        self, request: apb.OIDCLoginRequest, context: _Context
    ) -> apb.LoginResponse:
        require_service()
        if self._idp is None:
            raise FailedPrecondition("OIDC login is not configured (PL_OIDC_ISSUER)")
        try:
            identity = await self._idp.identity_for_access_token(request.access_token)
        except OIDCError as exc:
            _log.info("OIDC access token not accepted", reason=str(exc))
            raise Unauthenticated("the identity provider did not accept the access token") from None
        user, created = await self._accounts.oidc_login(
            identity,
            create=request.create_user_if_not_exists,
            invite_token=request.invite_token,
            org_name=request.org_name,
        )
        return _login_response(self._login_token(user), user, created=created)

    async def GetAugmentedToken(
        self, request: apb.GetAugmentedTokenRequest, context: _Context
    ) -> apb.AugmentedToken:
        require_service()
        claims = self._tokens.verify(request.token)
        if isinstance(claims, APIUserClaims):
            raise Unauthenticated("an API-key token cannot be exchanged; send the API key")
        if not isinstance(claims, UserClaims):
            raise Unauthenticated("only user tokens can be exchanged")
        user = await self._accounts.user_behind(claims)
        minted = self._tokens.augmented_token(
            claims,
            user_id=str(user.id),
            org_id="" if user.org_id is None else str(user.org_id),
            email=user.email,
        )
        return apb.AugmentedToken(
            token=minted.token, expires_at_ns=minted.expires_at_ns, scope=AccessScope.ADMIN.value
        )

    async def GetAugmentedTokenForAPIKey(
        self, request: apb.GetAugmentedTokenForAPIKeyRequest, context: _Context
    ) -> apb.AugmentedToken:
        require_service()
        try:
            row = await self._api_keys.use(request.api_key.strip())
        except ServiceError as exc:
            # Only a prefix of what was presented: enough to spot a pattern, useless to replay.
            audit(
                "apikey.use", "refused", actor="", target=request.api_key[:11], reason=exc.message
            )
            raise
        audit(
            "apikey.use",
            "allowed",
            actor=str(row.user_id),
            target=str(row.id),
            org_id=str(row.org_id),
        )
        scope = AccessScope(row.scope)
        cluster_ids = tuple(str(cluster_id) for cluster_id in row.cluster_ids)
        minted = self._tokens.api_user_token(
            user_id=str(row.user_id),
            org_id=str(row.org_id),
            access_scope=scope,
            cluster_ids=cluster_ids,
            key_expires_at=row.expires_at,
        )
        return apb.AugmentedToken(
            token=minted.token,
            expires_at_ns=minted.expires_at_ns,
            scope=scope.value,
            cluster_ids=list(cluster_ids),
        )

    async def Logout(self, request: apb.LogoutRequest, context: _Context) -> apb.LogoutResponse:
        require_service()
        claims = self._tokens.verify(request.token)
        if not isinstance(claims, UserClaims | APIUserClaims):
            raise Unauthenticated("only user tokens can be logged out")
        # An augmented token shares its login token's id, and a login token lives at most the
        # login lifetime: revoking the id that long covers every token that carries it.
        until = max(claims.expires_at, self._clock() + self._tokens.login_lifetime)
        await self._accounts.revoke(claims.token_id, until=until)
        _log.info("logged out", subject=claims.subject)
        return apb.LogoutResponse()

    async def CreateInvite(self, request: apb.CreateInviteRequest, context: _Context) -> apb.Invite:
        caller = await caller_of(context, tokens=self._tokens, accounts=self._accounts)
        org_id = caller.org(request.org_id)
        caller.require_admin("invite users")
        caller.require_unlimited("invite users")
        token, expires_at = await self._accounts.create_invite(
            org_id=org_id, email=request.email, created_by=caller.user_id
        )
        return apb.Invite(
            email=request.email.strip().lower(), invite_token=token, expires_at_ns=_ns(expires_at)
        )


class APIKeyServicer(apb_grpc.APIKeyServiceServicer):
    """API keys of the caller's org (identity from `x-pyxie-user-token`)."""

    def __init__(self, accounts: Accounts, api_keys: APIKeys, tokens: TokenMinter) -> None:
        self._accounts = accounts
        self._api_keys = api_keys
        self._tokens = tokens

    async def Create(self, request: apb.CreateAPIKeyRequest, context: _Context) -> apb.APIKey:
        caller = await caller_of(context, tokens=self._tokens, accounts=self._accounts)
        org_id = caller.org(request.org_id)
        user_id = caller.user(request.user_id)
        caller.require_admin("create API keys")
        scope = parse_access_scope(request.scope)
        cluster_ids = parse_cluster_ids(request.cluster_ids)
        caller.require_covers(cluster_ids, "create keys")
        created = await self._api_keys.create(
            org_id=org_id,
            user_id=user_id,
            description=request.description,
            scope=scope,
            cluster_ids=cluster_ids,
            expires_at=_from_ns(request.expires_at_ns),
        )
        audit(
            "apikey.create",
            "allowed",
            actor=str(caller.user_id),
            target=str(created.row.id),
            org_id=str(org_id),
            scope=created.row.scope,
        )
        return _api_key(created.row, created.key)

    async def List(
        self, request: apb.ListAPIKeysRequest, context: _Context
    ) -> apb.ListAPIKeysResponse:
        caller = await caller_of(context, tokens=self._tokens, accounts=self._accounts)
        rows = await self._api_keys.list(caller.org(request.org_id))
        return apb.ListAPIKeysResponse(keys=[_api_key(row) for row in rows])

    async def Delete(
        self, request: apb.DeleteAPIKeyRequest, context: _Context
    ) -> apb.DeleteAPIKeyResponse:
        caller = await caller_of(context, tokens=self._tokens, accounts=self._accounts)
        org_id = caller.org(request.org_id)
        caller.require_admin("delete API keys")
        try:
            key_id = uuid.UUID(request.id)
        except ValueError:
            raise InvalidArgument(f"API key id {request.id!r} is not a UUID") from None
        if caller.cluster_ids:
            row = await self._api_keys.get(org_id, key_id)
            caller.require_covers(row.cluster_ids, "delete keys")
        await self._api_keys.delete(org_id, key_id)
        audit(
            "apikey.delete",
            "allowed",
            actor=str(caller.user_id),
            target=str(key_id),
            org_id=str(org_id),
        )
        return apb.DeleteAPIKeyResponse()

    async def Lookup(self, request: apb.LookupAPIKeyRequest, context: _Context) -> apb.APIKey:
        caller = await caller_of(context, tokens=self._tokens, accounts=self._accounts)
        org_id = caller.org(request.org_id)
        row = await self._api_keys.lookup(org_id, request.key)
        if caller.cluster_ids:
            caller.require_covers(row.cluster_ids, "look up keys")
        return _api_key(row, request.key.strip())


def auth_registration(servicer: AuthServicer) -> ServiceRegistration:
    return ServiceRegistration(
        AUTH_SERVICE_NAME,
        lambda server: apb_grpc.add_AuthServiceServicer_to_server(servicer, server),
    )


def api_key_registration(servicer: APIKeyServicer) -> ServiceRegistration:
    return ServiceRegistration(
        API_KEY_SERVICE_NAME,
        lambda server: apb_grpc.add_APIKeyServiceServicer_to_server(servicer, server),
    )
