"""The aio gRPC server kit: build, start, health, reflection, metrics, two-stage shutdown.

A service's `__main__` calls `run_service(SettingsType, wire)`; `wire` builds the clients and
returns a `Service`. Tests build a `Service` directly and call `start()` / `stop()`.
"""

from __future__ import annotations

import asyncio
import faulthandler
import gc
import signal
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, TypeVar

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio  # type: ignore[attr-defined]
from grpc_reflection.v1alpha import reflection
from prometheus_client import CollectorRegistry
from pyxie_jwt import TokenVerifier

from pyxie_service.background import BackgroundTask
from pyxie_service.interceptors import AuthInterceptor, RequestInterceptor
from pyxie_service.log import configure_logging, get_logger
from pyxie_service.metrics import MetricsServer, RpcMetrics, new_registry
from pyxie_service.settings import ServiceSettings, SettingsError

__all__ = [
    "EXIT_BAD_SETTINGS",
    "EXIT_STARTUP_FAILED",
    "Closer",
    "Service",
    "ServiceRegistration",
    "freeze_startup_objects",
    "run_service",
    "serve_until_signalled",
]

if TYPE_CHECKING:
    _GenericHandler = grpc.GenericRpcHandler[Any, Any]
    _Interceptor = grpc.aio.ServerInterceptor[Any, Any]

Closer = Callable[[], Awaitable[None]]
_S = TypeVar("_S", bound=ServiceSettings)

# Exit codes of run_service, so that supervisors can tell configuration from runtime failures.
EXIT_BAD_SETTINGS: Final = 2
EXIT_STARTUP_FAILED: Final = 1

_HEALTH_SERVICE_NAME: Final = "grpc.health.v1.Health"

_log = get_logger("pyxie.service")


@dataclass(frozen=True, slots=True)
class ServiceRegistration:
    """One gRPC service to serve: its full proto name and how to add it to a server.

    For generated code: `ServiceRegistration("px.api.vizierpb.VizierService",
    lambda server: vizierapi_pb2_grpc.add_VizierServiceServicer_to_server(servicer, server))`.
    """

    name: str
    add_to_server: Callable[[grpc.aio.Server], None]

    @classmethod
    def from_generic_handler(cls, name: str, handler: _GenericHandler) -> ServiceRegistration:
        def add(server: grpc.aio.Server) -> None:
            server.add_generic_rpc_handlers((handler,))

        return cls(name, add)


class Service:
    """One gRPC server with the standard chain, health, reflection and metrics.

    Background tasks (`add_task`) start once the server is serving. Shutdown (`stop`) runs in
    two stages: health turns NOT_SERVING and, after the drain delay, the server stops taking RPCs
    while in-flight ones get the grace period; then the background tasks are stopped and the
    registered closers run (last registered first) under a hard deadline.
    """

    def __init__(
        self,
        settings: ServiceSettings,
        registrations: Sequence[ServiceRegistration],
        *,
        name: str,
        verifier: TokenVerifier | None = None,
        public_methods: Iterable[str] = (),
        server_credentials: grpc.ServerCredentials | None = None,
        extra_interceptors: Sequence[_Interceptor] = (),
        server_options: Sequence[tuple[str, int | str]] = (),
    ) -> None:
        names = [registration.name for registration in registrations]
        if len(set(names)) != len(names):
            raise ValueError(f"service registered twice: {names}")
        self.name = name
        # Channel arguments for the server, e.g. ("grpc.max_receive_message_length", n).
        self._server_options = tuple(server_options)
        self._settings = settings
        self._registrations = tuple(registrations)
        self._credentials = server_credentials
        self.metrics_registry: CollectorRegistry = new_registry()
        self._metrics_server = (
            MetricsServer(
                self.metrics_registry, host=settings.metrics_host, port=settings.metrics_port
            )
            if settings.metrics_enabled
            else None
        )
        self._interceptors: list[_Interceptor] = [
            RequestInterceptor(RpcMetrics(self.metrics_registry)),
            AuthInterceptor(
                verifier if verifier is not None else settings.token_verifier(),
                public_methods=public_methods,
            ),
            *extra_interceptors,
        ]
        self._health = health_aio.HealthServicer()
        self._server: grpc.aio.Server | None = None
        self._grpc_port: int | None = None
        self._closers: list[tuple[str, Closer]] = []
        self._tasks: list[BackgroundTask] = []
        self._stopping: asyncio.Task[None] | None = None

    @property
    def service_names(self) -> tuple[str, ...]:
        return tuple(registration.name for registration in self._registrations)

    @property
    def grpc_port(self) -> int:
        if self._grpc_port is None:
            raise RuntimeError("service not started")
        return self._grpc_port

    @property
    def metrics_port(self) -> int | None:
        return None if self._metrics_server is None else self._metrics_server.port

    def add_closer(self, name: str, closer: Closer) -> None:
        """Register a resource to close after the server stopped (NATS drain, DB pool)."""
        self._closers.append((name, closer))

    def add_task(self, task: BackgroundTask) -> None:
        """Run `task` while the service serves: started after `start`, stopped in `stop`."""
        self._tasks.append(task)
        if self._server is not None and self._stopping is None:
            task.start()

    async def set_serving(self, service_name: str, serving: bool) -> None:
        """Report one service (or "" for the whole server) SERVING / NOT_SERVING."""
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        await self._health.set(service_name, status)

    async def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("service already started")
        server = grpc.aio.server(
            interceptors=self._interceptors, options=list(self._server_options)
        )
        for registration in self._registrations:
            registration.add_to_server(server)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        reflection.enable_server_reflection(
            (*self.service_names, _HEALTH_SERVICE_NAME, reflection.SERVICE_NAME), server
        )
        address = f"{self._settings.grpc_host}:{self._settings.grpc_port}"
        if self._credentials is None:
            port = server.add_insecure_port(address)
        else:
            port = server.add_secure_port(address, self._credentials)
        if port == 0:
            raise OSError(f"could not bind gRPC server to {address}")
        await server.start()
        self._server, self._grpc_port = server, port
        if self._metrics_server is not None:
            await self._metrics_server.start()
        for service_name in ("", *self.service_names):
            await self.set_serving(service_name, True)
        for task in self._tasks:
            task.start()
        _log.info(
            "service started",
            service=self.name,
            grpc_port=port,
            metrics_port=self.metrics_port,
            tls=self._credentials is not None,
        )

    async def stop(self) -> None:
        """Two-stage shutdown; safe to call more than once (later calls wait for the first)."""
        if self._stopping is None:
            self._stopping = asyncio.create_task(self._stop())
        await asyncio.shield(self._stopping)

    async def _stop(self) -> None:
        settings = self._settings
        _log.info("shutting down: health NOT_SERVING", service=self.name)
        await self._health.enter_graceful_shutdown()
        if settings.shutdown_drain_seconds > 0:
            await asyncio.sleep(settings.shutdown_drain_seconds)
        if self._server is not None:
            _log.info("shutting down: draining RPCs", grace=settings.shutdown_grace_seconds)
            await self._server.stop(settings.shutdown_grace_seconds)
        for task in reversed(self._tasks):
            await task.stop()
        try:
            await asyncio.wait_for(self._close_resources(), settings.shutdown_close_timeout_seconds)
        except TimeoutError:
            _log.error(
                "shutting down: resources did not close in time",
                timeout=settings.shutdown_close_timeout_seconds,
            )
        if self._metrics_server is not None:
            await self._metrics_server.stop()
        _log.info("service stopped", service=self.name)

    async def _close_resources(self) -> None:
        for name, closer in reversed(self._closers):
            try:
                await closer()
            except Exception:
                _log.exception("shutting down: closing a resource failed", resource=name)

    async def __aenter__(self) -> Service:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


