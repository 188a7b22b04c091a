"""The server kit through real gRPC calls: health, reflection, request ids, streams, metrics."""

from __future__ import annotations

import asyncio
import datetime
import urllib.request

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from google.protobuf.wrappers_pb2 import StringValue
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families
from pyxie_service import Service
from pyxie_service.example import ECHO_SERVICE_NAME, EchoClient, EchoServicer, echo_registration
from service_kit_support import LogLines, RunningEcho, bearer, make_settings, service_token

SERVING = health_pb2.HealthCheckResponse.SERVING


async def test_binding_port_zero_reports_the_actual_ports(echo: RunningEcho) -> None:
    assert echo.service.grpc_port > 0
    assert echo.service.metrics_port is not None and echo.service.metrics_port > 0


@pytest.mark.parametrize("service_name", ["", ECHO_SERVICE_NAME])
async def test_health_reports_serving_for_the_server_and_each_service(
    echo: RunningEcho, service_name: str
) -> None:
    health = health_pb2_grpc.HealthStub(echo.channel)
    reply = await health.Check(health_pb2.HealthCheckRequest(service=service_name))
    assert reply.status == SERVING


async def test_health_of_an_unknown_service_is_not_found(echo: RunningEcho) -> None:
    health = health_pb2_grpc.HealthStub(echo.channel)
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"))
    assert error.value.code() == grpc.StatusCode.NOT_FOUND


async def test_health_status_can_be_set_per_service(echo: RunningEcho) -> None:
    health = health_pb2_grpc.HealthStub(echo.channel)
    await echo.service.set_serving(ECHO_SERVICE_NAME, False)
    service = await health.Check(health_pb2.HealthCheckRequest(service=ECHO_SERVICE_NAME))
    server = await health.Check(health_pb2.HealthCheckRequest(service=""))
    assert service.status == health_pb2.HealthCheckResponse.NOT_SERVING
    assert server.status == SERVING


async def test_reflection_lists_the_served_services_without_a_token(echo: RunningEcho) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(echo.channel)
    call = stub.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    )
    names: set[str] = set()
    async for reply in call:
        names |= {service.name for service in reply.list_services_response.service}
    assert {ECHO_SERVICE_NAME, "grpc.health.v1.Health"} <= names


async def test_request_id_sent_by_the_caller_is_echoed(echo: RunningEcho) -> None:
    call = echo.client.public(StringValue(value="x"), metadata=(("x-request-id", "req-42"),))
    await call
    assert dict(await call.initial_metadata())["x-request-id"] == "req-42"


@pytest.mark.parametrize("offered", [None, "has spaces", "x" * 200, "a/b=c"])
async def test_missing_or_unsafe_request_id_is_replaced_by_a_generated_one(
    echo: RunningEcho, offered: str | None
) -> None:
    metadata = () if offered is None else (("x-request-id", offered),)
    call = echo.client.public(StringValue(value="x"), metadata=metadata)
    await call
    request_id = dict(await call.initial_metadata())["x-request-id"]
    assert request_id != offered
    assert len(request_id) == 32
    int(request_id, 16)


async def test_access_log_carries_request_id_method_code_and_duration(
    echo: RunningEcho, log_lines: object
) -> None:

    assert isinstance(log_lines, LogLines)
    await echo.client.echo(
        StringValue(value="x"), metadata=(*bearer(service_token()), ("x-request-id", "trace-me"))
    )
    access = [r for r in log_lines.records() if r.get("event") == "rpc"]
    assert len(access) == 1
    record = access[0]
    assert record["request_id"] == "trace-me"
    assert record["method"] == f"/{ECHO_SERVICE_NAME}/Echo"
    assert record["code"] == "OK"
    assert record["duration_ms"] >= 0
    assert record["logger"] == "pyxie.grpc.access"


async def test_unary_handler_sees_the_verified_claims(echo: RunningEcho) -> None:
    token = service_token("kelvin")
    reply = await echo.client.echo(StringValue(value="hi"), metadata=bearer(token))
    assert reply.value == "kelvin:hi"


async def test_async_generator_stream_handler_runs_behind_auth(echo: RunningEcho) -> None:
    call = echo.client.echo_stream(StringValue(value="a b c"), metadata=bearer(service_token()))
    assert [reply.value async for reply in call] == [
        "query_broker:a",
        "query_broker:b",
        "query_broker:c",
    ]


