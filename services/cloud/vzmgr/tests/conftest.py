"""Fixtures: a running vzmgr on real PostgreSQL and NATS."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from pyxie_jwt import SigningKey
from pyxie_vzmgr.testing import running_vzmgr

# Test modules import their helpers from vzmgr_support (a name unique in the repository).
sys.path.insert(0, str(Path(__file__).parent))

from vzmgr_support import Cloud


@pytest.fixture
async def cloud(fresh_database: str, nats_server: Any) -> AsyncIterator[Cloud]:
    key = SigningKey.generate()
    async with running_vzmgr(fresh_database, nats_server.url, cloud_key=key) as vzmgr:
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{vzmgr.service.grpc_port}")
        try:
            yield Cloud(vzmgr, key, channel, fresh_database)
        finally:
            await channel.close()
