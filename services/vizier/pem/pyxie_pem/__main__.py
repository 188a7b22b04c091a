"""`python -m pyxie_pem`: wiring only."""

from __future__ import annotations

from pyxie_agent import AgentService, ExitOnFatal
from pyxie_service import Service, run_service
from pyxie_service.natsbus import NatsBus

from pyxie_pem.controllers import Pem
from pyxie_pem.settings import PemSettings

exit_on_fatal = ExitOnFatal()


async def wire(settings: PemSettings) -> Service:
    bus = await NatsBus.connect(settings.nats_url, name="pem")
    service = AgentService(settings, [], name="pem", agent_factory=lambda port: pem.prepare(port))
    pem = Pem.from_settings(
        settings, bus, on_fatal=exit_on_fatal, metrics_registry=service.metrics_registry
    )
    service.add_closer("nats", bus.drain)
    service.add_closer("pem", pem.close)
    return service


if __name__ == "__main__":
    raise SystemExit(run_service(PemSettings, wire) or exit_on_fatal.code)
