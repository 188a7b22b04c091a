import base64
import os

import pytest
from pyxie_crypto import (
    AtRestCipher,
    CryptoError,
    DataKey,
    DecryptionError,
    InvalidKeyError,
    MalformedTokenError,
)


def _settings_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def test_round_trip_with_a_key_from_settings():
    cipher = AtRestCipher(DataKey.from_base64(_settings_key()))
    envelope = cipher.encrypt(b"vizier deploy key", associated_data=b"vizier:42")
    assert b"vizier deploy key" not in envelope
    assert cipher.decrypt(envelope, associated_data=b"vizier:42") == b"vizier deploy key"


def test_url_safe_base64_and_surrounding_whitespace_are_accepted():
    material = os.urandom(32)
    text = "  " + base64.urlsafe_b64encode(material).decode().rstrip("=") + "\n"
    assert DataKey.from_base64(text).material == material


def test_each_encryption_uses_a_fresh_nonce():
    cipher = AtRestCipher(DataKey.generate())
    first, second = cipher.encrypt(b"same"), cipher.encrypt(b"same")
    assert first != second
    assert first[5:17] != second[5:17]


def test_envelope_starts_with_version_and_key_id():
    key = DataKey.generate()
    envelope = AtRestCipher(key).encrypt(b"x")
    assert envelope[0] == 1
    assert int.from_bytes(envelope[1:5], "big") == key.key_id
    assert len(envelope) == 1 + 4 + 12 + 1 + 16


def test_wrong_key_fails_with_decryption_error():
    envelope = AtRestCipher(DataKey.generate()).encrypt(b"secret")
    with pytest.raises(DecryptionError, match="not configured"):
        AtRestCipher(DataKey.generate()).decrypt(envelope)


def test_wrong_key_with_the_same_id_fails_authentication():
    envelope = AtRestCipher(DataKey(os.urandom(32), key_id=7)).encrypt(b"secret")
    with pytest.raises(DecryptionError, match="failed authentication"):
        AtRestCipher(DataKey(os.urandom(32), key_id=7)).decrypt(envelope)


@pytest.mark.parametrize("position", [0, 1, 4, 5, 16, 17, -1])
def test_tampering_anywhere_is_detected(position):
    cipher = AtRestCipher(DataKey.generate())
    envelope = bytearray(cipher.encrypt(b"some stored secret"))
    envelope[position] ^= 0x01
    with pytest.raises(CryptoError):
        cipher.decrypt(bytes(envelope))


def test_different_associated_data_fails():
    cipher = AtRestCipher(DataKey.generate())
    envelope = cipher.encrypt(b"secret", associated_data=b"row-1")
    with pytest.raises(DecryptionError):
        cipher.decrypt(envelope, associated_data=b"row-2")


def test_truncated_or_unknown_version_envelopes_are_malformed():
    cipher = AtRestCipher(DataKey.generate())
    envelope = cipher.encrypt(b"secret")
    with pytest.raises(MalformedTokenError, match="shorter"):
        cipher.decrypt(envelope[:20])
    with pytest.raises(MalformedTokenError, match="version 2"):
        cipher.decrypt(b"\x02" + envelope[1:])


def test_rotation_decrypts_old_values_and_reencrypts_under_the_new_key():
    old, new = DataKey.generate(), DataKey.generate()
    stored = AtRestCipher(old).encrypt(b"secret", associated_data=b"ad")
    rotated = AtRestCipher(new, previous=[old])
    assert rotated.needs_rotation(stored)
    assert rotated.decrypt(stored, associated_data=b"ad") == b"secret"
    fresh = rotated.reencrypt(stored, associated_data=b"ad")
    assert not rotated.needs_rotation(fresh)
    assert AtRestCipher(new).decrypt(fresh, associated_data=b"ad") == b"secret"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (base64.b64encode(os.urandom(16)).decode(), "16 bytes"),
        ("not base64 !!", "not valid base64"),
        ("", "0 bytes"),
    ],
)
def test_bad_settings_keys_are_rejected(text, message):
    with pytest.raises(InvalidKeyError, match=message):
        DataKey.from_base64(text)


def test_key_material_is_not_in_repr():
    key = DataKey.generate()
    assert key.to_base64() not in repr(key)
    assert repr(key.material) not in repr(key)


def test_duplicate_key_ids_are_refused():
    with pytest.raises(InvalidKeyError, match="share key id"):
        AtRestCipher(
            DataKey(os.urandom(32), key_id=1), previous=[DataKey(os.urandom(32), key_id=1)]
        )
