"""pyxie_client.local: reading what a local stack left under its state directory."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pyxie_client import ClientError
from pyxie_client.local import (
    Bootstrap,
    LocalStackError,
    NodeRecord,
    VizierEndpoints,
    ca_cert_path,
    read_bootstrap,
    read_cloud_endpoints,
    read_signing_key,
    read_vizier_endpoints,
    state_dir,
)

_CLOUD = {
    "api": "127.0.0.1:51200",
    "api_http": "127.0.0.1:51201",
    "auth": "127.0.0.1:51202",
    "vzmgr": "127.0.0.1:51203",
    "vzconn": "127.0.0.1:51204",
    "nats": "nats://127.0.0.1:4222",
    "domain": "pyxie.local",
}


def _private(path: Path, text: str, mode: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)


def test_state_dir_prefers_pl_state_dir_then_absolute_xdg(tmp_path: Path) -> None:
    env = {"PL_STATE_DIR": str(tmp_path / "s"), "XDG_STATE_HOME": "/elsewhere"}
    assert state_dir(env) == tmp_path / "s"
    assert state_dir({"XDG_STATE_HOME": "/var/state"}) == Path("/var/state/pyxie")
    home_default = Path.home() / ".local" / "state" / "pyxie"
    assert state_dir({"XDG_STATE_HOME": "relative"}) == home_default
    assert state_dir({}) == home_default


def test_vizier_endpoints_round_trip_with_nodes(tmp_path: Path) -> None:
    endpoints = VizierEndpoints(
        broker="127.0.0.1:50300",
        metadata="127.0.0.1:50400",
        kelvin="127.0.0.1:59300",
        nats="nats://127.0.0.1:4222",
        nodes=(NodeRecord("node-1", "pxnode-1", "10.77.0.2"),),
        isolated_nodes=True,
    )
    path = tmp_path / "vizier" / "endpoints.json"
    path.parent.mkdir()
    path.write_text(endpoints.to_json())
    assert read_vizier_endpoints(tmp_path) == endpoints


def test_missing_vizier_says_how_to_start_one(tmp_path: Path) -> None:
    with pytest.raises(LocalStackError, match="vizier up"):
        read_vizier_endpoints(tmp_path)
    with pytest.raises(LocalStackError, match="no vizier signing key"):
        read_signing_key(tmp_path)


@pytest.mark.parametrize("text", ["{not json", "[]", '{"broker": "x"}'])
def test_corrupt_vizier_endpoints_is_a_client_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "vizier" / "endpoints.json"
    path.parent.mkdir()
    path.write_text(text)
    with pytest.raises(LocalStackError, match="unreadable"):
        read_vizier_endpoints(tmp_path)


def test_signing_key_is_read_only_when_private(tmp_path: Path) -> None:
    key_path = tmp_path / "vizier" / "jwt_signing_key"
    _private(key_path, "ab" * 32 + "\n")
    assert read_signing_key(tmp_path) == "ab" * 32
    # A key others can read could mint tokens for them: refused, and the error says so.
    os.chmod(key_path, 0o644)
    with pytest.raises(LocalStackError, match="readable by others"):
        read_signing_key(tmp_path)


def test_cloud_endpoints_and_ca_path(tmp_path: Path) -> None:
    with pytest.raises(LocalStackError, match="cloud up"):
        read_cloud_endpoints(tmp_path)
    path = tmp_path / "cloud" / "endpoints.json"
    path.parent.mkdir()
    path.write_text(json.dumps(_CLOUD))
    assert read_cloud_endpoints(tmp_path).vzconn == "127.0.0.1:51204"
    assert ca_cert_path(tmp_path) == tmp_path / "cloud" / "tls" / "ca.crt"
    path.write_text(json.dumps({**_CLOUD, "unknown": 1}))
    with pytest.raises(LocalStackError, match="unreadable"):
        read_cloud_endpoints(tmp_path)


def test_bootstrap_holds_a_password_so_it_must_be_private(tmp_path: Path) -> None:
    demo = Bootstrap("demo", "o-1", "admin@demo", "pw", "u-1", "px-api-1", "px-dep-1")
    path = tmp_path / "cloud" / "bootstrap.json"
    _private(path, json.dumps(demo.to_dict()))
    assert read_bootstrap(tmp_path) == demo
    os.chmod(path, 0o640)
    with pytest.raises(LocalStackError, match="readable by others"):
        read_bootstrap(tmp_path)


def test_local_stack_errors_are_client_errors() -> None:
    assert issubclass(LocalStackError, ClientError)
