"""`python -m pyxie_query_broker`: wiring only."""

from __future__ import annotations

import grpc
from pyxie_service import NatsBus, Service, run_service

from pyxie_query_broker.broker import QueryBroker
from pyxie_query_broker.settings import BrokerSettings


async def wire(settings: BrokerSettings) -> Service:
    bus = await NatsBus.connect(settings.nats_url, name="query_broker")
    metadata_channel = grpc.aio.insecure_channel(settings.metadata_address)
    broker = QueryBroker(settings, bus=bus, metadata_channel=metadata_channel)
    broker.service.add_closer("metadata channel", lambda: metadata_channel.close(None))
    broker.service.add_closer("nats", bus.drain)
    # The tracker retries on its own until metadata answers; the server starts right away.
    broker.tracker.start()
    return broker.service


if __name__ == "__main__":
    raise SystemExit(run_service(BrokerSettings, wire))
