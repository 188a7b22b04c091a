"""`build`: vzmgr's only composition root (used by `__main__` and by `testing.running_vzmgr`)."""

from __future__ import annotations

import grpc
from pyxie_db import open_migrated
from pyxie_proto.api.cloudpb import cloudapi_pb2_grpc as cpb_grpc
from pyxie_proto.cloud.subjects import AUDIT_EVENTS_SUBJECT
from pyxie_service import BackgroundTask, NatsBus, Service
from pyxie_service.audit import publish_audit_events

from pyxie_vzmgr.controllers import (
    DeployKeyStore,
    DeploymentKeyServicer,
    DeploymentServicer,
    HeartbeatListener,
    StatusMonitor,
    VizierRegistry,
    VZMgrServicer,
)
from pyxie_vzmgr.controllers.updates import ReleaseWatcher, UpdateOfferer
from pyxie_vzmgr.schema import MIGRATIONS
from pyxie_vzmgr.settings import VzmgrSettings

__all__ = ["build"]


async def build(settings: VzmgrSettings) -> Service:
    """Migrate, connect cloud NATS, and assemble the gRPC services, heartbeats and monitor."""
    engine = await open_migrated(MIGRATIONS, settings.database_url.get_secret_value())
    bus = await NatsBus.connect(settings.nats_url, name="vzmgr")
    registry = VizierRegistry(engine, settings.at_rest_cipher())
    tracker: grpc.aio.Channel | None = None
    watcher: ReleaseWatcher | None = None
    offerer: UpdateOfferer | None = None
    if settings.artifact_tracker_addr:
        tracker = grpc.aio.insecure_channel(settings.artifact_tracker_addr)
        watcher = ReleaseWatcher(cpb_grpc.ArtifactTrackerStub(tracker))
        offerer = UpdateOfferer(
            bus, watcher, offer_interval_seconds=settings.update_offer_interval_seconds
        )
    heartbeats = HeartbeatListener(
        bus,
        registry,
        settings.shards(),
        on_heartbeat=offerer.on_heartbeat if offerer is not None else None,
    )
    monitor = StatusMonitor(
        registry,
        interval_seconds=settings.status_monitor_interval_seconds,
        timeout_seconds=settings.heartbeat_timeout_seconds,
        updating_timeout_seconds=settings.updating_heartbeat_timeout_seconds,
    )
    service = Service(
        settings,
        [
            VZMgrServicer(registry).registration(),
            DeploymentServicer(registry).registration(),
            DeploymentKeyServicer(DeployKeyStore(engine)).registration(),
        ],
        name="vzmgr",
    )
    # Closers run last-registered first: the listener stops before NATS and the pool go.
    service.add_closer("database", engine.dispose)
    service.add_closer("nats", bus.drain)
    # Security events go to the cloud's audit log (stored by auth) over NATS.
    service.add_closer(
        "audit sink",
        publish_audit_events(lambda data: bus.client.publish(AUDIT_EVENTS_SUBJECT, data)),
    )
    service.add_closer("heartbeats", heartbeats.stop)
    service.add_task(monitor.task)
    if watcher is not None and tracker is not None:
        channel = tracker
        service.add_closer("artifact tracker channel", lambda: channel.close(None))
        service.add_task(
            BackgroundTask.periodic(
                "vzmgr-release-watcher",
                watcher.tick,
                interval_seconds=settings.release_poll_seconds,
            )
        )
    await heartbeats.start()
    return service
