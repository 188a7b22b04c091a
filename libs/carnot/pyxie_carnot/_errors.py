"""The engine's exceptions: one root, one class per way a query can fail."""

from __future__ import annotations

import asyncio

__all__ = [
    "CarnotError",
    "PlanError",
    "QueryCancelled",
    "QueryMemoryExceeded",
    "QueryTimeout",
    "RemoteExecutionError",
    "TransferError",
    "UpstreamSilent",
    "status_code_of",
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


class UpstreamSilent(TransferError):
    """Agents that feed this query sent nothing for too long (one may have died mid-query)."""


class RemoteExecutionError(TransferError):
    """An agent sending to this query reported that its fragment failed (``ExecutionError``)."""

    def __init__(self, sender: str, message: str, code: int) -> None:
        super().__init__(f"agent {sender or '(unknown)'} failed: {message}")
        self.sender = sender
        self.remote_message = message
        self.code = code


# gRPC status code numbers carried in carnotpb.ExecutionError.code.
_CANCELLED, _INVALID_ARGUMENT, _DEADLINE_EXCEEDED = 1, 3, 4
_RESOURCE_EXHAUSTED, _INTERNAL, _UNAVAILABLE = 8, 13, 14


def status_code_of(error: BaseException) -> int:
    """The gRPC status code number that describes why a query failed with ``error``."""
    if isinstance(error, RemoteExecutionError):
        return error.code
    code = getattr(error, "grpc_code", None)
    if isinstance(error, CarnotError) and isinstance(code, int):
        return code
    if isinstance(error, QueryMemoryExceeded):
        return _RESOURCE_EXHAUSTED
    if isinstance(error, QueryTimeout):
        return _DEADLINE_EXCEEDED
    if isinstance(error, QueryCancelled | asyncio.CancelledError):
        return _CANCELLED
    if isinstance(error, PlanError):
        return _INVALID_ARGUMENT
    if isinstance(error, TransferError):
        return _UNAVAILABLE
    return _INTERNAL
