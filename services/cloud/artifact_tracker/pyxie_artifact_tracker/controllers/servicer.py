"""`px.cloudapi.ArtifactTracker`: GetArtifactList and GetDownloadLink, wire-identical to Pixie."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final

import grpc
from google.protobuf import timestamp_pb2
from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb
from pyxie_proto.api.cloudpb import cloudapi_pb2_grpc as cpb_grpc
from pyxie_service import InvalidArgument, NotFound, ServiceRegistration

from pyxie_artifact_tracker.controllers.manifest import ArtifactStore

__all__ = ["ARTIFACT_TRACKER_SERVICE", "PUBLIC_METHODS", "ArtifactTrackerServicer"]

ARTIFACT_TRACKER_SERVICE: Final = "px.cloudapi.ArtifactTracker"
# Pixie: the artifact RPCs need no credentials (the CLI asks before it is logged in).
PUBLIC_METHODS: Final = (
    f"/{ARTIFACT_TRACKER_SERVICE}/GetArtifactList",
    f"/{ARTIFACT_TRACKER_SERVICE}/GetDownloadLink",
)
_MAX_NAME: Final = 128
_Context = grpc.aio.ServicerContext[Any, Any]


def _check_name(name: str) -> None:
    if not name:
        raise InvalidArgument("artifact_name is required")
    if len(name) > _MAX_NAME or not name.isprintable():
        raise InvalidArgument("artifact_name is not a valid artifact name")


class ArtifactTrackerServicer(cpb_grpc.ArtifactTrackerServicer):
    def __init__(
        self,
        store: ArtifactStore,
        *,
        link_valid_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._link_valid = link_valid_seconds
        self._clock = clock

    def registration(self) -> ServiceRegistration:
        return ServiceRegistration(
            ARTIFACT_TRACKER_SERVICE,
            lambda server: cpb_grpc.add_ArtifactTrackerServicer_to_server(self, server),
        )

    async def GetArtifactList(
        self, request: cpb.GetArtifactListRequest, context: _Context
    ) -> cpb.ArtifactSet:
        _check_name(request.artifact_name)
        if request.limit < 0:
            raise InvalidArgument("limit must not be negative")
        result = self._store.artifact_list(
            request.artifact_name, request.artifact_type, request.limit
        )
        if result is None:
            raise NotFound(f"no artifact named {request.artifact_name!r}")
        return result

    async def GetDownloadLink(
        self, request: cpb.GetDownloadLinkRequest, context: _Context
    ) -> cpb.GetDownloadLinkResponse:
        _check_name(request.artifact_name)
        if not request.version_str:
            raise InvalidArgument("version_str is required")
        if request.artifact_type == cpb.AT_UNKNOWN:
            raise InvalidArgument("artifact_type is required")
        artifact = self._store.find(request.artifact_name, request.version_str)
        if artifact is None:
            raise NotFound(
                f"no version {request.version_str!r} of artifact {request.artifact_name!r}"
            )
        for mirror in artifact.available_artifact_mirrors:
            if mirror.artifact_type == request.artifact_type and mirror.urls:
                valid_until = timestamp_pb2.Timestamp()
                valid_until.FromSeconds(int(self._clock() + self._link_valid))
                return cpb.GetDownloadLinkResponse(
                    url=mirror.urls[0], sha256=mirror.sha256, valid_until=valid_until
                )
        type_name = cpb.ArtifactType.Name(request.artifact_type)
        raise NotFound(
            f"version {request.version_str!r} of {request.artifact_name!r} has no {type_name}"
        )
