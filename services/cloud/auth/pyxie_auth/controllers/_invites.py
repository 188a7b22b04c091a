"""Invite tokens: HS256 JWTs signed with the inviting org's own invite key.

Each org has a random invite signing key (sealed at rest). Rotating it voids every outstanding
invite of that org at once (Pixie's RevokeAllInviteTokens). Each invite is also a row keyed by
the token's sha256, so it can be used once and expires on its own.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import jwt

__all__ = [
    "InviteClaims",
    "InviteTokenError",
    "hash_invite_token",
    "new_invite_key",
    "sign_invite",
    "unverified_invite_org",
    "verify_invite",
]

_ALGORITHM: Final = "HS256"
# Audience of invite tokens: never valid as a cloud token (whose audience is the domain).
_AUDIENCE_SUFFIX: Final = "/invite"
# 32 random bytes as hex, like the cloud's own JWT key.
_INVITE_KEY_BYTES: Final = 32


class InviteTokenError(Exception):
    """The invite token is malformed, forged or expired."""


@dataclass(frozen=True, slots=True)
class InviteClaims:
    invite_id: uuid.UUID
    org_id: uuid.UUID
    email: str


def new_invite_key() -> bytes:
    return secrets.token_hex(_INVITE_KEY_BYTES).encode("ascii")


def hash_invite_token(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def sign_invite(
    claims: InviteClaims, key: bytes, *, domain: str, issued_at: datetime, expires_at: datetime
) -> str:
    payload: dict[str, Any] = {
        "iss": domain,
        "aud": domain + _AUDIENCE_SUFFIX,
        "jti": str(claims.invite_id),
        "OrgID": str(claims.org_id),
        "Email": claims.email,
        "iat": int(issued_at.timestamp()),
        "exp": int(expires_at.timestamp()),
    }
    return jwt.encode(payload, key, algorithm=_ALGORITHM)


def unverified_invite_org(token: str) -> uuid.UUID:
    """The org an invite claims to be from, to find the key that must have signed it."""
    try:
        if jwt.get_unverified_header(token).get("alg") != _ALGORITHM:
            raise InviteTokenError("invite token is not HS256")
        payload = jwt.decode(token, options={"verify_signature": False})
        return uuid.UUID(str(payload["OrgID"]))
    except (jwt.InvalidTokenError, KeyError, ValueError) as exc:
        raise InviteTokenError("malformed invite token") from exc


def verify_invite(token: str, key: bytes, *, domain: str) -> InviteClaims:
    try:
        payload = jwt.decode(
            token,
            key,
            algorithms=[_ALGORITHM],
            audience=domain + _AUDIENCE_SUFFIX,
            issuer=domain,
            options={"require": ["exp", "iat", "jti", "iss", "aud"]},
        )
        return InviteClaims(
            invite_id=uuid.UUID(str(payload["jti"])),
            org_id=uuid.UUID(str(payload["OrgID"])),
            email=str(payload["Email"]),
        )
    except (jwt.InvalidTokenError, KeyError, ValueError) as exc:
        raise InviteTokenError(f"invite token rejected: {exc}") from exc
