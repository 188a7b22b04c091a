"""pyxie_cloud_connector: the vizier's link to the cloud (Pixie's vizier-cloud-connector).

Registers the vizier once with a deploy key and keeps the identity the cloud issues (vizier id,
name, JWT signing key) in a 0600 state file; keeps one TLS (optionally mTLS) `NATSBridge`
stream to vzconn with heartbeats; and bridges vizier NATS `v2c.>` / `c2v.<topic>` to the
cloud (the query broker answers the passthrough requests). `app.build` is the composition root.
"""

from pyxie_cloud_connector.app import CloudConnector, MissingDeployKeyError, build
from pyxie_cloud_connector.settings import DEFAULT_GRPC_PORT, ConnectorSettings
from pyxie_cloud_connector.state import StateError, VizierIdentity, load_identity, save_identity

__all__ = [
    "DEFAULT_GRPC_PORT",
    "CloudConnector",
    "ConnectorSettings",
    "MissingDeployKeyError",
    "StateError",
    "VizierIdentity",
    "build",
    "load_identity",
    "save_identity",
]
