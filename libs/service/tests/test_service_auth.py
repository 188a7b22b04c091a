"""Auth opt-outs and typed claim access in handlers."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request

import grpc
import pytest
from google.protobuf.wrappers_pb2 import StringValue
from pyxie_jwt import SigningKey, sign_token, user_claims
from pyxie_service import AuthInterceptor, Service
from pyxie_service.example import ECHO_SERVICE_NAME, EchoClient, EchoServicer, echo_registration
from service_kit_support import (
    AUDIENCE,
    SIGNING_SECRET,
    RunningEcho,
    bearer,
    make_settings,
    service_token,
)


def _user_token() -> str:
    claims = user_claims(user_id="u-1", org_id="o-1", email="a@x", audience=AUDIENCE)
    return sign_token(claims, SigningKey(SIGNING_SECRET))


async def test_method_listed_as_public_by_name_needs_no_token() -> None:
    service = Service(
        make_settings(metrics_enabled=False),
        [echo_registration(EchoServicer())],
        name="t",
        public_methods={f"/{ECHO_SERVICE_NAME}/Fail"},
    )
    await service.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc_port}") as channel:
            client = EchoClient(channel)
            with pytest.raises(grpc.aio.AioRpcError) as public:
                await client.fail(StringValue(value="not_found"))
            with pytest.raises(grpc.aio.AioRpcError) as protected:
                await client.echo(StringValue(value="x"))
        assert public.value.code() == grpc.StatusCode.NOT_FOUND
        assert protected.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        await service.stop()


@pytest.mark.parametrize("name", ["pyxie.example.Echo/Echo", "/Echo", "Echo"])
def test_public_method_names_must_be_full_names(name: str) -> None:
    verifier = make_settings().token_verifier()
    with pytest.raises(ValueError, match="full name"):
        AuthInterceptor(verifier, public_methods={name})


async def test_require_claims_lets_the_allowed_kind_through(echo: RunningEcho) -> None:
    reply = await echo.client.service_only(StringValue(), metadata=bearer(service_token("kelvin")))
    assert reply.value == "kelvin"


async def test_require_claims_refuses_another_kind_with_permission_denied(
    echo: RunningEcho,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await echo.client.service_only(StringValue(), metadata=bearer(_user_token()))
    assert error.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error.value.details() == "this method accepts only ServiceClaims tokens"


async def test_claims_of_one_call_are_not_seen_by_the_next(echo: RunningEcho) -> None:
    await echo.client.echo(StringValue(value="x"), metadata=bearer(service_token()))
    reply = await echo.client.public(StringValue(value="y"))
    assert reply.value == "public:anonymous:y"


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


async def test_metrics_endpoint_answers_only_its_path(echo: RunningEcho) -> None:
    base = f"http://127.0.0.1:{echo.service.metrics_port}"
    assert await asyncio.to_thread(_get, f"{base}/metrics") == 200
    assert await asyncio.to_thread(_get, f"{base}/admin") == 404
