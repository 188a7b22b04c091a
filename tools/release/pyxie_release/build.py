"""Build a release: push every image signed, package the chart, publish the manifest via TUF.

The release manifest (TUF target `releases/<version>.json`) names, for the release version,
each service's image by repository and manifest digest, the vizier chart's and the CLI
wheel's target names and SHA-256. `latest.json` names the newest version. Chart and wheel are
TUF targets themselves, so all of a release is covered by the same signed metadata.
"""

from __future__ import annotations

import dataclasses
import datetime
import gzip
import hashlib
import io
import json
import pathlib
import subprocess
import tarfile
from collections.abc import Mapping
from typing import Any, Literal

from packaging.version import InvalidVersion, Version

from pyxie_release.keys import ReleaseKeys, SigningKey
from pyxie_release.registry import push_image
from pyxie_release.repository import ReleaseRepository

ROOT = pathlib.Path(__file__).resolve().parents[3]
CHART_DIR = ROOT / "k8s" / "charts" / "pyxie-vizier"
# The images of deploy/images/build.py (`make images`): services, then their dependencies.
SERVICES = (
    "api",
    "auth",
    "vzmgr",
    "vzconn",
    "artifact-tracker",
    "query-broker",
    "metadata",
    "kelvin",
    "cloud-connector",
    "pem",
    "postgres",
    "nats",
    "etcd",
)
MANIFEST_API_VERSION = "pyxie.dev/release/v1"
LATEST_TARGET = "latest.json"


def manifest_target(version: str) -> str:
    return f"releases/{version}.json"


def image_repository(service: str) -> str:
    return f"pyxie/{service}"


def local_image_sources(
    images_version: str, services: tuple[str, ...] = SERVICES
) -> dict[str, str]:
    """The images `make images` built in podman's storage (`localhost/pyxie-<name>:<version>`)."""
    return {
        name: f"containers-storage:localhost/pyxie-{name}:{images_version}" for name in services
    }


def package_chart(chart_dir: pathlib.Path, version: str) -> tuple[str, bytes]:
    """The chart as a `helm package`-style .tgz (deterministic: sorted, mtime 0, root-owned),
    with `version`/`appVersion` set to the release version."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for path in sorted(p for p in chart_dir.rglob("*") if p.is_file()):
            data = path.read_bytes()
            if path.name == "Chart.yaml":
                lines = []
                for line in data.decode().splitlines():
                    if line.startswith("version:"):
                        line = f"version: {version}"
                    elif line.startswith("appVersion:"):
                        line = f'appVersion: "{version}"'
                    lines.append(line)
                data = ("\n".join(lines) + "\n").encode()
            info = tarfile.TarInfo(f"{chart_dir.name}/{path.relative_to(chart_dir)}")
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    return f"{chart_dir.name}-{version}.tgz", gzip.compress(raw.getvalue(), mtime=0)


def build_cli_wheel(out_dir: pathlib.Path) -> pathlib.Path:
    """`uv build` the px CLI wheel (pyxie-cli) into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["uv", "build", "--package", "pyxie-cli", "--wheel", "--out-dir", str(out_dir), "-q"],
        cwd=ROOT,
        check=True,
    )
    return max(out_dir.glob("pyxie_cli-*.whl"), key=lambda p: p.stat().st_mtime)


@dataclasses.dataclass(frozen=True)
class ImageRef:
    repository: str
    digest: str


@dataclasses.dataclass(frozen=True)
class ReleaseManifest:
    version: str
    images: dict[str, ImageRef]
    chart: dict[str, str]  # target, sha256
    cli_wheel: dict[str, str] | None
    created: str

    def to_json(self) -> bytes:
        doc: dict[str, Any] = {
            "apiVersion": MANIFEST_API_VERSION,
            "version": self.version,
            "created": self.created,
            "images": {
                name: {"repository": ref.repository, "digest": ref.digest}
                for name, ref in sorted(self.images.items())
            },
            "chart": self.chart,
            "cliWheel": self.cli_wheel,
        }
        return json.dumps(doc, indent=2, sort_keys=True).encode() + b"\n"

    @classmethod
    def from_json(cls, data: bytes) -> ReleaseManifest:
        doc = json.loads(data)
        if doc.get("apiVersion") != MANIFEST_API_VERSION:
            raise ValueError(f"unknown release manifest apiVersion {doc.get('apiVersion')!r}")
        return cls(
            version=str(doc["version"]),
            images={
                str(name): ImageRef(str(ref["repository"]), str(ref["digest"]))
                for name, ref in doc["images"].items()
            },
            chart={str(k): str(v) for k, v in doc["chart"].items()},
            cli_wheel=doc.get("cliWheel"),
            created=str(doc.get("created", "")),
        )


