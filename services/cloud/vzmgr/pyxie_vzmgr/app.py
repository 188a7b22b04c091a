"""`Vzmgr`: the service assembled from its parts (used by `__main__` and by tests)."""

from __future__ import annotations

from pyxie_service import NatsBus, Service
from sqlalchemy.ext.asyncio import AsyncEngine

from pyxie_vzmgr.controllers import (
    DeployKeyStore,
    DeploymentKeyServicer,
    DeploymentServicer,
    HeartbeatListener,
    StatusMonitor,
    VizierRegistry,
    VZMgrServicer,
)
from pyxie_vzmgr.settings import VzmgrSettings

__all__ = ["Vzmgr"]


class Vzmgr:
    """The gRPC service, the heartbeat listener and the status monitor over one database."""

    def __init__(self, settings: VzmgrSettings, *, engine: AsyncEngine, bus: NatsBus) -> None:
        self.registry = VizierRegistry(engine, settings.at_rest_cipher())
        self.deploy_keys = DeployKeyStore(engine)
        self.heartbeats = HeartbeatListener(bus, self.registry, settings.shards())
        self.monitor = StatusMonitor(
            self.registry,
            interval_seconds=settings.status_monitor_interval_seconds,
            timeout_seconds=settings.heartbeat_timeout_seconds,
            updating_timeout_seconds=settings.updating_heartbeat_timeout_seconds,
        )
        self.service = Service(
            settings,
            [
                VZMgrServicer(self.registry).registration(),
                DeploymentServicer(self.registry).registration(),
                DeploymentKeyServicer(self.deploy_keys).registration(),
            ],
            name="vzmgr",
        )
        # Closers run last-registered first: stop the loops before the pool and NATS go.
        self.service.add_closer("database", engine.dispose)
        self.service.add_closer("nats", bus.drain)
        self.service.add_closer("heartbeats", self.heartbeats.stop)
        self.service.add_closer("status monitor", self.monitor.stop)

    async def start(self) -> None:
        """Start the background work, then serve."""
        await self.heartbeats.start()
        self.monitor.start()
        await self.service.start()

    async def stop(self) -> None:
        await self.service.stop()