async def test_write_style_stream_handler_runs_behind_auth(echo: RunningEcho) -> None:
    call = echo.client.echo_write(StringValue(value="a b"), metadata=bearer(service_token()))
    assert [reply.value async for reply in call] == ["query_broker:a", "query_broker:b"]


async def test_bidi_stream_handler_runs_behind_auth(echo: RunningEcho) -> None:
    requests = [StringValue(value="one"), StringValue(value="two")]
    call = echo.client.chat(iter(requests), metadata=bearer(service_token()))
    assert [reply.value async for reply in call] == ["query_broker:one", "query_broker:two"]


@pytest.mark.parametrize("method", ["echo_stream", "echo_write", "chat"])
async def test_streaming_methods_refuse_calls_without_a_token(
    echo: RunningEcho, method: str
) -> None:
    stub = getattr(echo.client, method)
    # The bidi call sends no message: the server refuses at call start, and a client still
    # writing a request then races the close and grpc reports its own INTERNAL send failure.
    request = iter(()) if method == "chat" else StringValue(value="x")
    with pytest.raises(grpc.aio.AioRpcError) as error:
        async for _ in stub(request):
            pass
    assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_public_method_works_without_a_token(echo: RunningEcho) -> None:
    assert (await echo.client.public(StringValue(value="x"))).value == "public:anonymous:x"


async def test_unknown_method_is_unimplemented(echo: RunningEcho) -> None:
    missing = echo.channel.unary_unary(
        f"/{ECHO_SERVICE_NAME}/NoSuchMethod",
        request_serializer=StringValue.SerializeToString,
        response_deserializer=StringValue.FromString,
    )
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await missing(StringValue(value="x"), metadata=bearer(service_token()))
    assert error.value.code() == grpc.StatusCode.UNIMPLEMENTED


def _scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def _labels(method: str, code: str | None = None) -> frozenset[tuple[str, str]]:
    labels = {"grpc_type": "unary", "grpc_service": ECHO_SERVICE_NAME, "grpc_method": method}
    if code is not None:
        labels["grpc_code"] = code
    return frozenset(labels.items())


async def test_metrics_endpoint_counts_calls_by_method_and_code(echo: RunningEcho) -> None:
    for _ in range(2):
        await echo.client.echo(StringValue(value="x"), metadata=bearer(service_token()))
    with pytest.raises(grpc.aio.AioRpcError):
        await echo.client.fail(StringValue(value="not_found"), metadata=bearer(service_token()))
    with pytest.raises(grpc.aio.AioRpcError):
        await echo.client.echo(StringValue(value="x"))
    assert echo.service.metrics_port is not None
    samples = await asyncio.to_thread(_scrape, echo.service.metrics_port)
    assert samples[("grpc_server_handled_total", _labels("Echo", "OK"))] == 2
    assert samples[("grpc_server_handled_total", _labels("Echo", "UNAUTHENTICATED"))] == 1
    assert samples[("grpc_server_handled_total", _labels("Fail", "NOT_FOUND"))] == 1
    assert samples[("grpc_server_started_total", _labels("Echo"))] == 3
    assert samples[("grpc_server_handling_seconds_count", _labels("Echo"))] == 3


async def test_metrics_can_be_disabled() -> None:
    service = Service(
        make_settings(metrics_enabled=False), [echo_registration(EchoServicer())], name="t"
    )
    await service.start()
    try:
        assert service.metrics_port is None
    finally:
        await service.stop()


def _self_signed_certificate() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pyxie-test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("pyxie-test")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


async def test_tls_server_serves_calls_over_tls_only() -> None:
    certificate, key = _self_signed_certificate()
    service = Service(
        make_settings(metrics_enabled=False),
        [echo_registration(EchoServicer())],
        name="tls",
        server_credentials=grpc.ssl_server_credentials([(key, certificate)]),
    )
    await service.start()
    address = f"127.0.0.1:{service.grpc_port}"
    secure = grpc.aio.secure_channel(
        address,
        grpc.ssl_channel_credentials(root_certificates=certificate),
        options=(("grpc.ssl_target_name_override", "pyxie-test"),),
    )
    plain = grpc.aio.insecure_channel(address)
    try:
        reply = await EchoClient(secure).public(StringValue(value="x"))
        assert reply.value == "public:anonymous:x"
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await EchoClient(plain).public(StringValue(value="x"), timeout=10)
        assert error.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        await secure.close(None)
        await plain.close(None)
        await service.stop()
