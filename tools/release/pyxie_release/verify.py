"""Verify a release before anything is deployed (the client side of the update path).

`verify_release` refreshes the TUF metadata from the release repository (signatures and
thresholds of every role, expiry, version monotonicity, root rotation: `tuf.ngclient.Updater`),
downloads the release manifest target (length and hash checked against the signed targets
metadata), refuses a version older than the running one, refuses any image the cloud asks for
that the signed release does not name, and checks every image in the registry: the manifest the
registry serves for the signed digest must hash to that digest, and the image's sigstore
attachment (`sha256-<hex>.sig`) must hold a signature by the image-signing key over a payload
naming that digest. Any failure raises `UpdateRefused` with one clear sentence.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import pathlib
import shutil
import tempfile

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from packaging.version import InvalidVersion, Version
from tuf.api import exceptions as tuf_errors
from tuf.ngclient.updater import Updater

from pyxie_release.build import LATEST_TARGET, ReleaseManifest, manifest_target
from pyxie_release.registry import (
    SIGNATURE_ANNOTATION,
    SIGNATURE_LAYER_TYPE,
    SIGNATURE_TYPE,
    RegistryClient,
    RegistryError,
    sha256_digest,
    signature_tag,
)


class UpdateRefused(Exception):
    """The release must not be deployed; `reason` says why in one sentence."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class VerifiedRelease:
    """A release whose metadata and images were verified.

    `images` maps a service name to `registry/repository@sha256:<digest>`: deploy by digest.
    `chart_digest` is the SHA-256 (hex) of the chart package; `chart_target` its TUF target.
    """

    version: str
    images: dict[str, str]
    chart_digest: str
    chart_target: str = ""


def verify_release(
    *,
    repository_url: str,
    trusted_root: pathlib.Path,
    cache_dir: pathlib.Path,
    registry: str,
    version: str | None,
    running_version: str | None,
    signing_public_key: bytes,
    requested_images: dict[str, str] | None = None,
) -> VerifiedRelease:
    """Verify release `version` (None: the latest one) from the TUF repository at `repository_url`.

    `trusted_root` is the root.json shipped with the operator (the trust anchor, used the first
    time); `cache_dir` keeps the metadata seen so far, so an older timestamp, snapshot or root
    served later is refused. `registry` is `host:port` of the image registry (`https://host` for
    TLS). `signing_public_key` is the PEM public key of the image-signing key (`cosign.pub`).
    `requested_images` (service -> image reference) is what the cloud asked to deploy: every
    entry must be in the signed release with the same repository and digest.
    """
    updater = _updater(repository_url, trusted_root, cache_dir)
    try:
        updater.refresh()
    except tuf_errors.ExpiredMetadataError as exc:
        raise UpdateRefused(
            f"the release repository's metadata has expired ({exc}): it may be frozen by an "
            "attacker or no longer maintained, so no update is accepted from it"
        ) from exc
    except tuf_errors.UnsignedMetadataError as exc:
        raise UpdateRefused(
            f"the release repository's metadata is not signed by enough trusted keys ({exc}): "
            "it was signed with a wrong or revoked key"
        ) from exc
    except tuf_errors.BadVersionNumberError as exc:
        raise UpdateRefused(
            f"the release repository served metadata older than already seen ({exc}): "
            "a metadata rollback"
        ) from exc
    except (tuf_errors.LengthOrHashMismatchError, tuf_errors.DownloadLengthMismatchError) as exc:
        raise UpdateRefused(
            f"the release repository's metadata does not match its signed hashes ({exc})"
        ) from exc
    except tuf_errors.DownloadError as exc:
        raise UpdateRefused(f"the release repository cannot be reached ({exc})") from exc
    except tuf_errors.RepositoryError as exc:
        raise UpdateRefused(f"the release repository's metadata is invalid ({exc})") from exc

    if version is None:
        latest = json.loads(_download(updater, LATEST_TARGET, cache_dir))
        version = str(latest["version"])
    manifest = _load_manifest(updater, version, cache_dir)
    _check_monotonic(manifest.version, running_version)

    images: dict[str, str] = {}
    host = registry.removeprefix("http://").removeprefix("https://").rstrip("/")
    for service, ref in sorted(manifest.images.items()):
        images[service] = f"{host}/{ref.repository}@{ref.digest}"
    for service, requested in sorted((requested_images or {}).items()):
        signed = images.get(service)
        if signed is None:
            raise UpdateRefused(
                f"the cloud asked to deploy {requested!r} as {service!r}, but signed release "
                f"{manifest.version} has no image for {service!r}"
            )
        if _strip_registry(requested) != _strip_registry(signed):
            raise UpdateRefused(
                f"the cloud asked to deploy {requested!r} for {service!r}, which is not the image "
                f"signed release {manifest.version} names ({signed})"
            )

    public_key = _load_public_key(signing_public_key)
    client = RegistryClient(registry)
    for service, ref in sorted(manifest.images.items()):
        _check_image(client, service, ref.repository, ref.digest, public_key)
    return VerifiedRelease(
        version=manifest.version,
        images=images,
        chart_digest=manifest.chart["sha256"],
        chart_target=manifest.chart.get("target", ""),
    )


