"""MetadataSettings from PL_* variables."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyxie_metadata.settings import (
    AGENT_EXPIRATION_TIMEOUT_SECONDS,
    UNHEALTHY_AGENT_THRESHOLD_SECONDS,
    MetadataSettings,
)
from pyxie_metadata.testing import SIGNING_SECRET
from pyxie_service import SettingsError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("PL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PL_JWT_SIGNING_KEY", SIGNING_SECRET)


def test_defaults_are_pixies() -> None:
    settings = MetadataSettings.load()
    assert settings.grpc_port == 50400
    assert settings.kv_backend == "sqlite"
    assert settings.metadata_provider == "local"
    assert settings.agent_expiration_timeout_seconds == AGENT_EXPIRATION_TIMEOUT_SECONDS == 60
    assert settings.unhealthy_agent_threshold_seconds == UNHEALTHY_AGENT_THRESHOLD_SECONDS == 30
    assert settings.jwt_audience == "vizier"
    assert settings.local_services_config is None


def test_every_knob_comes_from_a_pl_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    values = {
        "PL_GRPC_PORT": "0",
        "PL_KV_BACKEND": "etcd",
        "PL_ETCD_ENDPOINT": "pl-etcd:2379",
        "PL_KV_PATH": "/tmp/kv.sqlite",
        "PL_AGENT_EXPIRATION_TIMEOUT_SECONDS": "0.5",
        "PL_UNHEALTHY_AGENT_THRESHOLD_SECONDS": "0.25",
        "PL_METADATA_PROVIDER": "kubernetes",
        "PL_KUBE_NAMESPACES": '["pl", "sock-shop"]',
        "PL_LOCAL_SERVICES_CONFIG": "/etc/pyxie/services.toml",
        "PL_LOCAL_SCAN_INTERVAL_SECONDS": "2",
        "PL_NATS_URL": "nats://pl-nats:4222",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings = MetadataSettings.load()
    assert (settings.grpc_port, settings.kv_backend, settings.etcd_endpoint) == (
        0,
        "etcd",
        "pl-etcd:2379",
    )
    assert settings.kv_path == Path("/tmp/kv.sqlite")
    assert settings.agent_expiration_timeout_seconds == 0.5
    assert settings.unhealthy_agent_threshold_seconds == 0.25
    assert settings.kube_namespaces == ["pl", "sock-shop"]
    assert settings.local_services_config == Path("/etc/pyxie/services.toml")
    assert settings.local_scan_interval_seconds == 2
    assert settings.nats_url == "nats://pl-nats:4222"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PL_KV_BACKEND", "pebble"),
        ("PL_METADATA_PROVIDER", "docker"),
        ("PL_AGENT_EXPIRATION_TIMEOUT_SECONDS", "0"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        MetadataSettings.load()
