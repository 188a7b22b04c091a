"""`python -m pyxie_artifact_tracker`."""

from pyxie_service import run_service

from pyxie_artifact_tracker.app import build
from pyxie_artifact_tracker.settings import ArtifactTrackerSettings

if __name__ == "__main__":
    raise SystemExit(run_service(ArtifactTrackerSettings, build))
