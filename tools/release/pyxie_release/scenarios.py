"""A release lab and the attacks on the update path, built from a good release.

`ReleaseLab` owns what a release needs on one host: keys, a local `docker-registry`, a TUF
repository served over HTTP. `lab.build(version)` makes a real signed release;
`lab.attack(name, running_version=...)` makes one attack and yields an `Attack`: where the
(attacked) repository is served, the version offered, the images the cloud asks for, and the
words the refusal must contain. Every attack works on its own copy of the repository, served
on its own port, so a refused attack never changes the good repository; verify each attack
with its own TUF cache (`attack.cache_dir`: empty, except for `replayed-metadata`, whose cache
already holds the newer timestamp), as one attack (a root rotation) is remembered by the cache
that saw it.

Attacks (`ATTACKS`):
- `tampered-manifest`: the release manifest's bytes changed in the repository, not re-signed.
- `swapped-digest`: the registry serves another image's manifest for a signed digest.
- `unsigned-image`: a release whose image has no signature.
- `other-key-image`: a release whose image is signed with another (attacker's) key.
- `wrong-key-metadata`: targets, snapshot and timestamp signed with keys root does not trust.
- `revoked-key-metadata`: root rotated the targets key; a release signed with the old one.
- `expired-timestamp`: a release whose timestamp metadata has expired (freeze attack).
- `rollback`: a correctly signed release older than the running version.
- `cloud-unlisted-image`: the cloud asks for an image that the signed release does not name.
- `replayed-metadata`: the repository serves an older (validly signed) timestamp than the
  client has already seen, hiding a newer release (TUF's rollback protection).
- `moved-signature`: another service's signed image, with its valid signature, copied into this
  service's repository and named by the release (the signature names the other repository).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import pathlib
import secrets
import shutil
from collections.abc import Iterator, Mapping

from packaging.version import Version

from pyxie_release.build import (
    ImageRef,
    ReleaseManifest,
    build_release,
    image_repository,
    manifest_target,
    publish_manifest,
)
from pyxie_release.keys import ReleaseKeys, RoleKeys, create_role_key, create_signing_key
from pyxie_release.registry import (
    LocalRegistry,
    RegistryClient,
    push_image,
    signature_tag,
    start_registry,
    write_tiny_image,
)
from pyxie_release.repository import ReleaseRepository, serve_repository
from pyxie_release.verify import VerifiedRelease, verify_release

ATTACKS = (
    "tampered-manifest",
    "swapped-digest",
    "unsigned-image",
    "other-key-image",
    "wrong-key-metadata",
    "revoked-key-metadata",
    "expired-timestamp",
    "rollback",
    "cloud-unlisted-image",
    "replayed-metadata",
    "moved-signature",
)
# Words the refusal reason of each attack contains.
EXPECTED_REASON = {
    "tampered-manifest": "tampered",
    "swapped-digest": "registry returned a different image",
    "unsigned-image": "is not signed",
    "other-key-image": "not signed by the release signing key",
    "wrong-key-metadata": "not signed by enough trusted keys",
    "revoked-key-metadata": "not signed by enough trusted keys",
    "expired-timestamp": "expired",
    "rollback": "older than the running version",
    "cloud-unlisted-image": "has no image for",
    "replayed-metadata": "older than already seen",
    "moved-signature": "is for another image",
}
TINY_SERVICES = ("query-broker", "kelvin", "pem")


@dataclasses.dataclass(frozen=True)
class Attack:
    name: str
    repository_url: str
    trusted_root: pathlib.Path
    cache_dir: pathlib.Path  # this attack's own TUF cache: use it for this attack only
    registry: str
    version: str
    running_version: str | None
    requested_images: dict[str, str] | None
    expected_reason: str


def bump(version: str, step: int = 1) -> str:
    release = Version(version).release
    major, minor, patch = [*release, 0, 0, 0][:3]
    return f"{major}.{minor}.{patch + step}"


class ReleaseLab:
    """Keys, a local registry and a served TUF repository under `root`."""

    def __init__(self, root: pathlib.Path) -> None:
        self.root = root
        self.keys = ReleaseKeys.load_or_create(root / "keys")
        self.repository = ReleaseRepository(root / "repo", self.keys.roles)
        self.work_dir = root / "work"
        self.registry: LocalRegistry | None = None
        self.repository_url = ""
        self.manifests: dict[str, ReleaseManifest] = {}
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> ReleaseLab:
        self.registry = start_registry(self.root / "registry")
        self._stack.callback(self.registry.stop)
        if not self.repository.exists():
            self.repository.init()
        self.repository_url = self._stack.enter_context(serve_repository(self.repository.path))
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    @property
    def address(self) -> str:
        assert self.registry is not None, "the lab is not started"
        return self.registry.address

    @property
    def trusted_root(self) -> pathlib.Path:
        return self.repository.trusted_root

    @property
    def signing_public_key(self) -> bytes:
        return self.keys.image.public_pem

    def tiny_images(
        self, version: str, services: tuple[str, ...] = TINY_SERVICES
    ) -> dict[str, str]:
        """Tiny one-file images (unique per version) for services, as `oci:` references."""
        return {
            name: write_tiny_image(
                self.work_dir / "tiny" / f"{name}-{version}", name, f"{name} {version}\n"
            )
            for name in services
        }

    def build(
        self,
        version: str,
        images: Mapping[str, str] | None = None,
        *,
        cli_wheel: pathlib.Path | None = None,
    ) -> ReleaseManifest:
        """A real signed release (tiny images unless `images` names containers references)."""
        manifest = build_release(
            version=version,
            registry=self.address,
            repository=self.repository,
            keys=self.keys,
            images=images if images is not None else self.tiny_images(version),
            work_dir=self.work_dir,
            cli_wheel=cli_wheel,
        )
        self.manifests[version] = manifest
        return manifest

    def verify(
        self,
        cache_dir: pathlib.Path,
        *,
        version: str | None = None,
        running_version: str | None = None,
        requested_images: dict[str, str] | None = None,
        repository_url: str | None = None,
    ) -> VerifiedRelease:
        return verify_release(
            repository_url=repository_url or self.repository_url,
            trusted_root=self.trusted_root,
            cache_dir=cache_dir,
            registry=self.address,
            version=version,
            running_version=running_version,
            signing_public_key=self.signing_public_key,
            requested_images=requested_images,
        )

    @contextlib.contextmanager
    def attack(self, name: str, *, running_version: str) -> Iterator[Attack]:
        """Build attack `name` against a copy of the repository; yields how to verify it.

        `running_version` is the version deployed now (at least one good release built)."""
        if name not in ATTACKS:
            raise ValueError(f"unknown attack {name!r} (known: {', '.join(ATTACKS)})")
        if not self.manifests:
            raise RuntimeError("build a good release before attacking it")
        base = self.root / "attacks" / f"{name}-{secrets.token_hex(4)}"
        shutil.copytree(self.repository.path, base / "repo")
        roles = RoleKeys({role: list(signers) for role, signers in self.keys.roles.signers.items()})
        repo = ReleaseRepository(base / "repo", roles)
        good = self.manifests[max(self.manifests, key=Version)]
        offered = bump(max([running_version, *self.manifests], key=Version))
        requested: dict[str, str] | None = None
        restore: list[tuple[pathlib.Path, bytes]] = []

        def release_with(service: str, key: object) -> ReleaseManifest:
            """`good` as version `offered`, with `service`'s image a new tiny image signed by
            `key` (None: unsigned; "release": the release key)."""
            source = self.tiny_images(f"{offered}-{name}", (service,))[service]
            signing = self.keys.image if key == "release" else key
            digest = push_image(
                source,
                self.address,
                image_repository(service),
                f"{offered}-{name}",
                signing_key=signing,  # type: ignore[arg-type]
                work_dir=self.work_dir,
            )
            images = dict(good.images)
            images[service] = ImageRef(image_repository(service), digest)
            return dataclasses.replace(good, version=offered, images=images)

        service = sorted(good.images)[-1]
        if name == "tampered-manifest":
            manifest = release_with(service, "release")
            publish_manifest(repo, manifest)
            other = sorted(good.images)[0]
            for path in repo.target_paths(manifest_target(offered)):
                text = path.read_text()
                path.write_text(
                    text.replace(manifest.images[service].digest, good.images[other].digest)
                )
        elif name == "swapped-digest":
            manifest = release_with(service, "release")
            publish_manifest(repo, manifest)
            digest = manifest.images[service].digest
            blob = self._blob_path(digest)
            replacement = RegistryClient(self.address).manifest(
                good.images[service].repository, good.images[service].digest
            )
            assert replacement is not None
            restore.append((blob, blob.read_bytes()))
            blob.write_bytes(replacement)
        elif name == "unsigned-image":
            publish_manifest(repo, release_with(service, None))
        elif name == "other-key-image":
            attacker_key = create_signing_key(base / "attacker", "attacker")
            publish_manifest(repo, release_with(service, attacker_key))
        elif name == "wrong-key-metadata":
            attacker = [create_role_key(base / "attacker" / f"{r}.pem") for r in ("t", "s", "ts")]
            publish_manifest(
                repo,
                dataclasses.replace(good, version=offered),
                targets_signers=[attacker[0]],
                snapshot_signers=[attacker[1]],
                timestamp_signers=[attacker[2]],
            )
        elif name == "revoked-key-metadata":
            old = roles.signers["targets"]
            repo.rotate_role("targets", [create_role_key(base / "new-targets.pem")])
            publish_manifest(repo, dataclasses.replace(good, version=offered), targets_signers=old)
        elif name == "expired-timestamp":
            past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
            publish_manifest(
                repo, dataclasses.replace(good, version=offered), timestamp_expires=past
            )
        elif name == "rollback":
            older = str(min(Version(running_version), Version(good.version)))
            offered = _older(older)
            publish_manifest(repo, dataclasses.replace(good, version=offered), latest="this")
        elif name == "cloud-unlisted-image":
            publish_manifest(repo, dataclasses.replace(good, version=offered))
            requested = {
                "miner": f"{self.address}/evil/miner@sha256:{'0' * 64}",
                service: f"{self.address}/{good.images[service].repository}@"
                f"{good.images[service].digest}",
            }
        elif name == "replayed-metadata":
            # The client saw the timestamp of a newer release; the repository replays the old.
            old_timestamp = (repo.metadata_dir / "timestamp.json").read_bytes()
            publish_manifest(repo, dataclasses.replace(good, version=offered))
            seen = base / "cache" / "metadata"
            seen.mkdir(parents=True)
            shutil.copyfile(self.trusted_root, seen / "root.json")
            shutil.copyfile(repo.metadata_dir / "timestamp.json", seen / "timestamp.json")
            (repo.metadata_dir / "timestamp.json").write_bytes(old_timestamp)
        elif name == "moved-signature":
            donor = next(n for n in sorted(good.images) if n != service)
            moved = good.images[donor]
            target = image_repository(service)
            self._copy_image(moved.repository, target, moved.digest)
            images = dict(good.images)
            images[service] = ImageRef(target, moved.digest)
            publish_manifest(repo, dataclasses.replace(good, version=offered, images=images))
        cache_dir = base / "cache"
        try:
            with serve_repository(repo.path) as url:
                yield Attack(
                    name=name,
                    repository_url=url,
                    trusted_root=self.trusted_root,
                    cache_dir=cache_dir,
                    registry=self.address,
                    version=offered,
                    running_version=running_version,
                    requested_images=requested,
                    expected_reason=EXPECTED_REASON[name],
                )
        finally:
            for path, data in restore:
                path.write_bytes(data)

    def _copy_image(self, source: str, target: str, digest: str) -> None:
        """Copy `source@digest` and its signature attachment into `target`, byte for byte."""
        client = RegistryClient(self.address)
        for reference in (digest, signature_tag(digest)):
            manifest = client.manifest(source, reference)
            assert manifest is not None, f"{source}:{reference} is missing"
            doc = json.loads(manifest)
            for blob in [doc["config"], *doc.get("layers", [])]:
                if client.mount_blob(target, blob["digest"], source):
                    continue
                data = client.blob(source, blob["digest"])
                assert data is not None
                client.put_blob(target, data)
            tag = reference if reference != digest else f"moved-{secrets.token_hex(4)}"
            client.put_manifest(target, tag, manifest, doc["mediaType"])

    def _blob_path(self, digest: str) -> pathlib.Path:
        assert self.registry is not None
        algorithm, _, hexdigest = digest.partition(":")
        return self.registry.blob_root / algorithm / hexdigest[:2] / hexdigest / "data"


def _older(version: str) -> str:
    release = [*Version(version).release, 0, 0, 0]
    major, minor, patch = release[:3]
    if patch > 0:
        return f"{major}.{minor}.{patch - 1}"
    if minor > 0:
        return f"{major}.{minor - 1}.99"
    return f"{max(major - 1, 0)}.99.99"


__all__ = ["ATTACKS", "EXPECTED_REASON", "Attack", "ReleaseLab", "bump"]
