"""Helpers for tests that need a running vzmgr (its own tests, vzconn's and the connector's)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

from pydantic import SecretStr
from pyxie_crypto import DataKey
from pyxie_db import create_engine
from pyxie_jwt import SigningKey, service_claims, sign_token
from pyxie_service import NatsBus

from pyxie_vzmgr.app import Vzmgr
from pyxie_vzmgr.schema import MIGRATIONS
from pyxie_vzmgr.settings import DEFAULT_JWT_AUDIENCE, VzmgrSettings

__all__ = ["CLOUD_AUDIENCE", "running_vzmgr", "service_token"]

CLOUD_AUDIENCE: Final = DEFAULT_JWT_AUDIENCE


def service_token(key: SigningKey, service_id: str = "test") -> str:
    """A cloud service JWT, as vzconn or the api gateway would send."""
    return sign_token(service_claims(service_id=service_id, audience=CLOUD_AUDIENCE), key)


@asynccontextmanager
async def running_vzmgr(
    database_url: str, nats_url: str, *, cloud_key: SigningKey, **overrides: Any
) -> AsyncIterator[Vzmgr]:
    """Migrate `database_url`, start vzmgr on 127.0.0.1 (any port) and stop it afterwards."""
    await asyncio.to_thread(MIGRATIONS.upgrade, database_url)
    settings = VzmgrSettings(
        jwt_signing_key=SecretStr(cloud_key.reveal_text()),
        database_url=SecretStr(database_url),
        database_key=SecretStr(DataKey.generate().to_base64()),
        nats_url=nats_url,
        grpc_host="127.0.0.1",
        grpc_port=0,
        metrics_enabled=False,
        shutdown_grace_seconds=0.5,
        log_format="console",
        **overrides,
    )
    bus = await NatsBus.connect(nats_url, name="vzmgr-test")
    vzmgr = Vzmgr(settings, engine=create_engine(database_url), bus=bus)
    await vzmgr.start()
    try:
        yield vzmgr
    finally:
        await vzmgr.stop()
