"""Domain errors of every Pyxie service, and the one mapping between them and gRPC status.

Handlers raise these; they never call `context.abort` themselves. The request interceptor turns
them into a status with `status_for_exception`. Their message goes back to the caller, so it must
be written for the caller. Any other exception becomes INTERNAL with a generic message.

The other direction, a status some other process reported → a domain error, comes in two forms:

- `error_for_code(code, message)`: a status a trusted peer wrote *for the end caller* (an agent's
  fragment status, a vizier's `Status` in a response). Every gRPC failure code maps to the domain
  error of the same code and the message is kept. A code that is not a failure code (OK, or a
  number gRPC does not define) becomes `ServiceError` with code UNKNOWN, as gRPC's own clients
  treat a code they do not know.
- `error_for_status(code, details, backend=...)`: the status of a downstream RPC that a proxy made
  on the caller's behalf. Codes whose message is written for the caller (INVALID_ARGUMENT,
  NOT_FOUND, ...) pass through with their message; UNAVAILABLE and DEADLINE_EXCEEDED become
  UNAVAILABLE "the <backend> service is unavailable; retry shortly"; every other code (INTERNAL,
  UNKNOWN, CANCELLED, ...) becomes INTERNAL "the <backend> service failed", because the backend's
  own failures are not the caller's business.
"""

from __future__ import annotations

from typing import ClassVar, Final

import grpc
from pyxie_jwt import InvalidTokenError

__all__ = [
    "INTERNAL_ERROR_DETAILS",
    "Aborted",
    "AlreadyExists",
    "Cancelled",
    "DataLoss",
    "DeadlineExceeded",
    "FailedPrecondition",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "OutOfRange",
    "PermissionDenied",
    "ResourceExhausted",
    "ServiceError",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "error_for_code",
    "error_for_status",
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


class Cancelled(ServiceError):
    code = grpc.StatusCode.CANCELLED


class Internal(ServiceError):
    """An INTERNAL status whose message is meant for the caller (e.g. an agent's report).

    A handler's own bug is never raised as this: it is any other exception, which the
    interceptor reports as INTERNAL with `INTERNAL_ERROR_DETAILS`.
    """

    code = grpc.StatusCode.INTERNAL


class DataLoss(ServiceError):
    code = grpc.StatusCode.DATA_LOSS


# Every failure code has exactly one domain error; UNKNOWN is the root class itself.
_ERROR_FOR_CODE: Final[dict[grpc.StatusCode, type[ServiceError]]] = {
    cls.code: cls
    for cls in (
        ServiceError,
        Cancelled,
        InvalidArgument,
        DeadlineExceeded,
        NotFound,
        AlreadyExists,
        PermissionDenied,
        ResourceExhausted,
        FailedPrecondition,
        Aborted,
        OutOfRange,
        Unimplemented,
        Internal,
        Unavailable,
        DataLoss,
        Unauthenticated,
    )
}
_CODE_FOR_NUMBER: Final = {code.value[0]: code for code in grpc.StatusCode}

# Codes whose details a backend writes for the end caller; a proxy passes them on.
CALLER_FACING_CODES: Final = frozenset(
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


def error_for_code(code: grpc.StatusCode | int, message: str) -> ServiceError:
    """The domain error for a status a trusted peer reported for the caller (message kept).

    `code` is a `grpc.StatusCode` or its number (as `Status.code` in a message carries it).
    OK and numbers gRPC does not define become UNKNOWN (`ServiceError`).
    """
    if not isinstance(code, grpc.StatusCode):
        code = _CODE_FOR_NUMBER.get(code, grpc.StatusCode.UNKNOWN)
    return _ERROR_FOR_CODE.get(code, ServiceError)(message)


def error_for_status(code: grpc.StatusCode, details: str, *, backend: str) -> ServiceError:
    """What a proxy's caller sees when the `backend` service answered `code` with `details`."""
    if code in CALLER_FACING_CODES:
        return _ERROR_FOR_CODE[code](details)
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return Unavailable(f"the {backend} service is unavailable; retry shortly")
    return Internal(f"the {backend} service failed")


def status_for_exception(exc: BaseException) -> tuple[grpc.StatusCode, str]:
    """The status code and caller-visible details for an exception a handler raised."""
    if isinstance(exc, ServiceError):
        return exc.code, exc.message
    if isinstance(exc, InvalidTokenError):
        # A handler verifying a token itself (e.g. one carried in a request body).
        return grpc.StatusCode.UNAUTHENTICATED, "invalid auth token"
    return grpc.StatusCode.INTERNAL, INTERNAL_ERROR_DETAILS
