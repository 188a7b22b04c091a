"""`python -m pyxie_kelvin`: wiring only."""

from __future__ import annotations

from pyxie_agent import AgentService, ExitOnFatal, StatsCollectingRouter
from pyxie_service import Service, run_service
from pyxie_service.natsbus import NatsBus

from pyxie_kelvin.controllers import Kelvin, result_sink_registration
from pyxie_kelvin.settings import KelvinSettings

exit_on_fatal = ExitOnFatal()


async def wire(settings: KelvinSettings) -> Service:
    bus = await NatsBus.connect(settings.nats_url, name="kelvin")
    router = StatsCollectingRouter()
    service = AgentService(
        settings,
        [result_sink_registration(router)],
        name="kelvin",
        agent_factory=lambda port: kelvin.prepare(port),
    )
    kelvin = Kelvin.from_settings(
        settings,
        bus,
        router=router,
        on_fatal=exit_on_fatal,
        metrics_registry=service.metrics_registry,
    )
    service.add_closer("nats", bus.drain)
    service.add_closer("kelvin", kelvin.close)
    return service


if __name__ == "__main__":
    raise SystemExit(run_service(KelvinSettings, wire) or exit_on_fatal.code)
