"""The passthrough proxy: cloud API requests arriving on vizier NATS, run against the broker.

Pixie hosts this in the query broker (`ptproxy`); the Pyxie broker does not subscribe yet, so
the connector does it: each `C2VAPIStreamRequest` on `c2v.VizierPassthroughRequest` becomes a
call to the broker's `VizierService` with the request's own token (a cluster JWT the cloud
minted with this vizier's key: the connector adds no privilege of its own). Replies go out as
`V2CAPIStreamResponse` on `v2c.reply-<request_id>` and always end with a `status` message (OK,
CANCELLED or the error). `cancel_req` cancels the running call.

The subscription uses the NATS queue group `vizier-passthrough`, so if the broker later joins
the same group each request is still answered exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any, Final

import grpc
from google.protobuf import any_pb2
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import MaxPayloadError
from pyxie_proto.api.vizierpb import vizierapi_pb2 as vpb
from pyxie_proto.api.vizierpb import vizierapi_pb2_grpc as vpb_grpc
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2 as cvmsgs
from pyxie_service import NatsBus, get_logger

__all__ = ["PASSTHROUGH_QUEUE_GROUP", "PASSTHROUGH_SUBJECT", "PassthroughProxy"]

PASSTHROUGH_SUBJECT: Final = "c2v.VizierPassthroughRequest"
PASSTHROUGH_QUEUE_GROUP: Final = "vizier-passthrough"
_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9_\-]{1,128}")
_OK: Final = grpc.StatusCode.OK.value[0]
_CANCELLED: Final = grpc.StatusCode.CANCELLED.value[0]
_INVALID_ARGUMENT: Final = grpc.StatusCode.INVALID_ARGUMENT.value[0]
_RESOURCE_EXHAUSTED: Final = grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]

_log = get_logger("pyxie.cloud_connector.passthrough")


def reply_subject(request_id: str) -> str:
    return f"v2c.reply-{request_id}"


class PassthroughProxy:
    def __init__(self, bus: NatsBus, broker: grpc.aio.Channel, *, vizier_id: str) -> None:
        self._bus = bus
        self._stub = vpb_grpc.VizierServiceStub(broker)
        self._vizier_id = vizier_id
        self._running: dict[str, asyncio.Task[None]] = {}
        self._subscription: Subscription | None = None

    async def start(self) -> None:
        self._subscription = await self._bus.client.subscribe(
            PASSTHROUGH_SUBJECT, queue=PASSTHROUGH_QUEUE_GROUP, cb=self._on_message
        )

    async def stop(self) -> None:
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
                    self._stub.ExecuteScript(request.exec_req, metadata=metadata)
                ):
                    await self._reply(
                        cvmsgs.V2CAPIStreamResponse(request_id=request_id, exec_resp=response)
                    )
            elif kind == "hc_req":
                async for response in self._responses(
                    self._stub.HealthCheck(request.hc_req, metadata=metadata)
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
        envelope = cvmsgs.V2CMessage(vizier_id=self._vizier_id, msg=packed)
        await self._bus.publish(reply_subject(response.request_id), envelope)
