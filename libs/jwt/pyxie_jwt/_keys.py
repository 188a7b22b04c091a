"""HS256 signing keys. Only pyxie_jwt reads the secret bytes."""

from __future__ import annotations

import hmac
import secrets
from typing import Final

from pyxie_jwt._errors import InvalidSigningKeyError

__all__ = ["MIN_SIGNING_KEY_BYTES", "SigningKey"]

# RFC 7518 §3.2: an HS256 key must be at least as long as the hash output (256 bits).
MIN_SIGNING_KEY_BYTES: Final = 32

# 32 random bytes, hex-encoded as Pixie's generated cluster secrets are text. The text form is
# what is shared (k8s secret, bridge registration), so the key *is* the text's UTF-8 bytes.
_GENERATED_KEY_RANDOM_BYTES: Final = 32


class SigningKey:
    """A shared HS256 secret for one plane (one per vizier, one for the cloud).

    The secret never appears in `repr`/`str`. Build it from settings (a `SecretStr`'s value) or
    generate a fresh random one; both enforce the minimum length.
    """

    __slots__ = ("_secret",)

    def __init__(self, secret: str) -> None:
        encoded = secret.encode("utf-8")
        if len(encoded) < MIN_SIGNING_KEY_BYTES:
            raise InvalidSigningKeyError(
                f"JWT signing key is {len(encoded)} bytes; at least {MIN_SIGNING_KEY_BYTES} "
                "bytes are required for HS256"
            )
        self._secret: Final = encoded

    @classmethod
    def generate(cls) -> SigningKey:
        """A new random key (64 hex characters)."""
        return cls(secrets.token_hex(_GENERATED_KEY_RANDOM_BYTES))

    def reveal_text(self) -> str:
        """The secret itself. Only for handing the key to its owner (vizier registration)."""
        return self._secret.decode("utf-8")

    def __repr__(self) -> str:
        return "SigningKey(<redacted>)"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SigningKey):
            return NotImplemented
        return hmac.compare_digest(self._secret, other._secret)

    def __hash__(self) -> int:
        return hash(self._secret)


def key_bytes(key: SigningKey) -> bytes:
    """The raw secret, for the signing code in this package."""
    return key._secret
