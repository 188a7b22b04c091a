"""The common shape of an embedded infrastructure server: start -> Endpoint, stop, ``with``."""

from __future__ import annotations

import contextlib
import json
import signal
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Generic, Self, TypeVar

from pyxie_devstack._errors import DevstackError, StartError
from pyxie_devstack._process import ManagedProcess, free_port, port_is_free

__all__ = ["Component", "Endpoint"]

_READY_POLL_S = 0.1
# A free port can be taken by another process between our probe and the server's bind; a few
# fresh attempts make that race irrelevant in practice.
_START_ATTEMPTS = 3
# How long a restart waits for the previous run's ports to be released.
_PORT_REUSE_WAIT_S = 10.0


@dataclass(frozen=True)
class Endpoint:
    """Where a running server listens."""

    name: str
    host: str
    port: int
    url: str


E = TypeVar("E", bound=Endpoint)


class Component(ABC, Generic[E]):
    """A server binary run under ``<state_dir>/<name>/`` with a log, a pid file and free ports.

    Subclasses say which ports they need, how to initialise their state once, the command line,
    and what "ready" means (a real request, not just an open port).
    """

    name: ClassVar[str]
    port_names: ClassVar[tuple[str, ...]]
    graceful_signal: ClassVar[int] = signal.SIGTERM

    def __init__(
        self,
        state_dir: Path,
        *,
        host: str = "127.0.0.1",
        start_timeout_s: float = 60.0,
        stop_timeout_s: float = 15.0,
    ) -> None:
        self.state_dir = state_dir
        self.host = host
        self.start_timeout_s = start_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self._process: ManagedProcess | None = None
        self._endpoint: E | None = None

    @property
    def dir(self) -> Path:
        return self.state_dir / self.name

    @property
    def log_path(self) -> Path:
        return self.dir / f"{self.name}.log"

    @property
    def pid_path(self) -> Path:
        return self.dir / f"{self.name}.pid"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def endpoint(self) -> E:
        if self._endpoint is None:
            raise DevstackError(f"{self.name} is not running")
        return self._endpoint

    # -- what subclasses provide -------------------------------------------------------------

    def prepare(self) -> None:
        """One-time initialisation of the state directory (runs before every start)."""

    @abstractmethod
    def command(self, ports: dict[str, int]) -> list[str]: ...

    @abstractmethod
    def make_endpoint(self, ports: dict[str, int]) -> E: ...

    @abstractmethod
    def is_ready(self, endpoint: E) -> bool:
        """One quick readiness probe; False (not an exception) while still starting."""

    def make_process(self, argv: list[str]) -> ManagedProcess:
        return ManagedProcess(
            argv,
            log_path=self.log_path,
            pid_path=self.pid_path,
            graceful_signal=self.graceful_signal,
            stop_timeout_s=self.stop_timeout_s,
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def _choose_ports(self, fresh: bool) -> dict[str, int]:
        """Reuse last run's ports, so endpoints stay stable across restarts.

        A server that was just killed may hold its ports for a moment (its process still
        exiting): wait a little for them before giving them up, because clients configured
        with the old address would otherwise never find the restarted server.
        """
        record = self.dir / "ports.json"
        if not fresh:
            with contextlib.suppress(OSError, ValueError):
                previous = json.loads(record.read_text())
                if (
                    isinstance(previous, dict)
                    and set(previous) == set(self.port_names)
                    and len(set(previous.values())) == len(previous)
                ):
                    deadline = time.monotonic() + _PORT_REUSE_WAIT_S
                    while True:
                        if all(port_is_free(self.host, int(p)) for p in previous.values()):
                            return {key: int(value) for key, value in previous.items()}
                        if time.monotonic() >= deadline:
                            break
                        time.sleep(_READY_POLL_S)
        ports: dict[str, int] = {}
        while len(ports) < len(self.port_names):
            port = free_port(self.host)
            if port not in ports.values():
                ports[self.port_names[len(ports)]] = port
        record.write_text(json.dumps(ports))
        return ports

    def start(self) -> E:
        """Start the server and return its endpoint once a real request succeeds."""
        if self._endpoint is not None:
            return self._endpoint
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.prepare()
        failure = ""
        for attempt in range(_START_ATTEMPTS):
            ports = self._choose_ports(fresh=attempt > 0)
            endpoint = self.make_endpoint(ports)
            process = self.make_process(self.command(ports))
            process.start()
            self._process = process
            deadline = time.monotonic() + self.start_timeout_s
            while not process.exited():
                if self.is_ready(endpoint):
                    self._endpoint = endpoint
                    return endpoint
                if time.monotonic() >= deadline:
                    self.stop()
                    raise StartError(
                        f"{self.name} did not become ready within {self.start_timeout_s:.0f}s; "
                        f"log {self.log_path}:\n{process.log_tail()}"
                    )
                time.sleep(_READY_POLL_S)
            status = process.stop()
            self._process = None
            failure = f"{self.name} exited with status {status}; log {self.log_path}:\n" + (
                process.log_tail()
            )
        raise StartError(failure)

    def exited(self) -> bool:
        """True when the server process is gone (never started, stopped, or died)."""
        return self._process is None or self._process.exited()

    def stop(self) -> None:
        """Graceful signal, then SIGKILL for the whole process group after the stop timeout."""
        process, self._process, self._endpoint = self._process, None, None
        if process is not None:
            process.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
