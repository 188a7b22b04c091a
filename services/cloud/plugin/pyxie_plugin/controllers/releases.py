"""The plugin releases this service offers, with their preset retention scripts.

A release is package data (Pixie loads its registry from the pixie-plugin repository into the
database with a `load_db` tool; here the catalog ships with the service, so a deploy is the
update). Preset scripts are PxL files under `pyxie_plugin/presets/<plugin>/`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Final

__all__ = [
    "OPENTELEMETRY_PLUGIN_ID",
    "PluginRelease",
    "PresetScript",
    "ReleaseCatalog",
    "bundled_catalog",
]

OPENTELEMETRY_PLUGIN_ID: Final = "otel"

# Small (plain shapes, no scripts) so it rides in every GetPlugins answer.
_OTEL_LOGO: Final = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    '<circle cx="16" cy="16" r="14" fill="none" stroke="#f5a800" stroke-width="4"/>'
    '<circle cx="16" cy="16" r="5" fill="#425cc7"/></svg>'
)

_VERSION: Final = re.compile(r"\d+\.\d+\.\d+")


@dataclass(frozen=True)
class PresetScript:
    name: str
    description: str
    frequency_s: int
    contents: str


@dataclass(frozen=True)
class PluginRelease:
    id: str
    name: str
    version: str
    description: str
    logo: str
    # Config key -> what it is. For the OpenTelemetry plugin every config is an OTLP header
    # (key = header name); the listed ones are documented examples.
    configs: Mapping[str, str]
    # Any header name is accepted as a config key (else only the listed keys).
    configs_are_headers: bool
    default_export_url: str
    allow_custom_export_url: bool
    allow_insecure_tls: bool
    presets: tuple[PresetScript, ...] = field(default=())

    def __post_init__(self) -> None:
        if not _VERSION.fullmatch(self.version):
            raise ValueError(f"plugin {self.id}: version {self.version!r} is not x.y.z")


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


class ReleaseCatalog:
    """Every release of every plugin; the newest release of a plugin is its latest."""

    def __init__(self, releases: tuple[PluginRelease, ...]) -> None:
        self._releases: dict[tuple[str, str], PluginRelease] = {}
        for release in releases:
            key = (release.id, release.version)
            if key in self._releases:
                raise ValueError(f"plugin {release.id} {release.version} is listed twice")
            self._releases[key] = release

    def latest_releases(self) -> list[PluginRelease]:
        newest: dict[str, PluginRelease] = {}
        for release in self._releases.values():
            known = newest.get(release.id)
            if known is None or _version_key(release.version) > _version_key(known.version):
                newest[release.id] = release
        return sorted(newest.values(), key=lambda release: release.name.lower())

    def latest(self, plugin_id: str) -> PluginRelease | None:
        return next((r for r in self.latest_releases() if r.id == plugin_id), None)

    def get(self, plugin_id: str, version: str) -> PluginRelease | None:
        return self._releases.get((plugin_id, version))


def _preset(plugin_dir: str, file_name: str) -> str:
    return (resources.files("pyxie_plugin") / "presets" / plugin_dir / file_name).read_text(
        encoding="utf-8"
    )


def _opentelemetry() -> PluginRelease:
    return PluginRelease(
        id=OPENTELEMETRY_PLUGIN_ID,
        name="OpenTelemetry",
        version="1.0.0",
        description=(
            "Export metrics and spans to any OpenTelemetry (OTLP/gRPC) collector or vendor, "
            "for long-term retention. Each config is sent as an OTLP header."
        ),
        logo=_OTEL_LOGO,
        configs={
            "api-key": "API key of the export target, sent as the `api-key` header",
            "authorization": "Authorization header value (e.g. `Bearer <token>`)",
        },
        configs_are_headers=True,
        default_export_url="",
        allow_custom_export_url=True,
        allow_insecure_tls=True,
        presets=(
            PresetScript(
                "HTTP metrics",
                "Request count and latency summary per service and path",
                10,
                _preset("opentelemetry", "http_metrics.pxl"),
            ),
            PresetScript(
                "HTTP spans",
                "One span per traced HTTP request",
                10,
                _preset("opentelemetry", "http_spans.pxl"),
            ),
            PresetScript(
                "Process metrics",
                "Memory of the processes of each pod",
                10,
                _preset("opentelemetry", "process_metrics.pxl"),
            ),
        ),
    )


def bundled_catalog() -> ReleaseCatalog:
    """The releases that ship with this service."""
    return ReleaseCatalog((_opentelemetry(),))
