"""Browser login over HTTP: password login, cookie flags, CSRF refusals, OIDC state + PKCE."""

from __future__ import annotations

import base64
import hashlib
import ssl
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from pyxie_api.controllers.http import OidcProvider, build_http_app, start_http_server
from pyxie_api.testing import ORG_A, USER_A, ApiHarness
from pyxie_crypto import ensure_local_ca


@pytest.fixture
async def web(
    api: ApiHarness, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP app served over real TLS (Secure cookies need https) by the local CA."""
    ca = ensure_local_ca(tmp_path / "ca")
    cert_file, key_file = ca.issue_server_certificate().save(tmp_path, "api")
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert_file, key_file)
    provider = OidcProvider(
        authorization_endpoint="https://idp.test/authorize",
        token_endpoint="https://idp.test/token",
        client_id="pyxie",
        client_secret="s3cret",
        redirect_url="https://localhost/api/auth/oidc/callback",
        scopes="openid email",
    )
    app = build_http_app(
        api.settings, api.backends, provider=provider, name=f"api-test-{uuid.uuid4().hex[:8]}"
    )
    server = await start_http_server(app, "127.0.0.1", 0, tls)
    api.auth.passwords["ada@x.test"] = ("correct horse", USER_A, ORG_A)
    trust = ssl.create_default_context(cafile=str(tmp_path / "ca" / "ca.crt"))
    try:
        async with httpx.AsyncClient(
            base_url=f"https://localhost:{server.port}", verify=trust
        ) as client:
            yield client
    finally:
        await server.close()


def _cookie_header(response: httpx.Response, name: str) -> str:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"__Host-{name}="):
            return header
    raise AssertionError(f"no {name} cookie in {response.headers.get_list('set-cookie')}")


async def test_password_login_sets_a_strict_http_only_secure_cookie(web: httpx.AsyncClient) -> None:
    response = await web.post(
        "/api/auth/login", json={"email": "ada@x.test", "password": "correct horse"}
    )
    assert response.status_code == 200
    assert response.json()["orgID"] == ORG_A
    cookie = _cookie_header(response, "pyxie-session").lower()
    for flag in ("httponly", "secure", "samesite=strict", "path=/"):
        assert flag in cookie
    authorized = await web.get("/api/authorized")
    assert authorized.status_code == 200 and authorized.json()["authorized"] is True


async def test_wrong_password_is_401_and_sets_nothing(web: httpx.AsyncClient) -> None:
    response = await web.post("/api/auth/login", json={"email": "ada@x.test", "password": "no"})
    assert response.status_code == 401
    assert not response.headers.get_list("set-cookie")
    assert (await web.get("/api/authorized")).status_code == 401


async def test_form_posts_and_foreign_origins_are_refused(web: httpx.AsyncClient) -> None:
    form = await web.post(
        "/api/auth/login", data={"email": "ada@x.test", "password": "correct horse"}
    )
    assert form.status_code == 403
    foreign = await web.post(
        "/api/auth/login",
        json={"email": "ada@x.test", "password": "correct horse"},
        headers={"Origin": "https://evil.test"},
    )
    assert foreign.status_code == 403


async def test_logout_revokes_and_clears_the_session(
    web: httpx.AsyncClient, api: ApiHarness
) -> None:
    await web.post("/api/auth/login", json={"email": "ada@x.test", "password": "correct horse"})
    token = web.cookies.get("__Host-pyxie-session")
    response = await web.post("/api/auth/logout", json={})
    assert response.status_code == 200
    assert token in api.auth.logged_out
    assert "max-age=0" in _cookie_header(response, "pyxie-session").lower()
    web.cookies.set("__Host-pyxie-session", token or "")
    assert (await web.get("/api/authorized")).status_code == 401


async def test_a_plain_cookie_of_the_same_name_is_ignored(
    web: httpx.AsyncClient, api: ApiHarness
) -> None:
    web.cookies.set("pyxie-session", api.auth.login_token(USER_A, ORG_A))
    assert (await web.get("/api/authorized")).status_code == 401


def _start(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302
    query = parse_qs(urlparse(response.headers["location"]).query)
    return {key: values[0] for key, values in query.items()}


async def test_oidc_login_redirects_with_state_and_pkce(web: httpx.AsyncClient) -> None:
    params = _start(await web.get("/api/auth/oidc/login"))
    assert params["response_type"] == "code" and params["client_id"] == "pyxie"
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    assert len(params["state"]) >= 32
    assert web.cookies.get("__Host-pyxie-oidc-state") == params["state"]


async def test_oidc_callback_refuses_a_state_it_did_not_issue(web: httpx.AsyncClient) -> None:
    _start(await web.get("/api/auth/oidc/login"))
    response = await web.get("/api/auth/oidc/callback", params={"code": "c", "state": "forged"})
    assert response.status_code == 400


async def test_oidc_cli_redirect_must_be_loopback(web: httpx.AsyncClient) -> None:
    response = await web.get(
        "/api/auth/oidc/login", params={"cli_redirect": "https://evil.test/steal"}
    )
    assert response.status_code == 400


async def test_oidc_callback_exchanges_code_with_verifier_then_logs_in(
    web: httpx.AsyncClient, api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = _start(await web.get("/api/auth/oidc/login"))
    seen: dict[str, Any] = {}
    real_post = httpx.AsyncClient.post

    async def token_endpoint(self: httpx.AsyncClient, url: str, **kwargs: Any) -> httpx.Response:
        if url != "https://idp.test/token":
            return await real_post(self, url, **kwargs)
        seen.update(kwargs["data"])
        return httpx.Response(
            200,
            json={"access_token": "idp-access", "token_type": "Bearer"},
            request=httpx.Request("POST", url),
        )

    # The provider's token endpoint is the boundary faked here.
    monkeypatch.setattr(httpx.AsyncClient, "post", token_endpoint)
    api.auth.oidc_tokens["idp-access"] = (USER_A, ORG_A)
    response = await web.get(
        "/api/auth/oidc/callback", params={"code": "the-code", "state": params["state"]}
    )
    assert response.status_code == 302
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(seen["code_verifier"].encode()).digest()
    ).rstrip(b"=")
    assert challenge.decode() == params["code_challenge"] and seen["code"] == "the-code"
    assert web.cookies.get("__Host-pyxie-session")
    # A state is good for one login only.
    again = await web.get(
        "/api/auth/oidc/callback", params={"code": "the-code", "state": params["state"]}
    )
    assert again.status_code == 400


async def test_password_guessing_locks_the_account_even_for_the_right_password(
    web: httpx.AsyncClient,
) -> None:
    """The attack: try passwords until one works. After five wrong ones the account answers
    429 for five minutes, also to the right password, and says when to try again."""
    for guess in range(5):
        wrong = await web.post(
            "/api/auth/login", json={"email": "ada@x.test", "password": f"guess {guess}"}
        )
        assert wrong.status_code == 401
    right = await web.post(
        "/api/auth/login", json={"email": "ADA@x.test", "password": "correct horse"}
    )
    assert right.status_code == 429
    assert "too many failed logins for this account" in right.json()["error"]
    assert int(right.headers["Retry-After"]) > 0
    assert not right.headers.get_list("set-cookie")
