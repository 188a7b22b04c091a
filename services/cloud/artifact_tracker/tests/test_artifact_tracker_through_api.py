"""The cloud api routes px.cloudapi.ArtifactTracker to the tracker, without credentials."""

from __future__ import annotations

import asyncio
import hashlib
import json
import pathlib
from typing import Any

import grpc
import pytest
from pyxie_api.testing import running_api
from pyxie_artifact_tracker.testing import running_artifact_tracker
from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb
from pyxie_proto.api.cloudpb import cloudapi_pb2_grpc as cpb_grpc


async def test_artifact_tracker_reached_through_the_api(
    tmp_path: pathlib.Path, nats_server: Any
) -> None:
    manifest = json.dumps(
        [{"name": "cli", "artifact": [{"versionStr": "0.9.0"}, {"versionStr": "0.10.0"}]}]
    ).encode()
    (tmp_path / "manifest.json").write_bytes(manifest)
    (tmp_path / "manifest.json.sha256").write_text(hashlib.sha256(manifest).hexdigest())
    url = (tmp_path / "manifest.json").as_uri()
    async with (
        running_artifact_tracker(manifest_url=url) as tracker,
        running_api(nats_server.url, "k" * 48, artifact_tracker_addr=tracker.address) as api,
    ):
        # Wait for the tracker's first poll (on the tracker itself).
        for _ in range(200):
            try:
                await tracker.stub.GetArtifactList(cpb.GetArtifactListRequest(artifact_name="cli"))
                break
            except grpc.aio.AioRpcError:
                await asyncio.sleep(0.05)
        channel = api.channel()
        try:
            stub = cpb_grpc.ArtifactTrackerStub(channel)
            reply = await stub.GetArtifactList(cpb.GetArtifactListRequest(artifact_name="cli"))
            assert [a.version_str for a in reply.artifact] == ["0.10.0", "0.9.0"]
            with pytest.raises(grpc.aio.AioRpcError) as missing:
                await stub.GetArtifactList(cpb.GetArtifactListRequest(artifact_name="nope"))
            assert missing.value.code() == grpc.StatusCode.NOT_FOUND
        finally:
            await channel.close(None)


async def test_artifact_tracker_down_is_unavailable_through_the_api(nats_server: Any) -> None:
    async with running_api(nats_server.url, "k" * 48, artifact_tracker_addr="127.0.0.1:1") as api:
        channel = api.channel()
        try:
            stub = cpb_grpc.ArtifactTrackerStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as down:
                await stub.GetArtifactList(cpb.GetArtifactListRequest(artifact_name="cli"))
            assert down.value.code() == grpc.StatusCode.UNAVAILABLE
        finally:
            await channel.close(None)
