"""Pixie's artifact manifest: parsing, ordering, prerelease and type filters."""

from __future__ import annotations

import json

import pytest
from pyxie_artifact_tracker.controllers import ArtifactStore, ManifestError, parse_manifest
from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb

PIXIE_STYLE = [
    {
        "name": "vizier",
        "artifact": [
            {
                "timestamp": "2024-01-02T03:04:05Z",
                "commitHash": "abc",
                "versionStr": "0.14.9",
                "changelog": "fixes",
                "availableArtifactMirrors": [
                    {
                        "artifactType": "AT_CONTAINER_SET_TEMPLATE_YAMLS",
                        "sha256": "11",
                        "urls": ["https://example.com/vizier-0.14.9.tar"],
                    }
                ],
            },
            {"versionStr": "0.15.0-rc1", "availableArtifacts": ["AT_CONTAINER_SET_YAMLS"]},
            {
                "versionStr": "0.14.10",
                "availableArtifacts": ["AT_CONTAINER_SET_YAMLS"],
                "someFutureField": 1,
            },
        ],
    },
    {
        "name": "cli",
        "artifact": [
            {
                "versionStr": "0.8.1",
                "availableArtifactMirrors": [
                    {"artifactType": "AT_DARWIN_ARM64", "sha256": "22", "urls": ["cli/px-arm"]},
                    {"artifactType": "AT_LINUX_AMD64", "sha256": "33", "urls": ["cli/px"]},
                ],
            }
        ],
    },
]


def test_artifact_tracker_parses_pixies_manifest_newest_first() -> None:
    sets = parse_manifest(json.dumps(PIXIE_STYLE).encode(), "https://repo.example/a/manifest.json")
    assert [a.version_str for a in sets["vizier"].artifact] == ["0.15.0-rc1", "0.14.10", "0.14.9"]
    newest_release = sets["vizier"].artifact[2]
    assert newest_release.commit_hash == "abc"
    assert newest_release.timestamp.seconds == 1704164645
    mirrors = sets["cli"].artifact[0].available_artifact_mirrors
    # Pixie's AT_DARWIN_ARM64 is not in the public proto: its mirror has type AT_UNKNOWN.
    assert [m.artifact_type for m in mirrors] == [cpb.AT_UNKNOWN, cpb.AT_LINUX_AMD64]
    assert mirrors[1].urls == ["https://repo.example/a/cli/px"]


def test_artifact_tracker_list_drops_prereleases_and_filters_by_type() -> None:
    store = ArtifactStore()
    store.replace(parse_manifest(json.dumps(PIXIE_STYLE).encode()), "x")
    every = store.artifact_list("vizier", cpb.AT_UNKNOWN, 0)
    assert every is not None
    assert [a.version_str for a in every.artifact] == ["0.14.10", "0.14.9"]
    templates = store.artifact_list("vizier", cpb.AT_CONTAINER_SET_TEMPLATE_YAMLS, 0)
    assert templates is not None
    assert [a.version_str for a in templates.artifact] == ["0.14.9"]
    latest = store.artifact_list("vizier", cpb.AT_UNKNOWN, 1)
    assert latest is not None
    assert [a.version_str for a in latest.artifact] == ["0.14.10"]
    assert store.artifact_list("operator", cpb.AT_UNKNOWN, 0) is None
    assert store.find("vizier", "0.14.9") is not None
    assert store.find("vizier", "v0.14.9") is not None
    assert store.find("vizier", "9.9.9") is None


def test_artifact_tracker_pinned_version_skips_the_manifest() -> None:
    store = ArtifactStore({"vizier": "1.2.3"})
    store.replace(parse_manifest(json.dumps(PIXIE_STYLE).encode()), "x")
    pinned = store.artifact_list("vizier", cpb.AT_CONTAINER_SET_YAMLS, 0)
    assert pinned is not None
    assert [a.version_str for a in pinned.artifact] == ["1.2.3"]


@pytest.mark.parametrize(
    "data",
    [b"not json", b'{"name": "vizier"}', b'[{"artifact": []}]', b'[{"name": "x", "artifact": 3}]'],
)
def test_artifact_tracker_rejects_malformed_manifests(data: bytes) -> None:
    with pytest.raises(ManifestError):
        parse_manifest(data)
