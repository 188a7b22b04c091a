"""Encryption at rest: AES-256-GCM under keys from settings, in a versioned envelope.

Envelope layout (all integers big-endian)::

    version (1 byte, 0x01) | key id (4 bytes) | nonce (12 bytes) | ciphertext | GCM tag (16 bytes)

The version byte and key id are authenticated together with the caller's associated data, so an
envelope cannot be re-labelled to another key or replayed in another context (bind a row's
primary key or column name as associated data). The key id names which :class:`DataKey` sealed
the data, so keys can rotate: a :class:`AtRestCipher` encrypts with its primary key and decrypts
with any key it holds.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pyxie_crypto._errors import DecryptionError, InvalidKeyError, MalformedTokenError

__all__ = ["ENVELOPE_VERSION", "AtRestCipher", "DataKey"]

ENVELOPE_VERSION = 1
_KEY_BYTES = 32
_KEY_ID_BYTES = 4
_NONCE_BYTES = 12  # random 96-bit nonces: safe for well under 2**32 messages per key (NIST 800-38D)
_TAG_BYTES = 16
_HEADER_BYTES = 1 + _KEY_ID_BYTES
_MIN_ENVELOPE_BYTES = _HEADER_BYTES + _NONCE_BYTES + _TAG_BYTES


def _derive_key_id(material: bytes) -> int:
    # A one-way label, so the id stored beside each ciphertext reveals nothing about the key.
    digest = hmac.new(material, b"pyxie at-rest key id v1", hashlib.sha256).digest()
    return int.from_bytes(digest[:_KEY_ID_BYTES], "big")


@dataclass(frozen=True)
class DataKey:
    """A 256-bit data encryption key; its id defaults to a one-way fingerprint of the key."""

    material: bytes = field(repr=False)
    key_id: int = -1

    def __post_init__(self) -> None:
        if not isinstance(self.material, bytes) or len(self.material) != _KEY_BYTES:
            raise InvalidKeyError(f"a data key must be exactly {_KEY_BYTES} bytes")
        if self.key_id == -1:
            object.__setattr__(self, "key_id", _derive_key_id(self.material))
        if not 0 <= self.key_id < 2 ** (8 * _KEY_ID_BYTES):
            raise InvalidKeyError(f"data key id {self.key_id} does not fit in 32 bits")

    @classmethod
    def from_base64(cls, text: str, key_id: int | None = None) -> DataKey:
        """Build a key from standard or URL-safe base64 of 32 bytes (the settings format)."""
        stripped = text.strip()
        try:
            if "-" in stripped or "_" in stripped:
                material = base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
            else:
                material = base64.b64decode(stripped + "=" * (-len(stripped) % 4), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidKeyError("data key is not valid base64") from exc
        if len(material) != _KEY_BYTES:
            raise InvalidKeyError(
                f"data key decodes to {len(material)} bytes; it must be {_KEY_BYTES} "
                "(generate one with: python -c 'import os,base64;"
                "print(base64.b64encode(os.urandom(32)).decode())')"
            )
        return cls(material) if key_id is None else cls(material, key_id)

    @classmethod
    def generate(cls) -> DataKey:
        return cls(os.urandom(_KEY_BYTES))

    def to_base64(self) -> str:
        return base64.b64encode(self.material).decode("ascii")


class AtRestCipher:
    """Seals and opens envelopes; ``primary`` encrypts, every given key can decrypt."""

    def __init__(self, primary: DataKey, previous: Iterable[DataKey] = ()) -> None:
        self._primary = primary
        self._keys: dict[int, AESGCM] = {}
        for key in (primary, *previous):
            known = self._keys.get(key.key_id)
            if known is not None and key is not primary:
                raise InvalidKeyError(f"two data keys share key id {key.key_id:#010x}")
            self._keys[key.key_id] = AESGCM(key.material)

    @property
    def primary_key_id(self) -> int:
        return self._primary.key_id

    def encrypt(self, plaintext: bytes, associated_data: bytes = b"") -> bytes:
        header = bytes([ENVELOPE_VERSION]) + self._primary.key_id.to_bytes(_KEY_ID_BYTES, "big")
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._keys[self._primary.key_id].encrypt(
            nonce, plaintext, header + associated_data
        )
        return header + nonce + sealed

    def key_id_of(self, envelope: bytes) -> int:
        """Return the id of the key that sealed ``envelope`` (validating its framing)."""
        if len(envelope) < _MIN_ENVELOPE_BYTES:
            raise MalformedTokenError(
                f"encrypted value is {len(envelope)} bytes, shorter than any envelope"
            )
        if envelope[0] != ENVELOPE_VERSION:
            raise MalformedTokenError(f"unknown at-rest envelope version {envelope[0]}")
        return int.from_bytes(envelope[1:_HEADER_BYTES], "big")

    def needs_rotation(self, envelope: bytes) -> bool:
        """True when ``envelope`` was sealed by a key other than the primary one."""
        return self.key_id_of(envelope) != self._primary.key_id

    def decrypt(self, envelope: bytes, associated_data: bytes = b"") -> bytes:
        key_id = self.key_id_of(envelope)
        aead = self._keys.get(key_id)
        if aead is None:
            raise DecryptionError(
                f"value was encrypted with data key {key_id:#010x}, which is not configured"
            )
        header = envelope[:_HEADER_BYTES]
        nonce = envelope[_HEADER_BYTES : _HEADER_BYTES + _NONCE_BYTES]
        try:
            return aead.decrypt(
                nonce, envelope[_HEADER_BYTES + _NONCE_BYTES :], header + associated_data
            )
        except InvalidTag as exc:
            raise DecryptionError(
                "encrypted value failed authentication: it or its associated data was modified"
            ) from exc

    def reencrypt(self, envelope: bytes, associated_data: bytes = b"") -> bytes:
        """Open with whichever key sealed it and seal again under the primary key."""
        return self.encrypt(self.decrypt(envelope, associated_data), associated_data)
