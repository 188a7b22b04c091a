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
from typing import Any

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
    latest: bool = True,
    **signers: Any,
) -> None:
    """Publish `manifest` (and `extra_targets`) as TUF targets in one new targets version.
    `signers` are passed to `ReleaseRepository.add_targets` (only the scenarios use them)."""
    files = dict(extra_targets or {})
    files[manifest_target(manifest.version)] = manifest.to_json()
    if latest:
        files[LATEST_TARGET] = json.dumps({"version": manifest.version}).encode()
    repository.add_targets(files, **signers)


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
