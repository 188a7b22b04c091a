"""The metadata service's composition root: `build(settings) -> Service`.

`MetadataRuntime` holds the moving parts (registry, schema, update cursors, NATS lifecycle,
publisher, provider), rebuilt from the KV store and started together; `build` opens the store
and NATS from the settings and serves the runtime's `MetadataService`. Tests use the same
pieces through `pyxie_metadata.testing`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyxie_service import (
    BackgroundTask,
    Closer,
    NatsBus,
    Service,
    ServiceRegistration,
    get_logger,
)

from pyxie_metadata.controllers.agents import AgentRegistry
from pyxie_metadata.controllers.cron_scripts import CronScriptStore, CronScriptStoreServicer
from pyxie_metadata.controllers.lifecycle import AgentLifecycle
from pyxie_metadata.controllers.publisher import MetadataPublisher, MissingMetadataResponder
from pyxie_metadata.controllers.schema import SchemaRegistry
from pyxie_metadata.controllers.servicer import MetadataServicer, metadata_registration
from pyxie_metadata.controllers.tracepoints import (
    TracepointRegistry,
    TracepointServicer,
    tracepoint_registration,
)
from pyxie_metadata.controllers.updates import AgentUpdateTracker
from pyxie_metadata.kvstore import EtcdKVStore, KVStore, SqliteKVStore
from pyxie_metadata.providers import MetadataProvider
from pyxie_metadata.settings import MetadataSettings

__all__ = ["MetadataRuntime", "build", "build_provider", "metadata_service", "open_kv_store"]

_log = get_logger("pyxie.metadata")


async def open_kv_store(settings: MetadataSettings) -> KVStore:
    if settings.kv_backend == "etcd":
        return await EtcdKVStore.open(
            settings.etcd_endpoint, rpc_timeout=settings.etcd_timeout_seconds
        )
    return await SqliteKVStore.open(
        settings.kv_path, reap_interval=settings.kv_reap_interval_seconds
    )


def build_provider(settings: MetadataSettings) -> MetadataProvider | None:
    """The provider `PL_METADATA_PROVIDER` names (None for `none`)."""
    if settings.metadata_provider == "local":
        from pyxie_metadata.providers.local import LocalProvider
        from pyxie_metadata.providers.local_config import load_local_config

        return LocalProvider(
            load_local_config(settings.local_services_config),
            scan_interval=settings.local_scan_interval_seconds,
            resync_interval=settings.local_resync_interval_seconds,
            node_name=settings.local_node_name,
        )
    if settings.metadata_provider == "kubernetes":
        from pyxie_metadata.providers.kube import (
            KubernetesProvider,
            WatchEventSource,
            kube_list_functions,
        )

        functions = kube_list_functions(settings.kube_config, settings.kube_namespaces)
        return KubernetesProvider(WatchEventSource(functions))
    return None


@dataclass
class MetadataRuntime:
    """Registry, schema, update cursors, NATS lifecycle, publisher and provider, started."""

    registry: AgentRegistry
    schema: SchemaRegistry
    tracker: AgentUpdateTracker
    lifecycle: AgentLifecycle
    publisher: MetadataPublisher
    responder: MissingMetadataResponder
    servicer: MetadataServicer
    provider_task: BackgroundTask | None
    tracepoints: TracepointRegistry

    @classmethod
    async def start(
        cls,
        settings: MetadataSettings,
        kv: KVStore,
        bus: NatsBus,
        provider: MetadataProvider | None,
    ) -> MetadataRuntime:
        """Rebuild the state from `kv`, then start serving NATS and the provider."""
        registry = await AgentRegistry.load(kv)
        schema = await SchemaRegistry.load(kv)
        tracker = AgentUpdateTracker()
        tracepoints = await TracepointRegistry.load(
            kv,
            bus,
            registry,
            tick_seconds=settings.tracepoint_tick_seconds,
            schema=schema.computed_schema,
        )
        lifecycle = AgentLifecycle(
            bus,
            registry,
            schema,
            tracker,
            expiration_timeout=settings.agent_expiration_timeout_seconds,
            process_ttl=settings.process_ttl_seconds,
            tracepoints=tracepoints,
        )
        publisher = await MetadataPublisher.load(
            kv, bus, update_ttl_seconds=settings.metadata_update_ttl_seconds
        )
        responder = MissingMetadataResponder(bus.client, publisher)
        servicer = MetadataServicer(
            registry,
            schema,
            tracker,
            unhealthy_threshold_seconds=settings.unhealthy_agent_threshold_seconds,
            kv=kv,
        )
        await lifecycle.start()
        await responder.start()
        tracepoints.start()
        provider_task = None
        if provider is not None:
            run_provider = provider.run
            provider_task = BackgroundTask(
                f"metadata-provider-{provider.name}", lambda: run_provider(publisher.publish)
            )
            provider_task.start()
        _log.info(
            "metadata state loaded",
            agents=len(registry.ids()),
            tables=len(schema.computed_schema().tables),
            update_version=publisher.version,
            provider=None if provider is None else provider.name,
        )
        return cls(
            registry,
            schema,
            tracker,
            lifecycle,
            publisher,
            responder,
            servicer,
            provider_task,
            tracepoints,
        )

    def registration(self) -> ServiceRegistration:
        return metadata_registration(self.servicer)

    def registrations(self) -> list[ServiceRegistration]:
        return [
            metadata_registration(self.servicer),
            tracepoint_registration(TracepointServicer(self.tracepoints)),
        ]

    async def stop(self) -> None:
        """Stop the provider and NATS handling; end every GetAgentUpdates stream."""
        if self.provider_task is not None:
            await self.provider_task.stop()
            self.provider_task = None
        await self.tracepoints.stop()
        await self.responder.stop()
        await self.lifecycle.stop()
        self.tracker.close_all()


async def metadata_service(
    settings: MetadataSettings,
    kv: KVStore,
    bus: NatsBus,
    provider: MetadataProvider | None,
    *,
    resources: Sequence[tuple[str, Closer]] = (),
) -> tuple[MetadataRuntime, Service]:
    """The started runtime and the service that serves it; `resources` close after it stopped."""
    runtime = await MetadataRuntime.start(settings, kv, bus, provider)
    cron_scripts = CronScriptStoreServicer(CronScriptStore(kv))
    service = Service(
        settings, [*runtime.registrations(), cron_scripts.registration()], name="metadata"
    )
    # Closers run last-registered first: the runtime, then the resources.
    for name, closer in resources:
        service.add_closer(name, closer)
    service.add_closer("metadata", runtime.stop)
    return runtime, service


async def build(settings: MetadataSettings) -> Service:
    """The service from its settings: the KV store, NATS, the runtime and its gRPC servicer."""
    provider = build_provider(settings)
    kv = await open_kv_store(settings)
    bus = await NatsBus.connect(settings.nats_url, name="metadata")
    _, service = await metadata_service(
        settings, kv, bus, provider, resources=[("kv", kv.close), ("nats", bus.drain)]
    )
    return service
