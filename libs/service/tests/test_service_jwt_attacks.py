"""JWT attacks through real gRPC calls: every forged or broken token is UNAUTHENTICATED."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import grpc
import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from google.protobuf.wrappers_pb2 import StringValue
from pyxie_jwt import (
    SigningKey,
    agent_service_claims,
    api_user_claims,
    cluster_claims,
    service_claims,
    sign_token,
    user_claims,
)
from service_kit_support import AUDIENCE, SIGNING_SECRET, RunningEcho

KEY = SigningKey(SIGNING_SECRET)
Metadata = tuple[tuple[str, str], ...]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _payload(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    payload: dict[str, Any] = {
        "aud": AUDIENCE,
        "exp": now + 600,
        "iat": now,
        "nbf": now,
        "iss": "PL",
        "jti": "attack",
        "sub": "query_broker",
        "Scopes": "service",
        "ServiceID": "query_broker",
    }
    payload.update(overrides)
    return {name: value for name, value in payload.items() if value is not None}


def _hs(payload: dict[str, Any], algorithm: str = "HS256", secret: str = SIGNING_SECRET) -> str:
    return pyjwt.encode(payload, secret, algorithm=algorithm)


def _alg_none() -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(_payload()).encode())}."


def _rs256() -> str:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return pyjwt.encode(_payload(), private_key, algorithm="RS256")


def _tampered() -> str:
    header, _, signature = _hs(_payload()).split(".")
    forged = _payload(sub="kelvin", ServiceID="kelvin")
    return f"{header}.{_b64(json.dumps(forged).encode())}.{signature}"


def _user_fields(**fields: Any) -> dict[str, Any]:
    return {"ServiceID": None, "Scopes": "user", **fields}


def _bearer(token: str) -> Metadata:
    return (("authorization", f"bearer {token}"),)


ATTACKS: dict[str, Callable[[], Metadata]] = {
    "alg-none": lambda: _bearer(_alg_none()),
    "hs512-with-the-right-key": lambda: _bearer(_hs(_payload(), "HS512")),
    "rs256-with-a-real-rsa-key": lambda: _bearer(_rs256()),
    "wrong-key": lambda: _bearer(_hs(_payload(), secret="an-attacker-chosen-key-" * 3)),
    "wrong-audience": lambda: _bearer(_hs(_payload(aud="cloud.example.com"))),
    "expired": lambda: _bearer(_hs(_payload(exp=int(time.time()) - 3600))),
    "not-yet-valid": lambda: _bearer(_hs(_payload(nbf=int(time.time()) + 3600))),
    "tampered-payload": lambda: _bearer(_tampered()),
    "user-without-user-id": lambda: _bearer(
        _hs(_payload(**_user_fields(OrgID="o", Email="e@x", IsAPIUser=False)))
    ),
    "api-user-without-org-id": lambda: _bearer(
        _hs(_payload(**_user_fields(UserID="u", IsAPIUser=True)))
    ),
    "service-without-service-id": lambda: _bearer(_hs(_payload(ServiceID=None))),
    "cluster-without-cluster-id": lambda: _bearer(_hs(_payload(ServiceID=None, Scopes="cluster"))),
    "missing-authorization-header": lambda: (),
    "garbage-token": lambda: _bearer("garbage.garbage.garbage"),
    "not-a-bearer-scheme": lambda: (("authorization", f"Basic {_hs(_payload())}"),),
    "bearer-without-token": lambda: (("authorization", "bearer "),),
    "two-authorization-headers": lambda: (*_bearer(_hs(_payload())), *_bearer(_hs(_payload()))),
}


async def _call(echo: RunningEcho, method: str, metadata: Metadata) -> str:
    if method == "unary":
        reply: StringValue = await echo.client.echo(StringValue(value="x"), metadata=metadata)
        return reply.value
    replies = echo.client.echo_stream(StringValue(value="x"), metadata=metadata)
    return ",".join([reply.value async for reply in replies])


@pytest.mark.parametrize("method", ["unary", "server-stream"])
@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
async def test_attack_is_rejected_as_unauthenticated(
    echo: RunningEcho, attack: Callable[[], Metadata], method: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await _call(echo, method, attack())
    assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_rejection_does_not_say_which_rule_failed(echo: RunningEcho) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as expired:
        await _call(echo, "unary", ATTACKS["expired"]())
    with pytest.raises(grpc.aio.AioRpcError) as wrong_key:
        await _call(echo, "unary", ATTACKS["wrong-key"]())
    assert expired.value.details() == wrong_key.value.details() == "invalid auth token"


VALID_TOKENS: dict[str, Callable[[], str]] = {
    "user": lambda: sign_token(
        user_claims(user_id="u-1", org_id="o-1", email="a@x", audience=AUDIENCE), KEY
    ),
    "api-user": lambda: sign_token(
        api_user_claims(user_id="u-1", org_id="o-1", audience=AUDIENCE), KEY
    ),
    "service": lambda: sign_token(service_claims(service_id="metadata", audience=AUDIENCE), KEY),
    "agent": lambda: sign_token(agent_service_claims(service_id="kelvin", audience=AUDIENCE), KEY),
    "cluster": lambda: sign_token(cluster_claims(cluster_id="c-1", audience=AUDIENCE), KEY),
    "forged-helper-baseline": lambda: _hs(_payload()),
}


@pytest.mark.parametrize("method", ["unary", "server-stream"])
@pytest.mark.parametrize("make_token", VALID_TOKENS.values(), ids=VALID_TOKENS.keys())
async def test_valid_token_of_each_kind_is_accepted(
    echo: RunningEcho, make_token: Callable[[], str], method: str
) -> None:
    token = make_token()
    subject = pyjwt.decode(token, options={"verify_signature": False})["sub"]
    assert await _call(echo, method, _bearer(token)) == f"{subject}:x"


async def test_bearer_scheme_is_case_insensitive(echo: RunningEcho) -> None:
    metadata = (("authorization", f"Bearer {_hs(_payload())}"),)
    assert await _call(echo, "unary", metadata) == "query_broker:x"


async def test_public_method_needs_no_token(echo: RunningEcho) -> None:
    assert (await echo.client.public(StringValue(value="x"))).value == "public:anonymous:x"


async def test_public_method_ignores_a_bad_token(echo: RunningEcho) -> None:
    reply = await echo.client.public(StringValue(value="x"), metadata=ATTACKS["alg-none"]())
    assert reply.value == "public:anonymous:x"
