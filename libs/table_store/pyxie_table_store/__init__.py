"""In-memory columnar tables with Pixie's byte budgets and ring-buffer eviction (Arrow).

Collectors `append` record batches; queries read them through cursors (time-bounded,
column-selected, optionally streaming). Each table keeps its bytes under a limit by evicting its
oldest rows, and `compact()` folds small appended batches into larger cold ones.
"""

from ._budget import (
    DEFAULT_COMPACTED_BATCH_BYTES,
    DEFAULT_DATA_LIMIT_MB,
    DEFAULT_HTTP_EVENTS_PERCENT,
    DEFAULT_PROC_EXIT_EVENTS_LIMIT_BYTES,
    DEFAULT_STIRLING_ERROR_LIMIT_BYTES,
    HTTP_EVENTS_COMPACTED_BATCH_BYTES,
    MAX_COLD_BATCHES_PER_COMPACTION,
    StoreBudget,
)
from ._errors import (
    BatchTooLargeError,
    BudgetError,
    NoTimeColumnError,
    NullValuesError,
    SchemaMismatchError,
    TableExistsError,
    TableStoreError,
    UnknownColumnError,
    UnknownTableError,
)
from ._store import TableStore
from ._table import Cursor, Table, TableStats

__all__ = [
    "DEFAULT_COMPACTED_BATCH_BYTES",
    "DEFAULT_DATA_LIMIT_MB",
    "DEFAULT_HTTP_EVENTS_PERCENT",
    "DEFAULT_PROC_EXIT_EVENTS_LIMIT_BYTES",
    "DEFAULT_STIRLING_ERROR_LIMIT_BYTES",
    "HTTP_EVENTS_COMPACTED_BATCH_BYTES",
    "MAX_COLD_BATCHES_PER_COMPACTION",
    "BatchTooLargeError",
    "BudgetError",
    "Cursor",
    "NoTimeColumnError",
    "NullValuesError",
    "SchemaMismatchError",
    "StoreBudget",
    "Table",
    "TableExistsError",
    "TableStats",
    "TableStore",
    "TableStoreError",
    "UnknownColumnError",
    "UnknownTableError",
]
