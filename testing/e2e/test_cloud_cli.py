"""px's cloud commands against the real cloud devstack: login, keys, viziers, credentials file."""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyxie_cli.main import main as px
from pyxie_devstack import load_settings
from pyxie_devstack.cloud import CloudStack, read_bootstrap

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def cloud_state() -> Iterator[Path]:
    state = Path(tempfile.mkdtemp(prefix="pyxie-e2e-cli-"))
    os.chmod(state, 0o711)
    previous = os.environ.get("PL_STATE_DIR")
    os.environ["PL_STATE_DIR"] = str(state)
    stack = CloudStack(load_settings(), say=lambda _line: None)
    try:
        stack.up()
        yield state
    finally:
        stack.down()
        if previous is None:
            os.environ.pop("PL_STATE_DIR", None)
        else:
            os.environ["PL_STATE_DIR"] = previous
        shutil.rmtree(state, ignore_errors=True)


def _px(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = px(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PX_CONFIG_DIR", str(tmp_path / "px"))
    return tmp_path / "px"


def test_commands_need_a_login_first(cloud_state: Path, config_dir: Path) -> None:
    code, _, err = _px("get", "viziers")
    assert code == 1 and "px auth login" in err


def test_api_key_login_and_key_lifecycle(cloud_state: Path, config_dir: Path) -> None:
    demo = read_bootstrap(cloud_state)
    code, out, err = _px("auth", "login", "--api-key", demo.api_key)
    assert code == 0, err
    auth = config_dir / "auth.json"
    assert stat.S_IMODE(auth.stat().st_mode) == 0o600
    assert json.loads(auth.read_text())["api_key"] == demo.api_key

    code, out, _ = _px("api-key", "create", "-d", "from-cli", "-s")
    new_key = out.strip()
    assert code == 0 and new_key.startswith("px-api-")
    code, out, _ = _px("api-key", "list", "-o", "json")
    rows = [json.loads(line) for line in out.splitlines()]
    ours = [r for r in rows if r["description"] == "from-cli"]
    assert code == 0 and len(ours) == 1 and ours[0]["key"] == "<hidden>"
    assert new_key not in out
    code, out, _ = _px("api-key", "delete", "-i", ours[0]["id"])
    assert code == 0
    code, _, err = _px("auth", "login", "--api-key", new_key)
    assert code == 1 and "UNAUTHENTICATED" in err

    code, out, _ = _px("deploy-key", "list")
    assert code == 0 and "devstack demo" in out
    code, out, _ = _px("get", "viziers", "-o", "json")
    assert code == 0


def test_a_group_readable_credentials_file_is_refused(cloud_state: Path, config_dir: Path) -> None:
    demo = read_bootstrap(cloud_state)
    assert _px("auth", "login", "--api-key", demo.api_key)[0] == 0
    os.chmod(config_dir / "auth.json", 0o644)
    code, _, err = _px("get", "viziers")
    assert code == 1 and "chmod 600" in err


def test_manual_login_with_a_pasted_token(
    cloud_state: Path, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import grpc
    from pyxie_devstack.cloud import read_cloud_endpoints
    from pyxie_jwt import SigningKey, service_claims, sign_token
    from pyxie_proto.cloud.authpb import auth_pb2, auth_pb2_grpc

    demo = read_bootstrap(cloud_state)
    endpoints = read_cloud_endpoints(cloud_state)
    key = SigningKey((cloud_state / "cloud" / "jwt_signing_key").read_text().strip())
    service = sign_token(service_claims(service_id="e2e", audience=endpoints.domain), key)
    with grpc.insecure_channel(endpoints.auth) as channel:
        login = auth_pb2_grpc.AuthServiceStub(channel).PasswordLogin(
            auth_pb2.PasswordLoginRequest(email=demo.email, password=demo.password),
            metadata=[("authorization", f"bearer {service}")],
            timeout=10,
        )
    monkeypatch.setattr("sys.stdin", io.StringIO(login.token + "\n"))
    code, _, err = _px("auth", "login", "--manual")
    assert code == 0, err
    saved = json.loads((config_dir / "auth.json").read_text())
    assert saved["token"] == login.token and not saved["api_key"]
    code, out, _ = _px("api-key", "list")
    assert code == 0 and "devstack demo" in out
