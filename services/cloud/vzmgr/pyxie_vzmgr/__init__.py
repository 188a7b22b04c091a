"""pyxie_vzmgr: the vizier registry of the cloud (Pixie's vzmgr-service).

Deploy keys, vizier provisioning (ProvisionOrClaimVizier), platform-wide vizier names, each
vizier's JWT signing key (encrypted at rest), bridge registration, heartbeats and statuses.
"""

from pyxie_vzmgr.app import build
from pyxie_vzmgr.settings import DEFAULT_GRPC_PORT, DEFAULT_JWT_AUDIENCE, VzmgrSettings

__all__ = ["DEFAULT_GRPC_PORT", "DEFAULT_JWT_AUDIENCE", "VzmgrSettings", "build"]
