"""The metadata state that metadata functions (upid_to_pod_name, ip_to_pod_id, ...) read.

PEMs and Kelvin fill an implementation from the metadata service's updates; tests and the
single-process runner fill one by hand. Pixie's formats: pod and service names are ``ns/name``.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["MetadataState"]


class MetadataState(Protocol):
    """Read-only view the metadata UDFs query; the full surface is defined with the builtins."""

    def hostname(self) -> str: ...
