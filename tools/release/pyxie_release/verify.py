"""Verify a release before anything is deployed (the client side of the update path).

`verify_release` refreshes the TUF metadata from the release repository (signatures,
thresholds, expiry, version monotonicity: `tuf.ngclient.Updater`), downloads the release
manifest target (length and hashes checked against the signed targets metadata), refuses a
rollback to a version older than the running one, and checks every image: its manifest digest
in the registry matches the signed digest and the registry holds a sigstore signature for it
made with the image-signing key. Any failure raises `UpdateRefused` with one clear sentence.
"""

from __future__ import annotations

import dataclasses
import pathlib


class UpdateRefused(Exception):
    """The release must not be deployed; `reason` says why in one sentence."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class VerifiedRelease:
    """A release whose metadata and images were verified.

    `images` maps a service name to `registry/repository@sha256:<digest>`: deploy by digest.
    """

    version: str
    images: dict[str, str]
    chart_digest: str


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

    `trusted_root` is the root.json shipped with the operator (the trust anchor); `cache_dir`
    keeps the metadata seen so far (so a later, older snapshot is refused). `registry` is
    `host:port` of the image registry. `signing_public_key` is the PEM public key of the image
    signing key. `requested_images` (service -> image reference) is what the cloud asked to deploy:
    every entry must be in the signed release with the same digest.
    """
    raise UpdateRefused("release verification is not implemented yet")
