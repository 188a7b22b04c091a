"""The image-signing key file is cosign's encrypted format; TUF role keys round-trip."""

from __future__ import annotations

import base64
import json
import pathlib

import nacl.exceptions
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from pyxie_release.keys import (
    COSIGN_PEM_TYPE,
    ReleaseKeys,
    decrypt_cosign_key,
    encrypt_cosign_key,
)


def test_release_cosign_key_file_has_cosigns_layout(tmp_path: pathlib.Path) -> None:
    keys = ReleaseKeys.create(tmp_path)
    pem = keys.image.private_path.read_bytes().decode()
    lines = pem.strip().splitlines()
    assert lines[0] == f"-----BEGIN {COSIGN_PEM_TYPE}-----"
    assert lines[-1] == f"-----END {COSIGN_PEM_TYPE}-----"
    doc = json.loads(base64.b64decode("".join(lines[1:-1])))
    assert doc["kdf"]["name"] == "scrypt"
    assert doc["kdf"]["params"] == {"N": 32768, "r": 8, "p": 1}
    assert len(base64.b64decode(doc["kdf"]["salt"])) == 32
    assert doc["cipher"]["name"] == "nacl/secretbox"
    assert len(base64.b64decode(doc["cipher"]["nonce"])) == 24
    assert keys.image.private_path.stat().st_mode & 0o777 == 0o600
    assert keys.image.public_pem.startswith(b"-----BEGIN PUBLIC KEY-----")


def test_release_cosign_key_decrypts_only_with_its_password() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    sealed = encrypt_cosign_key(key, b"secret")
    assert decrypt_cosign_key(sealed, b"secret").private_numbers() == key.private_numbers()
    with pytest.raises(nacl.exceptions.CryptoError):
        decrypt_cosign_key(sealed, b"wrong")


def test_release_role_keys_reload(tmp_path: pathlib.Path) -> None:
    created = ReleaseKeys.create(tmp_path)
    loaded = ReleaseKeys.load(tmp_path)
    for role, signers in created.roles.signers.items():
        assert [s.public_key.keyid for s in signers] == [
            s.public_key.keyid for s in loaded.roles.signers[role]
        ]
    assert len(loaded.roles.signers["root"]) == 2
