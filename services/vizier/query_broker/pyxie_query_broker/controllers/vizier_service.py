"""`px.api.vizierpb.VizierService` served by the broker, and its health check.

Direct callers present a vizier-scoped service or cluster JWT (`authorization: bearer`); the
cloud passthrough (a later piece) calls in with the cluster token it was given.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, Final

import grpc
from pyxie_jwt import BaseClaims, ClusterClaims, ServiceClaims
from pyxie_proto.api.vizierpb import vizierapi_pb2 as vpb
from pyxie_proto.api.vizierpb import vizierapi_pb2_grpc as vpb_grpc
from pyxie_pxl.compiler import OTelDefaults
from pyxie_pxl.errors import CompilerError
from pyxie_service import (
    Internal,
    InvalidArgument,
    ServiceError,
    ServiceRegistration,
    require_claims,
)

from pyxie_query_broker.controllers.executor import QueryExecutor
from pyxie_query_broker.controllers.otel_script import (
    ExportableTable,
    OTelScriptError,
    generate_otel_script,
)

if TYPE_CHECKING:
    _Context = grpc.aio.ServicerContext[Any, Any]

__all__ = [
    "DEFAULT_CALLER_CLAIMS",
    "HEALTH_CHECK_SCRIPT",
    "VIZIER_SERVICE_NAME",
    "HealthChecker",
    "VizierServicer",
]

VIZIER_SERVICE_NAME: Final = "px.api.vizierpb.VizierService"

# Pixie runs `px.display(px.Version())` and wants exactly one row. Version() runs on every
# agent here, so the check keeps the first row: one row back means compile, dispatch, an agent
# and the result path all work.
HEALTH_CHECK_SCRIPT: Final = "import px\npx.display(px.Version().head(1))\n"

DEFAULT_CALLER_CLAIMS: Final[tuple[type[BaseClaims], ...]] = (ServiceClaims, ClusterClaims)

_OK: Final = grpc.StatusCode.OK.value[0]
_UNAVAILABLE: Final = grpc.StatusCode.UNAVAILABLE.value[0]


class HealthChecker:
    """Runs the internal health query; OK when it returns exactly one row."""

    def __init__(self, executor: QueryExecutor, *, timeout_seconds: float) -> None:
        self._executor = executor
        self._timeout_seconds = timeout_seconds

    async def check(self) -> vpb.Status:
        rows = 0
        request = vpb.ExecuteScriptRequest(query_str=HEALTH_CHECK_SCRIPT, query_name="health")
        try:
            async with asyncio.timeout(self._timeout_seconds):
                async with aclosing(self._executor.execute(request)) as responses:
                    async for response in responses:
                        if response.status.code != _OK:
                            return _unavailable(response.status.message)
                        if response.HasField("data") and response.data.HasField("batch"):
                            rows += response.data.batch.num_rows
        except ServiceError as err:
            return _unavailable(err.message)
        except TimeoutError:
            return _unavailable(f"no answer within {self._timeout_seconds:g} s")
        if rows != 1:
            return _unavailable(f"the health query returned {rows} rows instead of 1")
        return vpb.Status(code=_OK)


def _unavailable(reason: str) -> vpb.Status:
    return vpb.Status(code=_UNAVAILABLE, message=f"vizier is not healthy: {reason}")


class VizierServicer(vpb_grpc.VizierServiceServicer):
    def __init__(
        self,
        executor: QueryExecutor,
        health: HealthChecker,
        *,
        health_interval_seconds: float,
        caller_claims: tuple[type[BaseClaims], ...] = DEFAULT_CALLER_CLAIMS,
    ) -> None:
        self._executor = executor
        self._health = health
        self._health_interval_seconds = health_interval_seconds
        self._caller_claims = caller_claims

    def registration(self) -> ServiceRegistration:
        return ServiceRegistration(
            VIZIER_SERVICE_NAME,
            lambda server: vpb_grpc.add_VizierServiceServicer_to_server(self, server),
        )

    async def ExecuteScript(
        self, request: vpb.ExecuteScriptRequest, context: _Context
    ) -> AsyncIterator[vpb.ExecuteScriptResponse]:
        claims = require_claims(*self._caller_claims)
        actor = (
            f"service:{claims.service_id}"
            if isinstance(claims, ServiceClaims)
            else f"cluster:{getattr(claims, 'cluster_id', '')}"
        )
        async with aclosing(self._executor.execute(request, actor=actor)) as responses:
            async for response in responses:
                yield response

    async def HealthCheck(
        self, request: vpb.HealthCheckRequest, context: _Context
    ) -> AsyncIterator[vpb.HealthCheckResponse]:
        require_claims(*self._caller_claims)
        while True:
            yield vpb.HealthCheckResponse(status=await self._health.check())
            await asyncio.sleep(self._health_interval_seconds)

    async def GenerateOTelScript(
        self, request: vpb.GenerateOTelScriptRequest, context: _Context
    ) -> vpb.GenerateOTelScriptResponse:
        require_claims(*self._caller_claims)
        if not request.pxl_script.strip():
            raise InvalidArgument("pxl_script is empty")
        try:
            tables = self._executor.compile_check(request.pxl_script)
        except CompilerError as err:
            raise InvalidArgument(f"the script does not compile: {err}") from None
        try:
            script = generate_otel_script(
                request.pxl_script, [ExportableTable(name, rel) for name, rel in tables]
            )
        except OTelScriptError as err:
            raise InvalidArgument(str(err)) from None
        try:
            # It must compile as a plugin runs it (the plugin supplies the endpoint).
            self._executor.compile_check(script, otel=OTelDefaults(url="plugin-endpoint:4317"))
        except CompilerError as err:  # pragma: no cover - a generator bug
            raise Internal(f"the generated export script does not compile: {err}") from None
        return vpb.GenerateOTelScriptResponse(status=vpb.Status(code=_OK), otel_script=script)
