"""Domain errors of every Pyxie service, and the one mapping from exceptions to gRPC status.

Handlers raise these; they never call `context.abort` themselves. The request interceptor turns
them into a status with `status_for_exception`. Their message goes back to the caller, so it must
be written for the caller. Any other exception becomes INTERNAL with a generic message.
"""

from __future__ import annotations

from typing import ClassVar, Final

import grpc
from pyxie_jwt import InvalidTokenError

__all__ = [
    "INTERNAL_ERROR_DETAILS",
    "Aborted",
    "AlreadyExists",
    "DeadlineExceeded",
    "FailedPrecondition",
    "InvalidArgument",
    "NotFound",
    "OutOfRange",
    "PermissionDenied",
    "ResourceExhausted",
    "ServiceError",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "status_for_exception",
]

# What a caller sees for a bug: nothing about the code or data that failed.
INTERNAL_ERROR_DETAILS: Final = "internal error"


class ServiceError(Exception):
    """Root of the domain errors. Raised directly it maps to UNKNOWN."""

    code: ClassVar[grpc.StatusCode] = grpc.StatusCode.UNKNOWN

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(ServiceError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(ServiceError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(ServiceError):
    code = grpc.StatusCode.ALREADY_EXISTS


class PermissionDenied(ServiceError):
    code = grpc.StatusCode.PERMISSION_DENIED


class Unauthenticated(ServiceError):
    code = grpc.StatusCode.UNAUTHENTICATED


class FailedPrecondition(ServiceError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class ResourceExhausted(ServiceError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unavailable(ServiceError):
    code = grpc.StatusCode.UNAVAILABLE


class DeadlineExceeded(ServiceError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class Aborted(ServiceError):
    code = grpc.StatusCode.ABORTED


class OutOfRange(ServiceError):
    code = grpc.StatusCode.OUT_OF_RANGE


class Unimplemented(ServiceError):
    code = grpc.StatusCode.UNIMPLEMENTED


def status_for_exception(exc: BaseException) -> tuple[grpc.StatusCode, str]:
    """The status code and caller-visible details for an exception a handler raised."""
    if isinstance(exc, ServiceError):
        return exc.code, exc.message
    if isinstance(exc, InvalidTokenError):
        # A handler verifying a token itself (e.g. one carried in a request body).
        return grpc.StatusCode.UNAUTHENTICATED, "invalid auth token"
    return grpc.StatusCode.INTERNAL, INTERNAL_ERROR_DETAILS
