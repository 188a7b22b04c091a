"""Fixtures: a running auth service on real PostgreSQL, reached through its generated stubs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from pyxie_auth.testing import DOMAIN, Auth, running_auth
from pyxie_jwt import SigningKey


@pytest.fixture
async def cloud(fresh_database: str) -> AsyncIterator[Auth]:
    key = SigningKey.generate()
    async with running_auth(fresh_database, cloud_key=key, domain=DOMAIN) as service:
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc_port}")
        try:
            yield Auth(service, key, channel, fresh_database)
        finally:
            await channel.close()