def publish_manifest(
    repository: ReleaseRepository,
    manifest: ReleaseManifest,
    *,
    extra_targets: Mapping[str, bytes] | None = None,
    latest: Literal["newest", "this"] = "newest",
    **signers: Any,
) -> None:
    """Publish `manifest` (and `extra_targets`) as TUF targets in one new targets version.

    `latest.json` then names the newest published version (`latest="this"`: this one, even if
    older; only the rollback scenario does that). `signers` are passed to
    `ReleaseRepository.add_targets` (only the scenarios use them)."""
    files = dict(extra_targets or {})
    files[manifest_target(manifest.version)] = manifest.to_json()
    newest = manifest.version
    if latest == "newest" and LATEST_TARGET in repository.target_names():
        current = json.loads(repository.target_paths(LATEST_TARGET)[0].read_bytes())["version"]
        if Version(current) > Version(newest):
            newest = current
    files[LATEST_TARGET] = json.dumps({"version": newest}).encode()
    repository.add_targets(files, **signers)
    write_artifact_index(repository)


ARTIFACT_INDEX = "manifest.json"


def _target_url(repository: ReleaseRepository, name: str) -> str:
    """A target's file, relative to the repository root (where `manifest.json` lies)."""
    path = repository.target_paths(name)[0]
    return path.relative_to(repository.path).as_posix()


def write_artifact_index(repository: ReleaseRepository) -> None:
    """Pixie's artifact manifest (`manifest.json`: a JSON array of `ArtifactSet` in protobuf
    JSON, newest first, and `manifest.json.sha256`) for every release in the repository, for
    the cloud's artifact tracker. It is an unsigned index, as in Pixie: what a vizier deploys is
    verified against the TUF metadata, not against this file. URLs are relative to it."""
    vizier: list[tuple[Version, dict[str, Any]]] = []
    cli: list[tuple[Version, dict[str, Any]]] = []
    operator: list[tuple[Version, dict[str, Any]]] = []
    for name in repository.target_names():
        if not name.startswith("releases/"):
            continue
        try:
            manifest = ReleaseManifest.from_json(repository.target_paths(name)[0].read_bytes())
            version = Version(manifest.version)
        except (ValueError, KeyError, InvalidVersion):
            continue
        stamp = manifest.created.replace("+00:00", "Z") or "1970-01-01T00:00:00Z"

        def entry(
            kind: str, target: str, sha256: str, stamp: str = stamp, text: str = manifest.version
        ) -> dict[str, Any]:
            return {
                "timestamp": stamp,
                "commitHash": "",
                "versionStr": text,
                "availableArtifacts": [kind],
                "changelog": "",
                "availableArtifactMirrors": [
                    {
                        "artifactType": kind,
                        "sha256": sha256,
                        "urls": [_target_url(repository, target)],
                    }
                ],
            }

        chart = manifest.chart
        vizier.append(
            (version, entry("AT_CONTAINER_SET_TEMPLATE_YAMLS", chart["target"], chart["sha256"]))
        )
        release_sha = hashlib.sha256(repository.target_paths(name)[0].read_bytes()).hexdigest()
        operator.append((version, entry("AT_CONTAINER_SET_LINUX_AMD64", name, release_sha)))
        if manifest.cli_wheel:
            wheel = manifest.cli_wheel
            cli.append((version, entry("AT_LINUX_AMD64", wheel["target"], wheel["sha256"])))
    doc = [
        {
            "name": set_name,
            "artifact": [item for _, item in sorted(items, key=lambda x: x[0], reverse=True)],
        }
        for set_name, items in (("vizier", vizier), ("cli", cli), ("operator", operator))
    ]
    data = json.dumps(doc, indent=2).encode() + b"\n"
    (repository.path / ARTIFACT_INDEX).write_bytes(data)
    (repository.path / f"{ARTIFACT_INDEX}.sha256").write_text(
        hashlib.sha256(data).hexdigest() + "\n"
    )


def build_release(
    *,
    version: str,
    registry: str,
    repository: ReleaseRepository,
    keys: ReleaseKeys,
    images: Mapping[str, str],
    work_dir: pathlib.Path,
    chart_dir: pathlib.Path = CHART_DIR,
    cli_wheel: pathlib.Path | None = None,
    image_keys: Mapping[str, SigningKey | None] | None = None,
) -> ReleaseManifest:
    """Push `images` (service -> containers reference) to `registry` as `pyxie/<service>:<version>`,
    each signed with the release's image key (or `image_keys[service]`; None: unsigned, for the
    scenarios), and publish the release manifest with the chart and the CLI wheel."""
    if not repository.exists():
        repository.init()
    refs: dict[str, ImageRef] = {}
    for service, source in images.items():
        key = (image_keys or {}).get(service, keys.image)
        repo = image_repository(service)
        digest = push_image(source, registry, repo, version, signing_key=key, work_dir=work_dir)
        refs[service] = ImageRef(repo, digest)
    chart_name, chart_data = package_chart(chart_dir, version)
    extra = {f"charts/{chart_name}": chart_data}
    chart = {"target": f"charts/{chart_name}", "sha256": hashlib.sha256(chart_data).hexdigest()}
    wheel: dict[str, str] | None = None
    if cli_wheel is not None:
        data = cli_wheel.read_bytes()
        extra[f"cli/{cli_wheel.name}"] = data
        wheel = {"target": f"cli/{cli_wheel.name}", "sha256": hashlib.sha256(data).hexdigest()}
    created = datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat()
    manifest = ReleaseManifest(version, refs, chart, wheel, created)
    publish_manifest(repository, manifest, extra_targets=extra)
    return manifest
