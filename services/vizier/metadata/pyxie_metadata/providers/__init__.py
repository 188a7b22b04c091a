"""Metadata providers: the local host (processes grouped into pods/services) or Kubernetes."""

from pyxie_metadata.providers._base import (
    MetadataProvider,
    ScopedUpdate,
    UpdateSink,
    update_key,
)

__all__ = ["MetadataProvider", "ScopedUpdate", "UpdateSink", "update_key"]
