"""RSA encryption keys must use e = 65537: e = 3 (or any other) is refused at import."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from pyxie_crypto.jwe import (
    RSA_PUBLIC_EXPONENT,
    InvalidKeyError,
    JweEncryptor,
    load_rsa_public_jwk,
    rsa_public_jwk,
)


@pytest.fixture(scope="module")
def key_e3() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=3, key_size=2048)


def test_a_jwk_with_exponent_3_is_rejected(key_e3: rsa.RSAPrivateKey) -> None:
    jwk = rsa_public_jwk(key_e3.public_key())
    assert json.loads(jwk)["e"] == "Aw"
    with pytest.raises(InvalidKeyError, match="exponent 3 is not accepted; it must be 65537"):
        load_rsa_public_jwk(jwk)


def test_an_encryptor_for_a_key_with_exponent_3_is_rejected(key_e3: rsa.RSAPrivateKey) -> None:
    with pytest.raises(InvalidKeyError, match="65537"):
        JweEncryptor(key_e3.public_key())


@pytest.mark.parametrize("e", ["AQAA", "AQAD", "Aw", "__________8"])
def test_other_exponents_are_rejected(e: str) -> None:
    good = rsa.generate_private_key(public_exponent=RSA_PUBLIC_EXPONENT, key_size=2048)
    members = dict(json.loads(rsa_public_jwk(good.public_key())), e=e)
    with pytest.raises(InvalidKeyError, match="exponent"):
        load_rsa_public_jwk(json.dumps(members))


def test_exponent_65537_is_accepted() -> None:
    good = rsa.generate_private_key(public_exponent=RSA_PUBLIC_EXPONENT, key_size=2048)
    loaded = load_rsa_public_jwk(rsa_public_jwk(good.public_key()))
    assert loaded.public_numbers() == good.public_key().public_numbers()
