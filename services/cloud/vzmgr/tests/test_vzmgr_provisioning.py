"""ProvisionOrClaimVizier through the real servicer, on real PostgreSQL."""

from __future__ import annotations

import re
import uuid

import grpc
import psycopg
import pytest
from pyxie_jwt import VIZIER_AUDIENCE, SigningKey, cluster_claims, sign_token
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2 as cvmsgs
from pyxie_proto.cloud.vzmgrpb import vzmgr_pb2 as pb
from pyxie_vzmgr.testing import Cloud


def _org() -> str:
    return str(uuid.uuid4())


async def _connect(cloud: Cloud, vizier_id: str, key_text: str, uid: str = "") -> int:
    proof = sign_token(
        cluster_claims(cluster_id=vizier_id, audience=VIZIER_AUDIENCE), SigningKey(key_text)
    )
    ack = await cloud.mgr.VizierConnected(
        pb.VizierConnectedRequest(
            register=cvmsgs.RegisterVizierRequest(
                vizier_id=vizier_id, jwt_key_proof=proof, cluster_uid=uid, vizier_version="0.1.0"
            )
        ),
        metadata=cloud.service_auth(),
    )
    return int(ack.status)


async def _status(cloud: Cloud, vizier_id: str) -> int:
    info = await cloud.mgr.GetVizierInfo(
        pb.GetVizierInfoRequest(vizier_id=vizier_id), metadata=cloud.service_auth()
    )
    return int(info.status)


async def test_a_new_cluster_gets_a_new_disconnected_vizier_and_its_key_once(cloud: Cloud) -> None:
    org = _org()
    key = await cloud.new_deploy_key(org)
    registered = await cloud.register(key, "uid-1", "prod")
    assert registered.vizier_name == "prod"
    assert len(registered.jwt_signing_key) >= 32
    assert await _status(cloud, registered.vizier_id) == cvmsgs.VZ_ST_DISCONNECTED
    # Stored encrypted: the key text appears nowhere in the row.
    with psycopg.connect(cloud.dsn) as conn:
        stored = conn.execute("SELECT jwt_signing_key FROM vizier_cluster_info").fetchone()
    assert stored is not None
    assert registered.jwt_signing_key.encode() not in bytes(stored[0])


