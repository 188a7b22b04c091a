"""`python -m pyxie_vzconn`: wiring only."""

from __future__ import annotations

from pyxie_service import NatsBus, Service, run_service

from pyxie_vzconn.app import Vzconn
from pyxie_vzconn.settings import VzconnSettings


async def wire(settings: VzconnSettings) -> Service:
    bus = await NatsBus.connect(settings.nats_url, name="vzconn")
    return Vzconn(settings, bus=bus).service


if __name__ == "__main__":
    raise SystemExit(run_service(VzconnSettings, wire))
