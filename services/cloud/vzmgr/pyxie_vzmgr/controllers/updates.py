"""Release offers: vzmgr learns the latest vizier release from the artifact tracker and offers
it to each vizier whose heartbeat reports an older version.

The offer is Pixie's `UpdateOrInstallVizierRequest` on the bridge topic `VizierUpdate`. It is
only an offer: the vizier's operator verifies the release against the signed TUF metadata and
the image signatures before deploying anything, so a compromised cloud can offer, not install.
A vizier is offered the same version at most once per `offer_interval_seconds`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

import grpc
from google.protobuf import any_pb2
from packaging.version import InvalidVersion, Version
from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb
from pyxie_proto.api.cloudpb import cloudapi_pb2_grpc as cpb_grpc
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2 as cvmsgs
from pyxie_proto.cloud.subjects import VIZIER_UPDATE_TOPIC, c2v_subject
from pyxie_service import NatsBus, get_logger

__all__ = ["ReleaseWatcher", "UpdateOfferer", "is_outdated"]

_log = get_logger("pyxie.vzmgr.updates")
_TRACKER_TIMEOUT_SECONDS: Final = 10.0


def _parse(text: str) -> Version | None:
    try:
        return Version(text.removeprefix("v").split("+", 1)[0])
    except InvalidVersion:
        return None


def is_outdated(running: str, latest: str) -> bool:
    """Pixie's `VersionUpToDate`, negated: empty, unparsable and dev (<= 0.0.0) versions count
    as current; build metadata (`+...`) is ignored."""
    current, newest = _parse(running), _parse(latest)
    if current is None or newest is None or current <= Version("0.0.0"):
        return False
    return current < newest


class ReleaseWatcher:
    """Polls the artifact tracker for the latest vizier release (`latest`, "" until known)."""

    def __init__(self, tracker: cpb_grpc.ArtifactTrackerAsyncStub) -> None:
        self._tracker = tracker
        self.latest = ""

    async def tick(self) -> None:
        """One poll. No `vizier` artifact (NOT_FOUND) means no release; an unreachable tracker
        keeps the last known release (logged, retried on the next tick)."""
        try:
            reply = await self._tracker.GetArtifactList(
                cpb.GetArtifactListRequest(
                    artifact_name="vizier",
                    artifact_type=cpb.AT_CONTAINER_SET_TEMPLATE_YAMLS,
                    limit=1,
                ),
                timeout=_TRACKER_TIMEOUT_SECONDS,
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:
                _log.warning("artifact tracker not answering", code=exc.code().name)
                return
            reply = cpb.ArtifactSet()
        latest = reply.artifact[0].version_str if reply.artifact else ""
        if latest != self.latest:
            _log.info("latest vizier release", version=latest, previous=self.latest)
            self.latest = latest


class UpdateOfferer:
    """Called with each accepted heartbeat; publishes an offer when the vizier lags."""

    def __init__(
        self,
        bus: NatsBus,
        watcher: ReleaseWatcher,
        *,
        offer_interval_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bus = bus
        self._watcher = watcher
        self._interval = offer_interval_seconds
        self._clock = clock
        self._offered: dict[str, tuple[str, float]] = {}

    async def on_heartbeat(self, vizier_id: str, beat: cvmsgs.VizierHeartbeat) -> bool:
        latest = self._watcher.latest
        if not latest or not is_outdated(beat.vizier_version, latest):
            return False
        now = self._clock()
        previous = self._offered.get(vizier_id)
        if previous is not None and previous[0] == latest and now - previous[1] < self._interval:
            return False
        self._offered[vizier_id] = (latest, now)
        payload = any_pb2.Any()
        payload.Pack(cvmsgs.UpdateOrInstallVizierRequest(vizier_id=vizier_id, version=latest))
        message = cvmsgs.C2VMessage(vizier_id=vizier_id, msg=payload)
        await self._bus.client.publish(
            c2v_subject(vizier_id, VIZIER_UPDATE_TOPIC), message.SerializeToString()
        )
        _log.info(
            "update offered", vizier_id=vizier_id, running=beat.vizier_version, offered=latest
        )
        return True
