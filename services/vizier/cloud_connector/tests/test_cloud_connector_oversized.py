"""A broker response over the bridge's 1 MiB ends the passthrough with RESOURCE_EXHAUSTED.

Found by an attack suite: a message between NATS's 1 MiB and gRPC's 4 MiB failed to publish
inside the connector; the reply task died without a final status and the cloud waited for an
answer that never came.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from google.protobuf import any_pb2
from pyxie_jwt import VIZIER_AUDIENCE, cluster_claims, sign_token
from pyxie_proto.api.vizierpb import vizierapi_pb2 as vpb
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2 as cvmsgs


async def test_an_oversized_broker_response_ends_the_query_with_a_clear_status(
    stack_factory: Any,
) -> None:
    async with stack_factory() as stack:
        connector = await stack.start_connector(stack.settings(deploy_key=await stack.deploy_key()))
        assert connector.identity is not None
        vizier_id = connector.identity.vizier_id
        shard = uuid.UUID(vizier_id).hex[-2:]
        replies: asyncio.Queue[cvmsgs.V2CAPIStreamResponse] = asyncio.Queue()

        async def collect(raw: Any) -> None:
            response = cvmsgs.V2CAPIStreamResponse()
            cvmsgs.V2CMessage.FromString(raw.data).msg.Unpack(response)
            await replies.put(response)

        await stack.cloud_bus.client.subscribe(f"v2c.{shard}.{vizier_id}.reply-big", cb=collect)
        await stack.cloud_bus.flush()
        token = sign_token(
            cluster_claims(cluster_id=vizier_id, audience=VIZIER_AUDIENCE),
            connector.identity.signing_key,
        )
        request = cvmsgs.C2VAPIStreamRequest(
            request_id="big", token=token, exec_req=vpb.ExecuteScriptRequest(query_str="huge")
        )
        packed = any_pb2.Any()
        packed.Pack(request)
        await stack.cloud_bus.client.publish(
            f"c2v.{vizier_id}.VizierPassthroughRequest",
            cvmsgs.C2VMessage(vizier_id=vizier_id, msg=packed).SerializeToString(),
        )
        final = await asyncio.wait_for(replies.get(), 20)
        assert final.WhichOneof("msg") == "status"
        assert final.status.code == 8  # RESOURCE_EXHAUSTED
        assert "1 MiB" in final.status.message
