"""Minting and checking cloud tokens: login, augmented, API-user. Only pyxie_jwt signs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pyxie_jwt import (
    AccessScope,
    APIUserClaims,
    Claims,
    InvalidTokenError,
    Scope,
    SigningKey,
    TokenVerifier,
    UserClaims,
    api_user_claims,
    sign_token,
    user_claims,
)
from pyxie_service import Unauthenticated, get_logger

__all__ = ["Clock", "MintedToken", "TokenLifetimes", "TokenMinter", "utc_now"]

Clock = Callable[[], datetime]

_log = get_logger("pyxie.auth.tokens")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class MintedToken:
    token: str
    claims: UserClaims | APIUserClaims

    @property
    def expires_at_ns(self) -> int:
        return int(self.claims.expires_at.timestamp()) * 1_000_000_000


@dataclass(frozen=True, slots=True)
class TokenLifetimes:
    login: timedelta
    augmented: timedelta
    api_user: timedelta


class TokenMinter:
    """The cloud's tokens: signed with the cloud key, audience = the cloud domain."""

    def __init__(
        self, key: SigningKey, *, audience: str, lifetimes: TokenLifetimes, clock: Clock = utc_now
    ) -> None:
        self._key = key
        self._audience = audience
        self._verifier = TokenVerifier(key, audience=audience)
        self._lifetimes = lifetimes
        self._clock = clock

    @property
    def login_lifetime(self) -> timedelta:
        return self._lifetimes.login

    def verify(self, token: str) -> Claims:
        """Signature (HS256 only), audience, issuer, times; Unauthenticated otherwise.

        Revocation is the store's business; callers check it next.
        """
        try:
            return self._verifier.verify(token)
        except InvalidTokenError as exc:
            # The reason helps operators, not forgers: log it, answer generically.
            _log.info("token rejected", reason=str(exc), error=type(exc).__name__)
            raise Unauthenticated("invalid or expired token") from None

    def login_token(self, *, user_id: str, org_id: str, email: str) -> MintedToken:
        claims = user_claims(
            user_id=user_id,
            org_id=org_id,
            email=email,
            audience=self._audience,
            lifetime=self._lifetimes.login,
            now=self._clock(),
        )
        return MintedToken(sign_token(claims, self._key), claims)

    def augmented_token(
        self, login: UserClaims, *, user_id: str, org_id: str, email: str
    ) -> MintedToken:
        """The login token's claims, refreshed from the database and re-signed for a short time.

        The token id stays the login token's, so logging out either one revokes both.
        """
        now = self._clock().astimezone(UTC).replace(microsecond=0)
        claims = UserClaims(
            subject=user_id,
            audience=self._audience,
            issued_at=now,
            not_before=now,
            expires_at=now + self._lifetimes.augmented,
            token_id=login.token_id,
            scopes=(Scope.USER.value,),
            user_id=user_id,
            org_id=org_id,
            email=email,
        )
        return MintedToken(sign_token(claims, self._key), claims)

    def api_user_token(
        self,
        *,
        user_id: str,
        org_id: str,
        access_scope: AccessScope,
        cluster_ids: tuple[str, ...],
        key_expires_at: datetime | None,
    ) -> MintedToken:
        """An API-user token for one API key; it never outlives the key."""
        now = self._clock().astimezone(UTC).replace(microsecond=0)
        lifetime = self._lifetimes.api_user
        if key_expires_at is not None:
            lifetime = min(lifetime, key_expires_at.astimezone(UTC) - now)
        if lifetime <= timedelta(seconds=1):
            raise Unauthenticated("invalid API key")
        claims = api_user_claims(
            user_id=user_id,
            org_id=org_id,
            audience=self._audience,
            lifetime=lifetime,
            access_scope=access_scope,
            cluster_ids=cluster_ids,
            now=now,
        )
        return MintedToken(sign_token(claims, self._key), claims)
