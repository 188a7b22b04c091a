"""OpenID Connect with Authlib: the identity behind an access token, and the code flow.

The auth service only needs `OIDCProvider.identity_for_access_token` (discovery, then the
provider's userinfo endpoint). `begin_login` / `finish_login` are the relying-party half of the
authorization code flow with PKCE, for whoever drives the browser (the api gateway, tests): they
end with an access token to hand to `AuthService.OIDCLogin` and verified ID-token claims.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol
from urllib.parse import parse_qs, urlsplit

import httpx2
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc6749.errors import OAuth2Error
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

__all__ = [
    "IdentityProvider",
    "OIDCError",
    "OIDCIdentity",
    "OIDCLogin",
    "OIDCProvider",
    "OIDCTokens",
]

_DISCOVERY_PATH: Final = "/.well-known/openid-configuration"
# Asymmetric algorithms only: an HS256 ID token would be "signed" with the client secret.
_ID_TOKEN_ALGORITHMS: Final = ("RS256", "PS256", "ES256")
# Clock difference tolerated between the provider and us when checking ID-token times.
_ID_TOKEN_LEEWAY_SECONDS: Final = 30
# PKCE verifier entropy: 48 bytes → 64 URL-safe characters (RFC 7636 allows 43..128).
_PKCE_VERIFIER_BYTES: Final = 48


class OIDCError(Exception):
    """The provider is unreachable or misconfigured, or rejected what we sent it."""


@dataclass(frozen=True, slots=True)
class OIDCIdentity:
    """Who the provider says the access token belongs to (userinfo claims)."""

    issuer: str
    subject: str
    email: str
    email_verified: bool
    name: str
    # Google-style `hd`: the organisation domain the provider vouches for; "" when none.
    hosted_domain: str


@dataclass(frozen=True, slots=True)
class OIDCLogin:
    """One started login: send the browser to `url`, keep the rest for `finish_login`."""

    url: str
    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str


@dataclass(frozen=True, slots=True)
class OIDCTokens:
    access_token: str
    id_token_claims: Mapping[str, Any]


class IdentityProvider(Protocol):
    """What the auth service needs from an identity provider."""

    @property
    def issuer(self) -> str: ...

    async def identity_for_access_token(self, access_token: str) -> OIDCIdentity: ...


class OIDCProvider:
    """One OpenID Connect provider, found through its discovery document."""

    def __init__(
        self,
        issuer: str,
        *,
        client_id: str = "",
        client_secret: str = "",
        timeout_seconds: float = 10.0,
        scope: str = "openid email profile",
    ) -> None:
        self._issuer = issuer.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._timeout = timeout_seconds
        self._scope = scope
        self._metadata: dict[str, Any] | None = None

    @property
    def issuer(self) -> str:
        return self._issuer

    async def metadata(self) -> dict[str, Any]:
        """The discovery document (fetched once, then cached)."""
        if self._metadata is None:
            document = await self._get_json(self._issuer + _DISCOVERY_PATH)
            # OIDC Discovery §4.3: the document must name the issuer it was fetched for, or a
            # provider could speak for another.
            if str(document.get("issuer", "")).rstrip("/") != self._issuer:
                raise OIDCError(
                    f"discovery document names issuer {document.get('issuer')!r}, "
                    f"expected {self._issuer!r}"
                )
            self._metadata = document
        return self._metadata

    async def _endpoint(self, name: str) -> str:
        value = (await self.metadata()).get(name)
        if not isinstance(value, str) or not value:
            raise OIDCError(f"the provider's discovery document has no {name}")
        return value

    async def _get_json(self, url: str, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        try:
            async with httpx2.AsyncClient(timeout=self._timeout) as client:
                response = await client.get(url, headers=dict(headers or {}))
        except httpx2.HTTPError as exc:
            raise OIDCError(f"cannot reach the identity provider: {exc}") from exc
        if response.status_code != httpx2.codes.OK:
            raise OIDCError(f"{url} answered HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError as exc:
            raise OIDCError(f"{url} did not answer JSON") from exc
        if not isinstance(body, dict):
            raise OIDCError(f"{url} did not answer a JSON object")
        return body

    async def identity_for_access_token(self, access_token: str) -> OIDCIdentity:
        """Ask the provider's userinfo endpoint who `access_token` belongs to."""
        if not access_token:
            raise OIDCError("access token is empty")
        userinfo_url = await self._endpoint("userinfo_endpoint")
        token = {"access_token": access_token, "token_type": "Bearer"}
        try:
            async with AsyncOAuth2Client(token=token, timeout=self._timeout) as client:
                response = await client.get(userinfo_url)
        except (httpx2.HTTPError, OAuth2Error) as exc:
            raise OIDCError(f"cannot reach the userinfo endpoint: {exc}") from exc
        if response.status_code != httpx2.codes.OK:
            raise OIDCError(f"the provider rejected the access token (HTTP {response.status_code})")
        try:
            claims = response.json()
        except ValueError as exc:
            raise OIDCError("userinfo did not answer JSON") from exc
        if not isinstance(claims, dict):
            raise OIDCError("userinfo did not answer a JSON object")
        return self._identity(claims)

    def _identity(self, claims: Mapping[str, Any]) -> OIDCIdentity:
        subject = claims.get("sub")
        email = claims.get("email")
        if not isinstance(subject, str) or not subject:
            raise OIDCError("userinfo has no subject (sub)")
        if not isinstance(email, str) or not email:
            raise OIDCError("userinfo has no email; request the 'email' scope")
        name = claims.get("name")
        hosted_domain = claims.get("hd")
        return OIDCIdentity(
            issuer=self._issuer,
            subject=subject,
            email=email,
            # Only a JSON true counts: "true" strings and absent claims are unverified.
            email_verified=claims.get("email_verified") is True,
            name=name if isinstance(name, str) else "",
            hosted_domain=hosted_domain.lower() if isinstance(hosted_domain, str) else "",
        )

    def _client(self, redirect_uri: str) -> AsyncOAuth2Client:
        if not self._client_id:
            raise OIDCError("no OIDC client id configured")
        return AsyncOAuth2Client(
            client_id=self._client_id,
            client_secret=self._client_secret or None,
            scope=self._scope,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method=("client_secret_basic" if self._client_secret else "none"),
            timeout=self._timeout,
        )

    async def begin_login(self, redirect_uri: str) -> OIDCLogin:
        """The authorization URL (code flow, PKCE S256, state and nonce) for the browser."""
        authorize_url = await self._endpoint("authorization_endpoint")
        verifier = secrets.token_urlsafe(_PKCE_VERIFIER_BYTES)
        nonce = secrets.token_urlsafe(16)
        async with self._client(redirect_uri) as client:
            url, state = client.create_authorization_url(
                authorize_url, code_verifier=verifier, nonce=nonce
            )
        return OIDCLogin(
            url=url, state=state, nonce=nonce, code_verifier=verifier, redirect_uri=redirect_uri
        )

    async def finish_login(self, login: OIDCLogin, callback_url: str) -> OIDCTokens:
        """Exchange the code the browser brought back; verify the ID token."""
        query = parse_qs(urlsplit(callback_url).query)
        if "error" in query:
            raise OIDCError(f"the provider refused the login: {query['error'][0]}")
        state = query.get("state", [""])[0]
        if not secrets.compare_digest(state, login.state):
            raise OIDCError("login state does not match (possible CSRF)")
        code = query.get("code", [""])[0]
        if not code:
            raise OIDCError("the callback carries no authorization code")
        token_url = await self._endpoint("token_endpoint")
        try:
            async with self._client(login.redirect_uri) as client:
                token = await client.fetch_token(
                    token_url,
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=login.code_verifier,
                )
        except (httpx2.HTTPError, OAuth2Error) as exc:
            raise OIDCError(f"the token endpoint refused the code: {exc}") from exc
        access_token = token.get("access_token")
        id_token = token.get("id_token")
        if not isinstance(access_token, str) or not isinstance(id_token, str):
            raise OIDCError("the token response lacks an access token or an ID token")
        claims = await self._verify_id_token(id_token, nonce=login.nonce)
        return OIDCTokens(access_token=access_token, id_token_claims=claims)

    async def _verify_id_token(self, id_token: str, *, nonce: str) -> dict[str, Any]:
        keys = KeySet.import_key_set(await self._get_json(await self._endpoint("jwks_uri")))  # type: ignore[arg-type]
        try:
            decoded = jwt.decode(id_token, keys, algorithms=list(_ID_TOKEN_ALGORITHMS))
            registry = jwt.JWTClaimsRegistry(
                leeway=_ID_TOKEN_LEEWAY_SECONDS,
                iss={"essential": True, "value": self._issuer},
                aud={"essential": True, "value": self._client_id},
                sub={"essential": True},
                exp={"essential": True},
                nonce={"essential": True, "value": nonce},
            )
            registry.validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise OIDCError(f"ID token rejected: {exc}") from exc
        return dict(decoded.claims)
