"""Official-client interop: pxapi decrypts row batches that pyxie_crypto encrypted.

pxapi (in its own throwaway venv, see ``pyxie_testing.pxapi_env``) generates the key pair and
JWK with its own ``CryptoOptions``, we encrypt a serialized ``RowBatchData`` for that JWK, and
pxapi's ``decode_row_batch`` decrypts and parses it.
"""

import json
import subprocess
from typing import Any

import pytest
from google.protobuf import json_format
from pyxie_crypto import JweEncryptor, read_protected_header
from pyxie_proto.api.vizierpb import vizierapi_pb2
from pyxie_testing.pxapi_env import pxapi_python

pytestmark = pytest.mark.slow

_ROWS = 200  # enough repetition for DEFLATE to matter

# The batch in protobuf's JSON mapping (int64 as strings, bytes as base64), field names as
# in the .proto, so the decoded result can be compared value by value.
EXPECTED_BATCH: dict[str, Any] = {
    "table_id": "http_events",
    "num_rows": str(_ROWS),
    "eow": True,
    "eos": True,
    "cols": [
        {"time64ns_data": {"data": [str(1_700_000_000_000_000_000 + i) for i in range(_ROWS)]}},
        {
            "uint128_data": {
                # low starts at 1: the JSON mapping omits zero-valued scalars in messages
                "data": [{"low": str(i + 1), "high": str(2**64 - 1 - i)} for i in range(_ROWS)]
            }
        },
        {"boolean_data": {"data": [i % 3 == 0 for i in range(_ROWS)]}},
        {"int64_data": {"data": [str(-(2**62) + i) for i in range(_ROWS)]}},
        {"float64_data": {"data": [i * 0.25 - 3.5 for i in range(_ROWS)]}},
        {"string_data": {"data": ["Zm9v", "nw=="] * (_ROWS // 2)}},  # b"foo", b"\x9f"
    ],
}

_DECRYPT_IN_PXAPI = """
import json, sys
from google.protobuf import json_format
from pxapi.utils import CryptoOptions, decode_row_batch
crypt = CryptoOptions()
opts = crypt.encrypt_options()
print(json.dumps({"jwk_key": opts.jwk_key, "key_alg": opts.key_alg,
                  "content_alg": opts.content_alg, "compression_alg": opts.compression_alg}),
      flush=True)
batch = decode_row_batch(crypt, sys.stdin.buffer.read())
print(json.dumps(json_format.MessageToDict(batch, preserving_proto_field_name=True)))
"""


def _serialized_batch() -> bytes:
    batch = json_format.ParseDict(EXPECTED_BATCH, vizierapi_pb2.RowBatchData())
    return batch.SerializeToString()


def test_pxapi_decrypts_a_row_batch_encrypted_by_pyxie_crypto():
    payload = _serialized_batch()
    proc = subprocess.Popen(
        [str(pxapi_python()), "-c", _DECRYPT_IN_PXAPI],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        options = json.loads(proc.stdout.readline() or b"null")
        assert options is not None, proc.communicate(timeout=60)[1].decode(errors="replace")
        assert json.loads(options["jwk_key"])["kty"] == "RSA"
        encryptor = JweEncryptor.from_encryption_options(
            options["jwk_key"],
            options["key_alg"],
            options["content_alg"],
            options["compression_alg"],
        )
        token = encryptor.encrypt(payload)
        assert read_protected_header(token) == {
            "alg": "RSA-OAEP-256",
            "enc": "A256GCM",
            "zip": "DEF",
        }
        out, err = proc.communicate(token, timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err.decode(errors="replace")
    assert json.loads(out) == EXPECTED_BATCH
