"""Install a vizier (or a cloud) from Pyxie's Helm charts: on Kubernetes or on this host.

``render`` runs Helm's engine in the tool venv (``deploy/helm/render.py``), ``to_podman``
turns the rendered objects into what ``podman kube play`` (podman 4.3) runs on one host, and
``Podman`` plays and removes them. ``px deploy`` / ``px delete`` are built on these.
"""

from pyxie_cli.kube._podman import PODMAN_DROPPED_KINDS, Podman, PodmanError, pod_name, to_podman
from pyxie_cli.kube._render import KubeError, RenderError, charts_dir, render

__all__ = [
    "PODMAN_DROPPED_KINDS",
    "KubeError",
    "Podman",
    "PodmanError",
    "RenderError",
    "charts_dir",
    "pod_name",
    "render",
    "to_podman",
]
