"""Typed claims for the four token kinds Pixie has, and the functions that mint them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from pyxie_jwt._constants import (
    AGENT_SERVICE_TOKEN_BACKDATE,
    AGENT_SERVICE_TOKEN_LIFETIME,
    API_USER_TOKEN_LIFETIME,
    CLUSTER_TOKEN_BACKDATE,
    CLUSTER_TOKEN_LIFETIME,
    ISSUER,
    SERVICE_TOKEN_LIFETIME,
    USER_LOGIN_TOKEN_LIFETIME,
)

__all__ = [
    "APIUserClaims",
    "AccessScope",
    "BaseClaims",
    "Claims",
    "ClusterClaims",
    "Scope",
    "ServiceClaims",
    "UserClaims",
    "agent_service_claims",
    "api_user_claims",
    "cluster_claims",
    "service_claims",
    "user_claims",
]


class Scope(StrEnum):
    """Values of the comma-joined `Scopes` claim."""

    USER = "user"
    SERVICE = "service"
    CLUSTER = "cluster"


class AccessScope(StrEnum):
    """What an API-user token may do (private claim `AccessScope`; Pixie issue #1321).

    Pyxie's addition: Pixie API keys are always full access. A token without the claim (minted
    before scopes existed) is `ADMIN`, which is what every API key was then.
    """

    ADMIN = "admin"
    READ_ONLY = "read-only"


def _require_text(value: object, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")


def _require_utc(value: object, what: str) -> None:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got {value!r}")


@dataclass(frozen=True, kw_only=True, slots=True)
class BaseClaims:
    """Registered claims every kind carries (`sub, aud, iss, iat, nbf, exp, jti`) plus `Scopes`.

    Times are timezone-aware and whole seconds (JWT NumericDate).
    """

    subject: str
    audience: str
    issuer: str = ISSUER
    issued_at: datetime
    not_before: datetime
    expires_at: datetime
    token_id: str
    scopes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _require_text(self.subject, "subject (sub)")
        _require_text(self.audience, "audience (aud)")
        _require_text(self.issuer, "issuer (iss)")
        _require_text(self.token_id, "token id (jti)")
        _require_utc(self.issued_at, "issued_at (iat)")
        _require_utc(self.not_before, "not_before (nbf)")
        _require_utc(self.expires_at, "expires_at (exp)")
        if self.expires_at <= self.not_before:
            raise ValueError(
                f"expires_at {self.expires_at.isoformat()} is not after "
                f"not_before {self.not_before.isoformat()}"
            )
        for scope in self.scopes:
            if not scope or "," in scope:
                raise ValueError(f"scope {scope!r} is empty or contains a comma")


@dataclass(frozen=True, kw_only=True, slots=True)
class UserClaims(BaseClaims):
    """A person logged in through the auth service. `org_id` is empty for an org-less user."""

    user_id: str
    org_id: str
    email: str

    def __post_init__(self) -> None:
        _require_text(self.user_id, "UserID of a user token")
        if not isinstance(self.org_id, str) or not isinstance(self.email, str):
            raise ValueError("OrgID and Email of a user token must be strings")
        BaseClaims.__post_init__(self)


@dataclass(frozen=True, kw_only=True, slots=True)
class APIUserClaims(BaseClaims):
    """A caller authenticated by an API key (`IsAPIUser=true`); always belongs to an org.

    `access_scope` and `cluster_ids` carry the key's limits (private claims `AccessScope` and
    `ClusterIDs`); an empty `cluster_ids` means every cluster of the org.
    """

    user_id: str
    org_id: str
    access_scope: AccessScope = AccessScope.ADMIN
    cluster_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _require_text(self.user_id, "UserID of an API-user token")
        _require_text(self.org_id, "OrgID of an API-user token")
        if not isinstance(self.access_scope, AccessScope):
            raise ValueError(f"AccessScope {self.access_scope!r} is not one of the known scopes")
        if not isinstance(self.cluster_ids, tuple):
            raise ValueError("ClusterIDs of an API-user token must be a tuple")
        for cluster_id in self.cluster_ids:
            _require_text(cluster_id, "each ClusterIDs entry")
        BaseClaims.__post_init__(self)


@dataclass(frozen=True, kw_only=True, slots=True)
class ServiceClaims(BaseClaims):
    """One Pyxie service calling another (e.g. `ServiceID=kelvin`)."""

    service_id: str

    def __post_init__(self) -> None:
        _require_text(self.service_id, "ServiceID of a service token")
        BaseClaims.__post_init__(self)


@dataclass(frozen=True, kw_only=True, slots=True)
class ClusterClaims(BaseClaims):
    """The cloud acting on one vizier (passthrough requests), signed with that vizier's key."""

    cluster_id: str

    def __post_init__(self) -> None:
        _require_text(self.cluster_id, "ClusterID of a cluster token")
        BaseClaims.__post_init__(self)


