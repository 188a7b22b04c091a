"""`build`: the api's only composition root (used by `__main__` and `testing.running_api`)."""

from __future__ import annotations

import ssl
import time
from pathlib import Path
from typing import Final

import grpc
from pyxie_crypto import IssuedCertificate, ensure_local_ca
from pyxie_proto.api.cloudpb import cloudapi_pb2_grpc as cpb_grpc
from pyxie_proto.api.vizierpb import vizierapi_pb2_grpc as vpb_grpc
from pyxie_proto.cloud.subjects import AUDIT_EVENTS_SUBJECT
from pyxie_service import NatsBus, Service, ServiceRegistration, get_logger
from pyxie_service.audit import publish_audit_events
from pyxie_service.ratelimit import FailureLimiter

from pyxie_api.controllers.artifacts import ARTIFACT_METHODS, ArtifactTrackerProxy
from pyxie_api.controllers.autocomplete import (
    AutocompleteServicer,
    ClusterEntities,
    PassthroughRunner,
)
from pyxie_api.controllers.backends import CloudBackends, ServiceTokenSource
from pyxie_api.controllers.caller import Authenticator, AuthMiddleware
from pyxie_api.controllers.clusters import ClusterDirectory, ClusterInfoServicer
from pyxie_api.controllers.deploy_config import (
    ConfigServicer,
    DeployDefaults,
    ImageAuthorizationServicer,
)
from pyxie_api.controllers.http import OidcProvider, build_http_app, start_http_server
from pyxie_api.controllers.keys import APIKeyManagerServicer, DeploymentKeyManagerServicer
from pyxie_api.controllers.login import LOGIN_METHOD, LoginServicer
from pyxie_api.controllers.passthrough import (
    NatsPublisher,
    PassthroughProxy,
    VizierPassthroughServicer,
)
from pyxie_api.controllers.plugins import PluginProxyServicer
from pyxie_api.controllers.profile import OrganizationServicer, UserServicer
from pyxie_api.controllers.scripts import ScriptMgrServicer, bundled_library
from pyxie_api.controllers.ui_http import UiDeps, bundled_scripts, register_ui_routes
from pyxie_api.settings import ApiSettings

__all__ = [
    "API_CERT_NAME",
    "SERVED_SERVICES",
    "build",
    "build_backends",
    "https_files",
    "server_certificate",
]

SERVED_SERVICES: Final = (
    "px.cloudapi.VizierClusterInfo",
    "px.cloudapi.APIKeyManager",
    "px.cloudapi.VizierDeploymentKeyManager",
    "px.cloudapi.AuthService",
    "px.cloudapi.ArtifactTracker",
    "px.cloudapi.PluginService",
    "px.api.vizierpb.VizierService",
    # The rest of px.cloudapi (issue 18); see `_parity_registrations`.
    "px.cloudapi.UserService",
    "px.cloudapi.OrganizationService",
    "px.cloudapi.ScriptMgr",
    "px.cloudapi.AutocompleteService",
    "px.cloudapi.ConfigService",
    "px.cloudapi.VizierImageAuthorization",
)
API_CERT_NAME: Final = "api"

_log = get_logger("pyxie.api")


