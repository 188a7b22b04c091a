import base64
import json
import zlib

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pyxie_crypto import (
    CryptoError,
    DecryptionError,
    InvalidKeyError,
    JweEncryptor,
    MalformedTokenError,
    UnsupportedAlgorithmError,
    decrypt_compact,
    encrypt_compact,
    load_rsa_public_jwk,
    read_protected_header,
    rsa_public_jwk,
)


def _b64url_decode(part: bytes) -> bytes:
    return base64.urlsafe_b64decode(part + b"=" * (-len(part) % 4))


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    # 2048 bits keeps the suite quick; the interop test uses pxapi's own 4096-bit key.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def public_jwk(private_key: rsa.RSAPrivateKey) -> str:
    return rsa_public_jwk(private_key.public_key(), kid="k1")


def test_round_trip_returns_the_original_payload(private_key, public_jwk):
    payload = b"row batch " * 1000
    token = encrypt_compact(payload, public_jwk)
    assert decrypt_compact(token, private_key) == payload


def test_round_trip_without_compression(private_key, public_jwk):
    token = encrypt_compact(b"\x00\x01binary", public_jwk, compression=None)
    assert decrypt_compact(token, private_key) == b"\x00\x01binary"
    assert "zip" not in read_protected_header(token)


def test_empty_payload_round_trips(private_key, public_jwk):
    assert decrypt_compact(encrypt_compact(b"", public_jwk), private_key) == b""


def test_token_is_five_unpadded_base64url_parts_with_exact_header(public_jwk):
    token = encrypt_compact(b"hello", public_jwk)
    parts = token.split(b".")
    assert len(parts) == 5
    for part in parts:
        assert b"=" not in part and b"+" not in part and b"/" not in part
    assert _b64url_decode(parts[0]) == b'{"alg":"RSA-OAEP-256","enc":"A256GCM","zip":"DEF"}'
    assert len(_b64url_decode(parts[1])) == 256  # RSA-2048 wrapped key
    assert len(_b64url_decode(parts[2])) == 12
    assert len(_b64url_decode(parts[4])) == 16


def test_zip_def_is_raw_deflate_without_zlib_wrapper(private_key, public_jwk):
    # Decrypt the content layer by hand to check the bytes under GCM are raw DEFLATE.
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    token = encrypt_compact(b"abc" * 50, public_jwk)
    header, key, iv, ct, tag = token.split(b".")
    oaep = padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)
    cek = private_key.decrypt(_b64url_decode(key), oaep)
    compressed = AESGCM(cek).decrypt(
        _b64url_decode(iv), _b64url_decode(ct) + _b64url_decode(tag), header
    )
    assert zlib.decompress(compressed, wbits=-15) == b"abc" * 50
    with pytest.raises(zlib.error):
        zlib.decompress(compressed)  # would succeed if a zlib header were present


def test_each_encryption_uses_fresh_key_and_iv(public_jwk):
    first = encrypt_compact(b"same", public_jwk).split(b".")
    second = encrypt_compact(b"same", public_jwk).split(b".")
    assert first[1] != second[1] and first[2] != second[2] and first[3] != second[3]


