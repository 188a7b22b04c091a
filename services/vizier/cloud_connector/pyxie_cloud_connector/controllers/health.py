"""The vizier's health as the cloud sees it, from the broker's `VizierService.HealthCheck`.

As Pixie's health `Checker`: one long HealthCheck stream (retried after a pause when it
breaks); no result for the watchdog period → UNKNOWN, a broken stream or a non-OK status →
UNHEALTHY, an OK status → HEALTHY.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import grpc
from pyxie_jwt import VIZIER_AUDIENCE, SigningKey, service_claims, sign_token
from pyxie_proto.api.vizierpb import vizierapi_pb2 as vpb
from pyxie_proto.api.vizierpb import vizierapi_pb2_grpc as vpb_grpc
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2 as cvmsgs
from pyxie_service import BackgroundTask, get_logger

__all__ = ["SERVICE_ID", "HealthChecker", "HealthReport"]

SERVICE_ID: Final = "cloud_connector"
_OK: Final = grpc.StatusCode.OK.value[0]

_log = get_logger("pyxie.cloud_connector.health")


@dataclass(frozen=True)
class HealthReport:
    status: cvmsgs.VizierStatus
    message: str


@dataclass
class _Observation:
    at: float
    ok: bool
    message: str


class HealthChecker:
    def __init__(
        self,
        channel: grpc.aio.Channel,
        key: SigningKey,
        *,
        watchdog_seconds: float,
        retry_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stub = vpb_grpc.VizierServiceStub(channel)
        self._key = key
        self._watchdog = watchdog_seconds
        self._retry = retry_seconds
        self._clock = clock
        self._last: _Observation | None = None
        # Watches the broker until stopped (the connector hands it to its service).
        self.task = BackgroundTask("connector-health", self._watch)

    def report(self) -> HealthReport:
        last = self._last
        if last is None or self._clock() - last.at > self._watchdog:
            return HealthReport(cvmsgs.VZ_ST_UNKNOWN, "no health check result from the broker")
        if not last.ok:
            return HealthReport(cvmsgs.VZ_ST_UNHEALTHY, last.message)
        return HealthReport(cvmsgs.VZ_ST_HEALTHY, "")

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        token = sign_token(
            service_claims(service_id=SERVICE_ID, audience=VIZIER_AUDIENCE), self._key
        )
        return (("authorization", f"bearer {token}"),)

    async def _watch(self) -> None:
        while True:
            try:
                stream = self._stub.HealthCheck(vpb.HealthCheckRequest(), metadata=self._metadata())
                async for response in stream:
                    status = response.status
                    self._last = _Observation(
                        self._clock(), status.code == _OK, status.message or "broker unhealthy"
                    )
            except grpc.aio.AioRpcError as err:
                self._last = _Observation(
                    self._clock(), False, f"broker health check failed: {err.code().name}"
                )
                _log.info("broker health check stream broke", code=err.code().name)
            await asyncio.sleep(self._retry)
