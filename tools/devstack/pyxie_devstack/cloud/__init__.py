"""The cloud part of the devstack: ``python -m pyxie_devstack.cloud up|down|status``.

(``python -m pyxie_devstack cloud …`` forwards here.) State under ``<state_dir>/cloud``.
"""

from pyxie_devstack.cloud._stack import DEFAULT_DOMAIN, CloudStack, GroupStatus
from pyxie_devstack.cloud._state import (
    Bootstrap,
    CloudEndpoints,
    ca_cert_path,
    cloud_dir,
    read_bootstrap,
    read_cloud_endpoints,
)
from pyxie_devstack.cloud.cli import main

__all__ = [
    "DEFAULT_DOMAIN",
    "Bootstrap",
    "CloudEndpoints",
    "CloudStack",
    "GroupStatus",
    "ca_cert_path",
    "cloud_dir",
    "main",
    "read_bootstrap",
    "read_cloud_endpoints",
]
