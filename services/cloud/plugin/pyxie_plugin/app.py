"""`build`: the plugin service's only composition root (`__main__` and `testing.running_plugin`)."""

from __future__ import annotations

import grpc
from pyxie_db import open_migrated
from pyxie_proto.cloud.vzmgrpb import vzmgr_pb2_grpc
from pyxie_service import NatsBus, Service

from pyxie_plugin.controllers import (
    CronScriptSync,
    PluginServicer,
    PluginStore,
    ReleaseCatalog,
    SyncTimings,
    VizierDirectory,
    VzmgrDirectory,
    bundled_catalog,
)
from pyxie_plugin.schema import MIGRATIONS
from pyxie_plugin.settings import PluginSettings

__all__ = ["build"]


def _channel(settings: PluginSettings) -> grpc.aio.Channel:
    if settings.internal_ca_file is None:
        return grpc.aio.insecure_channel(settings.vzmgr_addr)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=settings.internal_ca_file.read_bytes()
    )
    return grpc.aio.secure_channel(settings.vzmgr_addr, credentials)


async def build(
    settings: PluginSettings,
    *,
    directory: VizierDirectory | None = None,
    catalog: ReleaseCatalog | None = None,
) -> Service:
    """Migrate, connect cloud NATS and vzmgr, and assemble PluginService and the sync.

    Test seams: `directory` replaces vzmgr (which viziers an org has), `catalog` the bundled
    plugin releases.
    """
    engine = await open_migrated(MIGRATIONS, settings.database_url.get_secret_value())
    bus = await NatsBus.connect(settings.nats_url, name="plugin")
    store = PluginStore(engine, settings.at_rest_cipher())
    catalog = catalog or bundled_catalog()
    channel: grpc.aio.Channel | None = None
    if directory is None:
        channel = _channel(settings)
        directory = VzmgrDirectory(
            vzmgr_pb2_grpc.VZMgrServiceStub(channel),
            settings.signing_key(),
            settings.jwt_audience,
        )
    sync = CronScriptSync(
        bus,
        store,
        catalog,
        directory,
        SyncTimings(
            ack_seconds=settings.cron_update_ack_seconds,
            retry_initial_seconds=settings.cron_update_retry_initial_seconds,
            retry_max_seconds=settings.cron_update_retry_max_seconds,
            give_up_seconds=settings.cron_update_give_up_seconds,
        ),
    )
    servicer = PluginServicer(store, catalog, settings.token_verifier(), sync)
    service = Service(settings, [servicer.registration()], name="plugin")
    # Closers run last-registered first: the sync stops before NATS, vzmgr and the pool go.
    service.add_closer("database", engine.dispose)
    if channel is not None:
        vzmgr_channel = channel

        async def close_vzmgr() -> None:
            await vzmgr_channel.close(None)

        service.add_closer("vzmgr channel", close_vzmgr)
    service.add_closer("nats", bus.drain)
    service.add_closer("cron-script sync", sync.stop)
    await sync.start()
    return service
