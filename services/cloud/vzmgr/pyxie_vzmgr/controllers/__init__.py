"""vzmgr's servicers and the logic they call."""

from pyxie_vzmgr.controllers.deploy_keys import DEPLOY_KEY_PREFIX, DeployKey, DeployKeyStore
from pyxie_vzmgr.controllers.naming import InvalidNameError, normalize_name, skeleton
from pyxie_vzmgr.controllers.registry import Provisioned, VizierRecord, VizierRegistry
from pyxie_vzmgr.controllers.servicers import (
    DeploymentKeyServicer,
    DeploymentServicer,
    VZMgrServicer,
)
from pyxie_vzmgr.controllers.status import HeartbeatListener, StatusMonitor

__all__ = [
    "DEPLOY_KEY_PREFIX",
    "DeployKey",
    "DeployKeyStore",
    "DeploymentKeyServicer",
    "DeploymentServicer",
    "HeartbeatListener",
    "InvalidNameError",
    "Provisioned",
    "StatusMonitor",
    "VZMgrServicer",
    "VizierRecord",
    "VizierRegistry",
    "normalize_name",
    "skeleton",
]
