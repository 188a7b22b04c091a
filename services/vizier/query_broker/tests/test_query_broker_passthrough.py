"""The broker's passthrough proxy (Pixie's ptproxy) on real NATS: cloud API requests arriving
on `c2v.VizierPassthroughRequest` run against the broker's own VizierService with the
request's token; replies go out on `v2c.reply-<request_id>`, always ending with a status."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from pyxie_jwt import SigningKey
from pyxie_proto.api.vizierpb import vizierapi_pb2 as vpb
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2 as cvmsgs
from pyxie_proto.vizier.subjects import PASSTHROUGH_REQUEST_SUBJECT, passthrough_reply_subject
from pyxie_query_broker.testing import (
    RunnerAgent,
    Vizier,
    cluster_token,
    start_demo_pem,
)

StartVizier = Callable[..., Awaitable[Vizier]]

SCRIPT = """import px
df = px.DataFrame('demo_events')
px.display(df.groupby('service').agg(n=('latency', px.count)), 'per_service')
"""


def _pack(message: Message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


class Cloud:
    """The cloud connector's side of vizier NATS: publishes requests, collects replies."""

    def __init__(self, vizier: Vizier) -> None:
        self._vizier = vizier
        self.replies: dict[str, asyncio.Queue[cvmsgs.V2CAPIStreamResponse]] = {}

    async def listen(self, request_id: str) -> asyncio.Queue[cvmsgs.V2CAPIStreamResponse]:
        queue: asyncio.Queue[cvmsgs.V2CAPIStreamResponse] = asyncio.Queue()

        async def collect(raw: Any) -> None:
            response = cvmsgs.V2CAPIStreamResponse()
            assert cvmsgs.V2CMessage.FromString(raw.data).msg.Unpack(response)
            await queue.put(response)

        await self._vizier.bus.client.subscribe(passthrough_reply_subject(request_id), cb=collect)
        await self._vizier.bus.flush()
        return queue

    async def send(self, request: cvmsgs.C2VAPIStreamRequest) -> None:
        await self._vizier.bus.client.publish(
            PASSTHROUGH_REQUEST_SUBJECT, cvmsgs.C2VMessage(msg=_pack(request)).SerializeToString()
        )

    @staticmethod
    async def until_status(
        queue: asyncio.Queue[cvmsgs.V2CAPIStreamResponse],
    ) -> list[cvmsgs.V2CAPIStreamResponse]:
        received = []
        while True:
            reply = await asyncio.wait_for(queue.get(), 20)
            received.append(reply)
            if reply.WhichOneof("msg") == "status":
                return received


async def _with_pem(start_vizier: StartVizier) -> tuple[Vizier, RunnerAgent]:
    vizier = await start_vizier()
    pem = await start_demo_pem(vizier, 12)
    return vizier, pem


async def test_a_passthrough_script_runs_with_the_cloud_token_and_ends_with_ok(
    start_vizier: StartVizier,
) -> None:
    vizier, pem = await _with_pem(start_vizier)
    try:
        cloud = Cloud(vizier)
        replies = await cloud.listen("q1")
        await cloud.send(
            cvmsgs.C2VAPIStreamRequest(
                request_id="q1",
                token=cluster_token(vizier.key),
                exec_req=vpb.ExecuteScriptRequest(query_str=SCRIPT),
            )
        )
        received = await cloud.until_status(replies)
    finally:
        await pem.stop()
    assert received[-1].status.code == grpc.StatusCode.OK.value[0]
    responses = [r.exec_resp for r in received[:-1]]
    assert responses[0].meta_data.name == "per_service"
    rows = sum(r.data.batch.num_rows for r in responses if r.data.HasField("batch"))
    assert rows == 3
    assert responses[-1].data.HasField("execution_stats")


async def test_a_token_signed_with_another_key_gets_unauthenticated_and_no_rows(
    start_vizier: StartVizier,
) -> None:
    vizier, pem = await _with_pem(start_vizier)
    try:
        cloud = Cloud(vizier)
        replies = await cloud.listen("forged")
        await cloud.send(
            cvmsgs.C2VAPIStreamRequest(
                request_id="forged",
                token=cluster_token(SigningKey.generate()),
                exec_req=vpb.ExecuteScriptRequest(query_str=SCRIPT),
            )
        )
        received = await cloud.until_status(replies)
    finally:
        await pem.stop()
    assert [r.WhichOneof("msg") for r in received] == ["status"]
    assert received[0].status.code == grpc.StatusCode.UNAUTHENTICATED.value[0]


async def test_a_cancel_request_ends_a_running_health_check_with_cancelled(
    start_vizier: StartVizier,
) -> None:
    vizier, pem = await _with_pem(start_vizier)
    try:
        cloud = Cloud(vizier)
        replies = await cloud.listen("hc1")
        await cloud.send(
            cvmsgs.C2VAPIStreamRequest(
                request_id="hc1", token=cluster_token(vizier.key), hc_req=vpb.HealthCheckRequest()
            )
        )
        # The health stream never ends by itself.
        first = await asyncio.wait_for(replies.get(), 20)
        assert first.WhichOneof("msg") == "hc_resp"
        assert first.hc_resp.status.code == grpc.StatusCode.OK.value[0]
        await cloud.send(
            cvmsgs.C2VAPIStreamRequest(request_id="hc1", cancel_req=cvmsgs.C2VAPIStreamCancel())
        )
        received = await cloud.until_status(replies)
    finally:
        await pem.stop()
    assert received[-1].status.code == grpc.StatusCode.CANCELLED.value[0]


async def test_requests_with_a_malformed_request_id_are_dropped(start_vizier: StartVizier) -> None:
    vizier = await start_vizier()
    cloud = Cloud(vizier)
    bad = await cloud.listen("a.b")
    good = await cloud.listen("ok")
    token = cluster_token(vizier.key)
    await cloud.send(
        cvmsgs.C2VAPIStreamRequest(request_id="a.b", token=token, hc_req=vpb.HealthCheckRequest())
    )
    # An empty request is answered (INVALID_ARGUMENT); it also proves the bad one went first.
    await cloud.send(cvmsgs.C2VAPIStreamRequest(request_id="ok", token=token))
    received = await cloud.until_status(good)
    assert received[0].status.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert bad.empty()
