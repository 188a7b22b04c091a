"""The passthrough proxy (Pixie's `ptproxy`): cloud API requests arriving on vizier NATS.

The cloud connector republishes what the cloud sends over the bridge; each
`C2VAPIStreamRequest` on `c2v.VizierPassthroughRequest` becomes a call to this broker's own
`VizierService` with the request's own token (a cluster JWT the cloud minted with this vizier's
key), so it passes the same authentication, logging and metrics as a direct call and the proxy
adds no privilege of its own. Replies go out as `V2CAPIStreamResponse` on
`v2c.reply-<request_id>` (the connector forwards them to the cloud) and always end with a
`status` message (OK, CANCELLED or the error). `cancel_req` cancels the running call.

The subscription uses the NATS queue group `vizier-passthrough`: with several brokers each
request is answered exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

import grpc
from google.protobuf import any_pb2
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import MaxPayloadError
from pyxie_proto.api.vizierpb import vizierapi_pb2 as vpb
from pyxie_proto.api.vizierpb import vizierapi_pb2_grpc as vpb_grpc
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2 as cvmsgs
from pyxie_proto.vizier.subjects import (
    PASSTHROUGH_QUEUE_GROUP,
    PASSTHROUGH_REQUEST_SUBJECT,
    passthrough_reply_subject,
)
from pyxie_service import BackgroundTask, NatsBus, get_logger

__all__ = ["PassthroughProxy"]

_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9_\-]{1,128}")
_OK: Final = grpc.StatusCode.OK.value[0]
_CANCELLED: Final = grpc.StatusCode.CANCELLED.value[0]
_INVALID_ARGUMENT: Final = grpc.StatusCode.INVALID_ARGUMENT.value[0]
_RESOURCE_EXHAUSTED: Final = grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]

_log = get_logger("pyxie.query_broker.passthrough")


class PassthroughProxy:
    """Serves `c2v.VizierPassthroughRequest` by calling `VizierService` at `address()`.

    `task` runs it while the broker serves: subscribe, then on stop unsubscribe and cancel the
    running calls (each replies CANCELLED). `subscribed` is set once requests are taken.
    """

    def __init__(self, bus: NatsBus, address: Callable[[], str]) -> None:
        self._bus = bus
        # The broker's own address; only known once its server is bound (port 0 in tests).
        self._address = address
        self._channel: grpc.aio.Channel | None = None
        self._running: dict[str, asyncio.Task[None]] = {}
        self._subscription: Subscription | None = None
        self.subscribed = asyncio.Event()
        self.task = BackgroundTask("passthrough-proxy", self._serve_requests)

    async def _serve_requests(self) -> None:
        self._subscription = await self._bus.client.subscribe(
            PASSTHROUGH_REQUEST_SUBJECT, queue=PASSTHROUGH_QUEUE_GROUP, cb=self._on_message
        )
        self.subscribed.set()
        try:
            await asyncio.Future()  # until cancelled
        finally:
            await self._close()

    def _stub(self) -> vpb_grpc.VizierServiceStub:
        if self._channel is None:
            self._channel = grpc.aio.insecure_channel(self._address())
        return vpb_grpc.VizierServiceStub(self._channel)

    async def _close(self) -> None:
        self.subscribed.clear()
        if self._subscription is not None:
            with contextlib.suppress(Exception):
                await self._subscription.unsubscribe()
            self._subscription = None
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._channel is not None:
            await self._channel.close(None)
            self._channel = None

    async def _on_message(self, raw: Msg) -> None:
        request = cvmsgs.C2VAPIStreamRequest()
        try:
            envelope = cvmsgs.C2VMessage.FromString(raw.data)
            if not envelope.msg.Unpack(request):
                raise ValueError("not a C2VAPIStreamRequest")
        except Exception:
            _log.warning("dropping an undecodable passthrough request")
            return
        request_id = request.request_id
        if not _REQUEST_ID.fullmatch(request_id):
            _log.warning("dropping a passthrough request with a bad request id")
            return
        kind = request.WhichOneof("msg")
        if kind == "cancel_req":
            running = self._running.get(request_id)
            if running is not None:
                running.cancel()
            return
        if request_id in self._running:
            _log.warning("duplicate passthrough request id ignored", request_id=request_id)
            return
        task = asyncio.create_task(
            self._serve(request_id, request), name=f"passthrough-{request_id}"
        )
        self._running[request_id] = task
        task.add_done_callback(lambda _: self._running.pop(request_id, None))

    async def _serve(self, request_id: str, request: cvmsgs.C2VAPIStreamRequest) -> None:
        metadata = (("authorization", f"bearer {request.token}"),)
        final = vpb.Status(code=_OK)
        try:
            kind = request.WhichOneof("msg")
            if kind == "exec_req":
                async for response in self._responses(
                    self._stub().ExecuteScript(request.exec_req, metadata=metadata)
                ):
                    await self._reply(
                        cvmsgs.V2CAPIStreamResponse(request_id=request_id, exec_resp=response)
                    )
            elif kind == "hc_req":
                async for response in self._responses(
                    self._stub().HealthCheck(request.hc_req, metadata=metadata)
                ):
                    await self._reply(
                        cvmsgs.V2CAPIStreamResponse(request_id=request_id, hc_resp=response)
                    )
            else:
                final = vpb.Status(code=_INVALID_ARGUMENT, message="empty passthrough request")
        except grpc.aio.AioRpcError as err:
            final = vpb.Status(code=err.code().value[0], message=err.details() or "")
        except MaxPayloadError:
            # A broker response bigger than the bridge carries (the NATS max payload, 1 MiB by
            # default): the query ends with a status that says so, instead of the cloud
            # waiting for a reply that can never be sent.
            final = vpb.Status(
                code=_RESOURCE_EXHAUSTED,
                message="a result message exceeds the 1 MiB the cloud bridge carries; select "
                "fewer or narrower columns, or query the cluster directly",
            )
        except asyncio.CancelledError:
            final = vpb.Status(code=_CANCELLED, message="request cancelled")
            await self._reply(cvmsgs.V2CAPIStreamResponse(request_id=request_id, status=final))
            raise
        await self._reply(cvmsgs.V2CAPIStreamResponse(request_id=request_id, status=final))

    @staticmethod
    async def _responses(call: Any) -> AsyncIterator[Any]:
        try:
            async for response in call:
                yield response
        finally:
            call.cancel()

    async def _reply(self, response: cvmsgs.V2CAPIStreamResponse) -> None:
        packed = any_pb2.Any()
        packed.Pack(response)
        # The connector stamps the vizier id when it forwards the reply to the cloud.
        envelope = cvmsgs.V2CMessage(msg=packed)
        await self._bus.publish(passthrough_reply_subject(response.request_id), envelope)
