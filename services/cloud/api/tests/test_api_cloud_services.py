"""px.cloudapi on the api: cluster info, key managers and Login, against fake auth/vzmgr."""

from __future__ import annotations

import uuid

import grpc
import pytest
from pyxie_api.controllers.ids import uuid_from_pb, uuid_to_pb
from pyxie_api.testing import ORG_A, USER_A, VZ_A1, VZ_A2, VZ_A_SICK, VZ_B1, ApiHarness
from pyxie_jwt import AccessScope
from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb
from pyxie_proto.api.cloudpb import cloudapi_pb2_grpc as cpb_grpc


def _key(key: str) -> list[tuple[str, str]]:
    return [("pixie-api-key", key)]


async def test_cluster_info_lists_only_the_callers_org(api: ApiHarness) -> None:
    async with api.channel() as channel:
        stub = cpb_grpc.VizierClusterInfoStub(channel)
        response = await stub.GetClusterInfo(cpb.GetClusterInfoRequest(), metadata=_key(api.key_a))
    by_id = {uuid_from_pb(c.id, "id"): c for c in response.clusters}
    assert set(by_id) == {VZ_A1, VZ_A2, VZ_A_SICK}
    alpha = by_id[VZ_A1]
    assert alpha.status == cpb.CS_HEALTHY and alpha.cluster_name == "alpha"
    assert alpha.config.passthrough_enabled and alpha.num_nodes == 2
    assert alpha.vizier_version == "0.1.0" and alpha.cluster_uid == "uid-alpha"
    assert by_id[VZ_A2].status == cpb.CS_DEGRADED
    assert by_id[VZ_A2].pretty_cluster_name == "beta"
    assert by_id[VZ_A_SICK].status == cpb.CS_DISCONNECTED


async def test_cluster_info_by_id_and_other_orgs_id(api: ApiHarness) -> None:
    async with api.channel() as channel:
        stub = cpb_grpc.VizierClusterInfoStub(channel)
        own = await stub.GetClusterInfo(
            cpb.GetClusterInfoRequest(id=uuid_to_pb(VZ_A1)), metadata=_key(api.key_a)
        )
        assert [c.cluster_name for c in own.clusters] == ["alpha"]
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.GetClusterInfo(
                cpb.GetClusterInfoRequest(id=uuid_to_pb(VZ_B1)), metadata=_key(api.key_a)
            )
    assert info.value.code() is grpc.StatusCode.NOT_FOUND


async def test_cluster_limited_key_sees_only_its_clusters(api: ApiHarness) -> None:
    limited = api.auth.add_api_key(ORG_A, USER_A, cluster_ids=(VZ_A2,))
    async with api.channel() as channel:
        stub = cpb_grpc.VizierClusterInfoStub(channel)
        response = await stub.GetClusterInfo(cpb.GetClusterInfoRequest(), metadata=_key(limited))
    assert [uuid_from_pb(c.id, "id") for c in response.clusters] == [VZ_A2]


async def test_connection_info_needs_admin(api: ApiHarness) -> None:
    read_only = api.auth.add_api_key(ORG_A, USER_A, scope=AccessScope.READ_ONLY)
    async with api.channel() as channel:
        stub = cpb_grpc.VizierClusterInfoStub(channel)
        request = cpb.GetClusterConnectionInfoRequest(id=uuid_to_pb(VZ_A1))
        response = await stub.GetClusterConnectionInfo(request, metadata=_key(api.key_a))
        assert response.token == f"cluster-token-{VZ_A1}"
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.GetClusterConnectionInfo(request, metadata=_key(read_only))
    assert info.value.code() is grpc.StatusCode.PERMISSION_DENIED


async def test_api_keys_create_list_get_delete(api: ApiHarness) -> None:
    async with api.channel() as channel:
        stub = cpb_grpc.APIKeyManagerStub(channel)
        created = await stub.Create(cpb.CreateAPIKeyRequest(desc="ci"), metadata=_key(api.key_a))
        assert created.key.startswith("px-api-") and created.desc == "ci"
        assert uuid_from_pb(created.org_id, "org") == ORG_A
        listed = await stub.List(cpb.ListAPIKeyRequest(), metadata=_key(api.key_a))
        assert created.id in [k.id for k in listed.keys]
        got = await stub.Get(cpb.GetAPIKeyRequest(id=created.id), metadata=_key(api.key_a))
        assert got.key.desc == "ci"
        # The new key works at once, and stops at once when deleted (no stale cache).
        await stub.List(cpb.ListAPIKeyRequest(), metadata=_key(created.key))
        await stub.Delete(created.id, metadata=_key(api.key_a))
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.List(cpb.ListAPIKeyRequest(), metadata=_key(created.key))
    assert info.value.code() is grpc.StatusCode.UNAUTHENTICATED
    # auth saw who acted: the service token plus the caller's augmented token.
    user_calls = [m for name, m in api.auth.calls if name == "user-call"]
    assert user_calls and all("x-pyxie-user-token" in m for m in user_calls)


