"""The interceptor chain every Pyxie gRPC server runs, outermost first.

1. `RequestInterceptor`: request id (from `x-request-id` or generated, echoed in the initial
   metadata and bound into the log context), access log with duration and status, metrics, and
   the ONE place where exceptions become gRPC status codes (`errors.status_for_exception`).
2. `AuthInterceptor`: `authorization: bearer <jwt>` verified with pyxie_jwt; the typed claims are
   available to the handler through `context.current_claims()`. Health and reflection are always
   public; other methods opt out with `@public` or by full name.

Both wrap unary and streaming handlers alike, including aio handlers that are async generators.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Final, TypeVar

import grpc
import structlog
from pyxie_jwt import Claims, InvalidTokenError, TokenVerifier

from pyxie_service._handlers import Around, behavior_of, rpc_type, wrap_handler
from pyxie_service.context import set_claims, set_request_id
from pyxie_service.errors import INTERNAL_ERROR_DETAILS, Unauthenticated, status_for_exception
from pyxie_service.log import get_logger
from pyxie_service.metrics import RpcMetrics

__all__ = [
    "ALWAYS_PUBLIC_SERVICES",
    "AUTHORIZATION_METADATA_KEY",
    "REQUEST_ID_METADATA_KEY",
    "AuthInterceptor",
    "RequestInterceptor",
    "is_public",
    "public",
]

if TYPE_CHECKING:
    _ServerInterceptor = grpc.aio.ServerInterceptor[Any, Any]
    _Handler = grpc.RpcMethodHandler[Any, Any]
    _Context = grpc.aio.ServicerContext[Any, Any]
else:
    _ServerInterceptor = grpc.aio.ServerInterceptor

_Continuation = Callable[[grpc.HandlerCallDetails], Awaitable["_Handler | None"]]
_F = TypeVar("_F", bound=Callable[..., Any])

REQUEST_ID_METADATA_KEY: Final = "x-request-id"
AUTHORIZATION_METADATA_KEY: Final = "authorization"

# Callers cannot be trusted to keep every id sane, and it ends up in every log line: accept
# short printable tokens only and mint a fresh id otherwise.
_ACCEPTABLE_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9._:\-]{1,128}")

# Probes and tooling reach these without credentials, as in every gRPC deployment.
ALWAYS_PUBLIC_SERVICES: Final = frozenset(
    {
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
        "grpc.reflection.v1.ServerReflection",
    }
)

_PUBLIC_ATTRIBUTE: Final = "__pyxie_public__"

_access_log = get_logger("pyxie.grpc.access")
_error_log = get_logger("pyxie.grpc.errors")
_auth_log = get_logger("pyxie.grpc.auth")


def public(method: _F) -> _F:
    """Mark a servicer method as callable without a token."""
    setattr(method, _PUBLIC_ATTRIBUTE, True)
    return method


def is_public(method: Callable[..., Any]) -> bool:
    return getattr(method, _PUBLIC_ATTRIBUTE, False) is True


def _service_of(full_method: str) -> str:
    return full_method.lstrip("/").rpartition("/")[0]


def _metadata_values(metadata: Sequence[Any] | None, key: str) -> list[str]:
    values: list[str] = []
    for item in metadata or ():
        name, value = item[0], item[1]
        if name == key and isinstance(value, str):
            values.append(value)
    return values


def _peer_of(context: _Context) -> str:
    """The caller's address, read at the start of the RPC (empty if the call is already gone)."""
    try:
        return context.peer() or ""
    except Exception:  # the call may have been torn down before the handler started
        return ""


