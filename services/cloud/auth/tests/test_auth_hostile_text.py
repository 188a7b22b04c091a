"""Hostile text in auth requests: a NUL in an API-key description is INVALID_ARGUMENT.

PostgreSQL refuses NUL in text; unchecked, the insert failed in the driver and the caller got
INTERNAL ("the auth service failed").
"""

from __future__ import annotations

import grpc
import pytest
from auth_support import Auth
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
