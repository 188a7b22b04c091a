"""The engine's exceptions: one root, one class per way a query can fail."""

from __future__ import annotations

__all__ = [
    "CarnotError",
    "PlanError",
    "QueryCancelled",
    "QueryMemoryExceeded",
    "QueryTimeout",
    "TransferError",
]


class CarnotError(Exception):
    """Root of every error the engine raises for a query."""


class PlanError(CarnotError):
    """The plan is malformed: unknown parent, missing relation, unknown function overload..."""


class QueryCancelled(CarnotError):
    """The query was cancelled through ``Carnot.cancel``."""


class QueryTimeout(CarnotError):
    """The query ran past ``ExecutionOptions.timeout_ns``."""


class QueryMemoryExceeded(CarnotError):
    """The operators of a query hold more bytes than its memory budget allows."""


class TransferError(CarnotError):
    """Sending row batches to another agent or to the query broker failed."""
