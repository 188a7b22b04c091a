"""API keys: shown once and stored hashed, org-scoped, scoped tokens, expiry, deletion."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import grpc
import psycopg
import pytest
from pyxie_auth.testing import DOMAIN, Auth
from pyxie_jwt import AccessScope, APIUserClaims, verify_token
from pyxie_proto.cloud.authpb import auth_pb2 as apb

CLUSTER_A = str(uuid.uuid4())
CLUSTER_B = str(uuid.uuid4())


async def _code_of(call: object) -> grpc.StatusCode:
    try:
        await call  # type: ignore[misc]
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    raise AssertionError("the call succeeded")


async def _create(cloud: Auth, user_token: str, **fields: object) -> apb.APIKey:
    key: apb.APIKey = await cloud.keys.Create(
        apb.CreateAPIKeyRequest(**fields),  # type: ignore[arg-type]
        metadata=cloud.service_metadata(user_token),
    )
    return key


async def _exchange(cloud: Auth, key: str) -> apb.AugmentedToken:
    token: apb.AugmentedToken = await cloud.auth.GetAugmentedTokenForAPIKey(
        apb.GetAugmentedTokenForAPIKeyRequest(api_key=key), metadata=cloud.service_metadata()
    )
    return token


async def _list(cloud: Auth, user_token: str, org_id: str = "") -> list[apb.APIKey]:
    response = await cloud.keys.List(
        apb.ListAPIKeysRequest(org_id=org_id), metadata=cloud.service_metadata(user_token)
    )
    return list(response.keys)


async def test_created_key_is_shown_once_and_only_its_hash_is_stored(cloud: Auth) -> None:
    alice = await cloud.user_token("alice@example.com", "Acme")
    created = await _create(cloud, alice, description="ci")
    assert created.key.startswith("px-api-")
    uuid.UUID(created.key.removeprefix("px-api-"))
    with psycopg.connect(cloud.dsn) as conn:
        rows = conn.execute("SELECT * FROM api_keys").fetchall()
        hashed = conn.execute("SELECT hashed_key FROM api_keys").fetchone()
    assert len(rows) == 1
    assert hashed is not None
    assert bytes(hashed[0]) == hashlib.sha256(created.key.encode()).digest()
    stored_text = repr(rows[0])
    assert created.key not in stored_text
    assert created.key.removeprefix("px-api-") not in stored_text
    listed = await _list(cloud, alice)
    assert [(k.id, k.description, k.key) for k in listed] == [(created.id, "ci", "")]


async def test_key_exchanges_for_an_api_user_token_and_stamps_last_use(cloud: Auth) -> None:
    alice = await cloud.user_token("alice@example.com", "Acme")
    created = await _create(cloud, alice)
    assert (await _list(cloud, alice))[0].last_used_at_ns == 0
    token = await _exchange(cloud, created.key)
    claims = verify_token(token.token, cloud.key, audience=DOMAIN)
    assert isinstance(claims, APIUserClaims)
    assert (claims.org_id, claims.user_id) == (created.org_id, created.user_id)
    assert (token.scope, list(token.cluster_ids)) == ("admin", [])
    assert (await _list(cloud, alice))[0].last_used_at_ns > 0


async def test_deleted_key_no_longer_exchanges(cloud: Auth) -> None:
    alice = await cloud.user_token("alice@example.com", "Acme")
    created = await _create(cloud, alice)
    await cloud.keys.Delete(
        apb.DeleteAPIKeyRequest(id=created.id), metadata=cloud.service_metadata(alice)
    )
    assert await _list(cloud, alice) == []
    assert await _code_of(_exchange(cloud, created.key)) == grpc.StatusCode.UNAUTHENTICATED


async def test_expired_key_no_longer_exchanges(cloud: Auth) -> None:
    alice = await cloud.user_token("alice@example.com", "Acme")
    expires = datetime.now(UTC) + timedelta(hours=1)
    created = await _create(cloud, alice, expires_at_ns=int(expires.timestamp() * 10**9))
    token = verify_token((await _exchange(cloud, created.key)).token, cloud.key, audience=DOMAIN)
    # The token never outlives the key.
    assert token.expires_at <= expires
    with psycopg.connect(cloud.dsn) as conn:
        conn.execute("UPDATE api_keys SET expires_at = now() - interval '1 second'")
    assert await _code_of(_exchange(cloud, created.key)) == grpc.StatusCode.UNAUTHENTICATED


async def test_expiry_in_the_past_is_refused_at_creation(cloud: Auth) -> None:
    alice = await cloud.user_token("alice@example.com", "Acme")
    past = int((datetime.now(UTC) - timedelta(minutes=1)).timestamp() * 10**9)
    code = await _code_of(_create(cloud, alice, expires_at_ns=past))
    assert code == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("key", ["px-api-not-a-uuid", "", "px-dep-" + str(uuid.uuid4())])
async def test_malformed_or_unknown_keys_do_not_exchange(cloud: Auth, key: str) -> None:
    assert await _code_of(_exchange(cloud, key)) == grpc.StatusCode.UNAUTHENTICATED


async def test_org_a_cannot_list_or_delete_org_b_keys(cloud: Auth) -> None:
    alice = await cloud.user_token("alice@example.com", "Acme")
    bob_login = await cloud.signup("bob@example.com", org_name="Globex")
    bob = await cloud.augmented(bob_login.token)
    bobs_key = await _create(cloud, bob)
    listing = cloud.keys.List(
        apb.ListAPIKeysRequest(org_id=bob_login.user.org_id),
        metadata=cloud.service_metadata(alice),
    )
    assert await _code_of(listing) == grpc.StatusCode.PERMISSION_DENIED
    assert await _list(cloud, alice) == []
    for org_id in ("", bob_login.user.org_id):
        delete = cloud.keys.Delete(
            apb.DeleteAPIKeyRequest(id=bobs_key.id, org_id=org_id),
            metadata=cloud.service_metadata(alice),
        )
        assert await _code_of(delete) in (
            grpc.StatusCode.NOT_FOUND,
            grpc.StatusCode.PERMISSION_DENIED,
        )
    create = cloud.keys.Create(
        apb.CreateAPIKeyRequest(org_id=bob_login.user.org_id),
        metadata=cloud.service_metadata(alice),
    )
    assert await _code_of(create) == grpc.StatusCode.PERMISSION_DENIED
    # Bob's key survived every attempt.
    assert (await _exchange(cloud, bobs_key.key)).token


async def test_read_only_key_token_can_list_but_not_create_or_delete(cloud: Auth) -> None:
    alice = await cloud.user_token("alice@example.com", "Acme")
    read_only = await _create(cloud, alice, scope="read-only")
    exchanged = await _exchange(cloud, read_only.key)
    assert exchanged.scope == "read-only"
    claims = verify_token(exchanged.token, cloud.key, audience=DOMAIN)
    assert isinstance(claims, APIUserClaims)
    assert claims.access_scope is AccessScope.READ_ONLY
    assert [k.id for k in await _list(cloud, exchanged.token)] == [read_only.id]
    create = _create(cloud, exchanged.token, scope="admin")
    assert await _code_of(create) == grpc.StatusCode.PERMISSION_DENIED
    delete = cloud.keys.Delete(
        apb.DeleteAPIKeyRequest(id=read_only.id), metadata=cloud.service_metadata(exchanged.token)
    )
    assert await _code_of(delete) == grpc.StatusCode.PERMISSION_DENIED
    assert len(await _list(cloud, alice)) == 1


async def test_cluster_limited_key_cannot_mint_a_wider_key(cloud: Auth) -> None:
    alice = await cloud.user_token("alice@example.com", "Acme")
    limited = await _create(cloud, alice, cluster_ids=[CLUSTER_A])
    token = (await _exchange(cloud, limited.key)).token
    claims = verify_token(token, cloud.key, audience=DOMAIN)
    assert isinstance(claims, APIUserClaims) and claims.cluster_ids == (CLUSTER_A,)
    for clusters in ([], [CLUSTER_A, CLUSTER_B]):
        code = await _code_of(_create(cloud, token, cluster_ids=clusters))
        assert code == grpc.StatusCode.PERMISSION_DENIED
    narrower = await _create(cloud, token, cluster_ids=[CLUSTER_A], scope="read-only")
    assert list(narrower.cluster_ids) == [CLUSTER_A]


async def test_unknown_scope_or_bad_cluster_id_is_refused(cloud: Auth) -> None:
    alice = await cloud.user_token("alice@example.com", "Acme")
    assert await _code_of(_create(cloud, alice, scope="root")) == grpc.StatusCode.INVALID_ARGUMENT
    bad_cluster = _create(cloud, alice, cluster_ids=["not-a-uuid"])
    assert await _code_of(bad_cluster) == grpc.StatusCode.INVALID_ARGUMENT


async def test_key_cannot_be_created_for_another_user(cloud: Auth) -> None:
    alice = await cloud.user_token("alice@example.com", "Acme")
    code = await _code_of(_create(cloud, alice, user_id=str(uuid.uuid4())))
    assert code == grpc.StatusCode.PERMISSION_DENIED


async def test_user_without_an_org_cannot_create_keys(cloud: Auth) -> None:
    loner = await cloud.augmented((await cloud.signup("solo@example.com")).token)
    assert await _code_of(_create(cloud, loner)) == grpc.StatusCode.FAILED_PRECONDITION
