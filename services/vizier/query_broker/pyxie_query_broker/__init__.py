"""pyxie_query_broker: compiles PxL, dispatches plans to agents, forwards their results.

Serves `px.api.vizierpb.VizierService` (ExecuteScript, HealthCheck) and the agents'
`ResultSinkService` on one port (50300), and the cloud's passthrough requests from vizier NATS.
Run it with `python -m pyxie_query_broker` (`app.build` is the composition root).
"""

from pyxie_query_broker.app import TRACKER_SERVICE_ID, QueryBroker, advertised_address, build
from pyxie_query_broker.settings import DEFAULT_GRPC_PORT, BrokerSettings

__all__ = [
    "DEFAULT_GRPC_PORT",
    "TRACKER_SERVICE_ID",
    "BrokerSettings",
    "QueryBroker",
    "advertised_address",
    "build",
]
