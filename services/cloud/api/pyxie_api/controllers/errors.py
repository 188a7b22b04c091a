"""Domain errors of the api that the service kit lacks, and gRPC status → domain error."""

from __future__ import annotations

from typing import Final

import grpc
from pyxie_service import (
    Aborted,
    AlreadyExists,
    DeadlineExceeded,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    OutOfRange,
    PermissionDenied,
    ResourceExhausted,
    ServiceError,
    Unauthenticated,
    Unavailable,
    Unimplemented,
)

__all__ = ["Cancelled", "Internal", "error_for_code", "error_for_status"]


class Internal(ServiceError):
    """A vizier reported an internal error (its message is meant for the caller)."""

    code = grpc.StatusCode.INTERNAL


class Cancelled(ServiceError):
    code = grpc.StatusCode.CANCELLED


_BY_CODE: Final[dict[grpc.StatusCode, type[ServiceError]]] = {
    cls.code: cls
    for cls in (
        Aborted,
        AlreadyExists,
        Cancelled,
        DeadlineExceeded,
        FailedPrecondition,
        Internal,
        InvalidArgument,
        NotFound,
        OutOfRange,
        PermissionDenied,
        ResourceExhausted,
        Unauthenticated,
        Unavailable,
        Unimplemented,
    )
}
_BY_NUMBER: Final = {code.value[0]: code for code in grpc.StatusCode}

# Codes whose message an internal service writes for the end caller; others are its own
# business and are not repeated outside.
_CALLER_FACING: Final = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.OUT_OF_RANGE,
    }
)


def error_for_code(number: int, message: str) -> ServiceError:
    """The domain error for a numeric gRPC code (as a vizier's `Status.code` carries it)."""
    code = _BY_NUMBER.get(number, grpc.StatusCode.UNKNOWN)
    cls = _BY_CODE.get(code)
    return cls(message) if cls is not None else ServiceError(message)


def error_for_status(code: grpc.StatusCode, details: str, *, backend: str) -> ServiceError:
    """What the api's caller sees when an internal service answered `code`."""
    if code in _CALLER_FACING:
        return _BY_CODE[code](details)
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return Unavailable(f"the {backend} service is unavailable; retry shortly")
    return Internal(f"the {backend} service failed")
