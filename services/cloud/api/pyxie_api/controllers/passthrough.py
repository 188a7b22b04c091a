"""`px.api.vizierpb.VizierService` on the cloud: the passthrough proxy to viziers over NATS.

For each call: the cluster id must parse, the caller's org must own the vizier (and an API key
limited to clusters must include it), and the vizier must be HEALTHY or DEGRADED. The api then
gets a cluster token for the vizier from vzmgr, subscribes to
`v2c.<shard>.<id>.reply-<request_id>` and publishes `C2VAPIStreamRequest` on
`c2v.<id>.VizierPassthroughRequest`. Each reply is forwarded untouched (encrypted batches stay
opaque) until the final `Status`; a non-OK one ends the RPC with its code. A caller that goes
away gets the vizier a `cancel_req`.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

import grpc
from google.protobuf.any_pb2 import Any as AnyPb
from google.protobuf.message import DecodeError
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import MaxPayloadError
from pyxie_proto.api.vizierpb import vizierapi_pb2 as vpb
from pyxie_proto.api.vizierpb import vizierapi_pb2_grpc as vpb_grpc
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2
from pyxie_proto.cloud.subjects import passthrough_reply_subject, passthrough_request_subject
from pyxie_service import (
    PermissionDenied,
    ResourceExhausted,
    Unavailable,
    Unimplemented,
    error_for_code,
    get_logger,
)

from pyxie_api.controllers.caller import current_caller
from pyxie_api.controllers.clusters import ClusterDirectory
from pyxie_api.controllers.ids import parse_uuid

__all__ = [
    "NatsPublisher",
    "PassthroughProxy",
    "VizierPassthroughServicer",
]

if TYPE_CHECKING:
    _Context = grpc.aio.ServicerContext[Any, Any]

_log = get_logger("pyxie.api.passthrough")


class NatsPublisher(Protocol):
    """The slice of a nats-py client the proxy uses."""

    async def publish(self, subject: str, payload: bytes = b"") -> None: ...

    async def subscribe(
        self,
        subject: str,
        queue: str = "",
        cb: Callable[[Msg], Awaitable[None]] | None = None,
    ) -> Subscription: ...


def _pack(vizier_id: str, request: cvmsgs_pb2.C2VAPIStreamRequest) -> bytes:
    wrapped = AnyPb()
    wrapped.Pack(request)
    return cvmsgs_pb2.C2VMessage(vizier_id=vizier_id, msg=wrapped).SerializeToString()


def _unpack(data: bytes) -> cvmsgs_pb2.V2CAPIStreamResponse | None:
    """A reply as vzconn publishes it (`V2CMessage` around the response); None if it is not."""
    try:
        envelope = cvmsgs_pb2.V2CMessage.FromString(data)
    except DecodeError:
        return None
    response = cvmsgs_pb2.V2CAPIStreamResponse()
    if not envelope.msg.Unpack(response):
        return None
    return response


class PassthroughProxy:
    """One request/reply stream to a vizier over cloud NATS."""

    def __init__(
        self,
        nats: NatsPublisher,
        *,
        first_reply_seconds: float,
        idle_seconds: float,
    ) -> None:
        self._nats = nats
        self._first_reply_seconds = first_reply_seconds
        self._idle_seconds = idle_seconds

    async def stream(
        self, vizier_id: str, request: cvmsgs_pb2.C2VAPIStreamRequest
    ) -> AsyncGenerator[cvmsgs_pb2.V2CAPIStreamResponse, None]:
        """The vizier's replies up to (not including) an OK final status.

        A non-OK final status raises the matching domain error. Leaving early (the caller
        disconnected, or an error) sends the vizier a cancel.
        """
        request_id = request.request_id or str(uuid.uuid4())
        request.request_id = request_id
        replies: asyncio.Queue[bytes] = asyncio.Queue()

        async def deliver(message: Msg) -> None:
            replies.put_nowait(message.data)

        subscription = await self._nats.subscribe(
            passthrough_reply_subject(vizier_id, request_id), cb=deliver
        )
        finished = False
        try:
            packed = _pack(vizier_id, request)
            try:
                await self._nats.publish(passthrough_request_subject(vizier_id), packed)
            except MaxPayloadError:
                # The bridge carries at most the NATS max payload (1 MiB by default): a bigger
                # request (a 3 MiB script, a 1 MiB JWK) is the caller's to shrink.
                finished = True  # nothing reached the vizier, so there is nothing to cancel
                raise ResourceExhausted(
                    f"the request is {len(packed)} bytes once packed for the cluster; the "
                    "cloud passes at most 1 MiB to a cluster (shorten the script or its "
                    "arguments, or run it on the cluster directly)"
                ) from None
            timeout = self._first_reply_seconds
            while True:
                try:
                    data = await asyncio.wait_for(replies.get(), timeout)
                except TimeoutError:
                    raise Unavailable(
                        "the cluster stopped answering; it may be disconnected, retry shortly"
                    ) from None
                timeout = self._idle_seconds
                response = _unpack(data)
                if response is None:
                    _log.warning("dropping an undecodable passthrough reply", vizier=vizier_id)
                    continue
                if response.WhichOneof("msg") == "status":
                    finished = True
                    if response.status.code != 0:
                        raise error_for_code(response.status.code, response.status.message)
                    return
                yield response
        finally:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()
            if not finished:
                await self._cancel(vizier_id, request_id)

    async def _cancel(self, vizier_id: str, request_id: str) -> None:
        cancel = cvmsgs_pb2.C2VAPIStreamRequest(
            request_id=request_id, cancel_req=cvmsgs_pb2.C2VAPIStreamCancel()
        )
        try:
            # Shielded: this runs while the caller's RPC task is being cancelled.
            await asyncio.shield(
                self._nats.publish(passthrough_request_subject(vizier_id), _pack(vizier_id, cancel))
            )
        except Exception as exc:
            _log.warning("could not send a passthrough cancel", vizier=vizier_id, error=repr(exc))


class VizierPassthroughServicer(vpb_grpc.VizierServiceServicer):
    """ExecuteScript and HealthCheck, forwarded to the vizier named by `cluster_id`."""

    def __init__(self, directory: ClusterDirectory, proxy: PassthroughProxy) -> None:
        self._directory = directory
        self._proxy = proxy

    async def _open(
        self, cluster_id: str, message: cvmsgs_pb2.C2VAPIStreamRequest
    ) -> AsyncGenerator[cvmsgs_pb2.V2CAPIStreamResponse, None]:
        caller = current_caller()
        vizier_id = parse_uuid(cluster_id, "cluster_id")
        await self._directory.get_queryable(caller, vizier_id)
        message.token = await self._directory.passthrough_token(caller, vizier_id)
        return self._proxy.stream(vizier_id, message)

    async def ExecuteScript(
        self, request: vpb.ExecuteScriptRequest, context: _Context
    ) -> AsyncIterator[vpb.ExecuteScriptResponse]:
        caller = current_caller()
        # A script that uses pxtrace deploys probes whether or not the client marked it (the
        # official Python client never does): the vizier only deploys for mutation requests.
        deploys = request.mutation or "pxtrace" in request.query_str
        if deploys and not caller.is_admin:
            raise PermissionDenied("a read-only API key cannot run scripts that deploy probes")
        if deploys:
            request.mutation = True
        replies = await self._open(
            request.cluster_id, cvmsgs_pb2.C2VAPIStreamRequest(exec_req=request)
        )
        async with contextlib.aclosing(replies):
            async for reply in replies:
                if reply.WhichOneof("msg") == "exec_resp":
                    yield reply.exec_resp

    async def HealthCheck(
        self, request: vpb.HealthCheckRequest, context: _Context
    ) -> AsyncIterator[vpb.HealthCheckResponse]:
        replies = await self._open(
            request.cluster_id, cvmsgs_pb2.C2VAPIStreamRequest(hc_req=request)
        )
        async with contextlib.aclosing(replies):
            async for reply in replies:
                if reply.WhichOneof("msg") == "hc_resp":
                    yield reply.hc_resp

    async def GenerateOTelScript(
        self, request: vpb.GenerateOTelScriptRequest, context: _Context
    ) -> vpb.GenerateOTelScriptResponse:
        raise Unimplemented("GenerateOTelScript is not available through the cloud yet")
