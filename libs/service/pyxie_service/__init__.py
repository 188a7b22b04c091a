"""pyxie_service: the kit every Pyxie service is built on.

Settings from `PL_*` (`ServiceSettings`), structured logging, an aio gRPC server with the
standard interceptor chain (request id, access log, metrics, error mapping, JWT auth), health,
reflection, Prometheus metrics, two-stage shutdown (`Service`, `run_service`), NATS
(`NatsBus`), background loops (`BackgroundTask`) and the one mapping between domain errors and
gRPC status (`status_for_exception`, `error_for_code`, `error_for_status`).
"""

from pyxie_service.background import BackgroundTask
from pyxie_service.context import (
    current_claims,
    current_claims_or_none,
    current_request_id,
    require_claims,
)
from pyxie_service.errors import (
    INTERNAL_ERROR_DETAILS,
    Aborted,
    AlreadyExists,
    Cancelled,
    DataLoss,
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
    OutOfRange,
    PermissionDenied,
    ResourceExhausted,
    ServiceError,
    Unauthenticated,
    Unavailable,
    Unimplemented,
    error_for_code,
    error_for_status,
    status_for_exception,
)
from pyxie_service.interceptors import (
    ALWAYS_PUBLIC_SERVICES,
    AUTHORIZATION_METADATA_KEY,
    REQUEST_ID_METADATA_KEY,
    AuthInterceptor,
    RequestInterceptor,
    public,
)
from pyxie_service.log import LogFormat, LogLevel, configure_logging, get_logger
from pyxie_service.metrics import MetricsServer, RpcMetrics
from pyxie_service.natsbus import NatsBus
from pyxie_service.server import (
    EXIT_BAD_SETTINGS,
    EXIT_STARTUP_FAILED,
    Closer,
    Service,
    ServiceRegistration,
    freeze_startup_objects,
    run_service,
    serve_until_signalled,
)
from pyxie_service.settings import ServiceSettings, SettingsError

__all__ = [
    "ALWAYS_PUBLIC_SERVICES",
    "AUTHORIZATION_METADATA_KEY",
    "EXIT_BAD_SETTINGS",
    "EXIT_STARTUP_FAILED",
    "INTERNAL_ERROR_DETAILS",
    "REQUEST_ID_METADATA_KEY",
    "Aborted",
    "AlreadyExists",
    "AuthInterceptor",
    "BackgroundTask",
    "Cancelled",
    "Closer",
    "DataLoss",
    "DeadlineExceeded",
    "FailedPrecondition",
    "Internal",
    "InvalidArgument",
    "LogFormat",
    "LogLevel",
    "MetricsServer",
    "NatsBus",
    "NotFound",
    "OutOfRange",
    "PermissionDenied",
    "RequestInterceptor",
    "ResourceExhausted",
    "RpcMetrics",
    "Service",
    "ServiceError",
    "ServiceRegistration",
    "ServiceSettings",
    "SettingsError",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "configure_logging",
    "current_claims",
    "current_claims_or_none",
    "current_request_id",
    "error_for_code",
    "error_for_status",
    "freeze_startup_objects",
    "get_logger",
    "public",
    "require_claims",
    "run_service",
    "serve_until_signalled",
    "status_for_exception",
]
