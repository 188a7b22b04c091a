"""pyxie_artifact_tracker: Pixie's `px.cloudapi.ArtifactTracker` (GetArtifactList,
GetDownloadLink) for the `vizier`, `cli` and `operator` artifacts, backed by an artifact
manifest (`manifest.json`, Pixie's format) that it polls: a Pyxie release repository
(`python -m pyxie_release`) publishes one, and any URL serving Pixie's format works.
"""

from pyxie_artifact_tracker.app import build
from pyxie_artifact_tracker.settings import DEFAULT_GRPC_PORT, ArtifactTrackerSettings

__all__ = ["DEFAULT_GRPC_PORT", "ArtifactTrackerSettings", "build"]