class RequestInterceptor(_ServerInterceptor):
    """Request id, access log, metrics and exception → status mapping."""

    def __init__(self, metrics: RpcMetrics | None = None) -> None:
        self._metrics = metrics

    async def intercept_service(
        self, continuation: _Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> _Handler:
        handler = await continuation(handler_call_details)
        if handler is None:
            # Unknown method: gRPC answers UNIMPLEMENTED itself.
            return handler  # type: ignore[return-value]
        method = handler_call_details.method
        offered = _metadata_values(
            handler_call_details.invocation_metadata, REQUEST_ID_METADATA_KEY
        )
        around = self._around(
            method,
            rpc_type(handler),
            offered[0] if offered else None,
            quiet=_service_of(method) in ALWAYS_PUBLIC_SERVICES,
        )
        return wrap_handler(handler, around)

    def _around(self, method: str, kind: str, offered_id: str | None, *, quiet: bool) -> Around:
        metrics = self._metrics

        @asynccontextmanager
        async def around(context: _Context) -> AsyncIterator[None]:
            # Everything the access log needs from the context is read NOW, while the call is
            # alive. After the RPC ended (the client hung up, the status went out) grpc.aio may
            # have released the core call, and `context.peer()` then reads freed memory: the
            # query broker died of SIGSEGV that way. Below the handler, the context is only
            # used while the RPC is still running (`send_initial_metadata`, `abort`, `code`,
            # which reads a Python attribute), never in `finally`.
            peer = _peer_of(context)
            if offered_id is not None and _ACCEPTABLE_REQUEST_ID.fullmatch(offered_id):
                request_id = offered_id
            else:
                request_id = uuid.uuid4().hex
            # Each RPC runs in its own task, so these bindings end with it.
            set_request_id(request_id)
            structlog.contextvars.bind_contextvars(request_id=request_id, method=method)
            if metrics is not None:
                metrics.record_started(kind, method)
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            try:
                await context.send_initial_metadata(((REQUEST_ID_METADATA_KEY, request_id),))
                yield
                code = context.code() or grpc.StatusCode.OK
            except grpc.aio.AbortError:
                code = context.code() or grpc.StatusCode.UNKNOWN
                raise
            except (asyncio.CancelledError, GeneratorExit):
                # The client hung up (or the server is stopping): the call may be gone already,
                # so the context is not touched again.
                code = grpc.StatusCode.CANCELLED
                raise
            except Exception as exc:
                code, details = status_for_exception(exc)
                if details == INTERNAL_ERROR_DETAILS:
                    _error_log.error("unhandled exception in RPC handler", exc_info=exc)
                await context.abort(code, details)
            finally:
                seconds = time.perf_counter() - started
                if metrics is not None:
                    metrics.record_handled(kind, method, code, seconds)
                log = _access_log.debug if quiet else _access_log.info
                log(
                    "rpc",
                    code=code.name,
                    duration_ms=round(seconds * 1000, 3),
                    rpc_type=kind,
                    peer=peer,
                )

        return around


class AuthInterceptor(_ServerInterceptor):
    """Requires a valid bearer JWT on every method that is not public."""

    def __init__(self, verifier: TokenVerifier, *, public_methods: Iterable[str] = ()) -> None:
        self._verifier = verifier
        self._public_methods = frozenset(public_methods)
        for name in self._public_methods:
            if not name.startswith("/") or name.count("/") != 2:
                raise ValueError(f"public method {name!r} is not a full name like /pkg.Svc/Method")

    def _is_public(self, method: str, handler: _Handler) -> bool:
        return (
            method in self._public_methods
            or _service_of(method) in ALWAYS_PUBLIC_SERVICES
            or is_public(behavior_of(handler))
        )

    async def intercept_service(
        self, continuation: _Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> _Handler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler  # type: ignore[return-value]
        if self._is_public(handler_call_details.method, handler):
            return wrap_handler(handler, _without_claims)
        headers = _metadata_values(
            handler_call_details.invocation_metadata, AUTHORIZATION_METADATA_KEY
        )
        return wrap_handler(handler, self._authenticated(headers))

    def _authenticated(self, headers: list[str]) -> Around:
        verifier = self._verifier

        @asynccontextmanager
        async def around(context: _Context) -> AsyncIterator[None]:
            set_claims(_verify(verifier, headers))
            try:
                yield
            finally:
                set_claims(None)

        return around


@asynccontextmanager
async def _without_claims(context: _Context) -> AsyncIterator[None]:
    set_claims(None)
    yield


def _verify(verifier: TokenVerifier, headers: list[str]) -> Claims:
    if len(headers) != 1:
        _auth_log.info("rejected call", reason=f"{len(headers)} authorization headers")
        raise Unauthenticated("missing auth token: send 'authorization: bearer <token>'")
    scheme, _, token = headers[0].strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        _auth_log.info("rejected call", reason="authorization is not a bearer token")
        raise Unauthenticated("missing auth token: send 'authorization: bearer <token>'")
    try:
        return verifier.verify(token.strip())
    except InvalidTokenError as exc:
        # The reason is logged for operators but not returned: it helps forgers.
        _auth_log.info("rejected call", reason=str(exc), error=type(exc).__name__)
        raise Unauthenticated("invalid auth token") from None
