"""Fixtures: a running vzmgr on real PostgreSQL and NATS."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from pyxie_jwt import SigningKey
from pyxie_vzmgr.testing import Cloud, running_vzmgr


@pytest.fixture
async def cloud(fresh_database: str, nats_server: Any) -> AsyncIterator[Cloud]:
    key = SigningKey.generate()
    async with running_vzmgr(fresh_database, nats_server.url, cloud_key=key) as vzmgr:
        channel = grpc.aio.insecure_channel(vzmgr.address)
        try:
            yield Cloud(vzmgr, key, channel, fresh_database)
        finally:
            await channel.close()
