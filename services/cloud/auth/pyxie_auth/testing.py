"""A running auth service for tests (its own and other services'), on real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from argon2 import PasswordHasher
from pyxie_crypto import DataKey
from pyxie_jwt import SigningKey
from pyxie_service import Service

from pyxie_auth.controllers import Clock, utc_now
from pyxie_auth.oidc import IdentityProvider
from pyxie_auth.schema import MIGRATIONS
from pyxie_auth.service import build_service
from pyxie_auth.settings import AuthSettings

__all__ = ["fast_password_hasher", "running_auth", "settings_for_tests"]


def fast_password_hasher() -> PasswordHasher:
    """argon2id with the smallest sane cost: tests hash many passwords on 2 cores."""
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def settings_for_tests(
    dsn: str, *, cloud_key: SigningKey, domain: str = "pyxie.test", oidc_issuer: str | None = None
) -> AuthSettings:
    return AuthSettings(
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
    domain: str = "pyxie.test",
    identity_provider: IdentityProvider | None = None,
    clock: Clock = utc_now,
) -> AsyncIterator[Service]:
    """Migrate `dsn`, serve auth on a free loopback port, stop it on exit."""
    settings = settings_for_tests(dsn, cloud_key=cloud_key, domain=domain)
    await asyncio.to_thread(MIGRATIONS.upgrade, dsn)
    service = build_service(
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
