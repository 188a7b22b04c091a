"""The one exception tree of pyxie_crypto: every failure raised here is a ``CryptoError``."""

from __future__ import annotations

__all__ = [
    "CertificateError",
    "CryptoError",
    "DecryptionError",
    "InvalidKeyError",
    "MalformedTokenError",
    "UnsupportedAlgorithmError",
]


class CryptoError(Exception):
    """Root of every error raised by pyxie_crypto."""


class InvalidKeyError(CryptoError, ValueError):
    """A key is unusable: wrong type, malformed, or too small."""


class UnsupportedAlgorithmError(CryptoError, ValueError):
    """An algorithm name (JWE ``alg``, ``enc`` or ``zip``) is not one this package accepts."""


class MalformedTokenError(CryptoError, ValueError):
    """A JWE token or an at-rest envelope is not in the expected format."""


class DecryptionError(CryptoError):
    """Decryption failed: wrong key, or the data or its associated data was tampered with."""


class CertificateError(CryptoError):
    """A certificate or key file could not be created, read or parsed."""
