"""The web UI's admin endpoints on the real auth service: users, invites, org settings, audit,
plugins. Attacks: read-only sessions, missing CSRF tokens, another org's ids, bad bodies."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pyxie_api import app as api_app
from pyxie_api.controllers.caller import Authenticator, Caller
from pyxie_api.testing import CloudHarness, running_cloud
from sanic import Sanic

_CSRF = "csrf-token-for-tests"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Web:
    cloud: CloudHarness
    client: httpx.AsyncClient
    read_only_token: str

    def as_admin(self, token: str | None = None) -> dict[str, str]:
        token = token or self.cloud.org_a.user_token
        return {
            "cookie": f"__Host-pyxie-session={token}; __Host-pyxie-csrf={_CSRF}",
            "x-csrf-token": _CSRF,
        }

    def as_read_only(self) -> dict[str, str]:
        return self.as_admin(self.read_only_token)


class _KeySessions(Authenticator):
    """A browser session is always a user's login; to try the pages' endpoints as a read-only
    caller, a session cookie holding an API key is checked as that key (through real auth)."""

    async def authenticate(self, metadata: Sequence[tuple[str, Any]], source: str = "") -> Caller:
        bearer = dict(metadata).get("authorization", "")
        if isinstance(bearer, str) and bearer.startswith("bearer px-api-"):
            metadata = [("pixie-api-key", bearer.removeprefix("bearer "))]
        return await super().authenticate(metadata, source)


@pytest.fixture
async def web(
    fresh_database: str, nats_server: Any, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Web]:
    """The real cloud with the api's HTTP server (plaintext here: cookies sent by hand)."""
    monkeypatch.setattr(api_app, "Authenticator", _KeySessions)
    # build() names its sanic app "pyxie-api"; each test builds one more in this process.
    monkeypatch.setattr(Sanic, "test_mode", True)
    port = _free_port()
    async with (
        running_cloud(
            fresh_database,
            nats_server.url,
            http_enabled=True,
            http_host="127.0.0.1",
            http_port=port,
            # Nothing listens here: plugin calls that got past the api's checks would fail.
            plugin_addr=f"127.0.0.1:{_free_port()}",
        ) as cloud,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=20) as client,
    ):
        yield Web(cloud, client, cloud.org_a.read_only_key)


async def test_members_org_settings_and_ide_configs(web: Web) -> None:
    users = await web.client.get("/api/ui/users", headers=web.as_admin())
    assert users.status_code == 200, users.text
    assert [u["email"] for u in users.json()["users"]] == ["admin@alpha.example"]
    org = (await web.client.get("/api/ui/org", headers=web.as_admin())).json()
    assert org["name"] == "alpha" and org["enableApprovals"] is False
    changed = await web.client.put(
        "/api/ui/org", json={"enableApprovals": True}, headers=web.as_admin()
    )
    assert changed.json() == {"enableApprovals": True}
    added = await web.client.post(
        "/api/ui/org/ide-configs",
        json={"ideName": "vscode", "path": "vscode://file/{{path}}:{{line}}"},
        headers=web.as_admin(),
    )
    assert added.status_code == 201, added.text
    org = (await web.client.get("/api/ui/org", headers=web.as_admin())).json()
    assert org["enableApprovals"] is True
    assert org["ideConfigs"] == [{"ideName": "vscode", "path": "vscode://file/{{path}}:{{line}}"}]
    gone = await web.client.delete("/api/ui/org/ide-configs/vscode", headers=web.as_admin())
    assert gone.status_code == 200
    # A read-only session reads the same org.
    seen = await web.client.get("/api/ui/org", headers=web.as_read_only())
    assert seen.status_code == 200 and seen.json()["ideConfigs"] == []