_STOP_SIGNALS: Final = (signal.SIGTERM, signal.SIGINT)


def freeze_startup_objects() -> int:
    """Move everything made so far out of the cyclic garbage collector's reach; returns how many
    objects that was.

    What a service builds while starting (modules, settings, clients, loaded probes) lives as
    long as its process. Frozen, the collector's passes, which a busy service triggers every few
    hundred container allocations, walk only what was made since (the socket tracer's collector
    time per traced request fell by more than half).
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


async def serve_until_signalled(
    service: Service,
    *,
    signals: Sequence[signal.Signals] = _STOP_SIGNALS,
    after_start: Callable[[], None] | None = None,
) -> None:
    """Start `service`, call `after_start`, run until one of `signals` arrives, then shut it
    down."""
    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in signals:
        loop.add_signal_handler(sig, stop_requested.set)
    try:
        await service.start()
        if after_start is not None:
            after_start()
        await stop_requested.wait()
        _log.info("stop signal received", service=service.name)
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        await service.stop()


async def _wire_unless_signalled(wiring: Awaitable[Service]) -> Service | None:
    """Await the wiring (which may wait for NATS or a DB); None if a stop signal came first."""
    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in _STOP_SIGNALS:
        loop.add_signal_handler(sig, stop_requested.set)
    wire_task = asyncio.ensure_future(wiring)
    stop_task = asyncio.ensure_future(stop_requested.wait())
    try:
        await asyncio.wait((wire_task, stop_task), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for sig in _STOP_SIGNALS:
            loop.remove_signal_handler(sig)
        stop_task.cancel()
    if wire_task.done():
        return wire_task.result()
    _log.info("stop signal received while starting")
    wire_task.cancel()
    return None


def run_service(settings_type: type[_S], wire: Callable[[_S], Awaitable[Service]]) -> int:
    """Entry point for a service's `__main__`: `raise SystemExit(run_service(S, wire))`.

    Loads settings (exit 2 with a clear message when they are bad), configures logging, awaits
    `wire(settings)` to build clients and the Service, starts it, freezes what starting made
    (`freeze_startup_objects`), serves until SIGTERM/SIGINT and shuts down.
    A crash in native code (SIGSEGV, SIGABRT, ...) dumps every thread's Python stack to stderr.
    """
    if not faulthandler.is_enabled():
        faulthandler.enable()
    try:
        settings = settings_type.load()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return EXIT_BAD_SETTINGS
    configure_logging(level=settings.log_level, fmt=settings.log_format)

    async def main() -> int:
        try:
            service = await _wire_unless_signalled(wire(settings))
        except Exception:
            _log.exception("service wiring failed")
            return EXIT_STARTUP_FAILED
        if service is None:
            return 0

        def freeze() -> None:
            _log.info("startup objects frozen", objects=freeze_startup_objects())

        await serve_until_signalled(service, after_start=freeze)
        return 0

    return asyncio.run(main())
