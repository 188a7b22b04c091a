"""Fixtures for the metadata service tests: KV stores over real SQLite and real etcd."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pyxie_service import NatsBus


@pytest.fixture
async def agent_bus(nats_server: object) -> AsyncIterator[NatsBus]:
    """A NATS connection for fake agents."""
    bus = await NatsBus.connect(nats_server.url, name="fake-agents")  # type: ignore[attr-defined]
    yield bus
    await bus.drain()
