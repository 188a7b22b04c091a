"""pyxie_query_broker: compiles PxL, dispatches plans to agents, forwards their results.

Serves `px.api.vizierpb.VizierService` (ExecuteScript, HealthCheck) and the agents'
`ResultSinkService` on one port (50300). Run it with `python -m pyxie_query_broker`.
"""

from pyxie_query_broker.broker import TRACKER_SERVICE_ID, QueryBroker, advertised_address
from pyxie_query_broker.settings import DEFAULT_GRPC_PORT, BrokerSettings

__all__ = [
    "DEFAULT_GRPC_PORT",
    "TRACKER_SERVICE_ID",
    "BrokerSettings",
    "QueryBroker",
    "advertised_address",
]
