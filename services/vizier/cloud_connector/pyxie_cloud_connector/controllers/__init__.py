"""The connector's parts: cloud channel and registration, bridge, health, passthrough."""

from pyxie_service.lanes import LanesClosed, PriorityLanes

from pyxie_cloud_connector.controllers.bridge import Backoff, BridgeClient, RegisterRefused
from pyxie_cloud_connector.controllers.health import HealthChecker, HealthReport
from pyxie_cloud_connector.controllers.passthrough import PassthroughProxy

__all__ = [
    "Backoff",
    "BridgeClient",
    "HealthChecker",
    "HealthReport",
    "LanesClosed",
    "PassthroughProxy",
    "PriorityLanes",
    "RegisterRefused",
]