async def test_an_invite_signs_up_once_and_the_member_can_be_removed(web: Web) -> None:
    invite = await web.client.post(
        "/api/ui/invites", json={"email": "Grace@Alpha.example"}, headers=web.as_admin()
    )
    assert invite.status_code == 201, invite.text
    assert invite.json()["email"] == "grace@alpha.example"
    token = invite.json()["inviteLink"].rsplit("invite_token=", 1)[1]
    signup = {
        "email": "grace@alpha.example",
        "password": "a long enough password",
        "name": "Grace Hopper",
        "inviteToken": token,
    }
    headers = {"cookie": f"__Host-pyxie-csrf={_CSRF}", "x-csrf-token": _CSRF}
    joined = await web.client.post("/api/ui/signup", json=signup, headers=headers)
    assert joined.status_code == 200, joined.text
    assert joined.json()["orgID"] == web.cloud.org_a.org_id
    cookie = joined.headers["set-cookie"]
    assert cookie.startswith("__Host-pyxie-session=") and "HttpOnly" in cookie
    # The token is used up: a second sign-up with it (another email) is refused.
    again = await web.client.post(
        "/api/ui/signup", json={**signup, "email": "eve@evil.example"}, headers=headers
    )
    assert 400 <= again.status_code < 500, again.text
    members = (await web.client.get("/api/ui/users", headers=web.as_admin())).json()["users"]
    grace = next(u for u in members if u["email"] == "grace@alpha.example")
    assert {u["email"] for u in members} == {"admin@alpha.example", "grace@alpha.example"}
    removed = await web.client.delete(f"/api/ui/users/{grace['id']}", headers=web.as_admin())
    assert removed.status_code == 200, removed.text
    members = (await web.client.get("/api/ui/users", headers=web.as_admin())).json()["users"]
    assert [u["email"] for u in members] == ["admin@alpha.example"]


async def test_invite_tokens_are_created_verified_and_revoked(web: Web) -> None:
    created = await web.client.post("/api/ui/invite-tokens", json={}, headers=web.as_admin())
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    verify = "/api/ui/invite-tokens/verify"
    valid = await web.client.post(verify, json={"token": token}, headers=web.as_admin())
    assert valid.json() == {"valid": True}
    revoked = await web.client.delete("/api/ui/invite-tokens", headers=web.as_admin())
    assert revoked.status_code == 200
    after = await web.client.post(verify, json={"token": token}, headers=web.as_admin())
    assert after.json() == {"valid": False}


async def test_signup_needs_an_invite_and_a_csrf_token(web: Web) -> None:
    headers = {"cookie": f"__Host-pyxie-csrf={_CSRF}", "x-csrf-token": _CSRF}
    body = {"email": "mallory@x.example", "password": "a long enough password"}
    no_invite = await web.client.post("/api/ui/signup", json=body, headers=headers)
    assert no_invite.status_code == 400
    forged = await web.client.post(
        "/api/ui/signup",
        json={**body, "inviteToken": "eyJhbGciOiJIUzI1NiJ9.e30.x"},
        headers=headers,
    )
    assert 400 <= forged.status_code < 500 and forged.status_code != 404
    no_csrf = await web.client.post("/api/ui/signup", json={**body, "inviteToken": "x"})
    assert no_csrf.status_code == 403


