"""`python -m pyxie_service.example`: wiring only."""

from __future__ import annotations

from pyxie_service.example import EchoServicer, ExampleSettings, echo_registration
from pyxie_service.natsbus import NatsBus
from pyxie_service.server import Service, run_service


async def wire(settings: ExampleSettings) -> Service:
    service = Service(settings, [echo_registration(EchoServicer())], name="example")
    if settings.nats_enabled:
        bus = await NatsBus.connect(settings.nats_url, name="example")
        service.add_closer("nats", bus.drain)
    return service


if __name__ == "__main__":
    raise SystemExit(run_service(ExampleSettings, wire))