Claims = UserClaims | APIUserClaims | ServiceClaims | ClusterClaims
"""Exactly one of the four kinds; verification always returns one of these."""


def _now(now: datetime | None) -> datetime:
    moment = datetime.now(UTC) if now is None else now
    _require_utc(moment, "now")
    return moment.astimezone(UTC).replace(microsecond=0)


def _new_token_id() -> str:
    return str(uuid.uuid4())


def user_claims(
    *,
    user_id: str,
    org_id: str,
    email: str,
    audience: str,
    lifetime: timedelta = USER_LOGIN_TOKEN_LIFETIME,
    now: datetime | None = None,
) -> UserClaims:
    """Claims for a user token (Pixie GenerateJWTForUser): `sub=user_id`, `Scopes=user`."""
    issued = _now(now)
    return UserClaims(
        subject=user_id,
        audience=audience,
        issued_at=issued,
        not_before=issued,
        expires_at=issued + lifetime,
        token_id=_new_token_id(),
        scopes=(Scope.USER.value,),
        user_id=user_id,
        org_id=org_id,
        email=email,
    )


def api_user_claims(
    *,
    user_id: str,
    org_id: str,
    audience: str,
    lifetime: timedelta = API_USER_TOKEN_LIFETIME,
    access_scope: AccessScope = AccessScope.ADMIN,
    cluster_ids: tuple[str, ...] = (),
    now: datetime | None = None,
) -> APIUserClaims:
    """Claims for an API-key caller (Pixie GenerateJWTForAPIUser): `sub=org_id`, `Scopes=user`.

    `access_scope` / `cluster_ids` limit what the token may do (the API key's scope).
    """
    issued = _now(now)
    return APIUserClaims(
        subject=org_id,
        audience=audience,
        issued_at=issued,
        not_before=issued,
        expires_at=issued + lifetime,
        token_id=_new_token_id(),
        scopes=(Scope.USER.value,),
        user_id=user_id,
        org_id=org_id,
        access_scope=access_scope,
        cluster_ids=tuple(cluster_ids),
    )


def service_claims(
    *,
    service_id: str,
    audience: str,
    lifetime: timedelta = SERVICE_TOKEN_LIFETIME,
    backdate: timedelta = timedelta(0),
    now: datetime | None = None,
) -> ServiceClaims:
    """Claims for a service token (GenerateJWTForService): `sub=service_id`, `Scopes=service`.

    `backdate` moves iat/nbf into the past to absorb clock skew between hosts.
    """
    issued = _now(now)
    return ServiceClaims(
        subject=service_id,
        audience=audience,
        issued_at=issued - backdate,
        not_before=issued - backdate,
        expires_at=issued + lifetime,
        token_id=_new_token_id(),
        scopes=(Scope.SERVICE.value,),
        service_id=service_id,
    )


def agent_service_claims(
    *, service_id: str, audience: str, now: datetime | None = None
) -> ServiceClaims:
    """What an agent (PEM, Kelvin) mints per outbound call: 60 s lifetime, nbf 60 s back."""
    return service_claims(
        service_id=service_id,
        audience=audience,
        lifetime=AGENT_SERVICE_TOKEN_LIFETIME,
        backdate=AGENT_SERVICE_TOKEN_BACKDATE,
        now=now,
    )


def cluster_claims(
    *,
    cluster_id: str,
    audience: str,
    lifetime: timedelta = CLUSTER_TOKEN_LIFETIME,
    now: datetime | None = None,
) -> ClusterClaims:
    """Claims for a cluster token (GenerateJWTForCluster): `Scopes=cluster`, iat/nbf back-dated.

    The subject is Pixie's fixed `pixielabs.ai/vizier`.
    """
    issued = _now(now)
    return ClusterClaims(
        subject=_CLUSTER_SUBJECT,
        audience=audience,
        issued_at=issued - CLUSTER_TOKEN_BACKDATE,
        not_before=issued - CLUSTER_TOKEN_BACKDATE,
        expires_at=issued + lifetime,
        token_id=_new_token_id(),
        scopes=(Scope.CLUSTER.value,),
        cluster_id=cluster_id,
    )


_CLUSTER_SUBJECT = "pixielabs.ai/vizier"
