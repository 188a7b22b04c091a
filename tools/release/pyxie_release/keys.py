"""Release keys: the image-signing key in cosign's format and the TUF role keys.

The image-signing key is an ECDSA P-256 key. Its private half is stored the way cosign stores
it (and `podman push --sign-by-sigstore-private-key` / `skopeo copy` read it): a PEM block
`ENCRYPTED SIGSTORE PRIVATE KEY` holding JSON `{kdf: scrypt(N, r, p, salt), cipher:
nacl/secretbox(nonce), ciphertext}` whose plaintext is the PKCS#8 DER key. Its public half is
a PKIX `PUBLIC KEY` PEM (`cosign.pub`), which is what verifiers get.

TUF role keys are Ed25519 keys (securesystemslib `CryptoSigner`), one PKCS#8 PEM file per key.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import pathlib
import secrets

import nacl.secret
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

# securesystemslib and tuf do not re-export their classes explicitly (mypy --strict).
from securesystemslib.signer._crypto_signer import CryptoSigner

COSIGN_PEM_TYPE = "ENCRYPTED SIGSTORE PRIVATE KEY"
_LEGACY_PEM_TYPE = "ENCRYPTED COSIGN PRIVATE KEY"
# cosign's defaults (sigstore/cosign pkg/cosign/keys.go via go-securesystemslib/encrypted).
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 32768, 8, 1

# Role -> number of keys. The threshold of every role is in ROLE_THRESHOLDS.
ROLE_KEYS = {"root": 2, "targets": 1, "snapshot": 1, "timestamp": 1}
ROLE_THRESHOLDS = {"root": 2, "targets": 1, "snapshot": 1, "timestamp": 1}


def _scrypt(password: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=32)


def _pem(kind: str, der: bytes) -> bytes:
    body = base64.encodebytes(der).replace(b"\n", b"")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    head, tail = f"-----BEGIN {kind}-----".encode(), f"-----END {kind}-----".encode()
    return b"\n".join([head, *lines, tail]) + b"\n"


def _unpem(data: bytes) -> tuple[str, bytes]:
    text = data.decode("ascii").strip().splitlines()
    if not text or not text[0].startswith("-----BEGIN ") or not text[-1].startswith("-----END "):
        raise ValueError("not a PEM block")
    kind = text[0][len("-----BEGIN ") : -len("-----")]
    return kind, base64.b64decode("".join(text[1:-1]))


def encrypt_cosign_key(private_key: ec.EllipticCurvePrivateKey, password: bytes) -> bytes:
    """The cosign PEM (`ENCRYPTED SIGSTORE PRIVATE KEY`) of an ECDSA key."""
    der = private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    salt = secrets.token_bytes(32)
    nonce = secrets.token_bytes(nacl.secret.SecretBox.NONCE_SIZE)
    box = nacl.secret.SecretBox(_scrypt(password, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P))
    sealed = box.encrypt(der, nonce).ciphertext
    doc = {
        "kdf": {
            "name": "scrypt",
            "params": {"N": _SCRYPT_N, "r": _SCRYPT_R, "p": _SCRYPT_P},
            "salt": base64.b64encode(salt).decode(),
        },
        "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
        "ciphertext": base64.b64encode(sealed).decode(),
    }
    return _pem(COSIGN_PEM_TYPE, json.dumps(doc).encode())


def decrypt_cosign_key(pem: bytes, password: bytes) -> ec.EllipticCurvePrivateKey:
    """Read a cosign private key file (either PEM type cosign has used)."""
    kind, body = _unpem(pem)
    if kind not in (COSIGN_PEM_TYPE, _LEGACY_PEM_TYPE):
        raise ValueError(f"not a cosign private key (PEM type {kind!r})")
    doc = json.loads(body)
    if doc["kdf"]["name"] != "scrypt" or doc["cipher"]["name"] != "nacl/secretbox":
        raise ValueError("unsupported cosign key encryption")
    params = doc["kdf"]["params"]
    salt = base64.b64decode(doc["kdf"]["salt"])
    key = _scrypt(password, salt, params["N"], params["r"], params["p"])
    der = nacl.secret.SecretBox(key).decrypt(
        base64.b64decode(doc["ciphertext"]), base64.b64decode(doc["cipher"]["nonce"])
    )
    loaded = serialization.load_der_private_key(der, password=None)
    if not isinstance(loaded, ec.EllipticCurvePrivateKey):
        raise ValueError("the cosign key is not an ECDSA key")
    return loaded


@dataclasses.dataclass(frozen=True)
class SigningKey:
    """An image-signing key on disk: `<name>.key` (cosign PEM), `.pub` and `.password` (0600)."""

    private_path: pathlib.Path
    public_path: pathlib.Path
    password_path: pathlib.Path

    @property
    def public_pem(self) -> bytes:
        return self.public_path.read_bytes()


def _key_paths(directory: pathlib.Path, name: str) -> SigningKey:
    return SigningKey(
        directory / f"{name}.key", directory / f"{name}.pub", directory / f"{name}.password"
    )


def create_signing_key(directory: pathlib.Path, name: str = "cosign") -> SigningKey:
    """Make a new image-signing key pair in `directory` (random passphrase, files 0600)."""
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    password = secrets.token_urlsafe(24).encode()
    paths = _key_paths(directory, name)
    _write_private(paths.password_path, password)
    _write_private(paths.private_path, encrypt_cosign_key(key, password))
    paths.public_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return paths


def load_signing_key(directory: pathlib.Path, name: str = "cosign") -> SigningKey:
    paths = _key_paths(directory, name)
    for path in (paths.private_path, paths.public_path, paths.password_path):
        if not path.is_file():
            raise FileNotFoundError(f"missing key file {path}")
    return paths


def _write_private(path: pathlib.Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def create_role_key(path: pathlib.Path) -> CryptoSigner:
    """A new Ed25519 TUF key, its PKCS#8 PEM written to `path` (0600)."""
    signer = CryptoSigner.generate_ed25519()
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_private(path, signer.private_bytes)
    return signer