async def build(settings: ApiSettings) -> Service:
    """The api: gRPC gateway (TLS per the settings) and, if enabled, the HTTP login server.

    Connects cloud NATS (the passthrough) and channels to auth and vzmgr; the HTTP server starts
    listening here and closes with the service.
    """
    certificate = server_certificate(settings)
    backends, channels = build_backends(settings)
    artifacts = _channel(settings.artifact_tracker_addr, settings.internal_ca_file)
    channels.append(artifacts)
    bus = await NatsBus.connect(settings.nats_url, name="api")
    plugin_channel = _channel(settings.plugin_addr, settings.internal_ca_file)
    channels.append(plugin_channel)
    plugins = PluginProxyServicer(cpb_grpc.PluginServiceStub(plugin_channel), backends.tokens)
    service, authenticator, directory, proxy = _grpc_service(
        settings, backends, bus.client, certificate, ArtifactTrackerProxy(artifacts), plugins
    )

    async def close_channels() -> None:
        for channel in channels:
            await channel.close(None)

    service.add_closer("nats", bus.drain)
    # Security events go to the cloud's audit log (stored by auth) over NATS.
    service.add_closer(
        "audit sink",
        publish_audit_events(lambda data: bus.client.publish(AUDIT_EVENTS_SUBJECT, data)),
    )
    service.add_closer("backend channels", close_channels)
    if settings.http_enabled:
        provider = await OidcProvider.discover(settings) if settings.oidc_issuer else None
        app = build_http_app(settings, backends, provider=provider)
        register_ui_routes(
            app,
            UiDeps(
                backends,
                authenticator,
                directory,
                proxy,
                ui_dir=settings.ui_dir,
                oidc_enabled=provider is not None,
                scripts=bundled_scripts,
                plugins=plugins,
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


def _channel(address: str, ca_file: Path | None) -> grpc.aio.Channel:
    if ca_file is None:
        return grpc.aio.insecure_channel(address)
    credentials = grpc.ssl_channel_credentials(root_certificates=ca_file.read_bytes())
    return grpc.aio.secure_channel(address, credentials)


def build_backends(settings: ApiSettings) -> tuple[CloudBackends, list[grpc.aio.Channel]]:
    """Stubs of auth and vzmgr (channels connect lazily), and the channels to close."""
    auth = _channel(settings.auth_addr, settings.internal_ca_file)
    vzmgr = _channel(settings.vzmgr_addr, settings.internal_ca_file)
    tokens = ServiceTokenSource(settings.signing_key(), settings.jwt_audience, time.monotonic)
    return CloudBackends.from_channels(auth, vzmgr, tokens), [auth, vzmgr]


def server_certificate(settings: ApiSettings) -> IssuedCertificate | None:
    """The api's TLS certificate: from files, else issued by the local CA; None = plaintext."""
    if not settings.tls_enabled:
        return None
    if settings.tls_cert_file is not None and settings.tls_key_file is not None:
        ca_pem = b""
        if settings.tls_ca_dir is not None and (settings.tls_ca_dir / "ca.crt").exists():
            ca_pem = (settings.tls_ca_dir / "ca.crt").read_bytes()
        return IssuedCertificate(
            settings.tls_cert_file.read_bytes(), settings.tls_key_file.read_bytes(), ca_pem
        )
    if settings.tls_ca_dir is None:
        raise ValueError(
            "TLS is on but neither PL_TLS_CERT_FILE/PL_TLS_KEY_FILE nor PL_TLS_CA_DIR is set "
            "(or set PL_TLS_ENABLED=false)"
        )
    ca = ensure_local_ca(settings.tls_ca_dir)
    directory = settings.tls_ca_dir
    if (directory / f"{API_CERT_NAME}.crt").exists():
        return IssuedCertificate.load(directory, API_CERT_NAME)
    issued = ca.issue_server_certificate(dns_names=("localhost",), ip_addresses=("127.0.0.1",))
    issued.save(directory, API_CERT_NAME)
    return issued


def https_files(settings: ApiSettings) -> tuple[Path, Path]:
    """Certificate and key files for the HTTP server (the same certificate as gRPC)."""
    if settings.tls_cert_file is not None and settings.tls_key_file is not None:
        return settings.tls_cert_file, settings.tls_key_file
    if settings.tls_ca_dir is None:
        raise ValueError("TLS is on but no certificate is configured")
    return (
        settings.tls_ca_dir / f"{API_CERT_NAME}.crt",
        settings.tls_ca_dir / f"{API_CERT_NAME}.key",
    )


def _grpc_service(
    settings: ApiSettings,
    backends: CloudBackends,
    nats: NatsPublisher,
    certificate: IssuedCertificate | None,
    artifacts: ArtifactTrackerProxy,
    plugins: PluginProxyServicer,
) -> tuple[Service, Authenticator, ClusterDirectory, PassthroughProxy]:
    verifier = settings.token_verifier()
    limiter = FailureLimiter(
        "credential checks from this address",
        max_failures=settings.failed_credentials_per_minute,
        window_s=60.0,
        lockout_s=settings.failed_credentials_lockout_seconds,
    )
    authenticator = Authenticator(
        backends, verifier, cache_seconds=settings.auth_cache_seconds, limiter=limiter
    )
    directory = ClusterDirectory(backends)
    proxy = PassthroughProxy(
        nats,
        first_reply_seconds=settings.passthrough_first_reply_seconds,
        idle_seconds=settings.passthrough_idle_seconds,
    )
    clusters = ClusterInfoServicer(directory)
    api_keys = APIKeyManagerServicer(backends, authenticator)
    deploy_keys = DeploymentKeyManagerServicer(backends)
    login = LoginServicer(backends, authenticator)
    passthrough = VizierPassthroughServicer(directory, proxy)
    registrations = [
        ServiceRegistration(
            "px.cloudapi.VizierClusterInfo",
            lambda s: cpb_grpc.add_VizierClusterInfoServicer_to_server(clusters, s),
        ),
        ServiceRegistration(
            "px.cloudapi.APIKeyManager",
            lambda s: cpb_grpc.add_APIKeyManagerServicer_to_server(api_keys, s),
        ),
        ServiceRegistration(
            "px.cloudapi.VizierDeploymentKeyManager",
            lambda s: cpb_grpc.add_VizierDeploymentKeyManagerServicer_to_server(deploy_keys, s),
        ),
        ServiceRegistration(
            "px.cloudapi.AuthService",
            lambda s: cpb_grpc.add_AuthServiceServicer_to_server(login, s),
        ),
        ServiceRegistration(
            "px.cloudapi.ArtifactTracker",
            lambda s: cpb_grpc.add_ArtifactTrackerServicer_to_server(artifacts, s),
        ),
        ServiceRegistration(
            "px.cloudapi.PluginService",
            lambda s: cpb_grpc.add_PluginServiceServicer_to_server(plugins, s),
        ),
        ServiceRegistration(
            "px.api.vizierpb.VizierService",
            lambda s: vpb_grpc.add_VizierServiceServicer_to_server(passthrough, s),
        ),
    ]
    registrations += _parity_registrations(settings, backends, directory, proxy)
    middleware = AuthMiddleware(
        authenticator, SERVED_SERVICES, public_methods=(LOGIN_METHOD, *ARTIFACT_METHODS)
    )
    credentials = None
    if certificate is not None:
        credentials = grpc.ssl_server_credentials([(certificate.key_pem, certificate.cert_pem)])
    service = Service(
        settings,
        registrations,
        name="api",
        # The kit's bearer check is replaced by the api's own middleware (api keys, auth
        # service exchange), so every served method is "public" to the kit.
        public_methods=middleware.methods,
        server_credentials=credentials,
        extra_interceptors=(middleware,),
    )
    return service, authenticator, directory, proxy


def _parity_registrations(
    settings: ApiSettings,
    backends: CloudBackends,
    directory: ClusterDirectory,
    proxy: PassthroughProxy,
) -> list[ServiceRegistration]:
    """The px.cloudapi services beyond clusters, keys and login (users, orgs, scripts, ...)."""
    users = UserServicer(backends)
    orgs = OrganizationServicer(backends)
    scripts = ScriptMgrServicer(bundled_library)
    autocomplete = AutocompleteServicer(
        lambda: scripts.library, ClusterEntities(directory, PassthroughRunner(directory, proxy))
    )
    defaults = DeployDefaults(
        cloud_addr=settings.vizier_cloud_addr,
        image_registry=settings.vizier_image_registry,
        image_tag=settings.vizier_image_tag,
        image_credentials=settings.vizier_image_credentials.get_secret_value(),
        sentry_dsn=settings.sentry_dsn,
        sentry_operator_dsn=settings.sentry_operator_dsn,
    )
    config = ConfigServicer(backends, directory, defaults)
    images = ImageAuthorizationServicer(defaults)
    return [
        ServiceRegistration(
            "px.cloudapi.UserService",
            lambda s: cpb_grpc.add_UserServiceServicer_to_server(users, s),
        ),
        ServiceRegistration(
            "px.cloudapi.OrganizationService",
            lambda s: cpb_grpc.add_OrganizationServiceServicer_to_server(orgs, s),
        ),
        ServiceRegistration(
            "px.cloudapi.ScriptMgr",
            lambda s: cpb_grpc.add_ScriptMgrServicer_to_server(scripts, s),
        ),
        ServiceRegistration(
            "px.cloudapi.AutocompleteService",
            lambda s: cpb_grpc.add_AutocompleteServiceServicer_to_server(autocomplete, s),
        ),
        ServiceRegistration(
            "px.cloudapi.ConfigService",
            lambda s: cpb_grpc.add_ConfigServiceServicer_to_server(config, s),
        ),
        ServiceRegistration(
            "px.cloudapi.VizierImageAuthorization",
            lambda s: cpb_grpc.add_VizierImageAuthorizationServicer_to_server(images, s),
        ),
    ]
