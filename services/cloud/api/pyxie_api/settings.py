"""`ApiSettings`: every `PL_*` variable the api service reads, once, at start."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pyxie_service import ServiceSettings

__all__ = ["DEFAULT_DOMAIN_NAME", "ApiSettings"]

DEFAULT_DOMAIN_NAME = "pyxie.local"


class ApiSettings(ServiceSettings):
    """Settings of the api service. Env var = `PL_` + field name in upper case."""

    grpc_port: int = Field(default=51200, ge=0, le=65535)
    # The cloud's domain: the audience of every cloud JWT.
    domain_name: str = Field(default=DEFAULT_DOMAIN_NAME, min_length=1)
    jwt_audience: str = Field(default=DEFAULT_DOMAIN_NAME, min_length=1)

    auth_addr: str = "127.0.0.1:50100"
    vzmgr_addr: str = "127.0.0.1:51800"
    # px.cloudapi.ArtifactTracker is forwarded here (Pixie's artifact-tracker port).
    artifact_tracker_addr: str = "127.0.0.1:50750"
    plugin_addr: str = "127.0.0.1:50600"
    # PEM CA that internal services' certificates chain to; empty = plaintext inside the cloud.
    internal_ca_file: Path | None = None

    # Public TLS (on by default). With no cert/key files the service issues itself a
    # certificate from the local CA kept in `tls_ca_dir`.
    tls_enabled: bool = True
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_ca_dir: Path | None = None

    # Augmented tokens are cached for this long per credential: the auth service is asked at
    # most once per key per window. Short, so that a deleted key stops working quickly.
    auth_cache_seconds: float = Field(default=10.0, ge=0)
    # Brute-force limits. A client address that fails this many credential checks (API keys,
    # tokens) within a minute is refused unchecked for `failed_credentials_lockout_seconds`;
    # an email with this many wrong passwords within 5 minutes is locked for 5 minutes.
    failed_credentials_per_minute: int = Field(default=30, ge=1)
    failed_credentials_lockout_seconds: float = Field(default=60.0, ge=0)
    failed_logins_per_email: int = Field(default=5, ge=1)
    failed_logins_per_address: int = Field(default=20, ge=1)

    # Passthrough: the vizier answers a request quickly (its broker compiles first); silence
    # this long before the first reply means it is not reachable.
    passthrough_first_reply_seconds: float = Field(default=30.0, gt=0)
    # Between two replies of a running query (Pixie's broker watchdog is 180 s).
    passthrough_idle_seconds: float = Field(default=180.0, gt=0)

    # Browser login over HTTP (sanic), JSON for the web UI.
    http_enabled: bool = True
    http_host: str = "0.0.0.0"
    http_port: int = Field(default=51280, ge=0, le=65535)
    # Where the browser is sent after an OIDC login.
    http_post_login_redirect: str = "/"
    # Origins allowed to POST to the login endpoints (the UI's); empty = same host only.
    http_allowed_origins: tuple[str, ...] = ()

    # The built web UI (`ui/dist` after `make ui`), served at `/`; empty = no UI.
    ui_dir: Path | None = None

    # OpenID Connect provider for browser login; empty issuer = password login only.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr = SecretStr("")
    oidc_redirect_url: str = ""
    oidc_scopes: str = "openid email profile"

    # What viziers deploy with (ConfigService, VizierImageAuthorization), when their spec
    # leaves it empty: vzconn's public host:port, the image registry and tag, registry
    # credentials (empty: public images) and where viziers/the operator report errors.
    vizier_cloud_addr: str = ""
    vizier_image_registry: str = "localhost"
    vizier_image_tag: str = "0.1.0"
    vizier_image_credentials: SecretStr = SecretStr("")
    sentry_dsn: str = ""
    sentry_operator_dsn: str = ""