def load_role_key(path: pathlib.Path) -> CryptoSigner:
    private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    return CryptoSigner(private)


@dataclasses.dataclass
class RoleKeys:
    """The TUF signers of each role, as stored in a keys directory (`<role>-<n>.pem`)."""

    signers: dict[str, list[CryptoSigner]]

    @classmethod
    def create(cls, directory: pathlib.Path) -> RoleKeys:
        return cls(
            {
                role: [create_role_key(directory / f"{role}-{i + 1}.pem") for i in range(count)]
                for role, count in ROLE_KEYS.items()
            }
        )

    @classmethod
    def load(cls, directory: pathlib.Path) -> RoleKeys:
        signers: dict[str, list[CryptoSigner]] = {}
        for role, count in ROLE_KEYS.items():
            signers[role] = [load_role_key(directory / f"{role}-{i + 1}.pem") for i in range(count)]
        return cls(signers)


@dataclasses.dataclass(frozen=True)
class ReleaseKeys:
    """Everything a release is signed with: the image-signing key and the TUF role keys."""

    directory: pathlib.Path
    image: SigningKey
    roles: RoleKeys

    @classmethod
    def create(cls, directory: pathlib.Path) -> ReleaseKeys:
        directory.mkdir(parents=True, exist_ok=True)
        return cls(directory, create_signing_key(directory), RoleKeys.create(directory))

    @classmethod
    def load(cls, directory: pathlib.Path) -> ReleaseKeys:
        return cls(directory, load_signing_key(directory), RoleKeys.load(directory))

    @classmethod
    def load_or_create(cls, directory: pathlib.Path) -> ReleaseKeys:
        if (directory / "cosign.key").exists():
            return cls.load(directory)
        return cls.create(directory)
