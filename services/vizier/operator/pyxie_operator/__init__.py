"""pyxie_operator: deploys a vizier from the chart, updates it only to verified releases (by
digest), watches its health and repairs it (crash loops, etcd quorum loss), on Kubernetes
(Kopf) or on one host (podman)."""

from pyxie_operator.app import Operator, build
from pyxie_operator.settings import OperatorSettings

__all__ = ["Operator", "OperatorSettings", "build"]
