"""Typed claims, keys and the minting functions."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from pyxie_jwt import (
    AGENT_SERVICE_TOKEN_BACKDATE,
    AGENT_SERVICE_TOKEN_LIFETIME,
    API_USER_TOKEN_LIFETIME,
    CLUSTER_TOKEN_BACKDATE,
    CLUSTER_TOKEN_LIFETIME,
    ISSUER,
    MIN_SIGNING_KEY_BYTES,
    SERVICE_TOKEN_LIFETIME,
    USER_LOGIN_TOKEN_LIFETIME,
    APIUserClaims,
    ClusterClaims,
    InvalidSigningKeyError,
    JWTError,
    ServiceClaims,
    SigningKey,
    UserClaims,
    agent_service_claims,
    api_user_claims,
    cluster_claims,
    service_claims,
    user_claims,
)

NOW = datetime(2026, 4, 1, 12, 0, 0, tzinfo=UTC)


def test_signing_key_shorter_than_32_bytes_is_refused() -> None:
    with pytest.raises(InvalidSigningKeyError, match="at least 32 bytes"):
        SigningKey("x" * (MIN_SIGNING_KEY_BYTES - 1))


def test_signing_key_error_is_under_the_package_root() -> None:
    with pytest.raises(JWTError):
        SigningKey("")


def test_signing_key_of_exactly_32_bytes_is_accepted() -> None:
    assert SigningKey("k" * MIN_SIGNING_KEY_BYTES) == SigningKey("k" * MIN_SIGNING_KEY_BYTES)


def test_signing_key_repr_does_not_show_the_secret() -> None:
    secret = "s3cr3t-" * 8
    key = SigningKey(secret)
    assert "s3cr3t" not in repr(key)
    assert "s3cr3t" not in str(key)
    assert key.reveal_text() == secret


def test_generated_signing_keys_are_long_enough_and_distinct() -> None:
    first, second = SigningKey.generate(), SigningKey.generate()
    assert len(first.reveal_text().encode()) >= MIN_SIGNING_KEY_BYTES
    assert first != second


def test_user_claims_follow_pixie_user_token_shape() -> None:
    claims = user_claims(
        user_id="u-1", org_id="o-1", email="a@example.com", audience="example.dev", now=NOW
    )
    assert claims.subject == "u-1"
    assert claims.issuer == ISSUER
    assert claims.scopes == ("user",)
    assert claims.expires_at - claims.issued_at == USER_LOGIN_TOKEN_LIFETIME
    assert claims.not_before == claims.issued_at == NOW


def test_api_user_claims_use_the_org_as_subject() -> None:
    claims = api_user_claims(user_id="u-1", org_id="o-1", audience="example.dev", now=NOW)
    assert isinstance(claims, APIUserClaims)
    assert claims.subject == "o-1"
    assert claims.expires_at - NOW == API_USER_TOKEN_LIFETIME


def test_service_claims_live_ten_minutes() -> None:
    claims = service_claims(service_id="metadata", audience="vizier", now=NOW)
    assert claims.subject == "metadata"
    assert claims.scopes == ("service",)
    assert claims.expires_at - NOW == SERVICE_TOKEN_LIFETIME


def test_agent_service_claims_live_sixty_seconds_and_are_back_dated() -> None:
    claims = agent_service_claims(service_id="kelvin", audience="vizier", now=NOW)
    assert claims.expires_at - NOW == AGENT_SERVICE_TOKEN_LIFETIME == timedelta(seconds=60)
    assert NOW - claims.not_before == AGENT_SERVICE_TOKEN_BACKDATE == timedelta(seconds=60)


def test_cluster_claims_live_an_hour_and_are_back_dated_two_minutes() -> None:
    claims = cluster_claims(cluster_id="vizier_cluster", audience="vizier", now=NOW)
    assert claims.expires_at - NOW == CLUSTER_TOKEN_LIFETIME
    assert NOW - claims.issued_at == NOW - claims.not_before == CLUSTER_TOKEN_BACKDATE
    assert claims.scopes == ("cluster",)


def test_minted_claims_get_distinct_token_ids() -> None:
    first = service_claims(service_id="s", audience="vizier", now=NOW)
    second = service_claims(service_id="s", audience="vizier", now=NOW)
    assert first.token_id != second.token_id


def test_claims_are_immutable() -> None:
    claims = service_claims(service_id="s", audience="vizier", now=NOW)
    with pytest.raises(dataclasses.FrozenInstanceError):
        claims.service_id = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: user_claims(user_id="", org_id="o", email="e", audience="a", now=NOW), "UserID"),
        (lambda: api_user_claims(user_id="u", org_id="", audience="a", now=NOW), "OrgID"),
        (lambda: api_user_claims(user_id="", org_id="o", audience="a", now=NOW), "UserID"),
        (lambda: service_claims(service_id="", audience="a", now=NOW), "ServiceID"),
        (lambda: cluster_claims(cluster_id="", audience="a", now=NOW), "ClusterID"),
        (lambda: service_claims(service_id="s", audience="", now=NOW), "audience"),
    ],
    ids=[
        "user-no-id",
        "api-user-no-org",
        "api-user-no-user",
        "service-no-id",
        "cluster-no-id",
        "no-aud",
    ],
)
def test_claims_missing_a_required_field_cannot_be_built(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()  # type: ignore[operator]


def test_claims_refuse_naive_datetimes() -> None:
    naive = datetime(2026, 1, 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        ServiceClaims(
            subject="s",
            audience="a",
            issued_at=naive,
            not_before=naive,
            expires_at=naive + timedelta(minutes=1),
            token_id="t",
            service_id="s",
        )


def test_claims_refuse_expiry_before_not_before() -> None:
    with pytest.raises(ValueError, match="not after"):
        ClusterClaims(
            subject="s",
            audience="a",
            issued_at=NOW,
            not_before=NOW,
            expires_at=NOW,
            token_id="t",
            cluster_id="c",
        )


def test_user_claims_allow_an_org_less_user() -> None:
    claims = user_claims(user_id="u", org_id="", email="", audience="a", now=NOW)
    assert isinstance(claims, UserClaims)
    assert claims.org_id == ""
