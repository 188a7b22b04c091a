"""PluginService through the cloud api gateway (real api, real plugin service; auth and vzmgr
are the api harness's fakes): pixie-api-key callers, org isolation, read-only keys."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import wrappers_pb2
from pyxie_api.testing import DOMAIN, ORG_A, USER_A, running_api
from pyxie_jwt import AccessScope, SigningKey
from pyxie_plugin.controllers import MASK, OPENTELEMETRY_PLUGIN_ID
from pyxie_plugin.testing import enable_otel_plugin, running_plugin
from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb
from pyxie_proto.api.cloudpb import cloudapi_pb2_grpc as cpb_grpc

SECRET = "sk-live-api-path-5a6b7c"


async def test_plugin_service_is_served_by_the_api_per_org_and_read_only_keys_cannot_mutate(
    fresh_database: str, nats_server: Any
) -> None:
    key = SigningKey.generate()
    async with (
        running_plugin(
            fresh_database, nats_server.url, cloud_key=key, jwt_audience=DOMAIN
        ) as plugin,
        running_api(nats_server.url, key.reveal_text(), plugin_addr=plugin.address) as api,
    ):
        channel = api.channel()
        try:
            stub = cpb_grpc.PluginServiceStub(channel)
            a = (("pixie-api-key", api.key_a),)
            b = (("pixie-api-key", api.key_b),)
            reader = (
                ("pixie-api-key", api.auth.add_api_key(ORG_A, USER_A, scope=AccessScope.READ_ONLY)),
            )
            scripts = await enable_otel_plugin(
                channel, a, export_url="collector:4317", headers={"api-key": SECRET}
            )
            assert len(scripts) == 3
            config = await stub.GetOrgRetentionPluginConfig(
                cpb.GetOrgRetentionPluginConfigRequest(plugin_id=OPENTELEMETRY_PLUGIN_ID),
                metadata=a,
            )
            assert dict(config.configs) == {"api-key": MASK}
            # Org B sees none of org A's scripts, and cannot fetch one by id.
            listed_b = await stub.GetRetentionScripts(cpb.GetRetentionScriptsRequest(), metadata=b)
            assert list(listed_b.scripts) == []
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await stub.GetRetentionScript(
                    cpb.GetRetentionScriptRequest(id=scripts[0].script_id), metadata=b
                )
            assert info.value.code() == grpc.StatusCode.NOT_FOUND
            # A read-only key of org A reads, but changes nothing.
            listed = await stub.GetRetentionScripts(
                cpb.GetRetentionScriptsRequest(), metadata=reader
            )
            assert len(listed.scripts) == 3
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await stub.DeleteRetentionScript(
                    cpb.DeleteRetentionScriptRequest(id=scripts[0].script_id), metadata=reader
                )
            assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await stub.UpdateRetentionPluginConfig(
                    cpb.UpdateRetentionPluginConfigRequest(
                        plugin_id=OPENTELEMETRY_PLUGIN_ID,
                        enabled=wrappers_pb2.BoolValue(value=False),
                    ),
                    metadata=reader,
                )
            assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
            # No credentials: refused by the api.
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await stub.GetPlugins(cpb.GetPluginsRequest())
            assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
        finally:
            await channel.close(None)
