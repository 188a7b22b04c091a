"""Brute force against a running cloud is limited, and the org's admin sees it in the audit log.

Real api, auth, vzmgr, PostgreSQL and NATS (the cloud devstack): the events of the api's login
limiter travel over NATS to auth's audit table and come back through the api's HTTP route.
"""

from __future__ import annotations

import os
import shutil
import ssl
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pyxie_devstack import load_settings
from pyxie_devstack.cloud import CloudStack, read_bootstrap

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def web() -> Iterator[tuple[httpx.Client, Any]]:
    state = Path(tempfile.mkdtemp(prefix="pyxie-e2e-audit-"))
    os.chmod(state, 0o711)
    previous = os.environ.get("PL_STATE_DIR")
    os.environ["PL_STATE_DIR"] = str(state)
    stack = CloudStack(load_settings(), say=lambda _line: None)
    try:
        endpoints = stack.up()
        port = endpoints.api_http.rsplit(":", 1)[1]
        ca = str(state / "cloud" / "tls" / "ca.crt")
        trust = ssl.create_default_context(cafile=ca)
        with httpx.Client(base_url=f"https://localhost:{port}", verify=trust, timeout=30) as client:
            client.headers["x-test-ca"] = ca  # where a second (anonymous) client finds the CA
            yield client, read_bootstrap(state)
    finally:
        stack.down()
        if previous is None:
            os.environ.pop("PL_STATE_DIR", None)
        else:
            os.environ["PL_STATE_DIR"] = previous
        shutil.rmtree(state, ignore_errors=True)


def test_password_guessing_is_locked_out_and_the_admin_sees_it(
    web: tuple[httpx.Client, Any],
) -> None:
    client, demo = web
    signed_in = client.post(
        "/api/auth/login", json={"email": demo.email, "password": demo.password}
    )
    assert signed_in.status_code == 200
    for guess in range(5):
        wrong = client.post(
            "/api/auth/login", json={"email": demo.email, "password": f"guess number {guess}"}
        )
        assert wrong.status_code == 401
    locked = client.post("/api/auth/login", json={"email": demo.email, "password": demo.password})
    assert locked.status_code == 429
    assert "try again in" in locked.json()["error"]

    # The admin's session from before the attack still works and shows the attack.
    deadline = time.monotonic() + 30
    while True:
        listed = client.get("/api/ui/audit", params={"action": "login"})
        assert listed.status_code == 200, listed.text
        outcomes = [e["outcome"] for e in listed.json()["events"]]
        if outcomes.count("refused") >= 6 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert outcomes.count("refused") >= 6, outcomes  # 5 wrong passwords + the locked attempt
    assert "allowed" in outcomes
    events = listed.json()["events"]
    assert all(e["target"] == demo.email for e in events)
    assert any("too many failed logins" in e["reason"] for e in events)
    # Never a password in the log.
    assert demo.password not in listed.text and "guess number" not in listed.text


def test_the_audit_log_needs_a_session(web: tuple[httpx.Client, Any]) -> None:
    client, _demo = web
    trust = ssl.create_default_context(cafile=client.headers["x-test-ca"])
    with httpx.Client(base_url=str(client.base_url), verify=trust) as anon:
        assert anon.get("/api/ui/audit").status_code == 401
