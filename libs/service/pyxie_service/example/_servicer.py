"""`pyxie.example.Echo`: a tiny service served through the kit, without a .proto of its own.

Requests and responses are `google.protobuf.StringValue`; the methods are registered with a
generic handler. It exercises every handler shape the kit must support.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Final

import grpc
from google.protobuf.wrappers_pb2 import StringValue
from pyxie_jwt import ServiceClaims

from pyxie_service.context import current_claims, current_claims_or_none, require_claims
from pyxie_service.errors import (
    Aborted,
    AlreadyExists,
    DeadlineExceeded,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    OutOfRange,
    PermissionDenied,
    ResourceExhausted,
    ServiceError,
    Unauthenticated,
    Unavailable,
    Unimplemented,
)
from pyxie_service.interceptors import public
from pyxie_service.server import ServiceRegistration

if TYPE_CHECKING:
    _Context = grpc.aio.ServicerContext[Any, Any]

__all__ = [
    "CRASH_MESSAGE",
    "ECHO_SERVICE_NAME",
    "FAILURES",
    "EchoClient",
    "EchoServicer",
    "echo_registration",
]

ECHO_SERVICE_NAME: Final = "pyxie.example.Echo"

# `Fail` raises the error named by the request; anything else is an unexpected crash.
FAILURES: Final[dict[str, type[ServiceError]]] = {
    "invalid_argument": InvalidArgument,
    "not_found": NotFound,
    "already_exists": AlreadyExists,
    "permission_denied": PermissionDenied,
    "unauthenticated": Unauthenticated,
    "failed_precondition": FailedPrecondition,
    "resource_exhausted": ResourceExhausted,
    "unavailable": Unavailable,
    "deadline_exceeded": DeadlineExceeded,
    "aborted": Aborted,
    "out_of_range": OutOfRange,
    "unimplemented": Unimplemented,
    "service_error": ServiceError,
}

CRASH_MESSAGE: Final = "secret internal detail: password=hunter2"


def _failure(name: str) -> Exception:
    error_type = FAILURES.get(name)
    if error_type is None:
        return RuntimeError(CRASH_MESSAGE)
    return error_type(f"{name} raised on request")


class EchoServicer:
    """Handlers in the shapes services use: unary, server stream, bidi stream, write-style."""

    def __init__(self) -> None:
        # Let tests hold an RPC in flight (shutdown grace) and release it.
        self.hold_entered = asyncio.Event()
        self.hold_release = asyncio.Event()

    async def Echo(self, request: StringValue, context: _Context) -> StringValue:
        return StringValue(value=f"{current_claims().subject}:{request.value}")

    async def EchoStream(
        self, request: StringValue, context: _Context
    ) -> AsyncIterator[StringValue]:
        subject = current_claims().subject
        for word in request.value.split():
            yield StringValue(value=f"{subject}:{word}")

    async def EchoWrite(self, request: StringValue, context: _Context) -> None:
        subject = current_claims().subject
        for word in request.value.split():
            await context.write(StringValue(value=f"{subject}:{word}"))

    async def Chat(
        self, requests: AsyncIterator[StringValue], context: _Context
    ) -> AsyncIterator[StringValue]:
        subject = current_claims().subject
        async for request in requests:
            yield StringValue(value=f"{subject}:{request.value}")

    async def ServiceOnly(self, request: StringValue, context: _Context) -> StringValue:
        return StringValue(value=require_claims(ServiceClaims).service_id)

    @public
    async def Public(self, request: StringValue, context: _Context) -> StringValue:
        claims = current_claims_or_none()
        caller = "anonymous" if claims is None else claims.subject
        return StringValue(value=f"public:{caller}:{request.value}")

    async def Fail(self, request: StringValue, context: _Context) -> StringValue:
        raise _failure(request.value)

    async def FailStream(
        self, request: StringValue, context: _Context
    ) -> AsyncIterator[StringValue]:
        yield StringValue(value="first")
        raise _failure(request.value)

    async def Hold(self, request: StringValue, context: _Context) -> StringValue:
        self.hold_entered.set()
        await self.hold_release.wait()
        return StringValue(value=request.value)


def echo_registration(servicer: EchoServicer) -> ServiceRegistration:
    codec: dict[str, Any] = {
        "request_deserializer": StringValue.FromString,
        "response_serializer": StringValue.SerializeToString,
    }
    handlers = {
        "Echo": grpc.unary_unary_rpc_method_handler(servicer.Echo, **codec),
        "EchoStream": grpc.unary_stream_rpc_method_handler(servicer.EchoStream, **codec),
        "EchoWrite": grpc.unary_stream_rpc_method_handler(servicer.EchoWrite, **codec),
        "Chat": grpc.stream_stream_rpc_method_handler(servicer.Chat, **codec),
        "ServiceOnly": grpc.unary_unary_rpc_method_handler(servicer.ServiceOnly, **codec),
        "Public": grpc.unary_unary_rpc_method_handler(servicer.Public, **codec),
        "Fail": grpc.unary_unary_rpc_method_handler(servicer.Fail, **codec),
        "FailStream": grpc.unary_stream_rpc_method_handler(servicer.FailStream, **codec),
        "Hold": grpc.unary_unary_rpc_method_handler(servicer.Hold, **codec),
    }
    return ServiceRegistration.from_generic_handler(
        ECHO_SERVICE_NAME, grpc.method_handlers_generic_handler(ECHO_SERVICE_NAME, handlers)
    )


class EchoClient:
    """Typed client callables for `pyxie.example.Echo` over an aio channel."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        def path(method: str) -> str:
            return f"/{ECHO_SERVICE_NAME}/{method}"

        codec: dict[str, Any] = {
            "request_serializer": StringValue.SerializeToString,
            "response_deserializer": StringValue.FromString,
        }
        self.echo = channel.unary_unary(path("Echo"), **codec)
        self.echo_stream = channel.unary_stream(path("EchoStream"), **codec)
        self.echo_write = channel.unary_stream(path("EchoWrite"), **codec)
        self.chat = channel.stream_stream(path("Chat"), **codec)
        self.service_only = channel.unary_unary(path("ServiceOnly"), **codec)
        self.public = channel.unary_unary(path("Public"), **codec)
        self.fail = channel.unary_unary(path("Fail"), **codec)
        self.fail_stream = channel.unary_stream(path("FailStream"), **codec)
        self.hold = channel.unary_unary(path("Hold"), **codec)
