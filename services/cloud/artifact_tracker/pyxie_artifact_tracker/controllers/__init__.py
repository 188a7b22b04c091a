"""The artifact tracker's domain: the manifest store and poller, and the gRPC servicer."""

from pyxie_artifact_tracker.controllers.manifest import (
    ArtifactStore,
    ManifestError,
    ManifestPoller,
    parse_manifest,
)
from pyxie_artifact_tracker.controllers.servicer import ArtifactTrackerServicer

__all__ = [
    "ArtifactStore",
    "ArtifactTrackerServicer",
    "ManifestError",
    "ManifestPoller",
    "parse_manifest",
]
