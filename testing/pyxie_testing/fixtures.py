"""Pytest fixtures shared by every test in the workspace (registered by the root conftest).

Real servers, started once per test session from the devstack classes and stopped at the end:

* ``nats_server``     -> :class:`pyxie_devstack.nats_server.NatsEndpoint` (``.url``)
* ``postgres_server`` -> a DSN string for the ``postgres`` database (superuser)
* ``etcd_server``     -> :class:`pyxie_devstack.etcd_server.EtcdEndpoint` (``.host``, ``.port``)

Every session loads this module, so it imports nothing heavy at the top; servers start only
when a test asks for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pyxie_devstack.etcd_server import EtcdEndpoint
    from pyxie_devstack.nats_server import NatsEndpoint

__all__ = ["etcd_server", "infra_state_dir", "nats_server", "postgres_server"]


@pytest.fixture(scope="session")
def infra_state_dir() -> Iterator[Path]:
    """A throwaway devstack state dir for this session; each server gets a subdirectory."""
    import os
    import shutil
    import tempfile

    # Not pytest's tmp_path: its parents are 0700, and where user namespaces are unavailable
    # PostgreSQL has to run as another account that must be able to pass through.
    state_dir = Path(tempfile.mkdtemp(prefix="pyxie-test-infra-"))
    os.chmod(state_dir, 0o711)
    yield state_dir
    shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def nats_server(infra_state_dir: Path) -> Iterator[NatsEndpoint]:
    from pyxie_devstack.nats_server import NatsServer

    with NatsServer(infra_state_dir) as server:
        yield server.endpoint


@pytest.fixture(scope="session")
def postgres_server(infra_state_dir: Path) -> Iterator[str]:
    from pyxie_devstack.postgres_server import PostgresServer
    from pyxie_devstack.settings import load_settings

    run_as = load_settings().pg_run_as_user
    with PostgresServer(infra_state_dir, durable=False, run_as_user=run_as) as server:
        yield server.endpoint.dsn


@pytest.fixture(scope="session")
def etcd_server(infra_state_dir: Path) -> Iterator[EtcdEndpoint]:
    from pyxie_devstack.etcd_server import EtcdServer

    with EtcdServer(infra_state_dir, durable=False) as server:
        yield server.endpoint


@pytest.fixture
def fresh_database(postgres_server: str) -> Iterator[str]:
    """A new, empty database on the session's PostgreSQL server; dropped after the test."""
    import uuid

    import psycopg
    from psycopg import sql

    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    # The session DSN is a URL ending in "/postgres"; swap the database name.
    yield f"{postgres_server.rpartition('/')[0]}/{name}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
