"""`ArtifactTrackerSettings`: the artifact tracker's `PL_*` settings, read once at start."""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import Field, field_validator
from pyxie_service import ServiceSettings

__all__ = ["DEFAULT_GRPC_PORT", "ArtifactTrackerSettings"]

# Pixie's artifact-tracker port.
DEFAULT_GRPC_PORT: Final = 50750


class ArtifactTrackerSettings(ServiceSettings):
    """Env var = `PL_` + field name in upper case (e.g. `PL_ARTIFACT_MANIFEST_URL`).

    `artifact_manifest_url` is the manifest to poll (http(s):// or file://; empty = none, only
    the pinned versions are served); its checksum file is `artifact_manifest_sha_url` (default
    `<url>.sha256`), fetched every `manifest_poll_seconds`: the manifest is downloaded only when
    the checksum changed, and used only when it matches. `vizier_version`, `cli_version` and
    `operator_version` pin one version of that artifact and skip the manifest for it.
    """

    grpc_port: Annotated[int, Field(ge=0, le=65535)] = DEFAULT_GRPC_PORT
    artifact_manifest_url: str = ""
    artifact_manifest_sha_url: str = ""
    manifest_poll_seconds: Annotated[float, Field(gt=0)] = 60.0
    manifest_fetch_timeout_seconds: Annotated[float, Field(gt=0)] = 30.0
    # How long a download link is said to be valid (Pixie's signed URLs: 60 minutes).
    download_link_valid_seconds: Annotated[float, Field(gt=0)] = 3600.0
    vizier_version: str = ""
    cli_version: str = ""
    operator_version: str = ""

    @field_validator("artifact_manifest_url", "artifact_manifest_sha_url")
    @classmethod
    def _url_scheme(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://", "file://")):
            raise ValueError("must be an http://, https:// or file:// URL")
        return value

    def manifest_sha_url(self) -> str:
        if self.artifact_manifest_sha_url:
            return self.artifact_manifest_sha_url
        return f"{self.artifact_manifest_url}.sha256" if self.artifact_manifest_url else ""

    def pinned_versions(self) -> dict[str, str]:
        pins = {
            "vizier": self.vizier_version,
            "cli": self.cli_version,
            "operator": self.operator_version,
        }
        return {name: version for name, version in pins.items() if version}
