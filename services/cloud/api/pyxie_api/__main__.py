"""`python -m pyxie_api`: wiring only."""

from __future__ import annotations

import ssl

from pyxie_service import NatsBus, Service, get_logger, run_service

from pyxie_api.app import build_backends, build_service, https_files, server_certificate
from pyxie_api.controllers.http import OidcProvider, build_http_app, start_http_server
from pyxie_api.controllers.passthrough import PassthroughProxy
from pyxie_api.controllers.ui_http import UiDeps, bundled_scripts, register_ui_routes
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
        ui_proxy = PassthroughProxy(
            bus.client,
            first_reply_seconds=settings.passthrough_first_reply_seconds,
            idle_seconds=settings.passthrough_idle_seconds,
        )
        register_ui_routes(
            app,
            UiDeps(
                backends,
                parts.authenticator,
                parts.directory,
                ui_proxy,
                ui_dir=settings.ui_dir,
                oidc_enabled=provider is not None,
                scripts=bundled_scripts,
            ),
        )
        tls = None
        if certificate is not None:
            cert_file, key_file = https_files(settings)
            tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls.load_cert_chain(cert_file, key_file)
        http = await start_http_server(app, settings.http_host, settings.http_port, tls)
        _log.info("http started", port=http.port, tls=tls is not None)
        service.add_closer("http", http.close)
    return service


if __name__ == "__main__":
    raise SystemExit(run_service(ApiSettings, wire))
