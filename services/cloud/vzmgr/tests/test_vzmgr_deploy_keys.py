"""VZDeploymentKeyService: shown once, stored hashed, org-scoped."""

from __future__ import annotations

import hashlib
import uuid

import grpc
import psycopg
import pytest
from pyxie_proto.cloud.vzmgrpb import vzmgr_pb2 as pb
from pyxie_vzmgr.testing import Cloud


async def test_a_created_key_is_shown_once_and_stored_only_as_its_hash(cloud: Cloud) -> None:
    org = str(uuid.uuid4())
    created = await cloud.keys.Create(
        pb.CreateDeploymentKeyRequest(description="ci"), metadata=cloud.user_auth(org)
    )
    assert created.key.startswith("px-dep-")
    uuid.UUID(created.key.removeprefix("px-dep-"))
    assert created.org_id == org
    listed = await cloud.keys.List(pb.ListDeploymentKeysRequest(), metadata=cloud.user_auth(org))
    assert [(key.id, key.description, key.key) for key in listed.keys] == [(created.id, "ci", "")]
    fetched = await cloud.keys.Get(
        pb.GetDeploymentKeyRequest(id=created.id), metadata=cloud.user_auth(org)
    )
    assert fetched.key == ""
    with psycopg.connect(cloud.dsn) as conn:
        (stored,) = conn.execute("SELECT hashed_key FROM vizier_deployment_keys").fetchone() or ()
        dump = conn.execute("SELECT row_to_json(k)::text FROM vizier_deployment_keys k").fetchone()
    assert bytes(stored) == hashlib.sha256(created.key.encode()).digest()
    assert dump is not None and created.key not in dump[0]


async def test_keys_are_invisible_to_other_orgs(cloud: Cloud) -> None:
    org, other = str(uuid.uuid4()), str(uuid.uuid4())
    created = await cloud.keys.Create(
        pb.CreateDeploymentKeyRequest(), metadata=cloud.user_auth(org)
    )
    listed = await cloud.keys.List(pb.ListDeploymentKeysRequest(), metadata=cloud.user_auth(other))
    assert list(listed.keys) == []
    for call, request in (
        (cloud.keys.Get, pb.GetDeploymentKeyRequest(id=created.id)),
        (cloud.keys.Delete, pb.DeleteDeploymentKeyRequest(id=created.id)),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call(request, metadata=cloud.user_auth(other))
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_user_cannot_name_another_org(cloud: Cloud) -> None:
    org, other = str(uuid.uuid4()), str(uuid.uuid4())
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await cloud.keys.List(
            pb.ListDeploymentKeysRequest(org_id=other), metadata=cloud.user_auth(org)
        )
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_deleted_key_no_longer_registers_viziers(cloud: Cloud) -> None:
    org = str(uuid.uuid4())
    created = await cloud.keys.Create(
        pb.CreateDeploymentKeyRequest(), metadata=cloud.api_user_auth(org)
    )
    await cloud.keys.Delete(
        pb.DeleteDeploymentKeyRequest(id=created.id), metadata=cloud.user_auth(org)
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await cloud.register(created.key, "uid", "prod")
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_an_expiry_in_the_past_is_refused_at_creation(cloud: Cloud) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await cloud.keys.Create(
            pb.CreateDeploymentKeyRequest(expires_at_ns=1_000_000_000),
            metadata=cloud.user_auth(str(uuid.uuid4())),
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
