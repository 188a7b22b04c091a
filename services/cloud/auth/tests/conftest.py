"""Fixtures: a running auth service on real PostgreSQL, reached through its generated stubs."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from pyxie_auth.testing import running_auth
from pyxie_jwt import SigningKey

# Test modules import their helpers from auth_support (a name unique in the repository).
sys.path.insert(0, str(Path(__file__).parent))

from auth_support import DOMAIN, Auth


@pytest.fixture
async def cloud(fresh_database: str) -> AsyncIterator[Auth]:
    key = SigningKey.generate()
    async with running_auth(fresh_database, cloud_key=key, domain=DOMAIN) as service:
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc_port}")
        try:
            yield Auth(service, key, channel, fresh_database)
        finally:
            await channel.close()
