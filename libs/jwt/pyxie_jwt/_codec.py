"""HS256 signing and verification, and the JSON layout of Pixie's claims.

Layout (as Pixie's `jwtpb.JWTClaims` ↔ JWT mapping): registered claims `aud, exp, jti, iat, iss,
nbf, sub`, a comma-joined `Scopes`, then the private claims of exactly one kind at top level:
user `UserID, OrgID, Email, IsAPIUser=false`; API user `UserID, OrgID, IsAPIUser=true` plus
Pyxie's `AccessScope` ("admin" | "read-only") and `ClusterIDs` (list; empty = all clusters);
service `ServiceID`; cluster `ClusterID`.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

import jwt

from pyxie_jwt._claims import (
    AccessScope,
    APIUserClaims,
    BaseClaims,
    Claims,
    ClusterClaims,
    Scope,
    ServiceClaims,
    UserClaims,
)
from pyxie_jwt._constants import CLOCK_SKEW_LEEWAY, ISSUER, SIGNING_ALGORITHM
from pyxie_jwt._errors import (
    AudienceMismatchError,
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimsError,
    IssuerMismatchError,
    MalformedTokenError,
    NotYetValidTokenError,
    UnsupportedAlgorithmError,
)
from pyxie_jwt._keys import SigningKey, key_bytes

__all__ = ["TokenVerifier", "sign_token", "verify_token"]

_REGISTERED_CLAIMS: Final = ("aud", "exp", "iat", "iss", "nbf", "sub")
_USER_KEYS: Final = frozenset({"UserID", "OrgID", "Email", "IsAPIUser"})
_SERVICE_KEYS: Final = frozenset({"ServiceID"})
_CLUSTER_KEYS: Final = frozenset({"ClusterID"})
_KIND_KEYS: Final = (("user", _USER_KEYS), ("service", _SERVICE_KEYS), ("cluster", _CLUSTER_KEYS))


def _numeric_date(moment: datetime) -> int:
    return int(moment.timestamp())


def _to_payload(claims: BaseClaims) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "aud": claims.audience,
        "exp": _numeric_date(claims.expires_at),
        "jti": claims.token_id,
        "iat": _numeric_date(claims.issued_at),
        "iss": claims.issuer,
        "nbf": _numeric_date(claims.not_before),
        "sub": claims.subject,
        "Scopes": ",".join(claims.scopes),
    }
    match claims:
        case UserClaims():
            payload |= {
                "UserID": claims.user_id,
                "OrgID": claims.org_id,
                "Email": claims.email,
                "IsAPIUser": False,
            }
        case APIUserClaims():
            payload |= {
                "UserID": claims.user_id,
                "OrgID": claims.org_id,
                "IsAPIUser": True,
                "AccessScope": claims.access_scope.value,
                "ClusterIDs": list(claims.cluster_ids),
            }
        case ServiceClaims():
            payload["ServiceID"] = claims.service_id
        case ClusterClaims():
            payload["ClusterID"] = claims.cluster_id
        case _:
            raise TypeError(f"cannot sign {type(claims).__name__}; use one of the four kinds")
    return payload


def sign_token(claims: Claims, key: SigningKey) -> str:
    """Sign `claims` with HS256 and return the compact token."""
    return jwt.encode(_to_payload(claims), key_bytes(key), algorithm=SIGNING_ALGORITHM)


def _string_claim(payload: Mapping[str, Any], name: str) -> str:
    value = payload.get(name, "")
    if not isinstance(value, str):
        raise InvalidClaimsError(f"claim {name} must be a string, got {type(value).__name__}")
    return value


def _audience(payload: Mapping[str, Any], expected: str) -> str:
    # Pixie's jwx may serialise a one-element `aud` as a list; signature and match are checked
    # already, so report the audience that matched.
    value = payload["aud"]
    return value if isinstance(value, str) else expected


def _claim_time(payload: Mapping[str, Any], name: str) -> datetime:
    value = payload[name]
    # RFC 7519: a NumericDate is a JSON number; "1700000000" (a string) or true is not one.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidClaimsError(
            f"claim {name} must be a NumericDate (a JSON number), got {type(value).__name__}"
        )
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError) as exc:
        raise InvalidClaimsError(f"claim {name} is not a usable NumericDate") from exc


def _access_scope(payload: Mapping[str, Any]) -> AccessScope:
    # Absent: a token minted before scopes existed, when every API key had full access.
    value = payload.get("AccessScope", AccessScope.ADMIN.value)
    try:
        return AccessScope(value)
    except ValueError:
        # Fail closed: a scope this code does not know grants nothing.
        raise InvalidClaimsError(f"claim AccessScope {value!r} is not a known scope") from None


def _cluster_ids(payload: Mapping[str, Any]) -> tuple[str, ...]:
    value = payload.get("ClusterIDs", [])
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidClaimsError("claim ClusterIDs must be a list of strings")
    return tuple(value)


def _claim_kind(payload: Mapping[str, Any], scopes: tuple[str, ...]) -> str:
    present = {kind for kind, keys in _KIND_KEYS if keys & payload.keys()}
    if len(present) > 1:
        raise InvalidClaimsError(f"token carries claims of several kinds: {sorted(present)}")
    if present:
        return present.pop()
    # No private claims at all: the scope still says which kind the token pretends to be, and
    # that kind's required id is then reported missing.
    for scope in (Scope.SERVICE, Scope.CLUSTER, Scope.USER):
        if scope.value in scopes:
            return scope.value
    raise InvalidClaimsError("token carries no user, service or cluster claims")


def _from_payload(payload: Mapping[str, Any], audience: str) -> Claims:
    scopes_text = _string_claim(payload, "Scopes")
    scopes = tuple(s for s in scopes_text.split(",") if s)
    common: dict[str, Any] = {
        "subject": _string_claim(payload, "sub"),
        "audience": _audience(payload, audience),
        "issuer": _string_claim(payload, "iss"),
        "issued_at": _claim_time(payload, "iat"),
        "not_before": _claim_time(payload, "nbf"),
        "expires_at": _claim_time(payload, "exp"),
        "token_id": _string_claim(payload, "jti"),
        "scopes": scopes,
    }
    kind = _claim_kind(payload, scopes)
    try:
        if kind == "service":
            return ServiceClaims(**common, service_id=_string_claim(payload, "ServiceID"))
        if kind == "cluster":
            return ClusterClaims(**common, cluster_id=_string_claim(payload, "ClusterID"))
        is_api_user = payload.get("IsAPIUser", False)
        if not isinstance(is_api_user, bool):
            raise InvalidClaimsError("claim IsAPIUser must be a boolean")
        user_id = _string_claim(payload, "UserID")
        org_id = _string_claim(payload, "OrgID")
        if is_api_user:
            return APIUserClaims(
                **common,
                user_id=user_id,
                org_id=org_id,
                access_scope=_access_scope(payload),
                cluster_ids=_cluster_ids(payload),
            )
        email = _string_claim(payload, "Email")
        return UserClaims(**common, user_id=user_id, org_id=org_id, email=email)
    except ValueError as exc:
        raise InvalidClaimsError(str(exc)) from exc


def _check_header(token: str) -> None:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError as exc:
        raise MalformedTokenError(f"not a JWT: {exc}") from exc
    except jwt.InvalidTokenError as exc:
        # PyJWT's header checks: `crit` naming extensions, a non-string `kid`.
        raise MalformedTokenError(f"token header rejected: {exc}") from exc
    # Pyxie understands no JWS extension, so a token that marks any as critical is refused
    # (RFC 7515 §4.1.11), whatever a library version would let through.
    if "crit" in header:
        raise MalformedTokenError("token header has a 'crit' parameter; no extension is supported")
    if "kid" in header and not isinstance(header["kid"], str):
        raise MalformedTokenError("token header parameter 'kid' must be a string")
    algorithm = header.get("alg")
    # Refuse before any key is involved: `none`, HS384/512, RS*/ES*/PS* and anything else.
    if algorithm != SIGNING_ALGORITHM:
        raise UnsupportedAlgorithmError(f"token algorithm {algorithm!r} is not {SIGNING_ALGORITHM}")


def verify_token(token: str, key: SigningKey, *, audience: str) -> Claims:
    """Check an HS256 token's signature, `aud`, `iss`, exp/nbf/iat and kind; return its claims.

    Raises a subclass of `InvalidTokenError` naming the first rule the token broke.
    """
    if not isinstance(token, str) or not token:
        raise MalformedTokenError("token is empty")
    _check_header(token)
    try:
        payload = jwt.decode(
            token,
            key_bytes(key),
            algorithms=[SIGNING_ALGORITHM],
            audience=audience,
            issuer=ISSUER,
            leeway=CLOCK_SKEW_LEEWAY,
            options={"require": list(_REGISTERED_CLAIMS)},
        )
    except jwt.InvalidSignatureError as exc:
        raise BadSignatureError("token signature does not match") from exc
    except jwt.ExpiredSignatureError as exc:
        raise ExpiredTokenError("token has expired") from exc
    except jwt.ImmatureSignatureError as exc:
        raise NotYetValidTokenError(f"token is not valid yet: {exc}") from exc
    except jwt.InvalidAudienceError as exc:
        raise AudienceMismatchError(f"token audience is not {audience!r}") from exc
    except jwt.InvalidIssuerError as exc:
        raise IssuerMismatchError(f"token issuer is not {ISSUER!r}") from exc
    except jwt.InvalidAlgorithmError as exc:
        raise UnsupportedAlgorithmError(str(exc)) from exc
    except jwt.MissingRequiredClaimError as exc:
        raise InvalidClaimsError(str(exc)) from exc
    except jwt.DecodeError as exc:
        raise MalformedTokenError(f"token cannot be decoded: {exc}") from exc
    except (jwt.InvalidTokenError, binascii.Error, json.JSONDecodeError) as exc:
        raise InvalidClaimsError(str(exc)) from exc
    return _from_payload(payload, audience)


class TokenVerifier:
    """Verifies tokens for one plane: its key and its audience."""

    __slots__ = ("_audience", "_key")

    def __init__(self, key: SigningKey, *, audience: str) -> None:
        if not audience:
            raise ValueError("audience must not be empty")
        self._key = key
        self._audience = audience

    @property
    def audience(self) -> str:
        return self._audience

    def verify(self, token: str) -> Claims:
        """See `verify_token`."""
        return verify_token(token, self._key, audience=self._audience)
