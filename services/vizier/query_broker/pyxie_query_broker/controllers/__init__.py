"""The broker's servicers and the logic behind them."""

from pyxie_query_broker.controllers.agent_tracker import (
    AgentTracker,
    DistributedState,
    TrackedAgent,
)
from pyxie_query_broker.controllers.executor import (
    AgentBus,
    ExecutorSettings,
    QueryExecutor,
)
from pyxie_query_broker.controllers.forwarder import (
    ActiveQuery,
    ForwarderSettings,
    MemoryBudget,
    QueryResultForwarder,
)
from pyxie_query_broker.controllers.passthrough import PassthroughProxy
from pyxie_query_broker.controllers.result_sink import ResultSinkServicer
from pyxie_query_broker.controllers.vizier_service import HealthChecker, VizierServicer

__all__ = [
    "ActiveQuery",
    "AgentBus",
    "AgentTracker",
    "DistributedState",
    "ExecutorSettings",
    "ForwarderSettings",
    "HealthChecker",
    "MemoryBudget",
    "PassthroughProxy",
    "QueryExecutor",
    "QueryResultForwarder",
    "ResultSinkServicer",
    "TrackedAgent",
    "VizierServicer",
]
