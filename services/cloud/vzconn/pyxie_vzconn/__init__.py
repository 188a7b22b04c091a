"""pyxie_vzconn: the cloud end of every vizier's bridge (Pixie's vzconn-service).

`RegisterVizierDeployment` forwards a deploy key (`x-api-key`) to vzmgr; `NATSBridge` carries a
registered vizier's traffic between its stream and cloud NATS (`c2v.<id>.<topic>`,
`v2c.<shard>.<id>.<topic>`), over TLS with optional mTLS.
"""

from pyxie_vzconn.app import build
from pyxie_vzconn.settings import DEFAULT_GRPC_PORT, VzconnSettings

__all__ = ["DEFAULT_GRPC_PORT", "VzconnSettings", "build"]
