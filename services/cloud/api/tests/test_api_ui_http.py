"""The web UI's HTTP surface: security headers, CSRF, static files, and the E2E query stream."""

from __future__ import annotations

import json
import ssl
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from pyxie_api.controllers.caller import Authenticator
from pyxie_api.controllers.clusters import ClusterDirectory
from pyxie_api.controllers.http import build_http_app, start_http_server
from pyxie_api.controllers.passthrough import PassthroughProxy
from pyxie_api.controllers.ui_http import UiDeps, register_ui_routes
from pyxie_api.testing import ORG_A, USER_A, VZ_A1, VZ_B1, ApiHarness, http_table
from pyxie_crypto import ensure_local_ca, generate_rsa_private_key, rsa_public_jwk
from pyxie_proto.api.vizierpb import vizierapi_pb2 as vpb

SCRIPTS = [{"name": "px/demo", "short": "Demo", "long": "", "pxl": "import px", "vis": None}]


@pytest.fixture
async def web(
    api: ApiHarness, nats_server: Any, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """The api's HTTP app with the UI routes, over real TLS (`__Host-` cookies need https)."""
    ca = ensure_local_ca(tmp_path / "ca")
    cert_file, key_file = ca.issue_server_certificate().save(tmp_path, "api")
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert_file, key_file)
    ui_dir = tmp_path / "dist"
    (ui_dir / "assets").mkdir(parents=True)
    (ui_dir / "index.html").write_text("<!doctype html><title>Pyxie</title>")
    (ui_dir / "assets" / "app-1234.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text("outside the UI directory")
    client = await nats.connect(nats_server.url)
    app = build_http_app(api.settings, api.backends, name=f"ui-test-{uuid.uuid4().hex[:8]}")
    proxy = PassthroughProxy(client, first_reply_seconds=10, idle_seconds=10)
    register_ui_routes(
        app,
        UiDeps(
            api.backends,
            Authenticator(
                api.backends,
                api.settings.token_verifier(),
                cache_seconds=api.settings.auth_cache_seconds,
            ),
            ClusterDirectory(api.backends),
            proxy,
            ui_dir=ui_dir,
            oidc_enabled=False,
            scripts=lambda: SCRIPTS,
        ),
    )
    server = await start_http_server(app, "127.0.0.1", 0, tls)
    api.auth.passwords["ada@x.test"] = ("correct horse", USER_A, ORG_A)
    trust = ssl.create_default_context(cafile=str(tmp_path / "ca" / "ca.crt"))
    try:
        async with httpx.AsyncClient(
            base_url=f"https://localhost:{server.port}", verify=trust, timeout=20
        ) as web_client:
            yield web_client
    finally:
        await server.close()
        await client.close()


async def _login(web: httpx.AsyncClient) -> dict[str, str]:
    await web.get("/")
    response = await web.post(
        "/api/auth/login", json={"email": "ada@x.test", "password": "correct horse"}
    )
    assert response.status_code == 200
    return {"x-csrf-token": web.cookies["__Host-pyxie-csrf"]}


def _lines(body: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in body.splitlines() if line.strip()]


async def test_pages_carry_a_strict_csp_and_a_readable_strict_csrf_cookie(
    web: httpx.AsyncClient,
) -> None:
    response = await web.get("/live?cluster=x")
    assert response.status_code == 200
    assert "<title>Pyxie</title>" in response.text  # client-side route → the single page
    csp = response.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith("__Host-pyxie-csrf=")
    )
    assert "Secure" in cookie and "SameSite=Strict" in cookie and "HttpOnly" not in cookie
    asset = await web.get("/assets/app-1234.js")
    assert "immutable" in asset.headers["cache-control"]


async def test_files_outside_the_ui_directory_are_not_served(web: httpx.AsyncClient) -> None:
    for path in ("/..%2Fsecret.txt", "/assets/..%2F..%2Fsecret.txt", "/%2e%2e/secret.txt"):
        response = await web.get(path)
        assert "outside the UI directory" not in response.text


async def test_ui_api_needs_a_session(web: httpx.AsyncClient) -> None:
    assert (await web.get("/api/ui/clusters")).status_code == 401
    assert (await web.get("/api/ui/config")).json() == {"oidc": False}