MUTATIONS = [
    ("PUT", "/api/ui/org", {"enableApprovals": True}),
    ("POST", "/api/ui/org/ide-configs", {"ideName": "x", "path": "x://{{path}}"}),
    ("DELETE", "/api/ui/org/ide-configs/x", None),
    ("PUT", "/api/ui/users/{user}", {"isApproved": False}),
    ("DELETE", "/api/ui/users/{user}", None),
    ("POST", "/api/ui/invites", {"email": "x@alpha.example"}),
    ("POST", "/api/ui/invite-tokens", {}),
    ("DELETE", "/api/ui/invite-tokens", None),
    ("PUT", "/api/ui/plugins/otel", {"enabled": True}),
    (
        "POST",
        "/api/ui/retention-scripts",
        {"name": "x", "contents": "import px", "frequencyS": 10, "pluginId": "otel"},
    ),
    ("PUT", "/api/ui/retention-scripts/{user}", {"enabled": False}),
    ("DELETE", "/api/ui/retention-scripts/{user}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), MUTATIONS)
async def test_read_only_sessions_and_missing_csrf_tokens_change_nothing(
    web: Web, method: str, path: str, body: dict[str, Any] | None
) -> None:
    url = path.format(user=web.cloud.org_a.user_id)
    kwargs: dict[str, Any] = {} if body is None else {"json": body}
    refused = await web.client.request(method, url, headers=web.as_read_only(), **kwargs)
    assert refused.status_code == 403, refused.text
    assert "read-only" in refused.json()["error"]
    no_csrf = {"cookie": f"__Host-pyxie-session={web.cloud.org_a.user_token}"}
    forged = await web.client.request(method, url, headers=no_csrf, **kwargs)
    assert forged.status_code == 403 and "CSRF" in forged.json()["error"]
    # Nothing changed.
    org = (await web.client.get("/api/ui/org", headers=web.as_admin())).json()
    assert org["enableApprovals"] is False and org["ideConfigs"] == []
    members = (await web.client.get("/api/ui/users", headers=web.as_admin())).json()["users"]
    assert [(u["email"], u["isApproved"]) for u in members] == [("admin@alpha.example", True)]


async def test_the_audit_log_is_for_admins_and_pages(web: Web) -> None:
    refused = await web.client.get("/api/ui/audit", headers=web.as_read_only())
    assert refused.status_code == 403
    assert (await web.client.get("/api/ui/audit")).status_code == 401
    for _ in range(3):  # three audited events: invite tokens
        await web.client.post("/api/ui/invite-tokens", json={}, headers=web.as_admin())
    query = {"action": "org.invite_token", "limit": 2}
    for _ in range(100):  # events are stored asynchronously: wait until the third is there
        first = await web.client.get("/api/ui/audit", params=query, headers=web.as_admin())
        if first.status_code != 200 or first.json()["hasMore"]:
            break
        await asyncio.sleep(0.1)
    assert first.status_code == 200, first.text
    page = first.json()
    assert len(page["events"]) == 2 and page["hasMore"] is True
    assert {e["action"] for e in page["events"]} == {"org.invite_token"}
    second = await web.client.get(
        "/api/ui/audit",
        params={"action": "org.invite_token", "limit": 2, "offset": 2},
        headers=web.as_admin(),
    )
    rest = second.json()
    assert len(rest["events"]) == 1 and rest["hasMore"] is False
    assert rest["events"][0]["atNs"] <= page["events"][-1]["atNs"]
    for bad in ({"limit": "x"}, {"limit": 0}, {"limit": 10_000}, {"offset": -1}):
        answer = await web.client.get("/api/ui/audit", params=bad, headers=web.as_admin())
        assert answer.status_code == 400, (bad, answer.text)


async def test_bad_bodies_and_ids_are_client_errors(web: Web) -> None:
    admin = web.as_admin()
    cases = [
        ("PUT", "/api/ui/org", {"enableApprovals": "yes"}),
        ("PUT", "/api/ui/users/not-a-uuid", {"isApproved": True}),
        ("POST", "/api/ui/invites", {"email": "no-at-sign"}),
        ("POST", "/api/ui/invites", {"email": ["a@b"]}),
        ("POST", "/api/ui/org/ide-configs", {"ideName": "", "path": "x"}),
    ]
    for method, url, body in cases:
        answer = await web.client.request(method, url, json=body, headers=admin)
        assert answer.status_code == 400, (url, body, answer.text)
    # Another org's user is not found, and the own account cannot be removed by itself.
    other = await web.client.delete(f"/api/ui/users/{web.cloud.org_b.user_id}", headers=admin)
    assert other.status_code == 404, other.text
    myself = await web.client.delete(f"/api/ui/users/{web.cloud.org_a.user_id}", headers=admin)
    assert myself.status_code == 400
    # Sessions of org B see only org B.
    bravo = await web.client.get("/api/ui/users", headers=web.as_admin(web.cloud.org_b.user_token))
    assert [u["email"] for u in bravo.json()["users"]] == ["admin@bravo.example"]
