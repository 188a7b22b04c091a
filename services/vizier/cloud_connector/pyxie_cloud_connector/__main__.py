"""`python -m pyxie_cloud_connector`: wiring only."""

from __future__ import annotations

from pyxie_service import NatsBus, Service, run_service

from pyxie_cloud_connector.app import CloudConnector
from pyxie_cloud_connector.settings import ConnectorSettings


async def wire(settings: ConnectorSettings) -> Service:
    bus = await NatsBus.connect(settings.nats_url, name="cloud_connector")
    connector = CloudConnector(settings, bus=bus)
    connector.begin()
    return connector.service


if __name__ == "__main__":
    raise SystemExit(run_service(ConnectorSettings, wire))
