"""The artifact tracker over gRPC, polling a manifest served over HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import json
import pathlib
import shutil
import urllib.request

import grpc
import pytest
from pyxie_artifact_tracker.testing import RunningArtifactTracker, running_artifact_tracker
from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb
from pyxie_release.scenarios import ReleaseLab


def _manifest(versions: list[str], chart_sha: str = "ab" * 32) -> bytes:
    doc = [
        {
            "name": "vizier",
            "artifact": [
                {
                    "versionStr": version,
                    "availableArtifactMirrors": [
                        {
                            "artifactType": "AT_CONTAINER_SET_TEMPLATE_YAMLS",
                            "sha256": chart_sha,
                            "urls": [f"charts/vizier-{version}.tgz"],
                        }
                    ],
                }
                for version in versions
            ],
        }
    ]
    return json.dumps(doc).encode()


def _publish(directory: pathlib.Path, data: bytes, checksum: bytes | None = None) -> None:
    (directory / "manifest.json").write_bytes(data)
    digest = hashlib.sha256(data).hexdigest().encode() if checksum is None else checksum
    (directory / "manifest.json.sha256").write_bytes(digest + b"\n")


async def _versions(tracker: RunningArtifactTracker, name: str = "vizier") -> list[str]:
    reply = await tracker.stub.GetArtifactList(cpb.GetArtifactListRequest(artifact_name=name))
    return [artifact.version_str for artifact in reply.artifact]


async def _wait_for(tracker: RunningArtifactTracker, expected: list[str]) -> None:
    for _ in range(200):
        try:
            if await _versions(tracker) == expected:
                return
        except grpc.aio.AioRpcError:
            pass
        await asyncio.sleep(0.05)
    assert await _versions(tracker) == expected


async def test_artifact_tracker_serves_the_polled_manifest_without_credentials(
    served_dir: tuple[pathlib.Path, str],
) -> None:
    directory, url = served_dir
    _publish(directory, _manifest(["1.0.0", "1.1.0"]))
    async with running_artifact_tracker(manifest_url=f"{url}/manifest.json") as tracker:
        await _wait_for(tracker, ["1.1.0", "1.0.0"])
        latest = await tracker.stub.GetArtifactList(
            cpb.GetArtifactListRequest(
                artifact_name="vizier",
                artifact_type=cpb.AT_CONTAINER_SET_TEMPLATE_YAMLS,
                limit=1,
            )
        )
        assert [a.version_str for a in latest.artifact] == ["1.1.0"]
        link = await tracker.stub.GetDownloadLink(
            cpb.GetDownloadLinkRequest(
                artifact_name="vizier",
                version_str="1.0.0",
                artifact_type=cpb.AT_CONTAINER_SET_TEMPLATE_YAMLS,
            )
        )
        assert link.url == f"{url}/charts/vizier-1.0.0.tgz"
        assert link.sha256 == "ab" * 32
        assert link.valid_until.seconds > 0

        # A new release appears on the next poll.
        _publish(directory, _manifest(["1.0.0", "1.1.0", "1.2.0"]))
        await _wait_for(tracker, ["1.2.0", "1.1.0", "1.0.0"])

        # A manifest that does not match its checksum is not used.
        _publish(directory, _manifest(["6.6.6"]), checksum=b"00" * 32)
        await asyncio.sleep(0.5)
        assert await _versions(tracker) == ["1.2.0", "1.1.0", "1.0.0"]


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (cpb.GetArtifactListRequest(), grpc.StatusCode.INVALID_ARGUMENT),
        (cpb.GetArtifactListRequest(artifact_name="nope"), grpc.StatusCode.NOT_FOUND),
        (
            cpb.GetArtifactListRequest(artifact_name="vizier", limit=-1),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            cpb.GetDownloadLinkRequest(artifact_name="vizier", version_str="1.0.0"),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            cpb.GetDownloadLinkRequest(
                artifact_name="vizier", version_str="9.0.0", artifact_type=cpb.AT_LINUX_AMD64
            ),
            grpc.StatusCode.NOT_FOUND,
        ),
        (
            cpb.GetDownloadLinkRequest(
                artifact_name="vizier", version_str="1.0.0", artifact_type=cpb.AT_LINUX_AMD64
            ),
            grpc.StatusCode.NOT_FOUND,
        ),
    ],
)
async def test_artifact_tracker_bad_requests_get_client_errors(
    served_dir: tuple[pathlib.Path, str],
    request_: cpb.GetArtifactListRequest | cpb.GetDownloadLinkRequest,
    code: grpc.StatusCode,
) -> None:
    directory, url = served_dir
    _publish(directory, _manifest(["1.0.0"]))
    async with running_artifact_tracker(manifest_url=f"{url}/manifest.json") as tracker:
        await _wait_for(tracker, ["1.0.0"])
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            if isinstance(request_, cpb.GetArtifactListRequest):
                await tracker.stub.GetArtifactList(request_)
            else:
                await tracker.stub.GetDownloadLink(request_)
        assert failed.value.code() == code


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("docker-registry") is None or shutil.which("skopeo") is None,
    reason="needs docker-registry and skopeo (tools/setup_deploy.sh)",
)
async def test_artifact_tracker_follows_a_real_release_repository(tmp_path: pathlib.Path) -> None:
    with ReleaseLab(tmp_path / "lab") as lab:
        await asyncio.to_thread(lab.build, "2.0.0")
        url = f"{lab.repository_url}/manifest.json"
        async with running_artifact_tracker(manifest_url=url) as tracker:
            await _wait_for(tracker, ["2.0.0"])
            await asyncio.to_thread(lab.build, "2.1.0")
            await _wait_for(tracker, ["2.1.0", "2.0.0"])
            link = await tracker.stub.GetDownloadLink(
                cpb.GetDownloadLinkRequest(
                    artifact_name="vizier",
                    version_str="2.1.0",
                    artifact_type=cpb.AT_CONTAINER_SET_TEMPLATE_YAMLS,
                )
            )
            chart = await asyncio.to_thread(lambda: urllib.request.urlopen(link.url).read())
            assert hashlib.sha256(chart).hexdigest() == link.sha256
            assert link.sha256 == lab.manifests["2.1.0"].chart["sha256"]