def _updater(repository_url: str, trusted_root: pathlib.Path, cache_dir: pathlib.Path) -> Updater:
    metadata_dir = cache_dir / "metadata"
    targets_dir = cache_dir / "targets"
    metadata_dir.mkdir(parents=True, exist_ok=True)
    targets_dir.mkdir(parents=True, exist_ok=True)
    if not (metadata_dir / "root.json").exists():
        shutil.copyfile(trusted_root, metadata_dir / "root.json")
    base = repository_url.rstrip("/")
    return Updater(
        str(metadata_dir),
        f"{base}/metadata/",
        str(targets_dir),
        f"{base}/targets/",
        bootstrap=None,
    )


def _download(updater: Updater, name: str, cache_dir: pathlib.Path) -> bytes:
    info = updater.get_targetinfo(name)
    if info is None:
        raise UpdateRefused(f"the signed release repository has no target {name!r}")
    # A fresh file each time: never trust a previously downloaded copy by name.
    with tempfile.TemporaryDirectory(dir=cache_dir) as scratch:
        path = pathlib.Path(scratch) / "target"
        try:
            updater.download_target(info, str(path))
        except tuf_errors.LengthOrHashMismatchError as exc:
            raise UpdateRefused(
                f"target {name!r} in the release repository was tampered with: its content "
                "does not match the length and hash in the signed targets metadata"
            ) from exc
        except tuf_errors.DownloadError as exc:
            raise UpdateRefused(f"target {name!r} cannot be downloaded ({exc})") from exc
        return path.read_bytes()


def _load_manifest(updater: Updater, version: str, cache_dir: pathlib.Path) -> ReleaseManifest:
    data = _download(updater, manifest_target(version), cache_dir)
    try:
        manifest = ReleaseManifest.from_json(data)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UpdateRefused(f"the signed release manifest {version} is malformed ({exc})") from exc
    if manifest.version != version:
        raise UpdateRefused(
            f"the release manifest published as {version} says it is {manifest.version}"
        )
    return manifest


def _parse_version(value: str, what: str) -> Version:
    try:
        return Version(value)
    except InvalidVersion as exc:
        raise UpdateRefused(f"the {what} version {value!r} is not a valid version") from exc


def _check_monotonic(offered: str, running: str | None) -> None:
    if running is None:
        return
    if _parse_version(offered, "offered") < _parse_version(running, "running"):
        raise UpdateRefused(
            f"release {offered} is older than the running version {running}: "
            "a rollback is never applied as an update"
        )


def _strip_registry(reference: str) -> str:
    """`host[:port]/repo@digest` -> `repo@digest` (registries are interchangeable mirrors;
    the digest pins the content)."""
    first, _, rest = reference.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return rest
    return reference


def _repository_of(reference: str) -> str:
    """`host[:port]/repo[:tag][@digest]` -> `repo`."""
    name = _strip_registry(reference.partition("@")[0] + "@")[:-1]
    last = name.rsplit("/", 1)
    if ":" in last[-1]:
        last[-1] = last[-1].split(":", 1)[0]
    return "/".join(last)


def _load_public_key(pem: bytes) -> ec.EllipticCurvePublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise UpdateRefused("the image-signing public key is not a valid PEM public key") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise UpdateRefused("the image-signing public key is not an ECDSA key")
    return key


def _check_image(
    client: RegistryClient,
    service: str,
    repository: str,
    digest: str,
    public_key: ec.EllipticCurvePublicKey,
) -> None:
    name = f"{repository}@{digest}"
    try:
        body = client.manifest(repository, digest)
        if body is None:
            raise UpdateRefused(f"image {name} for {service!r} is not in the registry")
        if sha256_digest(body) != digest:
            raise UpdateRefused(
                f"the registry returned a different image for {name} ({service!r}): its "
                f"manifest hashes to {sha256_digest(body)}"
            )
        signatures = client.manifest(repository, signature_tag(digest))
        if signatures is None:
            raise UpdateRefused(f"image {name} for {service!r} is not signed")
        layers = json.loads(signatures).get("layers") or []
        payloads = [
            (layer, client.blob(repository, str(layer.get("digest", ""))))
            for layer in layers
            if layer.get("mediaType") == SIGNATURE_LAYER_TYPE
        ]
    except RegistryError as exc:
        raise UpdateRefused(f"image {name} for {service!r} cannot be checked: {exc}") from exc
    except (ValueError, AttributeError) as exc:
        raise UpdateRefused(f"the signatures of image {name} are malformed ({exc})") from exc

    signed_by_key = False
    for layer, payload in payloads:
        if payload is None or sha256_digest(payload) != layer.get("digest"):
            continue
        try:
            signature = base64.b64decode(layer.get("annotations", {})[SIGNATURE_ANNOTATION])
            public_key.verify(signature, payload, ec.ECDSA(hashes.SHA256()))
        except (KeyError, binascii.Error, InvalidSignature, TypeError):
            continue
        signed_by_key = True
        try:
            critical = json.loads(payload)["critical"]
            names = critical["image"]["docker-manifest-digest"] == digest
            typed = critical["type"] == SIGNATURE_TYPE
            identity = _repository_of(str(critical["identity"]["docker-reference"]))
        except (ValueError, KeyError, TypeError):
            continue
        # The signed identity must be this repository (any registry: mirrors are fine), so a
        # signature made for another image cannot vouch for this one.
        if names and typed and identity == repository:
            return
    if signed_by_key:
        raise UpdateRefused(
            f"the signature stored for image {name} ({service!r}) is for another image"
        )
    if not payloads:
        raise UpdateRefused(f"image {name} for {service!r} is not signed")
    raise UpdateRefused(
        f"image {name} for {service!r} is not signed by the release signing key "
        "(its signatures were made with another key)"
    )
