"""How the PEM's table-store memory budget is split among tables (Pixie's `pem_manager.cc`)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from ._errors import BudgetError

__all__ = [
    "DEFAULT_COMPACTED_BATCH_BYTES",
    "DEFAULT_DATA_LIMIT_MB",
    "DEFAULT_HTTP_EVENTS_PERCENT",
    "DEFAULT_PROC_EXIT_EVENTS_LIMIT_BYTES",
    "DEFAULT_STIRLING_ERROR_LIMIT_BYTES",
    "HTTP_EVENTS_COMPACTED_BATCH_BYTES",
    "HTTP_EVENTS_TABLE",
    "KIB",
    "MAX_COLD_BATCHES_PER_COMPACTION",
    "MIB",
    "PROBE_STATUS_TABLE",
    "PROC_EXIT_EVENTS_TABLE",
    "STIRLING_ERROR_TABLE",
    "StoreBudget",
]

KIB = 1024
MIB = 1024 * KIB

# PL_TABLE_STORE_DATA_LIMIT_MB: Pixie's default for all table data on one PEM. Pixie counts a "MB"
# as 1024 * 1024 bytes. (Its config manager lowers it to 60 % of the PEM memory request.)
DEFAULT_DATA_LIMIT_MB = 1280
# PL_TABLE_STORE_HTTP_EVENTS_PERCENT: http_events is by far the busiest table, so Pixie reserves
# 40 % of the budget for it rather than an equal share.
DEFAULT_HTTP_EVENTS_PERCENT = 40
# PL_TABLE_STORE_STIRLING_ERROR_LIMIT_BYTES: collector status tables are tiny and low-rate; the
# 2 MiB is split in half between stirling_error and probe_status.
DEFAULT_STIRLING_ERROR_LIMIT_BYTES = 2 * MIB
# PL_TABLE_STORE_PROC_EXIT_EVENTS_LIMIT_BYTES: abnormal exits are rare; 10 MiB keeps days of them.
DEFAULT_PROC_EXIT_EVENTS_LIMIT_BYTES = 10 * MIB

# Cold batches are compacted to about this many bytes: large enough that per-batch Python and
# Arrow overhead vanishes in scans, small enough that evicting one frees memory in fine steps.
DEFAULT_COMPACTED_BATCH_BYTES = 64 * KIB
# http_events rows are large (headers, bodies), so Pixie uses a bigger minimum cold batch there.
HTTP_EVENTS_COMPACTED_BATCH_BYTES = 256 * KIB
# Pixie bounds one compaction call so the minute-timer never stalls the agent for long.
MAX_COLD_BATCHES_PER_COMPACTION = 256

HTTP_EVENTS_TABLE = "http_events"
STIRLING_ERROR_TABLE = "stirling_error"
PROBE_STATUS_TABLE = "probe_status"
PROC_EXIT_EVENTS_TABLE = "proc_exit_events"


@dataclass(frozen=True, slots=True)
class StoreBudget:
    """The byte budget of a table store and Pixie's rules for dividing it.

    Values arrive as numbers (the PEM's settings read `PL_TABLE_STORE_*`); this library never
    reads the environment.
    """

    data_limit_mb: int = DEFAULT_DATA_LIMIT_MB
    http_events_percent: int = DEFAULT_HTTP_EVENTS_PERCENT
    stirling_error_limit_bytes: int = DEFAULT_STIRLING_ERROR_LIMIT_BYTES
    proc_exit_events_limit_bytes: int = DEFAULT_PROC_EXIT_EVENTS_LIMIT_BYTES
    compacted_batch_bytes: int = DEFAULT_COMPACTED_BATCH_BYTES
    http_events_compacted_batch_bytes: int = HTTP_EVENTS_COMPACTED_BATCH_BYTES

    def __post_init__(self) -> None:
        if self.data_limit_mb <= 0:
            raise BudgetError(f"data_limit_mb must be positive, got {self.data_limit_mb}")
        if not 0 <= self.http_events_percent <= 100:
            raise BudgetError(
                f"http_events_percent must be within 0..100, got {self.http_events_percent}"
            )
        for name in (
            "stirling_error_limit_bytes",
            "proc_exit_events_limit_bytes",
            "compacted_batch_bytes",
            "http_events_compacted_batch_bytes",
        ):
            if getattr(self, name) < 0:
                raise BudgetError(f"{name} must not be negative, got {getattr(self, name)}")

    @property
    def total_bytes(self) -> int:
        return self.data_limit_mb * MIB

    def reserved_bytes(self, table_name: str) -> int | None:
        """The fixed allocation Pixie gives this table, or None if it gets an equal share."""
        if table_name == HTTP_EVENTS_TABLE:
            return self.total_bytes * self.http_events_percent // 100
        if table_name in (STIRLING_ERROR_TABLE, PROBE_STATUS_TABLE):
            return self.stirling_error_limit_bytes // 2
        if table_name == PROC_EXIT_EVENTS_TABLE:
            return self.proc_exit_events_limit_bytes
        return None

    def compacted_batch_size(self, table_name: str) -> int:
        if table_name == HTTP_EVENTS_TABLE:
            return self.http_events_compacted_batch_bytes
        return self.compacted_batch_bytes

    def allocate(
        self, table_names: Collection[str], explicit: Mapping[str, int] | None = None
    ) -> dict[str, int]:
        """Byte limit of every table in `table_names`.

        Tables with an `explicit` limit get it; http_events, stirling_error, probe_status and
        proc_exit_events get their reserved amounts; every other table gets an equal share of
        what remains. Only tables actually registered take from the budget. Raises BudgetError
        when the fixed allocations exceed the total or leave nothing for the other tables.
        """
        explicit = dict(explicit or {})
        limits: dict[str, int] = {}
        shared: list[str] = []
        for name in table_names:
            fixed = explicit[name] if name in explicit else self.reserved_bytes(name)
            if fixed is None:
                shared.append(name)
            else:
                limits[name] = fixed
        remainder = self.total_bytes - sum(limits.values())
        if remainder < 0:
            fixed_desc = ", ".join(f"{n}={b}" for n, b in sorted(limits.items()))
            raise BudgetError(
                f"table store budget of {self.total_bytes} bytes ({self.data_limit_mb} MB) is "
                f"smaller than the fixed table allocations ({fixed_desc}); "
                f"remainder would be {remainder} bytes"
            )
        if shared:
            share = remainder // len(shared)
            if share <= 0:
                raise BudgetError(
                    f"table store budget of {self.total_bytes} bytes leaves {remainder} bytes "
                    f"for {len(shared)} tables ({', '.join(sorted(shared))}): nothing to share"
                )
            for name in shared:
                limits[name] = share
        return limits
