"""Requests between the NATS max payload (1 MiB) and gRPC's 4 MiB: a client error, not INTERNAL.

Found by an attack suite: a 3 MiB script or a 1 MiB JWK passed gRPC's limit, then failed to
publish on NATS inside the api (MaxPayloadError) and the caller got INTERNAL.
"""

from __future__ import annotations

import grpc
import pytest
from pyxie_api.testing import VZ_A1, ApiHarness
from pyxie_proto.api.vizierpb import vizierapi_pb2 as vpb
from pyxie_proto.api.vizierpb import vizierapi_pb2_grpc as vpb_grpc

_MIB = 1 << 20


async def _run(api: ApiHarness, request: vpb.ExecuteScriptRequest) -> grpc.aio.AioRpcError:
    metadata = [("pixie-api-client", "python"), ("pixie-api-key", api.key_a)]
    async with api.channel() as channel:
        stub = vpb_grpc.VizierServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            _ = [r async for r in stub.ExecuteScript(request, metadata=metadata)]
    return info.value


@pytest.mark.parametrize("size_mib", [1.5, 3])
async def test_a_large_script_is_resource_exhausted_with_a_message(
    api: ApiHarness, size_mib: float
) -> None:
    script = "# " + "x" * int(size_mib * _MIB) + "\nrows"
    error = await _run(api, vpb.ExecuteScriptRequest(query_str=script, cluster_id=VZ_A1))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "at most 1 MiB" in (error.details() or "")
    assert api.vizier.requests == []  # nothing half-sent to the cluster


async def test_a_one_mib_jwk_is_a_client_error(api: ApiHarness) -> None:
    options = vpb.ExecuteScriptRequest.EncryptionOptions(
        jwk_key='{"kty": "RSA", "n": "' + "A" * _MIB + '", "e": "AQAB"}',
        key_alg="RSA-OAEP-256",
        content_alg="A256GCM",
        compression_alg="DEF",
    )
    request = vpb.ExecuteScriptRequest(
        query_str="rows", cluster_id=VZ_A1, encryption_options=options
    )
    error = await _run(api, request)
    assert error.code() in (grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.INVALID_ARGUMENT)
    assert error.details() and error.details() != "internal error"


async def test_requests_under_the_limit_still_pass(api: ApiHarness) -> None:
    metadata = [("pixie-api-client", "python"), ("pixie-api-key", api.key_a)]
    async with api.channel() as channel:
        stub = vpb_grpc.VizierServiceStub(channel)
        request = vpb.ExecuteScriptRequest(query_str="rows", cluster_id=VZ_A1)
        responses = [r async for r in stub.ExecuteScript(request, metadata=metadata)]
    assert responses[0].WhichOneof("result") == "meta_data"
