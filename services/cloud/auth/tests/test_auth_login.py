"""Signup, password login, augmented tokens, logout, invites and who may call auth at all."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import grpc
import psycopg
import pytest
from pyxie_auth.testing import DOMAIN, PASSWORD, Auth
from pyxie_jwt import (
    SigningKey,
    UserClaims,
    sign_token,
    user_claims,
    verify_token,
)
from pyxie_proto.cloud.authpb import auth_pb2 as apb


async def _code_of(call: object) -> grpc.StatusCode:
    try:
        await call  # type: ignore[misc]
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    raise AssertionError("the call succeeded")


async def test_signup_creates_the_org_and_returns_a_login_token(cloud: Auth) -> None:
    response = await cloud.signup("Alice@Example.com", org_name="Acme")
    assert response.user_created
    assert response.user.email == "alice@example.com"
    assert response.user.org_id
    claims = verify_token(response.token, cloud.key, audience=DOMAIN)
    assert isinstance(claims, UserClaims)
    assert (claims.user_id, claims.org_id) == (response.user.user_id, response.user.org_id)
    assert claims.expires_at - claims.issued_at == timedelta(days=90)


async def test_password_is_stored_as_an_argon2id_hash(cloud: Auth) -> None:
    await cloud.signup("alice@example.com", org_name="Acme")
    with psycopg.connect(cloud.dsn) as conn:
        row = conn.execute("SELECT password_hash FROM users").fetchone()
    assert row is not None
    assert row[0].startswith("$argon2id$")
    assert PASSWORD not in row[0]


async def test_password_login_with_any_case_of_the_email(cloud: Auth) -> None:
    signed_up = await cloud.signup("alice@example.com", org_name="Acme")
    response = await cloud.auth.PasswordLogin(
        apb.PasswordLoginRequest(email="ALICE@example.com", password=PASSWORD),
        metadata=cloud.service_metadata(),
    )
    assert response.user.user_id == signed_up.user.user_id
    assert not response.user_created


async def test_wrong_password_and_unknown_email_fail_the_same_way(cloud: Auth) -> None:
    await cloud.signup("alice@example.com", org_name="Acme")
    failures = []
    for email, password in (("alice@example.com", "wrong password"), ("bob@x.io", PASSWORD)):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await cloud.auth.PasswordLogin(
                apb.PasswordLoginRequest(email=email, password=password),
                metadata=cloud.service_metadata(),
            )
        failures.append((caught.value.code(), caught.value.details()))
    assert failures == [(grpc.StatusCode.UNAUTHENTICATED, "invalid email or password")] * 2


async def test_second_signup_with_the_same_email_is_refused(cloud: Auth) -> None:
    await cloud.signup("alice@example.com", org_name="Acme")
    code = await _code_of(cloud.signup("ALICE@example.com", org_name="Other"))
    assert code == grpc.StatusCode.ALREADY_EXISTS


async def test_org_names_equal_after_nfkc_and_case_folding_are_one_name(cloud: Auth) -> None:
    await cloud.signup("alice@example.com", org_name="Acme Corp")
    full_width = "\uff21\uff43\uff4d\uff45  corp"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await cloud.signup("bob@example.com", org_name=full_width)
    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS
    # The failed signup left no user behind.
    with psycopg.connect(cloud.dsn) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (1,)


async def test_org_name_with_an_invisible_character_is_refused(cloud: Auth) -> None:
    code = await _code_of(cloud.signup("alice@example.com", org_name="Ac\u200bme"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT


async def test_short_password_is_refused(cloud: Auth) -> None:
    call = cloud.auth.Signup(
        apb.SignupRequest(email="a@example.com", password="short", org_name="A"),
        metadata=cloud.service_metadata(),
    )
    assert await _code_of(call) == grpc.StatusCode.INVALID_ARGUMENT


async def test_augmented_token_is_short_lived_admin_and_keeps_the_token_id(cloud: Auth) -> None:
    login = await cloud.signup("alice@example.com", org_name="Acme")
    response = await cloud.auth.GetAugmentedToken(
        apb.GetAugmentedTokenRequest(token=login.token), metadata=cloud.service_metadata()
    )
    assert response.scope == "admin"
    augmented = verify_token(response.token, cloud.key, audience=DOMAIN)
    original = verify_token(login.token, cloud.key, audience=DOMAIN)
    assert isinstance(augmented, UserClaims)
    assert augmented.expires_at - augmented.issued_at == timedelta(minutes=90)
    assert augmented.token_id == original.token_id
    assert response.expires_at_ns == int(augmented.expires_at.timestamp()) * 10**9


async def test_logout_revokes_the_login_token_and_its_augmented_tokens(cloud: Auth) -> None:
    login = await cloud.signup("alice@example.com", org_name="Acme")
    augmented = await cloud.augmented(login.token)
    await cloud.auth.Logout(apb.LogoutRequest(token=augmented), metadata=cloud.service_metadata())
    exchange = cloud.auth.GetAugmentedToken(
        apb.GetAugmentedTokenRequest(token=login.token), metadata=cloud.service_metadata()
    )
    assert await _code_of(exchange) == grpc.StatusCode.UNAUTHENTICATED
    listing = cloud.keys.List(apb.ListAPIKeysRequest(), metadata=cloud.service_metadata(augmented))
    assert await _code_of(listing) == grpc.StatusCode.UNAUTHENTICATED


async def test_expired_login_token_is_rejected(cloud: Auth) -> None:
    login = await cloud.signup("alice@example.com", org_name="Acme")
    stale = sign_token(
        user_claims(
            user_id=login.user.user_id,
            org_id=login.user.org_id,
            email="alice@example.com",
            audience=DOMAIN,
            lifetime=timedelta(minutes=1),
            now=datetime.now(UTC) - timedelta(hours=1),
        ),
        cloud.key,
    )
    call = cloud.auth.GetAugmentedToken(
        apb.GetAugmentedTokenRequest(token=stale), metadata=cloud.service_metadata()
    )
    assert await _code_of(call) == grpc.StatusCode.UNAUTHENTICATED


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_tokens_signed_with_another_key_or_alg_none_are_rejected(cloud: Auth) -> None:
    login = await cloud.signup("alice@example.com", org_name="Acme")
    claims = user_claims(
        user_id=login.user.user_id,
        org_id=login.user.org_id,
        email="alice@example.com",
        audience=DOMAIN,
    )
    forged = sign_token(claims, SigningKey.generate())
    payload = login.token.split(".")[1]
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}."
    for token in (forged, unsigned):
        call = cloud.auth.GetAugmentedToken(
            apb.GetAugmentedTokenRequest(token=token), metadata=cloud.service_metadata()
        )
        assert await _code_of(call) == grpc.StatusCode.UNAUTHENTICATED


async def test_token_of_a_deleted_user_is_not_exchanged(cloud: Auth) -> None:
    login = await cloud.signup("alice@example.com", org_name="Acme")
    with psycopg.connect(cloud.dsn) as conn:
        conn.execute("DELETE FROM orgs")
    call = cloud.auth.GetAugmentedToken(
        apb.GetAugmentedTokenRequest(token=login.token), metadata=cloud.service_metadata()
    )
    assert await _code_of(call) == grpc.StatusCode.UNAUTHENTICATED


async def test_calls_without_a_service_token_are_refused(cloud: Auth) -> None:
    request = apb.PasswordLoginRequest(email="a@example.com", password=PASSWORD)
    assert await _code_of(cloud.auth.PasswordLogin(request)) == grpc.StatusCode.UNAUTHENTICATED
    user_token = await cloud.user_token("alice@example.com", "Acme")
    as_user = cloud.auth.PasswordLogin(
        request, metadata=(("authorization", f"bearer {user_token}"),)
    )
    assert await _code_of(as_user) == grpc.StatusCode.PERMISSION_DENIED


async def test_org_scoped_call_without_the_user_token_metadata_is_refused(cloud: Auth) -> None:
    call = cloud.keys.List(apb.ListAPIKeysRequest(), metadata=cloud.service_metadata())
    assert await _code_of(call) == grpc.StatusCode.UNAUTHENTICATED


async def test_invited_user_joins_the_org_once(cloud: Auth) -> None:
    admin = await cloud.signup("alice@example.com", org_name="Acme")
    admin_token = await cloud.augmented(admin.token)
    invite = await cloud.auth.CreateInvite(
        apb.CreateInviteRequest(email="Bob@Example.com"),
        metadata=cloud.service_metadata(admin_token),
    )
    assert invite.email == "bob@example.com"
    lifetime_s = invite.expires_at_ns // 10**9 - int(datetime.now(UTC).timestamp())
    assert timedelta(days=6) < timedelta(seconds=lifetime_s) <= timedelta(days=7)
    bob = await cloud.signup("bob@example.com", invite_token=invite.invite_token)
    assert bob.user.org_id == admin.user.org_id
    again = cloud.signup("bob2@example.com", invite_token=invite.invite_token)
    assert await _code_of(again) == grpc.StatusCode.PERMISSION_DENIED
    with psycopg.connect(cloud.dsn) as conn:
        stored = conn.execute("SELECT token_hash, used_at FROM invites").fetchone()
    assert stored is not None and stored[1] is not None
    assert invite.invite_token.encode() not in bytes(stored[0])


async def test_invite_for_another_email_or_tampered_is_refused(cloud: Auth) -> None:
    admin_token = await cloud.user_token("alice@example.com", "Acme")
    invite = await cloud.auth.CreateInvite(
        apb.CreateInviteRequest(email="bob@example.com"),
        metadata=cloud.service_metadata(admin_token),
    )
    other = cloud.signup("mallory@example.com", invite_token=invite.invite_token)
    assert await _code_of(other) == grpc.StatusCode.PERMISSION_DENIED
    head, payload, signature = invite.invite_token.split(".")
    tampered = f"{head}.{payload}.{signature[:-2]}AA"
    forged = cloud.signup("bob@example.com", invite_token=tampered)
    assert await _code_of(forged) == grpc.StatusCode.PERMISSION_DENIED


async def test_invite_to_another_org_is_refused(cloud: Auth) -> None:
    alice = await cloud.user_token("alice@example.com", "Acme")
    bob = await cloud.signup("bob@example.com", org_name="Globex")
    call = cloud.auth.CreateInvite(
        apb.CreateInviteRequest(org_id=bob.user.org_id, email="eve@example.com"),
        metadata=cloud.service_metadata(alice),
    )
    assert await _code_of(call) == grpc.StatusCode.PERMISSION_DENIED


async def test_invite_signing_keys_are_sealed_at_rest(cloud: Auth) -> None:
    await cloud.signup("alice@example.com", org_name="Acme")
    with psycopg.connect(cloud.dsn) as conn:
        row = conn.execute("SELECT invite_signing_key FROM orgs").fetchone()
    assert row is not None
    sealed = bytes(row[0])
    # The pyxie_crypto envelope (version 1), not 64 hex characters of key.
    assert sealed[0] == 1
    assert not all(chr(b) in "0123456789abcdef" for b in sealed)
