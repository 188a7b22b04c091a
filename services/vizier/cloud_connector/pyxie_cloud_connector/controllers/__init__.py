"""The connector's parts: cloud channel and registration, bridge, health."""

from pyxie_service.lanes import LanesClosed, PriorityLanes

from pyxie_cloud_connector.controllers.bridge import Backoff, BridgeClient, RegisterRefused
from pyxie_cloud_connector.controllers.health import HealthChecker, HealthReport

__all__ = [
    "Backoff",
    "BridgeClient",
    "HealthChecker",
    "HealthReport",
    "LanesClosed",
    "PriorityLanes",
    "RegisterRefused",
]
