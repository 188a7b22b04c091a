"""Wrapping an aio RpcMethodHandler's behaviour in an async context manager, for all 4 shapes."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import grpc

__all__ = ["Around", "behavior_of", "rpc_type", "wrap_handler"]

# Called once per RPC; the RPC's handler runs inside the returned context.
Around = Callable[[grpc.aio.ServicerContext[Any, Any]], AbstractAsyncContextManager[None]]


def rpc_type(handler: grpc.RpcMethodHandler[Any, Any]) -> str:
    """go-grpc-prometheus names: unary, server_stream, client_stream, bidi_stream."""
    match (handler.request_streaming, handler.response_streaming):
        case (False, False):
            return "unary"
        case (False, True):
            return "server_stream"
        case (True, False):
            return "client_stream"
        case _:
            return "bidi_stream"


def behavior_of(handler: grpc.RpcMethodHandler[Any, Any]) -> Callable[..., Any]:
    behavior = (
        handler.unary_unary or handler.unary_stream or handler.stream_unary or handler.stream_stream
    )
    if behavior is None:
        raise ValueError("RPC method handler has no behaviour")
    return behavior


def _wrap_unary_response(behavior: Callable[..., Any], around: Around) -> Callable[..., Any]:
    async def call(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        async with around(context):
            result = behavior(request, context)
            if inspect.isawaitable(result):
                result = await result
            return result

    return call


def _wrap_stream_response(behavior: Callable[..., Any], around: Around) -> Callable[..., Any]:
    if inspect.isasyncgenfunction(behavior):

        async def stream(
            request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            async with around(context):
                async for response in behavior(request, context):
                    yield response

        return stream

    # A handler that writes with `await context.write(...)` and returns None.
    async def write(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        async with around(context):
            result = behavior(request, context)
            if inspect.isasyncgen(result):
                async for response in result:
                    await context.write(response)
            elif inspect.isawaitable(result):
                await result

    return write


def wrap_handler(
    handler: grpc.RpcMethodHandler[Any, Any], around: Around
) -> grpc.RpcMethodHandler[Any, Any]:
    """The same handler with its behaviour running inside `around(context)`."""
    behavior = behavior_of(handler)
    deserialize, serialize = handler.request_deserializer, handler.response_serializer

    def marked(wrapper: Callable[..., Any]) -> Callable[..., Any]:
        # Markers set on the behaviour (`@public`) stay visible to the next interceptor.
        wrapper.__dict__.update(getattr(behavior, "__dict__", {}))
        return wrapper

    match (handler.request_streaming, handler.response_streaming):
        case (False, False):
            return grpc.unary_unary_rpc_method_handler(
                marked(_wrap_unary_response(behavior, around)), deserialize, serialize
            )
        case (True, False):
            return grpc.stream_unary_rpc_method_handler(
                marked(_wrap_unary_response(behavior, around)), deserialize, serialize
            )
        case (False, True):
            return grpc.unary_stream_rpc_method_handler(
                marked(_wrap_stream_response(behavior, around)), deserialize, serialize
            )
        case _:
            return grpc.stream_stream_rpc_method_handler(
                marked(_wrap_stream_response(behavior, around)), deserialize, serialize
            )
