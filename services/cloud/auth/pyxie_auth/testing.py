"""The auth service for tests (its own and other services'), on real PostgreSQL: `running_auth`,
`Auth` (stubs and the credentials the api sends) and `browser_sign_in` (the browser at an OIDC
provider's login page)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import grpc
import httpx2
from argon2 import PasswordHasher
from pyxie_crypto import DataKey
from pyxie_jwt import SigningKey, service_claims, sign_token
from pyxie_proto.cloud.auditpb import audit_pb2_grpc
from pyxie_proto.cloud.authpb import auth_pb2 as apb
from pyxie_proto.cloud.authpb import auth_pb2_grpc as apb_grpc
from pyxie_service import Service

from pyxie_auth.app import build
from pyxie_auth.controllers import USER_TOKEN_METADATA_KEY, Clock, utc_now
from pyxie_auth.oidc import IdentityProvider
from pyxie_auth.settings import AuthSettings

__all__ = [
    "DOMAIN",
    "PASSWORD",
    "Auth",
    "browser_sign_in",
    "fast_password_hasher",
    "running_auth",
    "settings_for_tests",
]

DOMAIN = "pyxie.test"
PASSWORD = "correct horse battery"


def fast_password_hasher() -> PasswordHasher:
    """argon2id with the smallest sane cost: tests hash many passwords on 2 cores."""
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def settings_for_tests(
    dsn: str,
    *,
    cloud_key: SigningKey,
    domain: str = DOMAIN,
    oidc_issuer: str | None = None,
    nats_url: str | None = None,
) -> AuthSettings:
    return AuthSettings(
        audit_events_from_nats=nats_url is not None,
        nats_url=nats_url or "nats://127.0.0.1:4222",
        grpc_host="127.0.0.1",
        grpc_port=0,
        metrics_enabled=False,
        postgres_dsn=dsn,  # type: ignore[arg-type]  # pydantic converts to SecretStr
        jwt_signing_key=cloud_key.reveal_text(),  # type: ignore[arg-type]
        domain_name=domain,
        database_key=DataKey.generate().to_base64(),  # type: ignore[arg-type]
        oidc_issuer=oidc_issuer,  # type: ignore[arg-type]
        shutdown_grace_seconds=0,
    )


@asynccontextmanager
async def running_auth(
    dsn: str,
    *,
    cloud_key: SigningKey,
    domain: str = DOMAIN,
    identity_provider: IdentityProvider | None = None,
    clock: Clock = utc_now,
    nats_url: str | None = None,
) -> AsyncIterator[Service]:
    """auth built by `build` (which migrates `dsn`) on a free loopback port, stopped on exit.

    With `nats_url`, it also stores the audit events published there."""
    settings = settings_for_tests(dsn, cloud_key=cloud_key, domain=domain, nats_url=nats_url)
    service = await build(
        settings,
        identity_provider=identity_provider,
        password_hasher=fast_password_hasher(),
        clock=clock,
    )
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


@dataclass
class Auth:
    service: Service
    key: SigningKey
    channel: grpc.aio.Channel
    dsn: str

    # Typed Any: the generated stubs describe the sync API, these run on an aio channel.
    @property
    def auth(self) -> Any:
        return apb_grpc.AuthServiceStub(self.channel)

    @property
    def keys(self) -> Any:
        return apb_grpc.APIKeyServiceStub(self.channel)

    @property
    def audit(self) -> Any:
        return audit_pb2_grpc.AuditServiceStub(self.channel)

    def service_metadata(self, user_token: str | None = None) -> tuple[tuple[str, str], ...]:
        token = sign_token(service_claims(service_id="api", audience=DOMAIN), self.key)
        metadata: tuple[tuple[str, str], ...] = (("authorization", f"bearer {token}"),)
        if user_token is not None:
            metadata += ((USER_TOKEN_METADATA_KEY, user_token),)
        return metadata

    async def signup(
        self, email: str, *, org_name: str = "", invite_token: str = ""
    ) -> apb.LoginResponse:
        response: apb.LoginResponse = await self.auth.Signup(
            apb.SignupRequest(
                email=email,
                password=PASSWORD,
                name=email.split("@")[0],
                org_name=org_name,
                invite_token=invite_token,
            ),
            metadata=self.service_metadata(),
        )
        return response

    async def augmented(self, login_token: str) -> str:
        response = await self.auth.GetAugmentedToken(
            apb.GetAugmentedTokenRequest(token=login_token), metadata=self.service_metadata()
        )
        token: str = response.token
        return token

    async def user_token(self, email: str, org_name: str) -> str:
        """Sign up a user creating `org_name`; return their augmented token."""
        return await self.augmented((await self.signup(email, org_name=org_name)).token)


class _FormReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "form":
            self.action = dict(attrs).get("action") or ""


async def browser_sign_in(authorization_url: str, username: str, password: str) -> str:
    """Play the browser at the provider: open the login page, post the form, return the
    redirect back to the relying party."""
    async with httpx2.AsyncClient(follow_redirects=False) as browser:
        page = await browser.get(authorization_url)
        assert page.status_code == 200, page.text
        reader = _FormReader()
        reader.feed(page.text)
        response = await browser.post(
            urljoin(authorization_url, reader.action),
            data={"username": username, "password": password},
        )
    assert response.status_code == 302, response.text
    location: str = response.headers["location"]
    return location
