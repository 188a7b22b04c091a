"""PostgreSQL from the ``pgserver`` wheel's binaries, on a TCP port of 127.0.0.1.

We run ``initdb`` and ``postgres`` ourselves rather than through pgserver's API: pgserver only
listens on a Unix socket on Linux, and as root it creates a system user and opens up the
permissions of every parent directory. PostgreSQL refuses to run as root, so as root we run it
in a user namespace as an ordinary uid mapped to root (no permission changes needed), or, where
containers forbid user namespaces, as an unprivileged account that owns the data directory.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import stat
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pyxie_devstack._binaries import postgres_bin_dir
from pyxie_devstack._errors import StartError
from pyxie_devstack._process import ManagedProcess, UserNamespace
from pyxie_devstack.component import Component, Endpoint

__all__ = ["PostgresEndpoint", "PostgresServer", "create_database"]

_SUPERUSER = "postgres"
_INITDB_TIMEOUT_S = 180  # initdb writes and (when durable) fsyncs a whole template cluster


@dataclass(frozen=True)
class PostgresEndpoint(Endpoint):
    """``url`` is a libpq/psycopg DSN for the ``postgres`` database."""

    user: str
    password: str = field(repr=False)
    dbname: str

    def __repr__(self) -> str:
        masked = self.url.replace(f":{self.password}@", ":***@")
        return f"PostgresEndpoint(host={self.host!r}, port={self.port}, url={masked!r})"

    @property
    def dsn(self) -> str:
        return self.url

    def dsn_for(self, dbname: str) -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{dbname}"


@dataclass(frozen=True)
class _RunAs:
    """How to get PostgreSQL a non-root euid: nothing to do, a user namespace, or setuid."""

    userns: UserNamespace | None = None
    uid: int | None = None
    gid: int | None = None


def _search_blocked(path: Path, uid: int, gid: int) -> Path | None:
    """The first ancestor of ``path`` that ``uid``/``gid`` may not traverse, if any."""
    for directory in [*reversed(path.parents), path]:
        info = directory.stat()
        if info.st_uid == uid:
            bit = stat.S_IXUSR
        elif info.st_gid == gid:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not info.st_mode & bit:
            return directory
    return None


class PostgresServer(Component[PostgresEndpoint]):
    name = "postgres"
    port_names = ("client",)
    # SIGINT is PostgreSQL's "fast" shutdown: it disconnects clients and checkpoints. SIGTERM
    # ("smart") would wait for every client to leave.
    graceful_signal = signal.SIGINT

    def __init__(
        self,
        state_dir: Path,
        *,
        durable: bool = True,
        run_as_user: str = "nobody",
        host: str = "127.0.0.1",
        allowed_networks: Sequence[str] = (),
        start_timeout_s: float = 60.0,
        stop_timeout_s: float = 15.0,
    ) -> None:
        super().__init__(
            state_dir, host=host, start_timeout_s=start_timeout_s, stop_timeout_s=stop_timeout_s
        )
        self.durable = durable
        self.run_as_user = run_as_user
        # Client networks (CIDR) besides loopback that may log in with a password, e.g. the
        # simulated nodes' subnet of the standalone vizier.
        self.allowed_networks = tuple(allowed_networks)
        self._run_as: _RunAs | None = None

    @property
    def data_dir(self) -> Path:
        return self.dir / "data"

    @property
    def _password_path(self) -> Path:
        return self.dir / "password"

    def _resolve_run_as(self) -> _RunAs:
        if self._run_as is not None:
            return self._run_as
        if os.geteuid() != 0:
            self._run_as = _RunAs()
            return self._run_as
        try:
            account = pwd.getpwnam(self.run_as_user)
        except KeyError:
            raise StartError(
                f"PostgreSQL cannot run as root and the account {self.run_as_user!r} to run it "
                "as does not exist; set PL_PG_RUN_AS_USER to an unprivileged user"
            ) from None
        if account.pw_uid == 0:
            raise StartError(f"PL_PG_RUN_AS_USER={self.run_as_user!r} is root")
        if UserNamespace.available():
            self._run_as = _RunAs(userns=UserNamespace(account.pw_uid, account.pw_gid))
        else:
            # self.dir itself is handed to the account below; its ancestors must be passable.
            for needed in (self.state_dir, postgres_bin_dir()):
                blocked = _search_blocked(needed, account.pw_uid, account.pw_gid)
                if blocked is not None:
                    raise StartError(
                        f"PostgreSQL must run as {self.run_as_user!r} (user namespaces are not "
                        f"available here), but that account cannot enter {blocked}; choose a "
                        "PL_STATE_DIR under a directory others may traverse (e.g. /var/lib/pyxie)"
                    )
            self._run_as = _RunAs(uid=account.pw_uid, gid=account.pw_gid)
        return self._run_as

    def prepare(self) -> None:
        run_as = self._resolve_run_as()
        if not self._password_path.exists():
            fd = os.open(self._password_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(24))
        if run_as.uid is not None and run_as.gid is not None:
            # setuid mode: the account must own everything it reads and writes.
            for path in [self.dir, *self.dir.rglob("*")]:
                os.lchown(path, run_as.uid, run_as.gid)
        if (self.data_dir / "PG_VERSION").exists():
            self._allow_networks()
            return
        if self.data_dir.exists():
            # initdb stopped half-way in an earlier run: nothing usable is in there.
            shutil.rmtree(self.data_dir)
        argv = [
            str(postgres_bin_dir() / "initdb"),
            "--pgdata",
            str(self.data_dir),
            "--username",
            _SUPERUSER,
            f"--pwfile={self._password_path}",
            "--auth-host=scram-sha-256",
            "--auth-local=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
        ]
        if not self.durable:
            argv.append("--no-sync")
        with open(self.log_path, "ab") as log:
            result = subprocess.run(
                run_as.userns.wrap(argv) if run_as.userns else argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                user=run_as.uid,
                group=run_as.gid,
                timeout=_INITDB_TIMEOUT_S,
                check=False,
            )
        if result.returncode != 0:
            tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])
            raise StartError(
                f"initdb failed (exit {result.returncode}); log {self.log_path}:\n{tail}"
            )
        self._allow_networks()

    def _allow_networks(self) -> None:
        """Append a pg_hba.conf line per allowed network (once; read at server start)."""
        hba = self.data_dir / "pg_hba.conf"
        text = hba.read_text()
        missing = [
            f"host all all {net} scram-sha-256  # pyxie_devstack\n"
            for net in self.allowed_networks
            if f"host all all {net} " not in text
        ]
        if missing:
            with open(hba, "a") as handle:
                handle.writelines(missing)

    def command(self, ports: dict[str, int]) -> list[str]:
        argv = [
            str(postgres_bin_dir() / "postgres"),
            "-D",
            str(self.data_dir),
            "-h",
            self.host,
            "-p",
            str(ports["client"]),
            "-k",
            "",  # no Unix socket: TCP only, so socket path length and permissions never matter
            "-c",
            "logging_collector=off",
        ]
        if not self.durable:
            # Throwaway test clusters: crash safety is not worth the fsyncs.
            argv += [
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]
        return argv

    def make_process(self, argv: list[str]) -> ManagedProcess:
        run_as = self._resolve_run_as()
        return ManagedProcess(
            argv,
            log_path=self.log_path,
            pid_path=self.pid_path,
            graceful_signal=self.graceful_signal,
            stop_timeout_s=self.stop_timeout_s,
            userns=run_as.userns,
            user=run_as.uid,
            group=run_as.gid,
        )

    def make_endpoint(self, ports: dict[str, int]) -> PostgresEndpoint:
        password = self._password_path.read_text().strip()
        port = ports["client"]
        return PostgresEndpoint(
            name=self.name,
            host=self.host,
            port=port,
            url=f"postgresql://{_SUPERUSER}:{password}@{self.host}:{port}/postgres",
            user=_SUPERUSER,
            password=password,
            dbname="postgres",
        )

    def is_ready(self, endpoint: PostgresEndpoint) -> bool:
        import psycopg  # deferred: only needed once a server is being started

        try:
            with psycopg.connect(endpoint.dsn, connect_timeout=2) as conn:
                row = conn.execute("SELECT 1").fetchone()
        except psycopg.Error:
            return False
        return row == (1,)

    def create_database(self, dbname: str) -> str:
        """Create ``dbname`` (if missing) and return its DSN."""
        return create_database(self.endpoint, dbname)


def create_database(endpoint: PostgresEndpoint, dbname: str) -> str:
    """Create ``dbname`` on the server at ``endpoint`` (if missing) and return its DSN."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(endpoint.dsn, autocommit=True, connect_timeout=10) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))
        if exists.fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    return endpoint.dsn_for(dbname)
