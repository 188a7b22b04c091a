"""The devstack writes the files a local stack's clients read with pyxie_client.local."""

from __future__ import annotations

from pathlib import Path

import pyxie_client.local as client
from pyxie_devstack.cloud._state import ensure_secret, write_private_json
from pyxie_devstack.vizier_state import (
    NodeRecord,
    VizierEndpoints,
    ensure_signing_key,
    write_endpoints,
)


def test_vizier_files_written_here_are_read_by_the_client(tmp_path: Path) -> None:
    endpoints = VizierEndpoints(
        broker="127.0.0.1:1",
        metadata="127.0.0.1:2",
        kelvin="127.0.0.1:3",
        nats="nats://127.0.0.1:4",
        nodes=(NodeRecord("n1", "", "127.0.0.1"),),
    )
    write_endpoints(tmp_path, endpoints)
    assert client.read_vizier_endpoints(tmp_path) == endpoints
    key = ensure_signing_key(tmp_path)
    assert client.read_signing_key(tmp_path) == key
    assert ensure_signing_key(tmp_path) == key  # kept across restarts
    assert (client.signing_key_path(tmp_path).stat().st_mode & 0o777) == 0o600


def test_cloud_files_written_here_are_read_by_the_client(tmp_path: Path) -> None:
    demo = client.Bootstrap("demo", "o", "a@demo", "pw", "u", "api", "deploy")
    write_private_json(client.cloud_dir(tmp_path) / "bootstrap.json", demo.to_dict())
    assert client.read_bootstrap(tmp_path) == demo
    cloud = client.CloudEndpoints("a:1", "a:2", "a:3", "a:4", "a:5", "nats://a:6", "d")
    write_private_json(client.cloud_endpoints_path(tmp_path), cloud.__dict__)
    assert client.read_cloud_endpoints(tmp_path) == cloud
    secret = ensure_secret(client.cloud_dir(tmp_path) / "jwt_signing_key", "hex")
    assert len(bytes.fromhex(secret)) == 32
