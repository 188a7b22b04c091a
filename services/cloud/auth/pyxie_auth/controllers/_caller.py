"""Who a call is made for: the user's token in `x-pyxie-user-token` metadata.

The transport token (`authorization: bearer`) must be a cloud *service* token: only cloud
services (the api gateway) call auth. The user's identity travels beside it as the user's
augmented token; auth verifies it like any token it minted (signature, audience, expiry,
revocation) and every org-scoped call is limited to that token's org.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import grpc
from pyxie_jwt import AccessScope, APIUserClaims, ServiceClaims, UserClaims
from pyxie_service import (
    FailedPrecondition,
    InvalidArgument,
    PermissionDenied,
    Unauthenticated,
    require_claims,
)

from pyxie_auth.controllers._accounts import Accounts
from pyxie_auth.controllers._tokens import TokenMinter

if TYPE_CHECKING:
    _Context = grpc.aio.ServicerContext[Any, Any]
else:
    _Context = grpc.aio.ServicerContext

__all__ = ["USER_TOKEN_METADATA_KEY", "Caller", "caller_of", "require_service"]

USER_TOKEN_METADATA_KEY: Final = "x-pyxie-user-token"


def require_service() -> ServiceClaims:
    """The transport token must be a cloud service's."""
    return require_claims(ServiceClaims)


@dataclass(frozen=True, slots=True)
class Caller:
    """A verified user or API-key caller."""

    claims: UserClaims | APIUserClaims
    user_id: uuid.UUID
    org_id: uuid.UUID | None
    scope: AccessScope
    # Empty: every cluster of the org.
    cluster_ids: frozenset[uuid.UUID]

    def org(self, requested: str) -> uuid.UUID:
        """The caller's org; a request naming another org is refused."""
        if self.org_id is None:
            raise FailedPrecondition("the caller does not belong to an org")
        if requested:
            try:
                requested_id = uuid.UUID(requested)
            except ValueError:
                raise InvalidArgument(f"org id {requested!r} is not a UUID") from None
            if requested_id != self.org_id:
                raise PermissionDenied("the caller may act only on its own org")
        return self.org_id

    def user(self, requested: str) -> uuid.UUID:
        if requested and requested != str(self.user_id):
            raise PermissionDenied("the caller may act only as itself")
        return self.user_id

    def require_admin(self, action: str) -> None:
        if self.scope is not AccessScope.ADMIN:
            raise PermissionDenied(f"a {self.scope.value} key cannot {action}")

    def require_unlimited(self, action: str) -> None:
        if self.cluster_ids:
            raise PermissionDenied(f"a key limited to clusters cannot {action}")

    def require_covers(self, cluster_ids: Iterable[uuid.UUID], action: str) -> None:
        """A cluster-limited caller can only act within its clusters (never widen them)."""
        if not self.cluster_ids:
            return
        wanted = set(cluster_ids)
        if not wanted or not wanted <= self.cluster_ids:
            raise PermissionDenied(f"a key limited to clusters cannot {action} beyond them")


def _metadata_token(context: _Context) -> str:
    values = [
        value
        for key, value in (context.invocation_metadata() or ())
        if key == USER_TOKEN_METADATA_KEY and isinstance(value, str)
    ]
    if len(values) != 1:
        raise Unauthenticated(f"send the user's token in '{USER_TOKEN_METADATA_KEY}' metadata")
    return values[0].strip()


async def caller_of(context: _Context, *, tokens: TokenMinter, accounts: Accounts) -> Caller:
    require_service()
    claims = tokens.verify(_metadata_token(context))
    if isinstance(claims, UserClaims):
        user = await accounts.user_behind(claims)
        return Caller(
            claims=claims,
            user_id=user.id,
            org_id=user.org_id,
            scope=AccessScope.ADMIN,
            cluster_ids=frozenset(),
        )
    if isinstance(claims, APIUserClaims):
        await accounts.check_not_revoked(claims.token_id)
        try:
            org_id = uuid.UUID(claims.org_id)
            user_id = uuid.UUID(claims.user_id)
            clusters = frozenset(uuid.UUID(cluster) for cluster in claims.cluster_ids)
        except ValueError:
            raise Unauthenticated("invalid or expired token") from None
        if not await accounts.org_exists(org_id):
            raise Unauthenticated("the org of this token no longer exists")
        return Caller(
            claims=claims,
            user_id=user_id,
            org_id=org_id,
            scope=claims.access_scope,
            cluster_ids=clusters,
        )
    raise PermissionDenied("the user token must be a user or API-key token")
