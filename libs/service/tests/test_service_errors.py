"""Domain errors become gRPC status codes in one place; bugs become INTERNAL without leaks."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.wrappers_pb2 import StringValue
from pyxie_jwt import ExpiredTokenError
from pyxie_service import (
    INTERNAL_ERROR_DETAILS,
    NotFound,
    PermissionDenied,
    ServiceError,
    error_for_code,
    error_for_status,
    status_for_exception,
)
from pyxie_service.example import CRASH_MESSAGE, FAILURES
from service_kit_support import LogLines, RunningEcho, bearer, service_token

EXPECTED_CODES = {
    "invalid_argument": grpc.StatusCode.INVALID_ARGUMENT,
    "not_found": grpc.StatusCode.NOT_FOUND,
    "already_exists": grpc.StatusCode.ALREADY_EXISTS,
    "permission_denied": grpc.StatusCode.PERMISSION_DENIED,
    "unauthenticated": grpc.StatusCode.UNAUTHENTICATED,
    "failed_precondition": grpc.StatusCode.FAILED_PRECONDITION,
    "resource_exhausted": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "unavailable": grpc.StatusCode.UNAVAILABLE,
    "deadline_exceeded": grpc.StatusCode.DEADLINE_EXCEEDED,
    "aborted": grpc.StatusCode.ABORTED,
    "out_of_range": grpc.StatusCode.OUT_OF_RANGE,
    "unimplemented": grpc.StatusCode.UNIMPLEMENTED,
    "service_error": grpc.StatusCode.UNKNOWN,
}


def test_every_example_failure_has_an_expected_code() -> None:
    assert EXPECTED_CODES.keys() == FAILURES.keys()


@pytest.mark.parametrize(("failure", "code"), EXPECTED_CODES.items(), ids=EXPECTED_CODES.keys())
async def test_domain_error_maps_to_its_status_code_with_its_message(
    echo: RunningEcho, failure: str, code: grpc.StatusCode
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await echo.client.fail(StringValue(value=failure), metadata=bearer(service_token()))
    assert error.value.code() == code
    assert error.value.details() == f"{failure} raised on request"


async def test_unexpected_exception_is_internal_without_leaking_its_message(
    echo: RunningEcho, log_lines: LogLines
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await echo.client.fail(StringValue(value="crash"), metadata=bearer(service_token()))
    assert error.value.code() == grpc.StatusCode.INTERNAL
    assert error.value.details() == INTERNAL_ERROR_DETAILS
    assert "hunter2" not in (error.value.debug_error_string() or "")
    logged = [r for r in log_lines.records() if r["event"] == "unhandled exception in RPC handler"]
    assert len(logged) == 1
    assert logged[0]["level"] == "error"
    assert CRASH_MESSAGE in str(logged[0]["exception"])
    assert logged[0]["method"].endswith("/Fail")


async def test_domain_error_in_the_middle_of_a_stream_ends_it_with_its_code(
    echo: RunningEcho,
) -> None:
    received: list[str] = []
    with pytest.raises(grpc.aio.AioRpcError) as error:
        async for reply in echo.client.fail_stream(
            StringValue(value="resource_exhausted"), metadata=bearer(service_token())
        ):
            received.append(reply.value)
    assert received == ["first"]
    assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_crash_in_the_middle_of_a_stream_is_internal(echo: RunningEcho) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        async for _ in echo.client.fail_stream(
            StringValue(value="crash"), metadata=bearer(service_token())
        ):
            pass
    assert error.value.code() == grpc.StatusCode.INTERNAL
    assert error.value.details() == INTERNAL_ERROR_DETAILS


def test_status_for_a_domain_error_uses_its_class_code() -> None:
    assert status_for_exception(NotFound("no vizier c-1")) == (
        grpc.StatusCode.NOT_FOUND,
        "no vizier c-1",
    )
    assert status_for_exception(PermissionDenied("org mismatch"))[0] == (
        grpc.StatusCode.PERMISSION_DENIED
    )


def test_status_for_a_token_error_is_unauthenticated_without_the_reason() -> None:
    assert status_for_exception(ExpiredTokenError("token has expired")) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "invalid auth token",
    )


def test_status_for_any_other_exception_is_internal() -> None:
    assert status_for_exception(KeyError("secret")) == (
        grpc.StatusCode.INTERNAL,
        INTERNAL_ERROR_DETAILS,
    )


def test_domain_errors_share_one_root() -> None:
    assert all(issubclass(error, ServiceError) for error in FAILURES.values())


# --- a status some other process reported → domain error --------------------------------


@pytest.mark.parametrize("code", [c for c in grpc.StatusCode if c != grpc.StatusCode.OK])
def test_every_failure_code_round_trips_through_its_domain_error(code: grpc.StatusCode) -> None:
    by_enum = error_for_code(code, "reported")
    by_number = error_for_code(code.value[0], "reported")
    assert status_for_exception(by_enum) == (code, "reported")
    assert type(by_number) is type(by_enum)


@pytest.mark.parametrize("number", [0, 17, 99, -1])
def test_ok_and_undefined_code_numbers_become_unknown_with_the_message(number: int) -> None:
    error = error_for_code(number, "agent said so")
    assert type(error) is ServiceError
    assert status_for_exception(error) == (grpc.StatusCode.UNKNOWN, "agent said so")


@pytest.mark.parametrize(
    "code",
    [
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.OUT_OF_RANGE,
    ],
)
def test_a_proxy_passes_caller_facing_codes_on_with_their_message(code: grpc.StatusCode) -> None:
    error = error_for_status(code, "no such cluster", backend="vzmgr")
    assert status_for_exception(error) == (code, "no such cluster")


@pytest.mark.parametrize("code", [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED])
def test_a_proxy_reports_an_unreachable_backend_as_unavailable(code: grpc.StatusCode) -> None:
    error = error_for_status(code, "connection refused to 10.0.0.7", backend="auth")
    assert status_for_exception(error) == (
        grpc.StatusCode.UNAVAILABLE,
        "the auth service is unavailable; retry shortly",
    )


@pytest.mark.parametrize(
    "code",
    [
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.DATA_LOSS,
        grpc.StatusCode.ABORTED,
    ],
)
def test_a_proxy_hides_the_backends_own_failures(code: grpc.StatusCode) -> None:
    error = error_for_status(code, "Traceback: password=hunter2", backend="vzmgr")
    assert status_for_exception(error) == (grpc.StatusCode.INTERNAL, "the vzmgr service failed")
