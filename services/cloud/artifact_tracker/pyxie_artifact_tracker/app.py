"""`build`: the artifact tracker's only composition root (`__main__` and `testing`)."""

from __future__ import annotations

from pyxie_service import BackgroundTask, Service

from pyxie_artifact_tracker.controllers import (
    ArtifactStore,
    ArtifactTrackerServicer,
    ManifestPoller,
)
from pyxie_artifact_tracker.controllers.manifest import Fetch, fetch_url
from pyxie_artifact_tracker.controllers.servicer import PUBLIC_METHODS
from pyxie_artifact_tracker.settings import ArtifactTrackerSettings

__all__ = ["build"]


async def build(settings: ArtifactTrackerSettings, *, fetch: Fetch = fetch_url) -> Service:
    """The store, its manifest poller (when a manifest URL is set) and the public servicer.

    `fetch` is the test seam for the manifest's transport."""
    store = ArtifactStore(settings.pinned_versions())
    servicer = ArtifactTrackerServicer(
        store, link_valid_seconds=settings.download_link_valid_seconds
    )
    service = Service(
        settings,
        [servicer.registration()],
        name="artifact-tracker",
        public_methods=PUBLIC_METHODS,
    )
    if settings.artifact_manifest_url:
        poller = ManifestPoller(
            store,
            settings.artifact_manifest_url,
            settings.manifest_sha_url(),
            timeout_seconds=settings.manifest_fetch_timeout_seconds,
            fetch=fetch,
        )
        service.add_task(
            BackgroundTask.periodic(
                "artifact-manifest-poller",
                poller.tick,
                interval_seconds=settings.manifest_poll_seconds,
            )
        )
    return service
