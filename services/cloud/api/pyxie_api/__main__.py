"""`python -m pyxie_api`: wiring only."""

from __future__ import annotations

import asyncio
import contextlib

from pyxie_service import NatsBus, Service, get_logger, run_service

from pyxie_api.app import build_backends, build_service, server_certificate
from pyxie_api.controllers.http import OidcProvider, build_http_app
from pyxie_api.settings import ApiSettings

_log = get_logger("pyxie.api")


async def wire(settings: ApiSettings) -> Service:
    certificate = server_certificate(settings)
    backends, channels = build_backends(settings)
    bus = await NatsBus.connect(settings.nats_url, name="api")
    parts = build_service(settings, backends, bus.client, certificate=certificate)
    service = parts.service

    async def close_channels() -> None:
        for channel in channels:
            await channel.close(None)

    service.add_closer("nats", bus.drain)
    service.add_closer("backend channels", close_channels)
    if settings.http_enabled:
        provider = await OidcProvider.discover(settings) if settings.oidc_issuer else None
        app = build_http_app(settings, backends, provider=provider)
        ssl = None
        if certificate is not None and settings.tls_cert_file and settings.tls_key_file:
            ssl = {"cert": str(settings.tls_cert_file), "key": str(settings.tls_key_file)}
        elif certificate is not None and settings.tls_ca_dir is not None:
            ssl = {
                "cert": str(settings.tls_ca_dir / "api.crt"),
                "key": str(settings.tls_ca_dir / "api.key"),
            }
        server = await app.create_server(
            settings.http_host,
            settings.http_port,
            ssl=ssl,
            return_asyncio_server=True,
            access_log=False,
        )
        if server is None:
            raise OSError(f"could not serve HTTP on {settings.http_host}:{settings.http_port}")
        await server.startup()  # type: ignore[no-untyped-call]
        await server.start_serving()  # type: ignore[no-untyped-call]
        _log.info("http started", port=settings.http_port, tls=ssl is not None)

        async def close_http() -> None:
            with contextlib.suppress(Exception):
                await server.close()  # type: ignore[no-untyped-call]
            await asyncio.sleep(0)

        service.add_closer("http", close_http)
    return service


if __name__ == "__main__":
    raise SystemExit(run_service(ApiSettings, wire))
