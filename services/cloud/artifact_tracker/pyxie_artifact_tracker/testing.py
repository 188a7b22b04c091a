"""The artifact tracker for tests: `running_artifact_tracker` on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import grpc
from pydantic import SecretStr
from pyxie_jwt import SigningKey
from pyxie_proto.api.cloudpb import cloudapi_pb2_grpc as cpb_grpc
from pyxie_service import Service

from pyxie_artifact_tracker.app import build
from pyxie_artifact_tracker.settings import ArtifactTrackerSettings

__all__ = ["RunningArtifactTracker", "running_artifact_tracker"]


@dataclass(frozen=True)
class RunningArtifactTracker:
    service: Service
    channel: grpc.aio.Channel

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.service.grpc_port}"

    @property
    def stub(self) -> cpb_grpc.ArtifactTrackerAsyncStub:
        return cpb_grpc.ArtifactTrackerStub(self.channel)


@asynccontextmanager
async def running_artifact_tracker(
    *, manifest_url: str = "", poll_seconds: float = 0.2, **overrides: Any
) -> AsyncIterator[RunningArtifactTracker]:
    """The tracker polling `manifest_url` every `poll_seconds`, with a channel to it."""
    settings = ArtifactTrackerSettings(
        jwt_signing_key=SecretStr(SigningKey.generate().reveal_text()),
        artifact_manifest_url=manifest_url,
        manifest_poll_seconds=poll_seconds,
        grpc_host="127.0.0.1",
        grpc_port=0,
        metrics_enabled=False,
        shutdown_grace_seconds=0.2,
        log_format="console",
        **overrides,
    )
    service = await build(settings)
    await service.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc_port}")
    try:
        yield RunningArtifactTracker(service, channel)
    finally:
        await channel.close(None)
        await service.stop()
