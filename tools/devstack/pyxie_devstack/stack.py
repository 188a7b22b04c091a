"""The embedded infrastructure as one unit: NATS, etcd and PostgreSQL under one state dir."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from pyxie_devstack.etcd_server import EtcdEndpoint, EtcdServer
from pyxie_devstack.nats_server import NatsEndpoint, NatsServer
from pyxie_devstack.postgres_server import PostgresEndpoint, PostgresServer
from pyxie_devstack.settings import DevstackSettings

__all__ = ["InfraEndpoints", "InfraStack"]


@dataclass(frozen=True)
class InfraEndpoints:
    nats: NatsEndpoint
    etcd: EtcdEndpoint
    postgres: PostgresEndpoint


class InfraStack:
    """Starts NATS, etcd and PostgreSQL; if one fails, the ones already up are stopped."""

    def __init__(self, settings: DevstackSettings, *, durable: bool = True) -> None:
        start, stop = settings.start_timeout_s, settings.stop_timeout_s
        self.state_dir: Path = settings.state_dir
        self.nats = NatsServer(settings.state_dir, start_timeout_s=start, stop_timeout_s=stop)
        self.etcd = EtcdServer(
            settings.state_dir, durable=durable, start_timeout_s=start, stop_timeout_s=stop
        )
        self.postgres = PostgresServer(
            settings.state_dir,
            durable=durable,
            run_as_user=settings.pg_run_as_user,
            start_timeout_s=start,
            stop_timeout_s=stop,
        )

    @property
    def endpoints(self) -> InfraEndpoints:
        """The endpoints of the running stack (raises if a component is not running)."""
        return InfraEndpoints(self.nats.endpoint, self.etcd.endpoint, self.postgres.endpoint)

    def start(self) -> InfraEndpoints:
        try:
            return InfraEndpoints(self.nats.start(), self.etcd.start(), self.postgres.start())
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        # Reverse start order; each stop is independent, so one failure does not leak the rest.
        errors: list[BaseException] = []
        for component in (self.postgres, self.etcd, self.nats):
            try:
                component.stop()
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise errors[0]

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
