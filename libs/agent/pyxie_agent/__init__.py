"""pyxie_agent: the agent core shared by the PEM and Kelvin services.

`Agent` registers with the metadata service over NATS, heartbeats (with the table schema and
process events), applies metadata updates (`MetadataApplier`) and hands ExecuteQueryRequests to
a `QueryRunner`, which executes them on Carnot and reports exec stats or errors to the plan's
result sinks. `StatsCollectingRouter` is Kelvin's ResultSinkService. `AgentService` starts the
agent once the gRPC server is up; `ServiceCallCredentials` signs outbound calls.
"""

from ._auth import ServiceCallCredentials
from ._engine import AgentEngine, EngineOptions, build_agent_engine
from ._errors import AgentError, AgentExpiredError, RegistrationTimeoutError
from ._heartbeat import HeartbeatTracker, SchemaSource, schema_fingerprint
from ._metadata import MetadataApplier, StartTimeLookup, proc_start_time_ticks
from ._query import (
    DEFAULT_RESULT_RPC_TIMEOUT_S,
    DEFAULT_STATS_WAIT_S,
    CallMetadata,
    ChannelFactory,
    QueryRunner,
    SinkTarget,
    grpc_sink_targets,
)
from ._router import StatsCollectingRouter
from .agent import (
    DEFAULT_HEARTBEAT_INTERVAL_S,
    DEFAULT_REGISTRATION_JITTER_MAX_S,
    DEFAULT_REGISTRATION_TIMEOUT_S,
    EXIT_AGENT_FATAL,
    Agent,
    AgentConfig,
    AgentService,
    ExitOnFatal,
    ProcessEventSource,
)
from .settings import AgentSettings, detect_host_ip

__all__ = [
    "DEFAULT_HEARTBEAT_INTERVAL_S",
    "DEFAULT_REGISTRATION_JITTER_MAX_S",
    "DEFAULT_REGISTRATION_TIMEOUT_S",
    "DEFAULT_RESULT_RPC_TIMEOUT_S",
    "DEFAULT_STATS_WAIT_S",
    "EXIT_AGENT_FATAL",
    "Agent",
    "AgentConfig",
    "AgentEngine",
    "AgentError",
    "AgentExpiredError",
    "AgentService",
    "AgentSettings",
    "CallMetadata",
    "ChannelFactory",
    "EngineOptions",
    "ExitOnFatal",
    "HeartbeatTracker",
    "MetadataApplier",
    "ProcessEventSource",
    "QueryRunner",
    "RegistrationTimeoutError",
    "SchemaSource",
    "ServiceCallCredentials",
    "SinkTarget",
    "StartTimeLookup",
    "StatsCollectingRouter",
    "build_agent_engine",
    "detect_host_ip",
    "grpc_sink_targets",
    "proc_start_time_ticks",
    "schema_fingerprint",
]
