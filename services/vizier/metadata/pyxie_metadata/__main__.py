"""`python -m pyxie_metadata`: wiring only."""

from __future__ import annotations

from pyxie_service import NatsBus, Service, run_service

from pyxie_metadata.controllers.runtime import MetadataRuntime, build_provider, open_kv_store
from pyxie_metadata.settings import MetadataSettings


async def wire(settings: MetadataSettings) -> Service:
    provider = build_provider(settings)
    kv = await open_kv_store(settings)
    bus = await NatsBus.connect(settings.nats_url, name="metadata")
    runtime = await MetadataRuntime.start(settings, kv, bus, provider)
    service = Service(settings, [runtime.registration()], name="metadata")
    # Closers run last-registered first: the runtime, then NATS, then the store.
    service.add_closer("kv", kv.close)
    service.add_closer("nats", bus.drain)
    service.add_closer("metadata", runtime.stop)
    return service


if __name__ == "__main__":
    raise SystemExit(run_service(MetadataSettings, wire))
