import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
from pyxie_devstack._errors import AlreadyRunningError, StartError
from pyxie_devstack._process import pid_alive
from pyxie_devstack.etcd_server import EtcdServer, etcd_get, etcd_put
from pyxie_devstack.nats_server import NatsServer
from pyxie_devstack.postgres_server import PostgresServer


@pytest.fixture
def state_dir():
    # Passable by other accounts, for hosts where PostgreSQL must run as `nobody`.
    path = Path(tempfile.mkdtemp(prefix="pyxie-devstack-test-"))
    os.chmod(path, 0o711)
    yield path
    subprocess.run(["rm", "-rf", str(path)], check=False)


def test_nats_start_stop_leaves_no_process_and_writes_a_log(state_dir):
    with NatsServer(state_dir, jetstream=False) as server:
        pid = server.pid
        assert pid is not None and pid_alive(pid)
        with socket.create_connection((server.endpoint.host, server.endpoint.port), 5) as sock:
            assert sock.recv(4) == b"INFO"
        assert server.pid_path.exists()
    assert not pid_alive(pid)
    assert not server.pid_path.exists()
    assert "Server is ready" in server.log_path.read_text()


def test_etcd_data_survives_a_restart_on_the_same_port(state_dir):
    server = EtcdServer(state_dir)
    first = server.start()
    try:
        etcd_put(first, b"/k", b"kept")
    finally:
        server.stop()
    second = server.start()
    try:
        assert second.port == first.port  # endpoints stay stable across restarts
        assert etcd_get(second, b"/k") == b"kept"
        assert etcd_get(second, b"/missing") is None
    finally:
        server.stop()


def test_postgres_runs_as_non_root_and_keeps_data_across_restarts(state_dir):
    server = PostgresServer(state_dir, durable=False)
    with server:
        dsn = server.create_database("pyxie_cloud")
        with psycopg.connect(dsn) as conn:
            conn.execute("CREATE TABLE t (v text)")
            conn.execute("INSERT INTO t VALUES ('persisted')")
            conn.commit()
        # PostgreSQL never runs with uid 0: either the host sees another uid (setuid), or it
        # runs in a user namespace where our uid 0 is mapped to an ordinary one.
        status = Path(f"/proc/{server.pid}/status").read_text()
        uid_seen_by_host = int(status.split("Uid:")[1].split()[1])
        uid_inside = int(Path(f"/proc/{server.pid}/uid_map").read_text().split()[0])
        assert uid_seen_by_host != 0 or uid_inside != 0
        pids_before = server.pid
    assert not pid_alive(pids_before)
    with server, psycopg.connect(server.endpoint.dsn_for("pyxie_cloud")) as conn:
        assert conn.execute("SELECT v FROM t").fetchall() == [("persisted",)]
    assert stat_mode(state_dir / "postgres" / "password") == 0o600


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_a_second_owner_of_the_state_dir_is_refused(state_dir):
    with NatsServer(state_dir, jetstream=False) as first:
        with pytest.raises(AlreadyRunningError, match=f"pid {first.pid}"):
            NatsServer(state_dir, jetstream=False).start()
        assert pid_alive(first.pid)


def test_a_server_that_cannot_start_raises_with_its_log(state_dir):
    (state_dir / "etcd").mkdir()
    # A file where etcd wants its data directory makes it exit at once.
    (state_dir / "etcd" / "data").write_text("not a directory")
    with pytest.raises(StartError, match="etcd exited"):
        EtcdServer(state_dir).start()


def test_a_server_that_ignores_sigterm_is_killed_after_the_timeout(state_dir):
    from pyxie_devstack._process import ManagedProcess

    stubborn = ManagedProcess(
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(600)",
        ],
        log_path=state_dir / "stubborn.log",
        pid_path=state_dir / "stubborn.pid",
        stop_timeout_s=0.5,
    )
    stubborn.start()
    while "ready" not in stubborn.log_path.read_text().splitlines():
        assert not stubborn.exited()
        time.sleep(0.05)
    assert stubborn.stop() == -signal.SIGKILL
    assert not pid_alive(stubborn.pid)


def test_stop_kills_children_left_in_the_process_group(state_dir):
    from pyxie_devstack._process import ManagedProcess

    parent = ManagedProcess(
        ["/bin/sh", "-c", "sleep 600 & echo $! > child.pid; wait"],
        log_path=state_dir / "group.log",
        pid_path=state_dir / "group.pid",
        cwd=state_dir,
    )
    parent.start()
    while not (state_dir / "child.pid").exists() or not (state_dir / "child.pid").read_text():
        assert not parent.exited()
        time.sleep(0.05)
    child = int((state_dir / "child.pid").read_text())
    parent.stop()
    assert not pid_alive(child)
