"""Fixtures for the metadata service tests: KV stores over real SQLite and real etcd."""

from __future__ import annotations

import sys
from pathlib import Path

# Test modules import their helpers from metadata_support (importlib mode has no rootdir on
# sys.path); the module name is unique in the repository.
sys.path.insert(0, str(Path(__file__).parent))

from collections.abc import AsyncIterator

import pytest
from pyxie_service import NatsBus


@pytest.fixture
async def agent_bus(nats_server: object) -> AsyncIterator[NatsBus]:
    """A NATS connection for fake agents."""
    bus = await NatsBus.connect(nats_server.url, name="fake-agents")  # type: ignore[attr-defined]
    yield bus
    await bus.drain()
