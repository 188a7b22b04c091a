"""`OperatorSettings`: the operator's `PL_*` settings, read once at start."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from pyxie_service.settings import ENV_PREFIX

__all__ = ["OperatorSettings"]

Seconds = Annotated[float, Field(gt=0)]


class OperatorSettings(BaseSettings):
    """Env var = `PL_` + field name in upper case (e.g. `PL_BACKEND=podman`).

    Not a `ServiceSettings`: the operator serves no gRPC and signs no tokens, so it needs no
    JWT signing key; it talks to Kubernetes (or podman), the release repository and the registry.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, case_sensitive=False, extra="ignore", frozen=True
    )

    backend: Literal["podman", "kubernetes"] = "kubernetes"
    # podman: where the Vizier resource file, its status, secrets and manifests live.
    state_dir: Path = Path("/var/lib/pyxie/operator")
    # podman: prefix of pod, ConfigMap and volume names (two viziers on one host differ here).
    plane: str = "vizier"
    # podman: chart values for one host (ports, host network) as JSON.
    podman_values_file: Path | None = None
    # The release repository (TUF metadata + targets) and the trust anchor shipped with us.
    release_repository_url: str
    trusted_root_file: Path
    release_cache_dir: Path = Path("/var/lib/pyxie/operator/tuf")
    # host:port of the image registry and the image-signing public key (PEM).
    registry: str
    image_signing_key_file: Path
    # A local registry over plain HTTP (tests): pull without TLS.
    registry_tls_verify: bool = True
    # How often the reconciler looks at the vizier.
    interval_seconds: Seconds = 5.0
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"
