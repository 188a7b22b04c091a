"""VizierService passthrough through the api: auth, ownership, health, streaming, cancel."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from pyxie_api.testing import ORG_A, USER_A, VZ_A1, VZ_A2, VZ_A_SICK, VZ_B1, ApiHarness
from pyxie_jwt import AccessScope
from pyxie_proto.api.vizierpb import vizierapi_pb2 as vpb
from pyxie_proto.api.vizierpb import vizierapi_pb2_grpc as vpb_grpc


async def _run(
    harness: ApiHarness, key: str | None, cluster_id: str, query: str = "rows", **fields: object
) -> list[vpb.ExecuteScriptResponse]:
    metadata = [("pixie-api-client", "python")]
    if key is not None:
        metadata.append(("pixie-api-key", key))
    async with harness.channel() as channel:
        stub = vpb_grpc.VizierServiceStub(channel)
        request = vpb.ExecuteScriptRequest(query_str=query, cluster_id=cluster_id, **fields)
        return [r async for r in stub.ExecuteScript(request, metadata=metadata)]


async def _code(coro: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await coro  # type: ignore[misc]
    return info.value.code(), info.value.details() or ""


async def test_rows_stream_through_unchanged_and_in_order(api: ApiHarness) -> None:
    responses = await _run(api, api.key_a, VZ_A1)
    kinds = [r.WhichOneof("result") for r in responses]
    assert kinds == ["meta_data", "data", "data", "data"]
    assert responses[1].data.batch.cols[0].string_data.data == [b"foo", b"bar"]
    assert responses[2].data.batch.eos
    assert responses[3].data.execution_stats.records_processed == 2


async def test_vizier_receives_the_vzmgr_cluster_token_and_the_request(api: ApiHarness) -> None:
    await _run(api, api.key_a, VZ_A1, query="rows please")
    request = api.vizier.requests[0]
    assert request.token == f"cluster-token-{VZ_A1}"
    assert request.exec_req.query_str == "rows please"
    assert request.request_id


async def test_degraded_cluster_is_queryable(api: ApiHarness) -> None:
    responses = await _run(api, api.key_a, VZ_A2)
    assert responses[0].meta_data.name == "http"


async def test_encrypted_batches_stay_opaque(api: ApiHarness) -> None:
    from pyxie_crypto import decrypt_compact, generate_rsa_private_key, rsa_public_jwk

    private = generate_rsa_private_key(2048)
    options = vpb.ExecuteScriptRequest.EncryptionOptions(
        jwk_key=rsa_public_jwk(private.public_key()),
        key_alg="RSA-OAEP-256",
        content_alg="A256GCM",
        compression_alg="DEF",
    )
    responses = await _run(api, api.key_a, VZ_A1, encryption_options=options)
    sealed = responses[1].data.encrypted_batch
    assert sealed.count(b".") == 4 and not responses[1].data.HasField("batch")
    batch = vpb.RowBatchData.FromString(decrypt_compact(sealed, private))
    assert batch.cols[1].int64_data.data == [200, 404]


@pytest.mark.parametrize("cluster_id", ["", "not-a-uuid", "1234"])
async def test_malformed_cluster_id_is_invalid_argument(api: ApiHarness, cluster_id: str) -> None:
    code, details = await _code(_run(api, api.key_a, cluster_id))
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert details == "missing/malformed cluster_id"


async def test_unhealthy_cluster_is_unavailable(api: ApiHarness) -> None:
    code, details = await _code(_run(api, api.key_a, VZ_A_SICK))
    assert code is grpc.StatusCode.UNAVAILABLE
    assert details == "cluster is not in a healthy state"


async def test_other_orgs_cluster_looks_missing(api: ApiHarness) -> None:
    code, _ = await _code(_run(api, api.key_a, VZ_B1))
    assert code is grpc.StatusCode.NOT_FOUND
    assert api.vizier.requests == []


async def test_no_key_and_unknown_key_are_unauthenticated(api: ApiHarness) -> None:
    for key in (None, "px-api-00000000-0000-0000-0000-000000000000", ""):
        code, _ = await _code(_run(api, key, VZ_A1))
        assert code is grpc.StatusCode.UNAUTHENTICATED
    assert api.vizier.requests == []


async def test_deploy_key_is_refused_without_asking_auth(api: ApiHarness) -> None:
    code, _ = await _code(_run(api, "px-dep-11111111-1111-1111-1111-111111111111", VZ_A1))
    assert code is grpc.StatusCode.UNAUTHENTICATED
    assert not any(name == "GetAugmentedTokenForAPIKey" for name, _ in api.auth.calls)


async def test_compile_error_is_sent_in_band_then_ends_the_rpc(api: ApiHarness) -> None:
    received: list[vpb.ExecuteScriptResponse] = []
    async with api.channel() as channel:
        stub = vpb_grpc.VizierServiceStub(channel)
        call = stub.ExecuteScript(
            vpb.ExecuteScriptRequest(query_str="x = aa", cluster_id=VZ_A1),
            metadata=[("pixie-api-key", api.key_a)],
        )
        with pytest.raises(grpc.aio.AioRpcError) as info:
            async for response in call:
                received.append(response)
    assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert received[0].status.error_details[0].compiler_error.column == 5


async def test_client_going_away_cancels_the_query_on_the_vizier(api: ApiHarness) -> None:
    async with api.channel() as channel:
        stub = vpb_grpc.VizierServiceStub(channel)
        call = stub.ExecuteScript(
            vpb.ExecuteScriptRequest(query_str="hang", cluster_id=VZ_A1),
            metadata=[("pixie-api-key", api.key_a)],
        )
        first = await call.read()
        assert first.meta_data.name == "http"
        call.cancel()
    await asyncio.wait_for(api.vizier.cancelled.wait(), 10)
    cancels = [r for r in api.vizier.requests if r.WhichOneof("msg") == "cancel_req"]
    assert cancels[0].request_id == api.vizier.requests[0].request_id


@pytest.mark.parametrize("api", [{"passthrough_first_reply_seconds": 0.5}], indirect=True)
async def test_silent_vizier_fails_the_query_as_unavailable(api: ApiHarness) -> None:
    await api.vizier.stop()
    code, details = await _code(_run(api, api.key_a, VZ_A1))
    assert code is grpc.StatusCode.UNAVAILABLE
    assert "stopped answering" in details


async def test_read_only_key_runs_scripts_but_not_mutations(api: ApiHarness) -> None:
    read_only = api.auth.add_api_key(ORG_A, USER_A, scope=AccessScope.READ_ONLY)
    assert (await _run(api, read_only, VZ_A1))[0].meta_data.name == "http"
    code, _ = await _code(_run(api, read_only, VZ_A1, mutation=True))
    assert code is grpc.StatusCode.PERMISSION_DENIED
    assert (await _run(api, api.key_a, VZ_A1, mutation=True))[0].meta_data.name == "http"


async def test_read_only_key_cannot_smuggle_a_pxtrace_script_without_the_mutation_flag(
    api: ApiHarness,
) -> None:
    read_only = api.auth.add_api_key(ORG_A, USER_A, scope=AccessScope.READ_ONLY)
    script = "import pxtrace\npxtrace.DeleteTracepoint('probe')\n"
    code, details = await _code(_run(api, read_only, VZ_A1, query=script))
    assert code is grpc.StatusCode.PERMISSION_DENIED
    assert "read-only" in details


async def test_key_limited_to_clusters_reaches_only_those(api: ApiHarness) -> None:
    limited = api.auth.add_api_key(ORG_A, USER_A, cluster_ids=(VZ_A2,))
    assert (await _run(api, limited, VZ_A2))[0].meta_data.name == "http"
    code, _ = await _code(_run(api, limited, VZ_A1))
    assert code is grpc.StatusCode.PERMISSION_DENIED


async def test_bearer_user_token_works_like_a_key(api: ApiHarness) -> None:
    token = api.auth.login_token(USER_A, ORG_A)
    async with api.channel() as channel:
        stub = vpb_grpc.VizierServiceStub(channel)
        call = stub.ExecuteScript(
            vpb.ExecuteScriptRequest(query_str="rows", cluster_id=VZ_A1),
            metadata=[("authorization", f"bearer {token}")],
        )
        responses = [r async for r in call]
    assert responses[0].meta_data.name == "http"


async def test_health_check_passes_through(api: ApiHarness) -> None:
    async with api.channel() as channel:
        stub = vpb_grpc.VizierServiceStub(channel)
        call = stub.HealthCheck(
            vpb.HealthCheckRequest(cluster_id=VZ_A1), metadata=[("pixie-api-key", api.key_a)]
        )
        responses = [r async for r in call]
    assert [r.status.code for r in responses] == [0]
