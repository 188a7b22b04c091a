"""The broker's errors: pyxie_service's domain errors plus the codes agents may report."""

from __future__ import annotations

import grpc
from pyxie_service import (
    Aborted,
    DeadlineExceeded,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    ServiceError,
    Unavailable,
)

__all__ = ["Cancelled", "Internal", "error_for_code"]


class Internal(ServiceError):
    """An agent's fragment failed for a reason it reports as INTERNAL (its message is kept)."""

    code = grpc.StatusCode.INTERNAL


class Cancelled(ServiceError):
    code = grpc.StatusCode.CANCELLED


_BY_CODE: dict[int, type[ServiceError]] = {
    grpc.StatusCode.CANCELLED.value[0]: Cancelled,
    grpc.StatusCode.INVALID_ARGUMENT.value[0]: InvalidArgument,
    grpc.StatusCode.DEADLINE_EXCEEDED.value[0]: DeadlineExceeded,
    grpc.StatusCode.NOT_FOUND.value[0]: NotFound,
    grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]: ResourceExhausted,
    grpc.StatusCode.FAILED_PRECONDITION.value[0]: FailedPrecondition,
    grpc.StatusCode.ABORTED.value[0]: Aborted,
    grpc.StatusCode.UNAVAILABLE.value[0]: Unavailable,
}


def error_for_code(code: int, message: str) -> ServiceError:
    """The domain error for a gRPC code number an agent reported (INTERNAL when unknown)."""
    return _BY_CODE.get(code, Internal)(message)
