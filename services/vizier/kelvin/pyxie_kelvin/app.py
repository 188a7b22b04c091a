"""Kelvin's composition root: `build(settings) -> Service`.

`kelvin_service` wires a `Kelvin` (router, engine, agent) into the `AgentService` that serves
its ResultSinkService and starts the agent once the port is known; `build` connects NATS for it.
Tests use the same function through `pyxie_kelvin.testing`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pyxie_agent import AgentError, AgentService, ExitOnFatal, StatsCollectingRouter
from pyxie_proto.vizier.subjects import ALL_SELECTOR
from pyxie_service import Closer, Service
from pyxie_service.natsbus import NatsBus

from pyxie_kelvin.controllers import Kelvin, result_sink_registration
from pyxie_kelvin.settings import KelvinSettings

__all__ = ["build", "exit_on_fatal", "kelvin_service"]

# A fatal agent error (expired, registration timed out) stops the process with a non-zero code.
exit_on_fatal = ExitOnFatal()


def kelvin_service(
    settings: KelvinSettings,
    bus: NatsBus,
    *,
    on_fatal: Callable[[AgentError], None] | None = None,
    resources: Sequence[tuple[str, Closer]] = (),
) -> tuple[Kelvin, AgentService]:
    """Kelvin and the service that serves it; `resources` close after Kelvin stopped."""
    router = StatsCollectingRouter()
    service = AgentService(
        settings,
        [result_sink_registration(router)],
        name="kelvin",
        agent_factory=lambda port: kelvin.prepare(port),
        resources=resources,
    )
    kelvin = Kelvin(
        bus,
        # Kelvin stores nothing and needs every metadata update.
        settings.agent_config(collects_data=False, k8s_selector=ALL_SELECTOR),
        settings.engine_options(metrics_registry=service.metrics_registry),
        advertised_address=settings.advertised_address,
        router=router,
        on_fatal=on_fatal,
    )
    service.add_closer("kelvin", kelvin.close)
    return kelvin, service


async def build(settings: KelvinSettings) -> Service:
    bus = await NatsBus.connect(settings.nats_url, name="kelvin")
    _, service = kelvin_service(
        settings, bus, on_fatal=exit_on_fatal, resources=[("nats", bus.drain)]
    )
    return service
