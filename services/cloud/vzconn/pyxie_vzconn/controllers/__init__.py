"""vzconn's servicer, the bridge sessions and the client of vzmgr."""

from pyxie_service.lanes import LanesClosed, PriorityLanes

from pyxie_vzconn.controllers.bridge import (
    DEPLOY_KEY_METADATA_KEY,
    REGISTER_ACK_TOPIC,
    REGISTER_TOPIC,
    BridgeServicer,
)
from pyxie_vzconn.controllers.subjects import shard_of, v2c_subject
from pyxie_vzconn.controllers.vzmgr_client import GrpcVzmgrClient, VzmgrClient

__all__ = [
    "DEPLOY_KEY_METADATA_KEY",
    "REGISTER_ACK_TOPIC",
    "REGISTER_TOPIC",
    "BridgeServicer",
    "GrpcVzmgrClient",
    "LanesClosed",
    "PriorityLanes",
    "VzmgrClient",
    "shard_of",
    "v2c_subject",
]
