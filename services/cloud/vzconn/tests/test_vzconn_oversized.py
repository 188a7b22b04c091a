"""A bridge message over the NATS max payload is dropped alone; the bridge stays up.

Found by an attack suite: a 2 MiB message from a vizier fits gRPC's 4 MiB limit but not NATS's
1 MiB max payload; publishing it raised inside vzconn's publisher task, which ended the bridge.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2 as cvmsgs
from pyxie_proto.cloud.vzconnpb import vzconn_pb2 as pb
from pyxie_proto.cloud.vzconnpb import vzconn_pb2_grpc as pb_grpc
from pyxie_service import NatsBus
from pyxie_vzconn.testing import CloudFactory, pack, register_message


async def test_an_oversized_message_is_dropped_and_the_next_one_still_flows(
    cloud_side: CloudFactory, nats_server: Any
) -> None:
    async with cloud_side() as cloud, cloud.channel() as channel:
        registered = await cloud.new_vizier(channel)
        vizier_id = registered.vizier_id
        bus = await NatsBus.connect(nats_server.url, name="test-cloud")
        seen: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()

        async def collect(raw: Any) -> None:
            await seen.put((raw.subject, raw.data))

        await bus.client.subscribe("v2c.>", cb=collect)
        try:
            call = pb_grpc.VZConnServiceStub(channel).NATSBridge()
            await call.write(register_message(vizier_id, registered.jwt_signing_key))
            ack = cvmsgs.RegisterVizierAck()
            assert (await call.read()).msg.Unpack(ack)
            huge = pack(cvmsgs.VizierHeartbeat(vizier_id="x" * (2 << 20)))
            await call.write(pb.V2CBridgeMessage(topic="Metrics", session_id="big", msg=huge))
            small = pack(cvmsgs.VizierHeartbeat(vizier_id=str(uuid.uuid4())))
            await call.write(pb.V2CBridgeMessage(topic="Metrics", session_id="after", msg=small))
            subject, data = await asyncio.wait_for(seen.get(), 20)
            envelope = cvmsgs.V2CMessage.FromString(data)
            assert envelope.session_id == "after" and envelope.msg == small
            assert subject.endswith(f"{vizier_id}.Metrics")
            await call.done_writing()
        finally:
            await bus.drain()