async def test_read_only_key_cannot_create_or_delete_keys(api: ApiHarness) -> None:
    read_only = api.auth.add_api_key(ORG_A, USER_A, scope=AccessScope.READ_ONLY)
    async with api.channel() as channel:
        api_keys = cpb_grpc.APIKeyManagerStub(channel)
        deploy_keys = cpb_grpc.VizierDeploymentKeyManagerStub(channel)
        attempts = [
            api_keys.Create(cpb.CreateAPIKeyRequest(desc="x"), metadata=_key(read_only)),
            api_keys.Delete(uuid_to_pb(str(uuid.uuid4())), metadata=_key(read_only)),
            deploy_keys.Create(cpb.CreateDeploymentKeyRequest(desc="x"), metadata=_key(read_only)),
            deploy_keys.Delete(uuid_to_pb(str(uuid.uuid4())), metadata=_key(read_only)),
        ]
        for attempt in attempts:
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await attempt
            assert info.value.code() is grpc.StatusCode.PERMISSION_DENIED
        listed = await api_keys.List(cpb.ListAPIKeyRequest(), metadata=_key(read_only))
    assert len(listed.keys) >= 1


async def test_deploy_keys_create_list_delete(api: ApiHarness) -> None:
    async with api.channel() as channel:
        stub = cpb_grpc.VizierDeploymentKeyManagerStub(channel)
        created = await stub.Create(
            cpb.CreateDeploymentKeyRequest(desc="laptop"), metadata=_key(api.key_a)
        )
        assert created.key.startswith("px-dep-")
        listed = await stub.List(cpb.ListDeploymentKeyRequest(), metadata=_key(api.key_a))
        assert [k.desc for k in listed.keys] == ["laptop"]
        other = await stub.List(cpb.ListDeploymentKeyRequest(), metadata=_key(api.key_b))
        assert list(other.keys) == []
        await stub.Delete(created.id, metadata=_key(api.key_a))
        assert isinstance(
            await stub.List(cpb.ListDeploymentKeyRequest(), metadata=_key(api.key_a)),
            cpb.ListDeploymentKeyResponse,
        )
    # The deploy key itself is no credential for the public API.
    async with api.channel() as channel:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await cpb_grpc.APIKeyManagerStub(channel).List(
                cpb.ListAPIKeyRequest(), metadata=_key(created.key)
            )
    assert info.value.code() is grpc.StatusCode.UNAUTHENTICATED


async def test_login_with_access_token_api_key_or_pasted_token(api: ApiHarness) -> None:
    api.auth.oidc_tokens["idp-access"] = (USER_A, ORG_A)
    async with api.channel() as channel:
        stub = cpb_grpc.AuthServiceStub(channel)
        reply = await stub.Login(cpb.LoginRequest(access_token="idp-access"))
        assert reply.token.count(".") == 2 and reply.expires_at > 0
        pasted = await stub.Login(cpb.LoginRequest(access_token=reply.token))
        assert pasted.token == reply.token
        by_key = await stub.Login(cpb.LoginRequest(), metadata=_key(api.key_a))
        assert by_key.token
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.Login(cpb.LoginRequest(access_token="forged"))
        assert info.value.code() is grpc.StatusCode.UNAUTHENTICATED
        # The login token is a bearer credential for the rest of the API.
        clusters = cpb_grpc.VizierClusterInfoStub(channel)
        response = await clusters.GetClusterInfo(
            cpb.GetClusterInfoRequest(), metadata=[("authorization", f"bearer {reply.token}")]
        )
    assert len(response.clusters) == 3


async def test_service_tokens_are_no_credential(api: ApiHarness) -> None:
    from pyxie_jwt import SigningKey, service_claims, sign_token

    token = sign_token(
        service_claims(service_id="vzmgr", audience=api.settings.jwt_audience),
        SigningKey(api.settings.jwt_signing_key.get_secret_value()),
    )
    async with api.channel() as channel:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await cpb_grpc.VizierClusterInfoStub(channel).GetClusterInfo(
                cpb.GetClusterInfoRequest(), metadata=[("authorization", f"bearer {token}")]
            )
    assert info.value.code() is grpc.StatusCode.UNAUTHENTICATED


async def test_health_service_needs_no_credentials(api: ApiHarness) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    async with api.channel() as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize("api", [{"failed_credentials_per_minute": 5}], indirect=True)
async def test_key_guessing_locks_out_the_address_but_not_verified_keys(api: ApiHarness) -> None:
    """The attack: guess API keys from one address. After the limit, every new credential
    from it is refused unchecked (RESOURCE_EXHAUSTED), even a real key; a key that was already
    verified (cached) keeps working, so a busy legitimate client is not cut off."""
    async with api.channel() as channel:
        clusters = cpb_grpc.VizierClusterInfoStub(channel)
        await clusters.GetClusterInfo(cpb.GetClusterInfoRequest(), metadata=_key(api.key_a))
        for guess in range(5):
            with pytest.raises(grpc.aio.AioRpcError) as wrong:
                await clusters.GetClusterInfo(
                    cpb.GetClusterInfoRequest(), metadata=_key(f"px-api-{guess:032d}")
                )
            assert wrong.value.code() is grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.aio.AioRpcError) as locked:
            await clusters.GetClusterInfo(
                cpb.GetClusterInfoRequest(),
                metadata=_key(api.key_b),  # a real key, never seen
            )
        assert locked.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "too many failed credential checks" in (locked.value.details() or "")
        # Login is limited the same way.
        with pytest.raises(grpc.aio.AioRpcError) as login:
            await cpb_grpc.AuthServiceStub(channel).Login(
                cpb.LoginRequest(), metadata=_key(api.key_b)
            )
        assert login.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        still = await clusters.GetClusterInfo(cpb.GetClusterInfoRequest(), metadata=_key(api.key_a))
    assert len(still.clusters) == 3
