"""`px.cloudapi.PluginService` (→ the plugin service).

Each call is forwarded unchanged with the api's service token and the caller's augmented token
(`x-pyxie-user-token`); the plugin service scopes it to the caller's org and enforces read-only
and cluster-limited keys itself. Read-only keys are refused here too, before the hop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import grpc
from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb
from pyxie_proto.api.cloudpb import cloudapi_pb2_grpc as cpb_grpc

from pyxie_api.controllers.backends import ServiceTokenSource, call_backend
from pyxie_api.controllers.caller import current_caller

__all__ = ["PluginProxyServicer"]

if TYPE_CHECKING:
    _Context = grpc.aio.ServicerContext[Any, Any]

_R = TypeVar("_R")
# Internal calls are quick database look-ups; a hung plugin service must not hang the caller.
_TIMEOUT_SECONDS = 10.0


class PluginProxyServicer(cpb_grpc.PluginServiceServicer):
    def __init__(self, stub: cpb_grpc.PluginServiceAsyncStub, tokens: ServiceTokenSource) -> None:
        self._stub = stub
        self._tokens = tokens

    async def _forward(
        self, method: Callable[..., Awaitable[_R]], request: Any, *, mutates: str = ""
    ) -> _R:
        caller = current_caller()
        caller.require_org()
        if mutates:
            caller.require_admin(mutates)
        return await call_backend(
            "plugin",
            method(request, metadata=self._tokens.metadata(caller.token), timeout=_TIMEOUT_SECONDS),
        )

    async def GetPlugins(
        self, request: cpb.GetPluginsRequest, context: _Context
    ) -> cpb.GetPluginsResponse:
        return await self._forward(self._stub.GetPlugins, request)

    async def GetRetentionPluginInfo(
        self, request: cpb.GetRetentionPluginInfoRequest, context: _Context
    ) -> cpb.GetRetentionPluginInfoResponse:
        return await self._forward(self._stub.GetRetentionPluginInfo, request)

    async def GetOrgRetentionPluginConfig(
        self, request: cpb.GetOrgRetentionPluginConfigRequest, context: _Context
    ) -> cpb.GetOrgRetentionPluginConfigResponse:
        return await self._forward(self._stub.GetOrgRetentionPluginConfig, request)

    async def UpdateRetentionPluginConfig(
        self, request: cpb.UpdateRetentionPluginConfigRequest, context: _Context
    ) -> cpb.UpdateRetentionPluginConfigResponse:
        return await self._forward(
            self._stub.UpdateRetentionPluginConfig, request, mutates="change plugin configs"
        )

    async def GetRetentionScripts(
        self, request: cpb.GetRetentionScriptsRequest, context: _Context
    ) -> cpb.GetRetentionScriptsResponse:
        return await self._forward(self._stub.GetRetentionScripts, request)

    async def GetRetentionScript(
        self, request: cpb.GetRetentionScriptRequest, context: _Context
    ) -> cpb.GetRetentionScriptResponse:
        return await self._forward(self._stub.GetRetentionScript, request)

    async def CreateRetentionScript(
        self, request: cpb.CreateRetentionScriptRequest, context: _Context
    ) -> cpb.CreateRetentionScriptResponse:
        return await self._forward(
            self._stub.CreateRetentionScript, request, mutates="create retention scripts"
        )

    async def UpdateRetentionScript(
        self, request: cpb.UpdateRetentionScriptRequest, context: _Context
    ) -> cpb.UpdateRetentionScriptResponse:
        return await self._forward(
            self._stub.UpdateRetentionScript, request, mutates="update retention scripts"
        )

    async def DeleteRetentionScript(
        self, request: cpb.DeleteRetentionScriptRequest, context: _Context
    ) -> cpb.DeleteRetentionScriptResponse:
        return await self._forward(
            self._stub.DeleteRetentionScript, request, mutates="delete retention scripts"
        )
