"""The table store: named tables sharing one memory budget."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

import pyarrow as pa
from pyxie_types import TableSchema

from ._budget import StoreBudget
from ._errors import TableExistsError, UnknownTableError
from ._table import Table, TableStats

__all__ = ["TableStore"]


class TableStore:
    """Tables by name, each bounded by its share of one `StoreBudget`.

    Limits follow Pixie's rules (see `StoreBudget.allocate`). Adding a table without an explicit
    `max_bytes` re-divides the shared remainder, so the equal-share tables already present may
    shrink (evicting their oldest rows at once). Register every collector's schema up front with
    `from_schemas` / `add_tables` so the split is computed once, as Pixie does at startup.
    """

    def __init__(self, budget: StoreBudget | None = None) -> None:
        self._budget = budget if budget is not None else StoreBudget()
        self._lock = threading.Lock()
        self._tables: dict[str, Table] = {}
        self._explicit_limits: dict[str, int] = {}

    @classmethod
    def from_schemas(
        cls,
        schemas: Iterable[TableSchema],
        budget: StoreBudget | None = None,
        max_bytes: Mapping[str, int] | None = None,
    ) -> TableStore:
        """A store holding `schemas`, with the budget divided among all of them at once."""
        store = cls(budget)
        store.add_tables(schemas, max_bytes)
        return store

    @property
    def budget(self) -> StoreBudget:
        return self._budget

    def add_table(self, schema: TableSchema, max_bytes: int | None = None) -> Table:
        """Register one table; `max_bytes` overrides its budget share."""
        limits = None if max_bytes is None else {schema.name: max_bytes}
        return self.add_tables([schema], limits)[0]

    def add_tables(
        self, schemas: Iterable[TableSchema], max_bytes: Mapping[str, int] | None = None
    ) -> list[Table]:
        """Register several tables and divide the budget once.

        Raises TableExistsError for a name already registered (or repeated), BudgetError when
        the budget cannot cover the tables; on error no table is added or resized.
        """
        new_schemas = list(schemas)
        explicit = dict(max_bytes or {})
        names = [s.name for s in new_schemas]
        unknown = sorted(set(explicit) - set(names))
        if unknown:
            raise ValueError(f"max_bytes given for tables not being added: {', '.join(unknown)}")
        for name, limit in explicit.items():
            if limit <= 0:
                raise ValueError(f"max_bytes of table {name!r} must be positive, got {limit}")
        with self._lock:
            seen: set[str] = set()
            for name in names:
                if name in self._tables or name in seen:
                    raise TableExistsError(f"table {name!r} is already registered")
                seen.add(name)
            all_explicit = {**self._explicit_limits, **explicit}
            limits = self._budget.allocate([*self._tables, *names], all_explicit)
            added = [
                Table(
                    schema,
                    limits[schema.name],
                    compacted_batch_bytes=self._budget.compacted_batch_size(schema.name),
                )
                for schema in new_schemas
            ]
            for name, table in self._tables.items():
                if table.max_bytes != limits[name]:
                    table.set_max_bytes(limits[name])
            self._explicit_limits = all_explicit
            for table in added:
                self._tables[table.name] = table
            return added

    def table(self, name: str) -> Table:
        try:
            return self._tables[name]
        except KeyError:
            known = ", ".join(sorted(self._tables)) or "none"
            raise UnknownTableError(f"no table {name!r}; known tables: {known}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._tables

    def tables(self) -> dict[str, Table]:
        return dict(self._tables)

    def schemas(self) -> dict[str, TableSchema]:
        return {name: table.schema for name, table in self._tables.items()}

    def append(self, name: str, batch: pa.RecordBatch) -> None:
        self.table(name).append(batch)

    def compact(self) -> int:
        """Compact every table (the agent calls this every minute); returns cold batches made."""
        return sum(table.compact() for table in list(self._tables.values()))

    def stats(self) -> dict[str, TableStats]:
        return {name: table.stats() for name, table in list(self._tables.items())}

    def total_bytes(self) -> int:
        return sum(s.bytes for s in self.stats().values())
