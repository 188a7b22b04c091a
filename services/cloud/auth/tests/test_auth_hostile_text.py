"""Hostile text in auth requests: a NUL in an API-key description is INVALID_ARGUMENT.

PostgreSQL refuses NUL in text; unchecked, the insert failed in the driver and the caller got
INTERNAL ("the auth service failed").
"""

from __future__ import annotations

import grpc
import pytest
from pyxie_auth.testing import Auth
from pyxie_proto.cloud.authpb import auth_pb2 as apb


@pytest.mark.parametrize(
    ("description", "message"),
    [("ci\x00", "NUL"), ("\x00" * 300, "NUL"), ("x" * 257, "longer than 256")],
    ids=["nul", "many-nuls", "too-long"],
)
async def test_a_bad_api_key_description_is_invalid_argument(
    cloud: Auth, description: str, message: str
) -> None:
    alice = await cloud.user_token("alice@example.com", "Acme")
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await cloud.keys.Create(
            apb.CreateAPIKeyRequest(description=description),
            metadata=cloud.service_metadata(alice),
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in (raised.value.details() or "")


def _resigned_with_header(token: str, key: bytes, extra: dict[str, object]) -> str:
    """``token`` with ``extra`` merged into its header, validly signed again with ``key``."""
    import base64
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header_b64, payload_b64, _ = token.split(".")
    header = json.loads(base64.urlsafe_b64decode(header_b64 + "=" * (-len(header_b64) % 4)))
    signing_input = f"{b64(json.dumps(header | extra).encode())}.{payload_b64}"
    mac = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


@pytest.mark.parametrize(
    "extra", [{"crit": ["exp"]}, {"kid": 7}, {"crit": "x"}], ids=["crit", "kid-int", "crit-str"]
)
async def test_a_hostile_token_header_is_unauthenticated_not_internal(
    cloud: Auth, extra: dict[str, object]
) -> None:
    from pyxie_jwt._keys import key_bytes

    (_, bearer), *_ = cloud.service_metadata()
    forged = _resigned_with_header(bearer.removeprefix("bearer "), key_bytes(cloud.key), extra)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await cloud.keys.List(
            apb.ListAPIKeysRequest(), metadata=(("authorization", f"bearer {forged}"),)
        )
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
