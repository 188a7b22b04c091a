"""JWE compact serialization for end-to-end encrypted query results.

Pixie's query broker encrypts each serialized ``RowBatchData`` for the client that asked for it:
RSA-OAEP-256 wraps a fresh AES-256-GCM content key, and the plaintext is raw-DEFLATE compressed
first (``zip: DEF``, RFC 7516 §4.1.3). The client sends its public key as a JWK JSON string in
``ExecuteScriptRequest.encryption_options.jwk_key``; the protected header is exactly
``{"alg":"RSA-OAEP-256","enc":"A256GCM","zip":"DEF"}`` (no ``zip`` when compression is off).

Only this one suite is accepted, deliberately: a narrow allow-list leaves no algorithm-confusion
surface. Decryption exists for our own clients and tests.
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pyxie_crypto._b64 import b64url_decode, b64url_encode
from pyxie_crypto._errors import (
    DecryptionError,
    InvalidKeyError,
    MalformedTokenError,
    UnsupportedAlgorithmError,
)

__all__ = [
    "DEFAULT_MAX_PAYLOAD_BYTES",
    "JWE_COMPRESSION_ALG",
    "JWE_CONTENT_ALG",
    "JWE_KEY_ALG",
    "MAX_RSA_KEY_BITS",
    "MIN_RSA_KEY_BITS",
    "RSA_PUBLIC_EXPONENT",
    "JweEncryptor",
    "decrypt_compact",
    "encrypt_compact",
    "generate_rsa_private_key",
    "load_rsa_public_jwk",
    "read_protected_header",
    "rsa_public_jwk",
]

JWE_KEY_ALG = "RSA-OAEP-256"
JWE_CONTENT_ALG = "A256GCM"
JWE_COMPRESSION_ALG = "DEF"

# 2048 bits is the floor NIST SP 800-57 still accepts for RSA; pxapi and the px CLI use 4096.
MIN_RSA_KEY_BITS = 2048
# RSA cost grows with the cube of the modulus size: a client-chosen huge key would turn every
# row batch into seconds of server CPU, so refuse anything beyond what real clients use.
MAX_RSA_KEY_BITS = 16384
# F4, the exponent of every key pxapi, the px CLI and standard generators make.
RSA_PUBLIC_EXPONENT = 65537
# Decompression bombs: a few kB of DEFLATE can expand to gigabytes. Row batches are far smaller
# than this; callers with bigger payloads pass their own limit.
DEFAULT_MAX_PAYLOAD_BYTES = 256 * 1024 * 1024

_CEK_BYTES = 32  # A256GCM content key
_IV_BYTES = 12  # 96-bit GCM nonce, as RFC 7518 §5.3 requires
_TAG_BYTES = 16
_DEFLATE_LEVEL = 1
_OAEP = padding.OAEP(
    mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None
)
_JWK_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth")


def _b64url_uint(value: int) -> str:
    return b64url_encode(value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")).decode()


def _check_rsa_size(bits: int) -> None:
    if bits < MIN_RSA_KEY_BITS:
        raise InvalidKeyError(f"RSA key is {bits} bits; at least {MIN_RSA_KEY_BITS} are required")
    if bits > MAX_RSA_KEY_BITS:
        raise InvalidKeyError(f"RSA key is {bits} bits; at most {MAX_RSA_KEY_BITS} are accepted")


def _check_rsa_exponent(e: int) -> None:
    # Small exponents (e = 3) open RSA to low-exponent attacks on badly padded or related
    # messages; every real key generator uses F4. Refuse anything else, as NIST SP 800-56B
    # allows and as most TLS stacks do.
    if e != RSA_PUBLIC_EXPONENT:
        shown = e if e.bit_length() <= 64 else f"of {e.bit_length()} bits"
        raise InvalidKeyError(
            f"RSA public exponent {shown} is not accepted; it must be {RSA_PUBLIC_EXPONENT}"
        )


def load_rsa_public_jwk(jwk: str | bytes | Mapping[str, Any]) -> rsa.RSAPublicKey:
    """Parse and validate a public RSA JWK (RFC 7517/7518) as clients send it.

    Rejects non-RSA keys, keys with private members (a client must never send those), a JWK
    ``alg``/``use`` that contradicts RSA-OAEP-256 encryption, and keys outside the size limits.
    """
    if isinstance(jwk, Mapping):
        members: Any = jwk
    else:
        try:
            members = json.loads(jwk)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidKeyError(f"JWK is not valid JSON: {exc}") from exc
    if not isinstance(members, Mapping):
        raise InvalidKeyError("JWK must be a JSON object")
    kty = members.get("kty")
    if kty != "RSA":
        raise InvalidKeyError(f"JWK kty is {kty!r}; only 'RSA' keys are supported")
    leaked = [name for name in _JWK_PRIVATE_MEMBERS if name in members]
    if leaked:
        raise InvalidKeyError(
            f"JWK contains private key members {leaked}; send only the public key (kty, n, e)"
        )
    alg = members.get("alg")
    if alg is not None and alg != JWE_KEY_ALG:
        raise UnsupportedAlgorithmError(f"JWK alg is {alg!r}; expected {JWE_KEY_ALG!r}")
    use = members.get("use")
    if use is not None and use != "enc":
        raise InvalidKeyError(f"JWK use is {use!r}; an encryption key must have use 'enc'")
    n_text, e_text = members.get("n"), members.get("e")
    if not isinstance(n_text, str) or not isinstance(e_text, str) or not n_text or not e_text:
        raise InvalidKeyError("RSA JWK needs non-empty string members 'n' and 'e'")
    try:
        n = int.from_bytes(b64url_decode(n_text, "JWK member 'n'"), "big")
        e = int.from_bytes(b64url_decode(e_text, "JWK member 'e'"), "big")
    except MalformedTokenError as exc:
        raise InvalidKeyError(str(exc)) from exc
    _check_rsa_size(n.bit_length())
    _check_rsa_exponent(e)
    try:
        return rsa.RSAPublicNumbers(e, n).public_key()
    except ValueError as exc:
        raise InvalidKeyError(f"invalid RSA public key: {exc}") from exc


def rsa_public_jwk(public_key: rsa.RSAPublicKey, kid: str | None = None) -> str:
    """Return the public JWK JSON for ``public_key`` (members kty, n, e and optionally kid)."""
    numbers = public_key.public_numbers()
    members = {"kty": "RSA", "n": _b64url_uint(numbers.n), "e": _b64url_uint(numbers.e)}
    if kid is not None:
        members["kid"] = kid
    return json.dumps(members, separators=(",", ":"))


def generate_rsa_private_key(bits: int = 4096) -> rsa.RSAPrivateKey:
    """Generate a key pair for receiving encrypted results (4096 bits, as pxapi does)."""
    _check_rsa_size(bits)
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _protected_header(compression: str | None) -> bytes:
    header = {"alg": JWE_KEY_ALG, "enc": JWE_CONTENT_ALG}
    if compression is not None:
        header["zip"] = compression
    return json.dumps(header, separators=(",", ":")).encode("ascii")


def _check_compression(compression: str | None) -> str | None:
    if compression in (None, ""):
        return None
    if compression != JWE_COMPRESSION_ALG:
        raise UnsupportedAlgorithmError(
            f"compression {compression!r} is not supported; use {JWE_COMPRESSION_ALG!r} or none"
        )
    return compression


@dataclass(frozen=True)
class JweEncryptor:
    """Encrypts payloads for one recipient key into JWE compact serialization.

    Build it once per query from the client's ``EncryptionOptions`` (see
    :meth:`from_encryption_options`) and call :meth:`encrypt` per row batch.
    """

    public_key: rsa.RSAPublicKey
    compression: str | None = JWE_COMPRESSION_ALG

    def __post_init__(self) -> None:
        if not isinstance(self.public_key, rsa.RSAPublicKey):
            raise InvalidKeyError("JWE recipient key must be an RSA public key")
        _check_rsa_size(self.public_key.key_size)
        _check_rsa_exponent(self.public_key.public_numbers().e)
        object.__setattr__(self, "compression", _check_compression(self.compression))

    @classmethod
    def from_encryption_options(
        cls,
        jwk_key: str,
        key_alg: str,
        content_alg: str,
        compression_alg: str,
    ) -> JweEncryptor:
        """Validate the four ``EncryptionOptions`` fields; an empty compression means none."""
        if key_alg != JWE_KEY_ALG:
            raise UnsupportedAlgorithmError(
                f"key algorithm {key_alg!r} is not supported; use {JWE_KEY_ALG!r}"
            )
        if content_alg != JWE_CONTENT_ALG:
            raise UnsupportedAlgorithmError(
                f"content algorithm {content_alg!r} is not supported; use {JWE_CONTENT_ALG!r}"
            )
        return cls(load_rsa_public_jwk(jwk_key), _check_compression(compression_alg))

    def encrypt(self, payload: bytes) -> bytes:
        """Return the five-part compact serialization of ``payload`` as ASCII bytes."""
        encoded_header = b64url_encode(_protected_header(self.compression))
        plaintext = payload
        if self.compression is not None:
            # Raw DEFLATE (no zlib wrapper) at level 1: a third of level 6's CPU for row
            # batches, whose output is ~20 % larger; the broker compresses every batch.
            deflater = zlib.compressobj(level=_DEFLATE_LEVEL, wbits=-zlib.MAX_WBITS)
            plaintext = deflater.compress(payload) + deflater.flush()
        cek = AESGCM.generate_key(bit_length=256)
        iv = os.urandom(_IV_BYTES)
        encrypted_key = self.public_key.encrypt(cek, _OAEP)
        sealed = AESGCM(cek).encrypt(iv, plaintext, encoded_header)
        view = memoryview(sealed)  # no copy of the ciphertext to split off the tag
        ciphertext, tag = view[:-_TAG_BYTES], view[-_TAG_BYTES:]
        return b".".join(
            (
                encoded_header,
                b64url_encode(encrypted_key),
                b64url_encode(iv),
                b64url_encode(ciphertext),
                b64url_encode(tag),
            )
        )


def encrypt_compact(
    payload: bytes, jwk_key: str | bytes, *, compression: str | None = JWE_COMPRESSION_ALG
) -> bytes:
    """One-shot :class:`JweEncryptor` for a public JWK JSON string."""
    return JweEncryptor(load_rsa_public_jwk(jwk_key), compression).encrypt(payload)


def _split(token: bytes | str) -> list[bytes]:
    raw = token.encode("ascii", errors="replace") if isinstance(token, str) else bytes(token)
    parts = raw.split(b".")
    if len(parts) != 5:
        raise MalformedTokenError(
            f"JWE compact serialization has 5 dot-separated parts, got {len(parts)}"
        )
    return parts


def _parse_header(encoded_header: bytes) -> dict[str, Any]:
    decoded = b64url_decode(encoded_header, "JWE protected header")
    try:
        header = json.loads(decoded)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedTokenError("JWE protected header is not valid JSON") from exc
    if not isinstance(header, dict):
        raise MalformedTokenError("JWE protected header must be a JSON object")
    return header


def read_protected_header(token: bytes | str) -> dict[str, Any]:
    """Return the decoded protected header of a compact JWE without decrypting it."""
    return _parse_header(_split(token)[0])


def _inflate(data: bytes, max_bytes: int) -> bytes:
    inflater = zlib.decompressobj(wbits=-zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise DecryptionError(f"JWE payload is not valid raw DEFLATE: {exc}") from exc
    if len(out) > max_bytes or inflater.unconsumed_tail:
        raise DecryptionError(f"JWE payload inflates beyond the {max_bytes}-byte limit")
    if not inflater.eof:
        raise DecryptionError("JWE payload is truncated DEFLATE data")
    return out


def decrypt_compact(
    token: bytes | str,
    private_key: rsa.RSAPrivateKey,
    *,
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
) -> bytes:
    """Decrypt a compact JWE made with RSA-OAEP-256 / A256GCM (optionally ``zip: DEF``)."""
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise InvalidKeyError("JWE decryption key must be an RSA private key")
    encoded_header, encoded_key, encoded_iv, encoded_ct, encoded_tag = _split(token)
    header = _parse_header(encoded_header)
    if header.get("alg") != JWE_KEY_ALG:
        raise UnsupportedAlgorithmError(f"JWE alg {header.get('alg')!r} is not {JWE_KEY_ALG!r}")
    if header.get("enc") != JWE_CONTENT_ALG:
        raise UnsupportedAlgorithmError(f"JWE enc {header.get('enc')!r} is not {JWE_CONTENT_ALG!r}")
    compression = _check_compression(header.get("zip"))
    if "crit" in header:
        raise UnsupportedAlgorithmError("JWE 'crit' header extensions are not supported")
    encrypted_key = b64url_decode(encoded_key, "JWE encrypted key")
    iv = b64url_decode(encoded_iv, "JWE initialization vector")
    ciphertext = b64url_decode(encoded_ct, "JWE ciphertext")
    tag = b64url_decode(encoded_tag, "JWE authentication tag")
    if len(iv) != _IV_BYTES or len(tag) != _TAG_BYTES:
        raise MalformedTokenError("JWE IV must be 12 bytes and tag 16 bytes for A256GCM")
    try:
        cek = private_key.decrypt(encrypted_key, _OAEP)
    except ValueError as exc:
        raise DecryptionError("JWE content key does not decrypt with this private key") from exc
    if len(cek) != _CEK_BYTES:
        raise DecryptionError("JWE content key has the wrong length for A256GCM")
    try:
        plaintext = AESGCM(cek).decrypt(iv, ciphertext + tag, encoded_header)
    except InvalidTag as exc:
        raise DecryptionError("JWE authentication failed: token was tampered with") from exc
    if compression is None:
        if len(plaintext) > max_payload_bytes:
            raise DecryptionError(f"JWE payload exceeds the {max_payload_bytes}-byte limit")
        return plaintext
    return _inflate(plaintext, max_payload_bytes)
