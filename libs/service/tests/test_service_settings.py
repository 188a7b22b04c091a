"""`ServiceSettings` from `PL_*`: typed fields, and a fast, clear failure when something is off."""

from __future__ import annotations

import os

import pytest
from pydantic import Field
from pyxie_jwt import SigningKey, TokenVerifier
from pyxie_service import EXIT_BAD_SETTINGS, ServiceSettings, SettingsError, run_service
from pyxie_service.example import ExampleSettings

GOOD_KEY = "k" * 40


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in list(os.environ):
        if variable.upper().startswith("PL_"):
            monkeypatch.delenv(variable)


def test_settings_come_from_pl_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PL_JWT_SIGNING_KEY", GOOD_KEY)
    monkeypatch.setenv("PL_GRPC_PORT", "50300")
    monkeypatch.setenv("PL_METRICS_PORT", "9090")
    monkeypatch.setenv("PL_LOG_FORMAT", "console")
    monkeypatch.setenv("PL_LOG_LEVEL", "debug")
    monkeypatch.setenv("PL_NATS_URL", "nats://pl-nats:4222")
    monkeypatch.setenv("PL_SHUTDOWN_GRACE_SECONDS", "2.5")
    settings = ServiceSettings.load()
    assert settings.grpc_port == 50300
    assert settings.metrics_port == 9090
    assert settings.log_format == "console"
    assert settings.log_level == "debug"
    assert settings.nats_url == "nats://pl-nats:4222"
    assert settings.shutdown_grace_seconds == 2.5
    assert settings.jwt_audience == "vizier"


def test_signing_key_is_secret_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PL_JWT_SIGNING_KEY", GOOD_KEY)
    settings = ServiceSettings.load()
    assert GOOD_KEY not in repr(settings)
    assert settings.signing_key() == SigningKey(GOOD_KEY)
    assert isinstance(settings.token_verifier(), TokenVerifier)


def test_missing_signing_key_fails_naming_the_variable() -> None:
    with pytest.raises(SettingsError) as error:
        ServiceSettings.load()
    assert "PL_JWT_SIGNING_KEY: is required but not set" in str(error.value)


def test_short_signing_key_fails_without_showing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PL_JWT_SIGNING_KEY", "too-short-secret")
    with pytest.raises(SettingsError) as error:
        ServiceSettings.load()
    message = str(error.value)
    assert "PL_JWT_SIGNING_KEY" in message
    assert "at least 32 bytes" in message
    assert "too-short-secret" not in message
    assert error.value.__cause__ is None


def test_every_bad_variable_is_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PL_GRPC_PORT", "70000")
    monkeypatch.setenv("PL_LOG_FORMAT", "xml")
    with pytest.raises(SettingsError) as error:
        ServiceSettings.load()
    message = str(error.value)
    assert "PL_GRPC_PORT" in message
    assert "PL_LOG_FORMAT" in message
    assert "PL_JWT_SIGNING_KEY" in message
    assert message.startswith("invalid ServiceSettings from the environment")


def test_variable_names_are_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("pl_jwt_signing_key", GOOD_KEY)
    assert ServiceSettings.load().signing_key() == SigningKey(GOOD_KEY)


class _BrokerSettings(ServiceSettings):
    grpc_port: int = Field(default=50300, ge=0, le=65535)
    max_result_rows: int = Field(default=10_000, gt=0)


def test_a_service_subclass_adds_fields_and_overrides_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PL_JWT_SIGNING_KEY", GOOD_KEY)
    monkeypatch.setenv("PL_MAX_RESULT_ROWS", "5")
    settings = _BrokerSettings.load()
    assert settings.grpc_port == 50300
    assert settings.max_result_rows == 5


def test_subclass_field_errors_name_their_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PL_JWT_SIGNING_KEY", GOOD_KEY)
    monkeypatch.setenv("PL_MAX_RESULT_ROWS", "-1")
    with pytest.raises(SettingsError, match="PL_MAX_RESULT_ROWS"):
        _BrokerSettings.load()


def test_run_service_exits_with_a_clear_message_on_bad_settings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def never_called(settings: ExampleSettings) -> object:
        raise AssertionError("wiring must not run with bad settings")

    code = run_service(ExampleSettings, never_called)  # type: ignore[arg-type]
    assert code == EXIT_BAD_SETTINGS
    assert "PL_JWT_SIGNING_KEY: is required but not set" in capsys.readouterr().err
