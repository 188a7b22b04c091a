"""vzconn's servicer, the bridge sessions and the client of vzmgr."""

from pyxie_service.lanes import LanesClosed, PriorityLanes

from pyxie_vzconn.controllers.bridge import DEPLOY_KEY_METADATA_KEY, BridgeServicer
from pyxie_vzconn.controllers.vzmgr_client import GrpcVzmgrClient, VzmgrClient

__all__ = [
    "DEPLOY_KEY_METADATA_KEY",
    "BridgeServicer",
    "GrpcVzmgrClient",
    "LanesClosed",
    "PriorityLanes",
    "VzmgrClient",
]