async def test_state_changing_calls_need_the_csrf_token(web: httpx.AsyncClient) -> None:
    headers = await _login(web)
    missing = await web.post("/api/ui/api-keys", json={"desc": "x"})
    assert missing.status_code == 403
    forged = await web.post("/api/ui/api-keys", json={"desc": "x"}, headers={"x-csrf-token": "a"})
    assert forged.status_code == 403
    created = await web.post("/api/ui/api-keys", json={"desc": "x"}, headers=headers)
    assert created.status_code == 201
    assert created.json()["key"]


async def test_clusters_list_only_the_callers_org(web: httpx.AsyncClient) -> None:
    await _login(web)
    clusters = (await web.get("/api/ui/clusters")).json()["clusters"]
    ids = {c["id"] for c in clusters}
    assert VZ_A1 in ids and VZ_B1 not in ids
    assert {c["status"] for c in clusters if c["id"] == VZ_A1} == {"HEALTHY"}


def _page_jwk() -> dict[str, Any]:
    return dict(json.loads(rsa_public_jwk(generate_rsa_private_key(2048).public_key())))


async def test_encrypted_rows_stream_only_as_jwe(web: httpx.AsyncClient) -> None:
    headers = await _login(web)
    response = await web.post(
        "/api/ui/execute",
        json={"clusterId": VZ_A1, "pxl": "import px", "encryption": {"jwk": _page_jwk()}},
        headers=headers,
    )
    lines = _lines(response.text)
    assert {line["type"] for line in lines} <= {"meta", "jwe", "stats", "end"}
    assert any(line["type"] == "jwe" for line in lines)
    assert "foo" not in response.text and "bar" not in response.text


async def test_plaintext_rows_are_refused_when_the_page_asked_for_encryption(
    web: httpx.AsyncClient, api: ApiHarness
) -> None:
    headers = await _login(web)
    jwk = _page_jwk()

    async def plaintext_anyway(request: vpb.ExecuteScriptRequest) -> AsyncIterator[Any]:
        for reply in http_table():
            yield reply
        yield vpb.Status(code=0)

    # A misbehaving cluster answers in plaintext although the page asked for encryption.
    api.vizier.script = plaintext_anyway
    response = await web.post(
        "/api/ui/execute",
        json={"clusterId": VZ_A1, "pxl": "import px", "encryption": {"jwk": jwk}},
        headers=headers,
    )
    lines = _lines(response.text)
    assert [line["type"] for line in lines] == ["meta", "error"]
    assert "unencrypted" in lines[-1]["message"]
    assert "foo" not in response.text and "bar" not in response.text


async def test_without_encryption_rows_stream_as_json(web: httpx.AsyncClient) -> None:
    headers = await _login(web)
    response = await web.post(
        "/api/ui/execute", json={"clusterId": VZ_A1, "pxl": "import px"}, headers=headers
    )
    lines = _lines(response.text)
    batches = [line for line in lines if line["type"] == "batch"]
    assert batches[0]["cols"][0] == ["foo", "bar"]
    assert lines[-1] == {"type": "end"}


@pytest.mark.parametrize(
    ("jwk", "why"),
    [
        ({"kty": "EC", "crv": "P-256"}, "RSA"),
        ({"kty": "RSA", "n": "AQAB", "e": "AQAB", "d": "AQAB"}, "private"),
        ("not a key", "public JWK"),
    ],
)
async def test_a_bad_public_key_is_a_client_error(
    web: httpx.AsyncClient, jwk: object, why: str
) -> None:
    headers = await _login(web)
    response = await web.post(
        "/api/ui/execute",
        json={"clusterId": VZ_A1, "pxl": "import px", "encryption": {"jwk": jwk}},
        headers=headers,
    )
    assert response.status_code == 400
    assert why in response.json()["error"]


async def test_another_orgs_cluster_is_not_found(web: httpx.AsyncClient) -> None:
    headers = await _login(web)
    response = await web.post(
        "/api/ui/execute", json={"clusterId": VZ_B1, "pxl": "import px"}, headers=headers
    )
    assert response.status_code == 404


async def test_logout_revokes_the_session_at_once(web: httpx.AsyncClient) -> None:
    headers = await _login(web)
    token = web.cookies["__Host-pyxie-session"]
    assert (await web.get("/api/ui/session")).status_code == 200
    assert (await web.post("/api/ui/logout", json={}, headers=headers)).status_code == 200
    web.cookies.set("__Host-pyxie-session", token)
    assert (await web.get("/api/ui/session")).status_code == 401
