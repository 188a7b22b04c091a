"""HS256 sign/verify: every rule a token must pass."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from pyxie_jwt import (
    CLOCK_SKEW_LEEWAY,
    APIUserClaims,
    AudienceMismatchError,
    BadSignatureError,
    Claims,
    ClusterClaims,
    ExpiredTokenError,
    InvalidClaimsError,
    InvalidTokenError,
    IssuerMismatchError,
    MalformedTokenError,
    NotYetValidTokenError,
    ServiceClaims,
    SigningKey,
    TokenVerifier,
    UnsupportedAlgorithmError,
    UserClaims,
    agent_service_claims,
    api_user_claims,
    cluster_claims,
    service_claims,
    sign_token,
    user_claims,
    verify_token,
)

# 64 bytes, so PyJWT does not warn when the tests forge HS512 tokens with it.
SECRET = "pyxie-test-signing-key-" + "0123456789abcdef" * 3
KEY = SigningKey(SECRET)
AUDIENCE = "vizier"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _valid_payload(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    payload: dict[str, Any] = {
        "aud": AUDIENCE,
        "exp": now + 600,
        "iat": now,
        "nbf": now,
        "iss": "PL",
        "jti": "token-1",
        "sub": "metadata",
        "Scopes": "service",
        "ServiceID": "metadata",
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


def _forge(payload: dict[str, Any], *, algorithm: str = "HS256", key: Any = SECRET) -> str:
    return pyjwt.encode(payload, key, algorithm=algorithm)


def _unsigned(payload: dict[str, Any]) -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(payload).encode())}."


@pytest.mark.parametrize(
    "make_claims",
    [
        lambda: user_claims(user_id="u-1", org_id="o-1", email="a@example.com", audience=AUDIENCE),
        lambda: api_user_claims(user_id="u-1", org_id="o-1", audience=AUDIENCE),
        lambda: service_claims(service_id="metadata", audience=AUDIENCE),
        lambda: agent_service_claims(service_id="kelvin", audience=AUDIENCE),
        lambda: cluster_claims(cluster_id="vizier_cluster", audience=AUDIENCE),
    ],
    ids=["user", "api-user", "service", "agent-service", "cluster"],
)
def test_signed_claims_verify_back_to_the_same_typed_claims(
    make_claims: Callable[[], Claims],
) -> None:
    # Made when the test runs, not at collection: short-lived claims (an agent's lives a
    # minute) would expire while a loaded machine collects and runs the tests before it.
    claims = make_claims()
    assert verify_token(sign_token(claims, KEY), KEY, audience=AUDIENCE) == claims


def test_token_payload_uses_pixie_claim_names() -> None:
    token = sign_token(
        user_claims(user_id="u-1", org_id="o-1", email="a@example.com", audience=AUDIENCE), KEY
    )
    payload = pyjwt.decode(token, options={"verify_signature": False})
    assert payload["UserID"] == "u-1"
    assert payload["OrgID"] == "o-1"
    assert payload["Email"] == "a@example.com"
    assert payload["IsAPIUser"] is False
    assert payload["Scopes"] == "user"
    assert {"aud", "exp", "iat", "iss", "jti", "nbf", "sub"} <= payload.keys()
    assert pyjwt.get_unverified_header(token)["alg"] == "HS256"


def test_api_user_token_sets_is_api_user() -> None:
    token = sign_token(api_user_claims(user_id="u", org_id="o", audience=AUDIENCE), KEY)
    assert pyjwt.decode(token, options={"verify_signature": False})["IsAPIUser"] is True
    assert isinstance(verify_token(token, KEY, audience=AUDIENCE), APIUserClaims)


def test_service_and_cluster_tokens_carry_their_ids() -> None:
    service = pyjwt.decode(
        sign_token(service_claims(service_id="kelvin", audience=AUDIENCE), KEY),
        options={"verify_signature": False},
    )
    cluster = pyjwt.decode(
        sign_token(cluster_claims(cluster_id="c-1", audience=AUDIENCE), KEY),
        options={"verify_signature": False},
    )
    assert service["ServiceID"] == "kelvin"
    assert "UserID" not in service
    assert cluster["ClusterID"] == "c-1"


def test_token_verifier_checks_its_own_audience() -> None:
    token = sign_token(service_claims(service_id="s", audience="cloud.example"), KEY)
    assert isinstance(TokenVerifier(KEY, audience="cloud.example").verify(token), ServiceClaims)
    with pytest.raises(AudienceMismatchError):
        TokenVerifier(KEY, audience=AUDIENCE).verify(token)


def test_a_forged_but_well_formed_token_is_accepted() -> None:
    # Guards the forging helpers below: with nothing wrong, the token passes.
    assert isinstance(verify_token(_forge(_valid_payload()), KEY, audience=AUDIENCE), ServiceClaims)


def _rsa_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _tamper(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["ServiceID"] = claims["sub"] = "query_broker"
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"


def _in_the_past(seconds: int) -> int:
    return int(time.time()) - seconds


LEEWAY_SECONDS = int(CLOCK_SKEW_LEEWAY.total_seconds())

REJECTED: list[tuple[str, Callable[[], str], type[InvalidTokenError]]] = [
    ("alg-none", lambda: _unsigned(_valid_payload()), UnsupportedAlgorithmError),
    (
        "hs512-right-key",
        lambda: _forge(_valid_payload(), algorithm="HS512"),
        UnsupportedAlgorithmError,
    ),
    (
        "hs384-right-key",
        lambda: _forge(_valid_payload(), algorithm="HS384"),
        UnsupportedAlgorithmError,
    ),
    (
        "rs256",
        lambda: _forge(_valid_payload(), algorithm="RS256", key=_rsa_private_key()),
        UnsupportedAlgorithmError,
    ),
    ("wrong-key", lambda: _forge(_valid_payload(), key="another-key-" * 6), BadSignatureError),
    ("tampered-payload", lambda: _tamper(_forge(_valid_payload())), BadSignatureError),
    ("wrong-audience", lambda: _forge(_valid_payload(aud="cloud.example")), AudienceMismatchError),
    ("missing-audience", lambda: _forge(_valid_payload(aud=None)), InvalidClaimsError),
    ("wrong-issuer", lambda: _forge(_valid_payload(iss="pixielabs.ai")), IssuerMismatchError),
    (
        "expired",
        lambda: _forge(_valid_payload(exp=_in_the_past(LEEWAY_SECONDS + 60))),
        ExpiredTokenError,
    ),
    (
        "nbf-in-future",
        lambda: _forge(_valid_payload(nbf=_in_the_past(-(LEEWAY_SECONDS + 60)))),
        NotYetValidTokenError,
    ),
    (
        "iat-in-future",
        lambda: _forge(_valid_payload(iat=_in_the_past(-(LEEWAY_SECONDS + 60)))),
        NotYetValidTokenError,
    ),
    ("missing-exp", lambda: _forge(_valid_payload(exp=None)), InvalidClaimsError),
    ("missing-sub", lambda: _forge(_valid_payload(sub=None)), InvalidClaimsError),
    (
        "service-without-service-id",
        lambda: _forge(_valid_payload(ServiceID=None)),
        InvalidClaimsError,
    ),
    ("service-with-empty-id", lambda: _forge(_valid_payload(ServiceID="")), InvalidClaimsError),
    (
        "user-without-user-id",
        lambda: _forge(
            _valid_payload(ServiceID=None, Scopes="user", OrgID="o", Email="e", IsAPIUser=False)
        ),
        InvalidClaimsError,
    ),
    (
        "api-user-without-org-id",
        lambda: _forge(_valid_payload(ServiceID=None, Scopes="user", UserID="u", IsAPIUser=True)),
        InvalidClaimsError,
    ),
    (
        "api-user-without-user-id",
        lambda: _forge(_valid_payload(ServiceID=None, Scopes="user", OrgID="o", IsAPIUser=True)),
        InvalidClaimsError,
    ),
    (
        "cluster-without-cluster-id",
        lambda: _forge(_valid_payload(ServiceID=None, Scopes="cluster")),
        InvalidClaimsError,
    ),
    (
        "no-kind-at-all",
        lambda: _forge(_valid_payload(ServiceID=None, Scopes="")),
        InvalidClaimsError,
    ),
    (
        "two-kinds-at-once",
        lambda: _forge(_valid_payload(ClusterID="c-1")),
        InvalidClaimsError,
    ),
    (
        "is-api-user-not-a-boolean",
        lambda: _forge(
            _valid_payload(ServiceID=None, Scopes="user", UserID="u", OrgID="o", IsAPIUser="yes")
        ),
        InvalidClaimsError,
    ),
    ("id-not-a-string", lambda: _forge(_valid_payload(ServiceID=7)), InvalidClaimsError),
    ("garbage", lambda: "not-a-token", MalformedTokenError),
    ("empty", lambda: "", MalformedTokenError),
    (
        "bad-base64-payload",
        lambda: _forge(_valid_payload()).split(".")[0] + ".@@@.x",
        MalformedTokenError,
    ),
]


@pytest.mark.parametrize(
    ("make_token", "error"),
    [(make, error) for _, make, error in REJECTED],
    ids=[name for name, _, _ in REJECTED],
)
def test_token_breaking_a_rule_is_rejected(
    make_token: Callable[[], str], error: type[InvalidTokenError]
) -> None:
    with pytest.raises(error):
        verify_token(make_token(), KEY, audience=AUDIENCE)


def test_expiry_within_the_clock_skew_leeway_is_tolerated() -> None:
    token = _forge(_valid_payload(exp=_in_the_past(1), nbf=_in_the_past(60), iat=_in_the_past(60)))
    assert isinstance(verify_token(token, KEY, audience=AUDIENCE), ServiceClaims)


def test_token_minted_in_the_past_is_expired() -> None:
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    token = sign_token(cluster_claims(cluster_id="c", audience=AUDIENCE, now=long_ago), KEY)
    with pytest.raises(ExpiredTokenError):
        verify_token(token, KEY, audience=AUDIENCE)


def test_audience_given_as_a_list_is_accepted() -> None:
    # Pixie's Go JWT library may serialise a one-element audience as a JSON array.
    token = _forge(_valid_payload(aud=[AUDIENCE]))
    assert verify_token(token, KEY, audience=AUDIENCE).audience == AUDIENCE


def test_verified_user_token_is_typed_user_claims() -> None:
    token = _forge(
        _valid_payload(
            ServiceID=None, sub="u", Scopes="user", UserID="u", OrgID="", Email="", IsAPIUser=False
        )
    )
    claims = verify_token(token, KEY, audience=AUDIENCE)
    assert isinstance(claims, UserClaims)
    assert claims.org_id == ""


def test_verified_cluster_token_is_typed_cluster_claims() -> None:
    token = _forge(_valid_payload(ServiceID=None, Scopes="cluster", ClusterID="c-1"))
    claims = verify_token(token, KEY, audience=AUDIENCE)
    assert isinstance(claims, ClusterClaims)
    assert claims.cluster_id == "c-1"
