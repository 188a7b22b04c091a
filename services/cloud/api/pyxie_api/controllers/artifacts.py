"""`px.cloudapi.ArtifactTracker` on the api: forwarded to the artifact tracker service.

Public, as in Pixie (the CLI lists versions before it is logged in). The tracker's client
errors (NOT_FOUND, INVALID_ARGUMENT) reach the caller unchanged; an unreachable tracker is
UNAVAILABLE.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import grpc
from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb
from pyxie_proto.api.cloudpb import cloudapi_pb2_grpc as cpb_grpc

from pyxie_api.controllers.backends import call_backend

__all__ = ["ARTIFACT_METHODS", "ARTIFACT_TRACKER_SERVICE", "ArtifactTrackerProxy"]

if TYPE_CHECKING:
    _Context = grpc.aio.ServicerContext[Any, Any]

ARTIFACT_TRACKER_SERVICE: Final = "px.cloudapi.ArtifactTracker"
ARTIFACT_METHODS: Final = (
    f"/{ARTIFACT_TRACKER_SERVICE}/GetArtifactList",
    f"/{ARTIFACT_TRACKER_SERVICE}/GetDownloadLink",
)
_TIMEOUT_SECONDS: Final = 10.0


class ArtifactTrackerProxy(cpb_grpc.ArtifactTrackerServicer):
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub: cpb_grpc.ArtifactTrackerAsyncStub = cpb_grpc.ArtifactTrackerStub(channel)

    async def GetArtifactList(
        self, request: cpb.GetArtifactListRequest, context: _Context
    ) -> cpb.ArtifactSet:
        return await call_backend(
            "artifact tracker", self._stub.GetArtifactList(request, timeout=_TIMEOUT_SECONDS)
        )

    async def GetDownloadLink(
        self, request: cpb.GetDownloadLinkRequest, context: _Context
    ) -> cpb.GetDownloadLinkResponse:
        return await call_backend(
            "artifact tracker", self._stub.GetDownloadLink(request, timeout=_TIMEOUT_SECONDS)
        )
