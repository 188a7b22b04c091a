"""Where a vizier runs: ``PodmanBackend`` (one host) and ``KubernetesBackend``."""

from pyxie_operator.backends.kubernetes import KubernetesBackend
from pyxie_operator.backends.podman import PodmanBackend

__all__ = ["KubernetesBackend", "PodmanBackend"]
