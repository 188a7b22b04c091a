"""Carnot, the query engine: executes planpb plans over Arrow record batches.

``Carnot(registry, table_store).execute(plan)`` runs one agent's plan and returns its memory-sink
tables and execution stats. Kelvin hosts a ``ResultSinkServer`` that routes the batches PEMs
stream to it into its plans' GRPC sources (the query broker receives result tables itself).
"""

from ._carnot import Carnot, ExecutionResult, run_plan
from ._errors import (
    CarnotError,
    PlanError,
    QueryCancelled,
    QueryMemoryExceeded,
    QueryTimeout,
    RemoteExecutionError,
    TransferError,
    UpstreamSilent,
    status_code_of,
)
from ._exec._base import DEFAULT_BATCH_ROWS, DEFAULT_MEMORY_BUDGET_BYTES
from ._exec._grpc import (
    KEEPALIVE_OPTIONS,
    MAX_MESSAGE_BYTES,
    ResultSinkServer,
    SourceItem,
    batch_from_ipc,
    batch_to_ipc,
)
from ._exec._otel import (
    DEFAULT_EXPORT_BYTES,
    DEFAULT_ORG_BYTES_PER_MINUTE,
    OTelExportBudget,
    OTelExportError,
    RetryPolicy,
)
from .context import FunctionContext
from .registry import Registry

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "DEFAULT_EXPORT_BYTES",
    "DEFAULT_MEMORY_BUDGET_BYTES",
    "DEFAULT_ORG_BYTES_PER_MINUTE",
    "KEEPALIVE_OPTIONS",
    "MAX_MESSAGE_BYTES",
    "Carnot",
    "CarnotError",
    "ExecutionResult",
    "FunctionContext",
    "OTelExportBudget",
    "OTelExportError",
    "PlanError",
    "QueryCancelled",
    "QueryMemoryExceeded",
    "QueryTimeout",
    "Registry",
    "RemoteExecutionError",
    "ResultSinkServer",
    "RetryPolicy",
    "SourceItem",
    "TransferError",
    "UpstreamSilent",
    "batch_from_ipc",
    "batch_to_ipc",
    "run_plan",
    "status_code_of",
]