async def test_same_cluster_uid_while_active_is_rejected(cloud: Cloud) -> None:
    org = _org()
    key = await cloud.new_deploy_key(org)
    first = await cloud.register(key, "uid-1", "prod")
    assert (
        await _connect(cloud, first.vizier_id, first.jwt_signing_key)
        == cvmsgs.RegisterVizierAck.ST_OK
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await cloud.register(key, "uid-1", "prod")
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "already active" in (raised.value.details() or "")


async def test_same_cluster_uid_when_disconnected_reclaims_the_vizier_with_a_new_key(
    cloud: Cloud,
) -> None:
    org = _org()
    key = await cloud.new_deploy_key(org)
    first = await cloud.register(key, "uid-1", "prod")
    again = await cloud.register(key, "uid-1", "prod")
    assert again.vizier_id == first.vizier_id
    assert again.vizier_name == "prod"
    assert again.jwt_signing_key != first.jwt_signing_key
    # The old key no longer proves anything.
    rejected = cvmsgs.RegisterVizierAck.ST_FAILED_REJECTED
    assert await _connect(cloud, first.vizier_id, first.jwt_signing_key) == rejected
    assert (
        await _connect(cloud, again.vizier_id, again.jwt_signing_key)
        == cvmsgs.RegisterVizierAck.ST_OK
    )


async def test_reclaim_keeps_a_suffixed_name_when_the_base_name_is_asked_again(
    cloud: Cloud,
) -> None:
    other_org_key = await cloud.new_deploy_key(_org())
    await cloud.register(other_org_key, "uid-x", "prod")
    key = await cloud.new_deploy_key(_org())
    first = await cloud.register(key, "uid-1", "prod")
    assert first.vizier_name.startswith("prod_")
    again = await cloud.register(key, "uid-1", "prod")
    assert again.vizier_name == first.vizier_name


async def test_an_empty_disconnected_row_in_the_org_is_claimed(cloud: Cloud) -> None:
    org = _org()
    empty_id = uuid.uuid4()
    with psycopg.connect(cloud.dsn) as conn:
        conn.execute(
            "INSERT INTO vizier_cluster (id, org_id, cluster_uid, cluster_name, name_skeleton)"
            " VALUES (%s, %s, '', 'placeholder', 'placeholder')",
            (empty_id, uuid.UUID(org)),
        )
        conn.execute(
            "INSERT INTO vizier_cluster_info (vizier_cluster_id, status)"
            " VALUES (%s, 'DISCONNECTED')",
            (empty_id,),
        )
    key = await cloud.new_deploy_key(org)
    claimed = await cloud.register(key, "uid-new", "staging")
    assert claimed.vizier_id == str(empty_id)
    assert claimed.vizier_name == "staging"
    with psycopg.connect(cloud.dsn) as conn:
        row = conn.execute(
            "SELECT cluster_uid FROM vizier_cluster WHERE id = %s", (empty_id,)
        ).fetchone()
    assert row == ("uid-new",)


async def test_a_name_taken_in_another_org_gets_an_eight_hex_suffix(cloud: Cloud) -> None:
    first = await cloud.register(await cloud.new_deploy_key(_org()), "uid-a", "prod")
    second = await cloud.register(await cloud.new_deploy_key(_org()), "uid-b", "prod")
    assert first.vizier_name == "prod"
    assert re.fullmatch(r"prod_[0-9a-f]{8}", second.vizier_name)


async def test_a_name_differing_only_in_case_is_treated_as_taken(cloud: Cloud) -> None:
    await cloud.register(await cloud.new_deploy_key(_org()), "uid-a", "prod")
    second = await cloud.register(await cloud.new_deploy_key(_org()), "uid-b", "PROD")
    assert re.fullmatch(r"PROD_[0-9a-f]{8}", second.vizier_name)


@pytest.mark.parametrize("lookalike", ["pr\u043ed", "pr0d", "\u0440rod"])
async def test_a_confusable_lookalike_of_an_existing_name_is_rejected(
    cloud: Cloud, lookalike: str
) -> None:
    await cloud.register(await cloud.new_deploy_key(_org()), "uid-a", "prod")
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await cloud.register(await cloud.new_deploy_key(_org()), "uid-b", lookalike)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "confusable" in (raised.value.details() or "")


async def test_names_are_nfkc_normalised_before_they_are_stored(cloud: Cloud) -> None:
    registered = await cloud.register(
        await cloud.new_deploy_key(_org()), "uid-a", "  \uff50\uff52\uff4f\uff44  "
    )
    assert registered.vizier_name == "prod"


async def test_no_name_gets_a_generated_one(cloud: Cloud) -> None:
    registered = await cloud.register(await cloud.new_deploy_key(_org()), "uid-a", "")
    assert re.fullmatch(r"[a-z]+_[a-z]+(_[0-9a-f]{8})?", registered.vizier_name)


async def test_an_expired_deploy_key_is_rejected_and_every_use_is_audited(cloud: Cloud) -> None:
    org = _org()
    good = await cloud.new_deploy_key(org)
    expiring = await cloud.new_deploy_key(org, expires_at_ns=(2**62))
    with psycopg.connect(cloud.dsn) as conn:
        conn.execute(
            "UPDATE vizier_deployment_keys SET expires_at = now() - interval '1 second'"
            " WHERE expires_at IS NOT NULL"
        )
    registered = await cloud.register(good, "uid-1", "prod")
    with pytest.raises(grpc.aio.AioRpcError) as expired:
        await cloud.register(expiring, "uid-2", "other")
    assert expired.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "expired" in (expired.value.details() or "")
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await cloud.register("px-dep-" + str(uuid.uuid4()), "uid-3", "third")
    assert unknown.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with psycopg.connect(cloud.dsn) as conn:
        rows = conn.execute(
            "SELECT key_id IS NOT NULL, org_id::text, cluster_uid, vizier_id::text, peer, outcome"
            " FROM deploy_key_audit ORDER BY id"
        ).fetchall()
        last_used = conn.execute(
            "SELECT count(*) FROM vizier_deployment_keys WHERE last_used_at IS NOT NULL"
        ).fetchone()
    assert rows == [
        (True, org, "uid-1", registered.vizier_id, "test", "created"),
        (True, org, "uid-2", None, "test", "rejected"),
        (False, None, "uid-3", None, "test", "rejected"),
    ]
    assert last_used == (1,)


async def test_registration_needs_a_service_token(cloud: Cloud) -> None:
    org = _org()
    key = await cloud.new_deploy_key(org)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await cloud.deployment.RegisterVizierDeployment(
            pb.RegisterVizierDeploymentRequest(deploy_key=key, k8s_cluster_uid="u"),
            metadata=cloud.user_auth(org),
        )
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_deploy_key_is_no_credential_for_anything_else(cloud: Cloud) -> None:
    org = _org()
    key = await cloud.new_deploy_key(org)
    request = pb.GetViziersByOrgRequest(org_id=org)
    for metadata in (
        (("authorization", f"bearer {key}"),),
        (("pixie-api-key", key),),
        (("x-api-key", key),),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await cloud.mgr.GetViziersByOrg(request, metadata=metadata)
        assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as listing:
        await cloud.keys.List(
            pb.ListDeploymentKeysRequest(org_id=org), metadata=(("x-api-key", key),)
        )
    assert listing.value.code() == grpc.StatusCode.UNAUTHENTICATED
