"""OIDC login end to end: the test provider, a browser played by an HTTP client, auth."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import grpc
import psycopg
import pytest
from pyxie_auth.oidc import OIDCError, OIDCProvider
from pyxie_auth.testing import DOMAIN, Auth, browser_sign_in, running_auth
from pyxie_jwt import SigningKey
from pyxie_proto.cloud.authpb import auth_pb2 as apb
from pyxie_testing.oidc_provider import OIDCClient, OIDCTestProvider, OIDCUser

REDIRECT_URI = "http://127.0.0.1:9/api/auth/oauth/callback"
USERS = [
    OIDCUser("sub-ann", "ann", "pw-ann-123", "ann@acme.io", name="Ann", hosted_domain="acme.io"),
    OIDCUser("sub-ben", "ben", "pw-ben-123", "ben@acme.io", name="Ben", hosted_domain="acme.io"),
    OIDCUser("sub-cat", "cat", "pw-cat-123", "cat@acme.io", email_verified=False),
    OIDCUser("sub-dan", "dan", "pw-dan-123", "dan@gmail.test", name="Dan"),
]


@pytest.fixture(scope="module")
def provider() -> Iterator[OIDCTestProvider]:
    client = OIDCClient("pyxie-cloud", (REDIRECT_URI,), client_secret="cloud-secret")
    with OIDCTestProvider(users=USERS, clients=[client]) as running:
        yield running


@dataclass
class OIDCCloud:
    cloud: Auth
    relying_party: OIDCProvider

    async def access_token(self, username: str, password: str) -> str:
        login = await self.relying_party.begin_login(REDIRECT_URI)
        callback = await browser_sign_in(login.url, username, password)
        tokens = await self.relying_party.finish_login(login, callback)
        assert tokens.id_token_claims["iss"] == self.relying_party.issuer
        return tokens.access_token

    async def login(
        self, username: str, *, create: bool = True, **fields: str
    ) -> apb.LoginResponse:
        user = next(u for u in USERS if u.username == username)
        token = await self.access_token(username, user.password)
        response: apb.LoginResponse = await self.cloud.auth.OIDCLogin(
            apb.OIDCLoginRequest(access_token=token, create_user_if_not_exists=create, **fields),
            metadata=self.cloud.service_metadata(),
        )
        return response


@pytest.fixture
async def oidc(fresh_database: str, provider: OIDCTestProvider) -> AsyncIterator[OIDCCloud]:
    key = SigningKey.generate()
    relying_party = OIDCProvider(
        provider.issuer, client_id="pyxie-cloud", client_secret="cloud-secret"
    )
    idp = OIDCProvider(provider.issuer)
    async with running_auth(
        fresh_database, cloud_key=key, domain=DOMAIN, identity_provider=idp
    ) as service:
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc_port}")
        try:
            yield OIDCCloud(Auth(service, key, channel, fresh_database), relying_party)
        finally:
            await channel.close()


async def test_first_login_creates_the_user_and_an_org_claiming_the_hosted_domain(
    oidc: OIDCCloud,
) -> None:
    ann = await oidc.login("ann", org_name="Acme")
    assert ann.user_created
    assert (ann.user.email, ann.user.name) == ("ann@acme.io", "Ann")
    assert ann.user.org_id
    # The login token works like a password login's.
    assert await oidc.cloud.augmented(ann.token)
    again = await oidc.login("ann", create=False)
    assert not again.user_created
    assert again.user.user_id == ann.user.user_id


async def test_verified_colleague_joins_the_domain_org_by_themselves(oidc: OIDCCloud) -> None:
    ann = await oidc.login("ann", org_name="Acme")
    ben = await oidc.login("ben")
    assert ben.user.org_id == ann.user.org_id


async def test_unverified_email_does_not_join_the_domain_org(oidc: OIDCCloud) -> None:
    await oidc.login("ann", org_name="Acme")
    cat = await oidc.login("cat")
    assert cat.user.org_id == ""


async def test_without_hosted_domain_the_new_org_claims_no_domain(oidc: OIDCCloud) -> None:
    await oidc.login("dan", org_name="Dan's Org")
    with psycopg.connect(oidc.cloud.dsn) as conn:
        assert conn.execute("SELECT domain_name FROM orgs").fetchall() == [(None,)]


async def test_unknown_identity_without_create_is_not_found(oidc: OIDCCloud) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await oidc.login("ann", create=False)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_oidc_user_joins_through_an_invite(oidc: OIDCCloud) -> None:
    admin = await oidc.cloud.user_token("boss@acme.io", "Initech")
    invite = await oidc.cloud.auth.CreateInvite(
        apb.CreateInviteRequest(email="dan@gmail.test"),
        metadata=oidc.cloud.service_metadata(admin),
    )
    dan = await oidc.login("dan", invite_token=invite.invite_token)
    boss = await oidc.cloud.auth.PasswordLogin(
        apb.PasswordLoginRequest(email="boss@acme.io", password="correct horse battery"),
        metadata=oidc.cloud.service_metadata(),
    )
    assert dan.user.org_id == boss.user.org_id


async def test_access_token_the_provider_does_not_know_is_unauthenticated(
    oidc: OIDCCloud, provider: OIDCTestProvider
) -> None:
    token = await oidc.access_token("ann", "pw-ann-123")
    provider.revoke_access_tokens()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await oidc.cloud.auth.OIDCLogin(
            apb.OIDCLoginRequest(access_token=token, create_user_if_not_exists=True),
            metadata=oidc.cloud.service_metadata(),
        )
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_callback_with_a_foreign_state_is_refused(oidc: OIDCCloud) -> None:
    first = await oidc.relying_party.begin_login(REDIRECT_URI)
    second = await oidc.relying_party.begin_login(REDIRECT_URI)
    callback = await browser_sign_in(first.url, "ann", "pw-ann-123")
    with pytest.raises(OIDCError, match="state"):
        await oidc.relying_party.finish_login(second, callback)


async def test_oidc_login_without_a_configured_provider_fails_precondition(cloud: Auth) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await cloud.auth.OIDCLogin(
            apb.OIDCLoginRequest(access_token="x"), metadata=cloud.service_metadata()
        )
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
