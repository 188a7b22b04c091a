"""Pixie's artifact manifest: parsing, the in-memory store, and the poller that refreshes it.

`manifest.json` is a JSON array of `ArtifactSet` in protobuf JSON (camelCase). Unknown fields
and enum names (e.g. Pixie's `AT_DARWIN_ARM64`, not in the public proto) are ignored. Mirror
URLs may be relative: they are resolved against the manifest's URL.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping

from google.protobuf import json_format
from packaging.version import InvalidVersion, Version
from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb
from pyxie_service import get_logger

__all__ = ["ArtifactStore", "Fetch", "ManifestError", "ManifestPoller", "parse_manifest"]

_log = get_logger("pyxie.artifact_tracker")

Fetch = Callable[[str, float], bytes]


class ManifestError(Exception):
    """The manifest could not be fetched or parsed."""


def _version(text: str) -> Version | None:
    try:
        return Version(text.removeprefix("v"))
    except InvalidVersion:
        return None


def is_prerelease(text: str) -> bool:
    """Pixie drops semver prereleases (`1.2.0-rc1`) from lists; unparsable versions too."""
    version = _version(text)
    return version is None or version.is_prerelease or version.is_devrelease


def parse_manifest(data: bytes, base_url: str = "") -> dict[str, cpb.ArtifactSet]:
    """Artifact sets by name, each sorted newest first; relative URLs resolved on `base_url`."""
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise ManifestError(f"the artifact manifest is not JSON: {exc}") from exc
    if not isinstance(doc, list):
        raise ManifestError("the artifact manifest must be a JSON array of artifact sets")
    sets: dict[str, cpb.ArtifactSet] = {}
    for item in doc:
        artifact_set = cpb.ArtifactSet()
        try:
            json_format.ParseDict(item, artifact_set, ignore_unknown_fields=True)
        except json_format.ParseError as exc:
            raise ManifestError(f"invalid artifact set in the manifest: {exc}") from exc
        if not artifact_set.name:
            raise ManifestError("an artifact set in the manifest has no name")
        for artifact in artifact_set.artifact:
            for mirror in artifact.available_artifact_mirrors:
                resolved = [urllib.parse.urljoin(base_url, url) for url in mirror.urls]
                del mirror.urls[:]
                mirror.urls.extend(resolved)
        merged = sets.setdefault(artifact_set.name, cpb.ArtifactSet(name=artifact_set.name))
        merged.artifact.extend(artifact_set.artifact)
    for artifact_set in sets.values():
        ordered = sorted(
            artifact_set.artifact,
            key=lambda a: _version(a.version_str) or Version("0"),
            reverse=True,
        )
        del artifact_set.artifact[:]
        artifact_set.artifact.extend(ordered)
    return sets


def _types_of(artifact: cpb.Artifact) -> set[int]:
    types: set[int] = set(artifact.available_artifacts)
    types.update(mirror.artifact_type for mirror in artifact.available_artifact_mirrors)
    return types


class ArtifactStore:
    """The artifact sets currently served; replaced as a whole when the manifest changes."""

    def __init__(self, pinned: Mapping[str, str] | None = None) -> None:
        self._sets: dict[str, cpb.ArtifactSet] = {}
        self._pinned = dict(pinned or {})
        self.checksum = ""

    def replace(self, sets: Mapping[str, cpb.ArtifactSet], checksum: str) -> None:
        self._sets = dict(sets)
        self.checksum = checksum

    def names(self) -> list[str]:
        return sorted(set(self._sets) | set(self._pinned))

    def artifact_list(self, name: str, artifact_type: int, limit: int) -> cpb.ArtifactSet | None:
        """Releases of `name` (no prereleases) that have `artifact_type` (AT_UNKNOWN: any),
        newest first, at most `limit` (0: all). None: no such artifact."""
        if name in self._pinned:
            result = cpb.ArtifactSet(name=name)
            pinned = cpb.Artifact(version_str=self._pinned[name])
            if artifact_type != cpb.AT_UNKNOWN:
                pinned.available_artifacts.append(artifact_type)  # type: ignore[arg-type]
            result.artifact.append(pinned)
            return result
        artifact_set = self._sets.get(name)
        if artifact_set is None:
            return None
        result = cpb.ArtifactSet(name=name)
        for artifact in artifact_set.artifact:
            if is_prerelease(artifact.version_str):
                continue
            if artifact_type != cpb.AT_UNKNOWN and artifact_type not in _types_of(artifact):
                continue
            result.artifact.append(artifact)
            if 0 < limit <= len(result.artifact):
                break
        return result

    def find(self, name: str, version: str) -> cpb.Artifact | None:
        artifact_set = self._sets.get(name)
        if artifact_set is None:
            return None
        wanted = _version(version)
        for artifact in artifact_set.artifact:
            if artifact.version_str == version or (
                wanted is not None and _version(artifact.version_str) == wanted
            ):
                return artifact
        return None


def fetch_url(url: str, timeout: float) -> bytes:
    """GET `url` (http, https or file)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        data: bytes = response.read()
        return data


class ManifestPoller:
    """Fetches the checksum; when it changed, the manifest, checked against it, into `store`."""

    def __init__(
        self,
        store: ArtifactStore,
        manifest_url: str,
        sha_url: str,
        *,
        timeout_seconds: float,
        fetch: Fetch = fetch_url,
    ) -> None:
        self._store = store
        self._url = manifest_url
        self._sha_url = sha_url
        self._timeout = timeout_seconds
        self._fetch = fetch

    async def poll(self) -> bool:
        """One poll; True when the store was replaced. Raises `ManifestError` on failure."""
        try:
            checksum_text = await asyncio.to_thread(self._fetch, self._sha_url, self._timeout)
        except OSError as exc:
            raise ManifestError(f"cannot fetch {self._sha_url}: {exc}") from exc
        checksum = checksum_text.decode(errors="replace").split()[0] if checksum_text else ""
        if checksum and checksum == self._store.checksum:
            return False
        try:
            data = await asyncio.to_thread(self._fetch, self._url, self._timeout)
        except OSError as exc:
            raise ManifestError(f"cannot fetch {self._url}: {exc}") from exc
        actual = hashlib.sha256(data).hexdigest()
        if actual != checksum:
            # Being written, or not the manifest its checksum names: keep what we serve.
            raise ManifestError(
                f"the manifest at {self._url} hashes to {actual}, its checksum file says "
                f"{checksum or 'nothing'}; keeping the current artifacts"
            )
        sets = parse_manifest(data, self._url)
        self._store.replace(sets, checksum)
        _log.info(
            "artifact manifest loaded",
            url=self._url,
            sets={name: len(s.artifact) for name, s in sets.items()},
        )
        return True

    async def tick(self) -> None:
        """The periodic task's tick: a failure is logged, the next tick retries."""
        try:
            await self.poll()
        except ManifestError as exc:
            _log.warning("artifact manifest not updated", reason=str(exc))
