"""The test OpenID Connect provider runs the whole code flow for an Authlib client."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx2
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet
from pyxie_testing.oidc_provider import OIDCClient, OIDCTestProvider, OIDCUser

REDIRECT_URI = "http://127.0.0.1:9/callback"
ALICE = OIDCUser(
    subject="alice-sub",
    username="alice",
    password="correct horse",
    email="alice@example.com",
    name="Alice",
    hosted_domain="example.com",
)


@pytest.fixture(scope="module")
def provider() -> Iterator[OIDCTestProvider]:
    clients = [
        OIDCClient(client_id="public-app", redirect_uris=(REDIRECT_URI,)),
        OIDCClient(client_id="web-app", redirect_uris=(REDIRECT_URI,), client_secret="s3cret"),
    ]
    with OIDCTestProvider(users=[ALICE], clients=clients) as running:
        yield running


class _FormReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "form":
            self.action = dict(attrs).get("action") or ""


def _sign_in(authorization_url: str, username: str, password: str) -> httpx2.Response:
    """The browser: open the login page, submit the form, stop at the redirect."""
    with httpx2.Client(follow_redirects=False) as browser:
        page = browser.get(authorization_url)
        assert page.status_code == 200, page.text
        reader = _FormReader()
        reader.feed(page.text)
        return browser.post(
            urljoin(authorization_url, reader.action),
            data={"username": username, "password": password},
        )


def _discovery(provider: OIDCTestProvider) -> dict[str, str]:
    document = httpx2.get(provider.issuer + "/.well-known/openid-configuration").json()
    assert isinstance(document, dict)
    return document


def _client(client_id: str, secret: str | None = None) -> OAuth2Client:
    return OAuth2Client(
        client_id=client_id,
        client_secret=secret,
        scope="openid email profile",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic" if secret else "none",
    )


def test_discovery_names_the_issuer_and_its_endpoints(provider: OIDCTestProvider) -> None:
    document = _discovery(provider)
    assert document["issuer"] == provider.issuer
    assert document["userinfo_endpoint"] == provider.issuer + "/userinfo"
    assert "S256" in document["code_challenge_methods_supported"]


@pytest.mark.parametrize(("client_id", "secret"), [("public-app", None), ("web-app", "s3cret")])
def test_code_flow_with_pkce_yields_a_verified_id_token_and_userinfo(
    provider: OIDCTestProvider, client_id: str, secret: str | None
) -> None:
    document = _discovery(provider)
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(16)
    with _client(client_id, secret) as client:
        url, state = client.create_authorization_url(
            document["authorization_endpoint"], code_verifier=verifier, nonce=nonce
        )
        redirect = _sign_in(url, "alice", "correct horse")
        assert redirect.status_code == 302
        location = redirect.headers["location"]
        assert location.startswith(REDIRECT_URI)
        assert parse_qs(urlsplit(location).query)["state"] == [state]
        token = client.fetch_token(
            document["token_endpoint"], authorization_response=location, code_verifier=verifier
        )
        userinfo = client.get(document["userinfo_endpoint"]).json()
    keys = KeySet.import_key_set(httpx2.get(document["jwks_uri"]).json())
    id_token = jwt.decode(token["id_token"], keys, algorithms=["RS256"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": provider.issuer},
        aud={"essential": True, "value": client_id},
        nonce={"essential": True, "value": nonce},
    ).validate(id_token.claims)
    assert id_token.claims["sub"] == "alice-sub"
    assert userinfo == {
        "sub": "alice-sub",
        "email": "alice@example.com",
        "email_verified": True,
        "name": "Alice",
        "hd": "example.com",
    }


def test_wrong_password_shows_the_form_again_without_a_code(provider: OIDCTestProvider) -> None:
    with _client("public-app") as client:
        url, _ = client.create_authorization_url(
            _discovery(provider)["authorization_endpoint"],
            code_verifier=secrets.token_urlsafe(48),
            nonce="n-1",
        )
    response = _sign_in(url, "alice", "wrong")
    assert response.status_code == 401
    assert "location" not in response.headers
    assert "wrong username or password" in response.text


def test_code_redeemed_without_the_pkce_verifier_is_refused(provider: OIDCTestProvider) -> None:
    document = _discovery(provider)
    with _client("public-app") as client:
        url, _ = client.create_authorization_url(
            document["authorization_endpoint"],
            code_verifier=secrets.token_urlsafe(48),
            nonce="n-2",
        )
        location = _sign_in(url, "alice", "correct horse").headers["location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    response = httpx2.post(
        document["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": "public-app",
        },
    )
    assert response.status_code == 400
    assert re.search(r"code_verifier", response.json()["error_description"])


def test_userinfo_refuses_an_unknown_access_token(provider: OIDCTestProvider) -> None:
    response = httpx2.get(
        provider.issuer + "/userinfo", headers={"Authorization": "Bearer not-a-token"}
    )
    assert response.status_code == 401
