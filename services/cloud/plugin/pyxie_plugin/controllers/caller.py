"""Who a PluginService call acts for, and in which org.

Two ways in, both checked here (defence in depth behind the api gateway):
* the api gateway calls with its *service* token and the caller's augmented token in
  `x-pyxie-user-token` (verified here like any cloud token: key, audience, expiry);
* a user or API-user token directly as the bearer (tests, other cloud tools).
Service tokens alone act for nobody: plugin configs and scripts always belong to one org.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from pyxie_jwt import (
    AccessScope,
    APIUserClaims,
    InvalidTokenError,
    ServiceClaims,
    TokenVerifier,
    UserClaims,
)
from pyxie_service import PermissionDenied, Unauthenticated, current_claims
from pyxie_service.audit import audit

__all__ = ["USER_TOKEN_METADATA_KEY", "Caller", "resolve_caller"]

USER_TOKEN_METADATA_KEY: Final = "x-pyxie-user-token"


@dataclass(frozen=True)
class Caller:
    org_id: uuid.UUID
    user_id: str
    scope: AccessScope
    # An API key limited to clusters; empty = every cluster of the org.
    cluster_ids: frozenset[uuid.UUID]
    is_api_key: bool

    @property
    def actor(self) -> str:
        return f"{'api-key' if self.is_api_key else 'user'}:{self.user_id}"

    def require_admin(self, action: str) -> None:
        if self.scope is not AccessScope.ADMIN:
            audit(
                "plugin." + action.replace(" ", "_"),
                "refused",
                actor=self.actor,
                org_id=str(self.org_id),
                reason="read-only key",
            )
            raise PermissionDenied(f"a read-only API key cannot {action}")

    def require_unlimited(self, action: str) -> None:
        if self.cluster_ids:
            raise PermissionDenied(f"an API key limited to clusters cannot {action}")

    def require_covers(self, cluster_ids: Sequence[uuid.UUID], action: str) -> None:
        """A cluster-limited key acts only within its clusters (never on all of them)."""
        if not self.cluster_ids:
            return
        if not cluster_ids or not set(cluster_ids) <= self.cluster_ids:
            raise PermissionDenied(f"an API key limited to clusters cannot {action} beyond them")

    def may_see(self, cluster_ids: Sequence[uuid.UUID]) -> bool:
        if not self.cluster_ids:
            return True
        return bool(cluster_ids) and set(cluster_ids) <= self.cluster_ids


def _user_token(metadata: Sequence[tuple[str, Any]]) -> str:
    values = [v for k, v in metadata if k == USER_TOKEN_METADATA_KEY and isinstance(v, str)]
    if len(values) != 1:
        raise Unauthenticated(f"send the caller's token in '{USER_TOKEN_METADATA_KEY}' metadata")
    return values[0].strip()


def _from_claims(claims: UserClaims | APIUserClaims) -> Caller:
    if not claims.org_id:
        raise PermissionDenied("the caller does not belong to an org")
    try:
        org_id = uuid.UUID(claims.org_id)
        clusters = frozenset(
            uuid.UUID(c) for c in (claims.cluster_ids if isinstance(claims, APIUserClaims) else ())
        )
    except ValueError:
        raise Unauthenticated("invalid auth token") from None
    if isinstance(claims, APIUserClaims):
        return Caller(org_id, claims.user_id, claims.access_scope, clusters, is_api_key=True)
    return Caller(org_id, claims.user_id, AccessScope.ADMIN, clusters, is_api_key=False)


def resolve_caller(metadata: Sequence[tuple[str, Any]], verifier: TokenVerifier) -> Caller:
    """The caller of the RPC being handled (read metadata at the start of the RPC)."""
    claims = current_claims()
    if isinstance(claims, UserClaims | APIUserClaims):
        return _from_claims(claims)
    if isinstance(claims, ServiceClaims):
        try:
            inner = verifier.verify(_user_token(metadata))
        except InvalidTokenError:
            raise Unauthenticated("invalid caller token") from None
        if not isinstance(inner, UserClaims | APIUserClaims):
            raise PermissionDenied("the caller token must be a user or API-key token")
        return _from_claims(inner)
    raise PermissionDenied("this service accepts only user, API-user or service tokens")
