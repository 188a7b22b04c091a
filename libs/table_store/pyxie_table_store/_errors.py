"""The table store's exceptions: one root, one subclass per way a caller can go wrong."""

from __future__ import annotations

__all__ = [
    "BatchTooLargeError",
    "BudgetError",
    "NoTimeColumnError",
    "NullValuesError",
    "SchemaMismatchError",
    "TableExistsError",
    "TableStoreError",
    "UnknownColumnError",
    "UnknownTableError",
]


class TableStoreError(Exception):
    """Root of every error raised by pyxie_table_store."""


class BudgetError(TableStoreError):
    """The memory budget cannot be split among the registered tables (a startup error)."""


class TableExistsError(TableStoreError):
    """A table with this name is already registered."""


class UnknownTableError(TableStoreError, KeyError):
    """No table with this name; the message lists the known tables."""

    def __str__(self) -> str:
        # KeyError would repr() the message and wrap it in quotes.
        return str(self.args[0]) if self.args else ""


class UnknownColumnError(TableStoreError, KeyError):
    """A requested column is not in the table; the message lists the available columns."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class BatchTooLargeError(TableStoreError, ValueError):
    """A single batch is larger than the table's whole byte limit; nothing was stored."""


class SchemaMismatchError(TableStoreError, ValueError):
    """A batch's columns do not match the table's; the message names each difference."""


class NullValuesError(TableStoreError, ValueError):
    """A batch carries nulls; Pixie tables have none (missing values are "" or 0)."""


class NoTimeColumnError(TableStoreError, ValueError):
    """A time range was asked of a table that has no time column."""