@pytest.mark.parametrize("index", [0, 1, 2, 3, 4])
def test_tampering_with_any_part_is_detected(private_key, public_jwk, index):
    parts = encrypt_compact(b"secret rows" * 10, public_jwk).split(b".")
    raw = bytearray(_b64url_decode(parts[index]))
    raw[len(raw) // 2] ^= 0x01
    parts[index] = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=")
    with pytest.raises(CryptoError):
        decrypt_compact(b".".join(parts), private_key)


def test_ciphertext_bit_flip_raises_decryption_error(private_key, public_jwk):
    parts = encrypt_compact(b"secret rows", public_jwk).split(b".")
    raw = bytearray(_b64url_decode(parts[3]))
    raw[0] ^= 0x80
    parts[3] = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=")
    with pytest.raises(DecryptionError, match="tampered"):
        decrypt_compact(b".".join(parts), private_key)


def test_wrong_private_key_cannot_decrypt(public_jwk):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(DecryptionError):
        decrypt_compact(encrypt_compact(b"x", public_jwk), other)


def test_malformed_token_is_rejected(private_key):
    with pytest.raises(MalformedTokenError, match="5 dot-separated parts"):
        decrypt_compact(b"a.b.c", private_key)
    with pytest.raises(MalformedTokenError, match="base64url"):
        decrypt_compact(b"a+b.b.c.d.e", private_key)


def test_decompression_limit_is_enforced(private_key, public_jwk):
    token = encrypt_compact(b"\x00" * 100_000, public_jwk)
    with pytest.raises(DecryptionError, match="limit"):
        decrypt_compact(token, private_key, max_payload_bytes=1000)


def test_header_with_other_algorithm_is_refused(private_key, public_jwk):
    parts = encrypt_compact(b"x", public_jwk).split(b".")
    parts[0] = base64.urlsafe_b64encode(b'{"alg":"RSA1_5","enc":"A256GCM"}').rstrip(b"=")
    with pytest.raises(UnsupportedAlgorithmError, match="RSA1_5"):
        decrypt_compact(b".".join(parts), private_key)


def test_encryption_options_from_pxapi_are_accepted(private_key, public_jwk):
    encryptor = JweEncryptor.from_encryption_options(public_jwk, "RSA-OAEP-256", "A256GCM", "DEF")
    assert decrypt_compact(encryptor.encrypt(b"ok"), private_key) == b"ok"


def test_empty_compression_option_means_none(private_key, public_jwk):
    encryptor = JweEncryptor.from_encryption_options(public_jwk, "RSA-OAEP-256", "A256GCM", "")
    token = encryptor.encrypt(b"ok")
    assert read_protected_header(token) == {"alg": "RSA-OAEP-256", "enc": "A256GCM"}
    assert decrypt_compact(token, private_key) == b"ok"


@pytest.mark.parametrize(
    ("key_alg", "content_alg", "compression", "bad"),
    [
        ("RSA-OAEP", "A256GCM", "DEF", "RSA-OAEP"),
        ("RSA1_5", "A256GCM", "DEF", "RSA1_5"),
        ("", "A256GCM", "DEF", "''"),
        ("RSA-OAEP-256", "A128GCM", "DEF", "A128GCM"),
        ("RSA-OAEP-256", "A256CBC-HS512", "DEF", "A256CBC-HS512"),
        ("RSA-OAEP-256", "A256GCM", "GZIP", "GZIP"),
    ],
)
def test_unsupported_algorithms_are_rejected(public_jwk, key_alg, content_alg, compression, bad):
    with pytest.raises(UnsupportedAlgorithmError, match=bad):
        JweEncryptor.from_encryption_options(public_jwk, key_alg, content_alg, compression)


def test_jwk_round_trips_to_the_same_public_key(private_key, public_jwk):
    assert json.loads(public_jwk).keys() == {"kty", "n", "e", "kid"}
    loaded = load_rsa_public_jwk(public_jwk)
    assert loaded.public_numbers() == private_key.public_key().public_numbers()


def test_small_rsa_key_is_rejected():
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(InvalidKeyError, match="1024 bits"):
        load_rsa_public_jwk(rsa_public_jwk(small.public_key()))
    with pytest.raises(InvalidKeyError, match="1024 bits"):
        JweEncryptor(small.public_key())


def test_non_rsa_jwk_is_rejected():
    ec_jwk = json.dumps({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"})
    with pytest.raises(InvalidKeyError, match="'EC'"):
        load_rsa_public_jwk(ec_jwk)
    with pytest.raises(InvalidKeyError):
        JweEncryptor(ec.generate_private_key(ec.SECP256R1()).public_key())  # type: ignore[arg-type]


def test_private_jwk_is_rejected(public_jwk):
    leaked = dict(json.loads(public_jwk), d="AQAB")
    with pytest.raises(InvalidKeyError, match="private key members"):
        load_rsa_public_jwk(json.dumps(leaked))


@pytest.mark.parametrize(
    "jwk",
    [
        "not json",
        "[1, 2]",
        '{"kty": "RSA"}',
        '{"kty": "RSA", "n": "***", "e": "AQAB"}',
    ],
)
def test_malformed_jwk_is_rejected_with_invalid_key_error(jwk):
    with pytest.raises(InvalidKeyError):
        load_rsa_public_jwk(jwk)


def test_jwk_with_conflicting_alg_or_use_is_rejected(public_jwk):
    with pytest.raises(UnsupportedAlgorithmError):
        load_rsa_public_jwk(json.dumps(dict(json.loads(public_jwk), alg="RS256")))
    with pytest.raises(InvalidKeyError, match="use"):
        load_rsa_public_jwk(json.dumps(dict(json.loads(public_jwk), use="sig")))


def test_even_public_exponent_is_rejected(public_jwk):
    members = dict(json.loads(public_jwk), e="Ag")  # e = 2
    with pytest.raises(InvalidKeyError, match="exponent"):
        load_rsa_public_jwk(json.dumps(members))


def test_all_errors_share_one_root():
    for error in (DecryptionError, InvalidKeyError, MalformedTokenError, UnsupportedAlgorithmError):
        assert issubclass(error, CryptoError)
