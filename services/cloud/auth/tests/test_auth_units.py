"""Pure pieces: name normalisation, settings, invite tokens."""

from __future__ import annotations

import base64
import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pyxie_auth import AuthSettings
from pyxie_auth.controllers._invites import (
    InviteClaims,
    InviteTokenError,
    new_invite_key,
    sign_invite,
    verify_invite,
)
from pyxie_auth.controllers._names import normalise_email, normalise_org_name, org_name_key
from pyxie_service import InvalidArgument, SettingsError

KEY = "k" * 40
DATA_KEY = base64.b64encode(os.urandom(32)).decode()


def test_org_names_fold_compatibility_forms_and_case() -> None:
    assert normalise_org_name("  \uff21cme\u3000  Corp ") == "Acme Corp"
    assert org_name_key("ACME corp") == org_name_key("\uff41cme CORP")
    assert org_name_key("Stra\u00dfe") == org_name_key("STRASSE")


@pytest.mark.parametrize("name", ["", "   ", "a\u202eb", "x" * 65, "tab\x00"])
def test_bad_org_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidArgument):
        normalise_org_name(name)


@pytest.mark.parametrize("email", ["", "no-at-sign", "a@b", "two@@x.io", "sp ace@x.io"])
def test_bad_emails_are_refused(email: str) -> None:
    with pytest.raises(InvalidArgument):
        normalise_email(email)


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PL_JWT_SIGNING_KEY", KEY)
    monkeypatch.setenv("PL_POSTGRES_DSN", "postgresql://u@localhost/db")
    monkeypatch.setenv("PL_DATABASE_KEY", DATA_KEY)
    monkeypatch.setenv("PL_DOMAIN_NAME", "cloud.example")
    monkeypatch.setenv("PL_OIDC_ISSUER", "https://idp.example/")
    settings = AuthSettings.load()
    assert settings.grpc_port == 50100
    assert settings.jwt_audience == "cloud.example"
    assert settings.oidc_issuer_url == "https://idp.example"
    assert settings.augmented_token_lifetime == timedelta(minutes=90)


def test_settings_name_every_missing_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PL_JWT_SIGNING_KEY", "PL_POSTGRES_DSN", "PL_DATABASE_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SettingsError) as caught:
        AuthSettings.load()
    for name in ("PL_JWT_SIGNING_KEY", "PL_POSTGRES_DSN", "PL_DATABASE_KEY"):
        assert name in str(caught.value)


def test_settings_refuse_an_audience_other_than_the_domain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PL_JWT_SIGNING_KEY", KEY)
    monkeypatch.setenv("PL_POSTGRES_DSN", "postgresql://u@localhost/db")
    monkeypatch.setenv("PL_DATABASE_KEY", DATA_KEY)
    monkeypatch.setenv("PL_JWT_AUDIENCE", "vizier")
    with pytest.raises(SettingsError, match="PL_DOMAIN_NAME"):
        AuthSettings.load()


def test_invite_signed_by_another_org_key_is_rejected() -> None:
    now = datetime.now(UTC)
    claims = InviteClaims(invite_id=uuid.uuid4(), org_id=uuid.uuid4(), email="a@x.io")
    token = sign_invite(
        claims, new_invite_key(), domain="d", issued_at=now, expires_at=now + timedelta(days=7)
    )
    with pytest.raises(InviteTokenError):
        verify_invite(token, new_invite_key(), domain="d")


def test_expired_invite_is_rejected() -> None:
    key = new_invite_key()
    past = datetime.now(UTC) - timedelta(days=8)
    claims = InviteClaims(invite_id=uuid.uuid4(), org_id=uuid.uuid4(), email="a@x.io")
    token = sign_invite(claims, key, domain="d", issued_at=past, expires_at=past + timedelta(1))
    with pytest.raises(InviteTokenError):
        verify_invite(token, key, domain="d")
    fresh = sign_invite(
        claims,
        key,
        domain="d",
        issued_at=datetime.now(UTC),
        expires_at=datetime.now(UTC) + timedelta(1),
    )
    assert verify_invite(fresh, key, domain="d") == claims
