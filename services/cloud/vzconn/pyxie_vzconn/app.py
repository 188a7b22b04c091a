"""`build`: vzconn's only composition root (used by `__main__` and `testing.running_vzconn`)."""

from __future__ import annotations

import grpc
from pyxie_service import NatsBus, Service, ServiceRegistration

from pyxie_vzconn.controllers import BridgeServicer, GrpcVzmgrClient
from pyxie_vzconn.controllers.bridge import VZCONN_SERVICE_NAME
from pyxie_vzconn.settings import VzconnSettings
from pyxie_vzconn.tls import (
    RevokedCertificateInterceptor,
    revocation_checker,
    server_credentials,
)

__all__ = ["build"]


async def build(settings: VzconnSettings) -> Service:
    """Connect cloud NATS and a channel to vzmgr; serve the bridge (TLS per the settings)."""
    bus = await NatsBus.connect(settings.nats_url, name="vzconn")
    vzmgr_channel = grpc.aio.insecure_channel(settings.vzmgr_addr)
    vzmgr = GrpcVzmgrClient(
        vzmgr_channel,
        settings.signing_key(),
        audience=settings.jwt_audience,
        timeout=settings.vzmgr_timeout_seconds,
    )
    bridge: BridgeServicer | None = None

    def add_bridge(server: grpc.aio.Server) -> None:
        assert bridge is not None
        bridge.registration().add_to_server(server)

    checker = revocation_checker(settings)
    # The servicer is added when the server starts, so that it can use the service's metrics.
    service = Service(
        settings,
        [ServiceRegistration(VZCONN_SERVICE_NAME, add_bridge)],
        name="vzconn",
        server_credentials=server_credentials(settings),
        extra_interceptors=[RevokedCertificateInterceptor(checker)] if checker else [],
    )
    bridge = BridgeServicer(
        vzmgr,
        bus,
        register_timeout_seconds=settings.register_timeout_seconds,
        buffer_messages=settings.bridge_buffer_messages,
        metrics_registry=service.metrics_registry,
    )
    service.add_closer("nats", bus.drain)
    service.add_closer("vzmgr channel", lambda: vzmgr_channel.close(None))
    return service
