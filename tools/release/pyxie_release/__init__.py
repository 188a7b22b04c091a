"""Pyxie releases: images pushed to a registry signed in cosign's sigstore format, a release
manifest (version, image digests, chart and CLI wheel digests) published as a TUF target, and
`verify_release`, the client side that an operator calls before it deploys anything."""

from pyxie_release.verify import UpdateRefused, VerifiedRelease, verify_release

__all__ = ["UpdateRefused", "VerifiedRelease", "verify_release"]
