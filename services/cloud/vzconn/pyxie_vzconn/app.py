"""`Vzconn`: the service assembled from its parts (used by `__main__` and by tests)."""

from __future__ import annotations

import grpc
from pyxie_service import NatsBus, Service, ServiceRegistration

from pyxie_vzconn.controllers import BridgeServicer, GrpcVzmgrClient
from pyxie_vzconn.controllers.bridge import VZCONN_SERVICE_NAME
from pyxie_vzconn.settings import VzconnSettings
from pyxie_vzconn.tls import server_credentials

__all__ = ["Vzconn"]


class Vzconn:
    def __init__(self, settings: VzconnSettings, *, bus: NatsBus) -> None:
        vzmgr_channel = grpc.aio.insecure_channel(settings.vzmgr_addr)
        vzmgr = GrpcVzmgrClient(
            vzmgr_channel,
            settings.signing_key(),
            audience=settings.jwt_audience,
            timeout=settings.vzmgr_timeout_seconds,
        )
        # The servicer is added when the server starts, so it can use the service's metrics.
        self.service = Service(
            settings,
            [
                ServiceRegistration(
                    VZCONN_SERVICE_NAME,
                    lambda server: self.bridge.registration().add_to_server(server),
                )
            ],
            name="vzconn",
            server_credentials=server_credentials(settings),
        )
        self.bridge = BridgeServicer(
            vzmgr,
            bus,
            register_timeout_seconds=settings.register_timeout_seconds,
            buffer_messages=settings.bridge_buffer_messages,
            metrics_registry=self.service.metrics_registry,
        )
        self.service.add_closer("nats", bus.drain)
        self.service.add_closer("vzmgr channel", lambda: vzmgr_channel.close(None))
