"""Fixtures: a running plugin service on real PostgreSQL and NATS, vzmgr faked by a directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import nats
import pytest
from pyxie_jwt import SigningKey
from pyxie_plugin.testing import Credentials, PluginCloud, StaticDirectory, running_plugin


@pytest.fixture
async def cloud(fresh_database: str, nats_server: Any) -> AsyncIterator[PluginCloud]:
    key = SigningKey.generate()
    directory = StaticDirectory()
    async with running_plugin(
        fresh_database,
        nats_server.url,
        cloud_key=key,
        directory=directory,
        # Short waits so the retry test sees several tries quickly.
        cron_update_ack_seconds=0.3,
        cron_update_retry_initial_seconds=0.1,
        cron_update_retry_max_seconds=0.2,
        cron_update_give_up_seconds=60.0,
    ) as plugin:
        channel = grpc.aio.insecure_channel(plugin.address)
        try:
            yield PluginCloud(
                plugin, Credentials(key), directory, channel, fresh_database, nats_server.url
            )
        finally:
            await channel.close(None)


@pytest.fixture
async def cloud_nats(nats_server: Any) -> AsyncIterator[Any]:
    client = await nats.connect(nats_server.url)
    try:
        yield client
    finally:
        await client.drain()
