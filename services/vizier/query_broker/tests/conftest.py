"""Fixtures for the query broker tests: a broker on port 0, fake metadata, real NATS."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import pytest
from pyxie_jwt import SigningKey
from pyxie_query_broker import QueryBroker
from pyxie_query_broker.testing import DEMO_SCHEMA, FakeMetadata, Vizier, broker_settings
from pyxie_service import NatsBus

StartVizier = Callable[..., Awaitable[Vizier]]


@pytest.fixture
def signing_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
async def start_vizier(nats_server: Any, signing_key: SigningKey) -> AsyncIterator[StartVizier]:
    """Start a broker (settings overridable) with an empty fake metadata service."""
    started: list[Vizier] = []

    async def start(**overrides: Any) -> Vizier:
        settings = broker_settings(signing_key, nats_server.url, **overrides)
        metadata = FakeMetadata(signing_key)
        metadata.schemas = [DEMO_SCHEMA]
        metadata_address = await metadata.start(broker_settings(signing_key))
        bus = await NatsBus.connect(nats_server.url, name="query-broker-test")
        channel = grpc.aio.insecure_channel(metadata_address)
        broker = QueryBroker(settings, bus=bus, metadata_channel=channel)
        await broker.start()
        vizier = Vizier(broker, metadata, bus, signing_key, settings, channel)
        started.append(vizier)
        return vizier

    yield start
    for vizier in started:
        await vizier.broker.stop()
        await vizier.channel.close(None)
        await vizier.metadata.stop()
        await vizier.bus.drain()
