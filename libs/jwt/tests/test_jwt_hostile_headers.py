"""Hostile token headers and claim types: every one is a typed rejection, never a crash.

Found by an attack suite: `crit` or a non-string `kid` in the header escaped as PyJWT's own
exception (the services answered INTERNAL), and a numeric-string `exp` was accepted.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt as pyjwt
import pytest
from pyxie_jwt import (
    InvalidClaimsError,
    InvalidTokenError,
    MalformedTokenError,
    SigningKey,
    verify_token,
)

SECRET = "pyxie-test-signing-key-" + "0123456789abcdef" * 3
KEY = SigningKey(SECRET)
AUDIENCE = "vizier"


def _payload(**overrides: Any) -> dict[str, Any]:
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
    return payload


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signed_with_header(header: dict[str, Any], payload: dict[str, Any]) -> str:
    """A correctly HS256-signed token whose header carries whatever the attacker wants."""
    import hashlib
    import hmac

    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    mac = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ({"alg": "HS256", "typ": "JWT", "crit": ["exp"]}, "crit"),
        ({"alg": "HS256", "typ": "JWT", "crit": ["b64"], "b64": False}, "crit|b64"),
        ({"alg": "HS256", "typ": "JWT", "crit": "b64"}, "crit"),
        ({"alg": "HS256", "typ": "JWT", "crit": []}, "crit"),
        ({"alg": "HS256", "typ": "JWT", "kid": 5}, "(?i)key id|kid"),
        ({"alg": "HS256", "typ": "JWT", "kid": {"a": 1}}, "(?i)key id|kid"),
        ({"alg": "HS256", "typ": "JWT", "kid": None}, "(?i)key id|kid"),
    ],
    ids=["crit-exp", "crit-b64", "crit-string", "crit-empty", "kid-int", "kid-object", "kid-null"],
)
def test_hostile_header_is_a_malformed_token_with_a_clear_message(
    header: dict[str, Any], message: str
) -> None:
    token = _signed_with_header(header, _payload())
    with pytest.raises(MalformedTokenError, match=message):
        verify_token(token, KEY, audience=AUDIENCE)


def test_a_string_kid_is_still_fine() -> None:
    token = _signed_with_header({"alg": "HS256", "typ": "JWT", "kid": "k1"}, _payload())
    assert verify_token(token, KEY, audience=AUDIENCE).subject == "metadata"


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
@pytest.mark.parametrize("value", ["NOW", True], ids=["numeric-string", "bool"])
def test_a_time_claim_that_is_not_a_json_number_is_rejected(claim: str, value: Any) -> None:
    now = int(time.time())
    if value == "NOW":
        value = str(now + 600 if claim == "exp" else now)
    token = pyjwt.encode(_payload(**{claim: value}), SECRET, algorithm="HS256")
    with pytest.raises(InvalidTokenError) as caught:
        verify_token(token, KEY, audience=AUDIENCE)
    if isinstance(value, str):
        assert isinstance(caught.value, InvalidClaimsError)
        assert f"{claim} must be a NumericDate" in str(caught.value)
