"""vzmgr learns the latest release from the artifact tracker and offers it to lagging viziers."""

from __future__ import annotations

import asyncio
import hashlib
import json
import pathlib
import uuid
from typing import Any

import grpc
import pytest
from google.protobuf import any_pb2
from pyxie_artifact_tracker.testing import running_artifact_tracker
from pyxie_jwt import SigningKey
from pyxie_proto.api.cloudpb import cloudapi_pb2_grpc as cpb_grpc
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2 as cvmsgs
from pyxie_service import NatsBus
from pyxie_vzmgr.controllers.updates import ReleaseWatcher, is_outdated
from pyxie_vzmgr.testing import Cloud, eventually, running_vzmgr


@pytest.mark.parametrize(
    ("running", "latest", "outdated"),
    [
        ("0.9.1", "1.2.0", True),
        ("v1.1.9", "1.2.0", True),
        ("1.2.0", "1.2.0", False),
        ("1.2.0+abc", "1.2.0", False),
        ("1.3.0", "1.2.0", False),
        ("", "1.2.0", False),  # Pixie: empty, unparsable and dev versions count as current
        ("not-a-version", "1.2.0", False),
        ("0.0.0", "1.2.0", False),
        ("0.9.1", "garbage", False),
    ],
)
def test_vzmgr_version_lag_follows_pixies_rule(running: str, latest: str, outdated: bool) -> None:
    assert is_outdated(running, latest) is outdated


def _manifest(directory: pathlib.Path, latest: str) -> str:
    data = json.dumps(
        [
            {
                "name": "vizier",
                "artifact": [
                    {
                        "versionStr": version,
                        "availableArtifacts": ["AT_CONTAINER_SET_TEMPLATE_YAMLS"],
                    }
                    for version in ("1.0.0", latest, "9.0.0-rc1")
                ],
            }
        ]
    ).encode()
    (directory / "manifest.json").write_bytes(data)
    (directory / "manifest.json.sha256").write_text(hashlib.sha256(data).hexdigest())
    return (directory / "manifest.json").as_uri()


def _heartbeat(vizier_id: str, version: str) -> bytes:
    beat = cvmsgs.VizierHeartbeat(
        vizier_id=vizier_id, status=cvmsgs.VZ_ST_HEALTHY, vizier_version=version
    )
    payload = any_pb2.Any()
    payload.Pack(beat)
    return cvmsgs.V2CMessage(vizier_id=vizier_id, msg=payload).SerializeToString()


async def test_vzmgr_offers_the_latest_release_once_to_lagging_viziers(
    tmp_path: pathlib.Path, fresh_database: str, nats_server: Any
) -> None:
    key = SigningKey.generate()
    url = _manifest(tmp_path, "1.2.0")
    async with (
        running_artifact_tracker(manifest_url=url) as tracker,
        running_vzmgr(
            fresh_database,
            nats_server.url,
            cloud_key=key,
            artifact_tracker_addr=tracker.address,
            release_poll_seconds=0.1,
        ) as vzmgr,
    ):
        channel = grpc.aio.insecure_channel(vzmgr.address)
        bus = await NatsBus.connect(nats_server.url, name="test-vizier")
        offers: list[cvmsgs.UpdateOrInstallVizierRequest] = []

        async def collect(raw: Any) -> None:
            envelope = cvmsgs.C2VMessage.FromString(raw.data)
            offer = cvmsgs.UpdateOrInstallVizierRequest()
            assert envelope.msg.Unpack(offer)
            assert raw.subject == f"c2v.{envelope.vizier_id}.VizierUpdate"
            offers.append(offer)

        try:
            cloud = Cloud(vzmgr, key, channel, fresh_database)
            org = str(uuid.uuid4())
            ids = []
            for name in ("lagging", "current", "marker"):
                registered = await cloud.register(
                    await cloud.new_deploy_key(org), f"uid-{uuid.uuid4()}", name
                )
                ids.append(registered.vizier_id)
            lagging, current, marker = ids
            await bus.client.subscribe("c2v.*.VizierUpdate", cb=collect)

            async def beat(vizier_id: str, version: str) -> None:
                subject = f"v2c.{vizier_id[-2:]}.{vizier_id}.heartbeat"
                await bus.client.publish(subject, _heartbeat(vizier_id, version))

            async def offered() -> bool:
                # Beat until the watcher has learned the latest release and offered it.
                if not offers:
                    await beat(lagging, "1.0.0")
                    await asyncio.sleep(0.05)
                return bool(offers)

            await eventually(offered)
            assert [(o.vizier_id, o.version) for o in offers] == [(lagging, "1.2.0")]
            # Again from the lagging one (within the offer interval), an up-to-date one, and
            # a lagging marker whose offer shows the earlier beats were handled.
            await beat(lagging, "1.0.0")
            await beat(current, "1.2.0")
            await beat(marker, "0.9.0")

            async def marker_offered() -> bool:
                return any(o.vizier_id == marker for o in offers)

            await eventually(marker_offered)
            assert [(o.vizier_id, o.version) for o in offers] == [
                (lagging, "1.2.0"),
                (marker, "1.2.0"),
            ]
        finally:
            await bus.drain()
            await channel.close(None)


async def test_vzmgr_release_watcher_without_releases_or_tracker(tmp_path: pathlib.Path) -> None:
    url = _manifest(tmp_path, "1.2.0")
    async with (
        running_artifact_tracker() as empty,
        running_artifact_tracker(manifest_url=url) as full,
    ):
        for address, expected in ((full.address, "1.2.0"), (empty.address, "")):
            channel = grpc.aio.insecure_channel(address)
            try:
                watcher = ReleaseWatcher(cpb_grpc.ArtifactTrackerStub(channel))
                watcher.latest = "0.5.0"

                async def learned(
                    watcher: ReleaseWatcher = watcher, expected: str = expected
                ) -> bool:
                    await watcher.tick()
                    return watcher.latest == expected

                await eventually(learned)
            finally:
                await channel.close(None)
    # Tracker gone: the last known release stays, nothing raises.
    channel = grpc.aio.insecure_channel(empty.address)
    try:
        watcher = ReleaseWatcher(cpb_grpc.ArtifactTrackerStub(channel))
        watcher.latest = "1.2.0"
        await watcher.tick()
        assert watcher.latest == "1.2.0"
    finally:
        await channel.close(None)
