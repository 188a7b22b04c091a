"""The shared infrastructure fixtures start real servers, and leave nothing running."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import nats
import psycopg
import pyetcd  # etcd-sdk-python: the maintained drop-in for the `etcd3` package
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pyxie_devstack._process import pid_alive


async def test_nats_publish_subscribe_round_trip(nats_server):
    client = await nats.connect(nats_server.url, max_reconnect_attempts=0)
    try:
        subject = f"test.{uuid.uuid4().hex}"
        subscription = await client.subscribe(subject)
        await client.publish(subject, b"hello")
        message = await subscription.next_msg(timeout=10)
        assert message.data == b"hello"
        reply = await client.request("$JS.API.INFO", b"", timeout=10)
        assert json.loads(reply.data)["type"] == "io.nats.jetstream.api.v1.account_info_response"
    finally:
        await client.close()


def test_postgres_create_insert_select_round_trip(postgres_server):
    table = f"t_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_server) as conn:
        conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, name text NOT NULL)")
        conn.execute(f"INSERT INTO {table} VALUES (1, 'pem'), (2, 'kelvin')")
        conn.commit()
    with psycopg.connect(postgres_server) as conn:
        rows = conn.execute(f"SELECT id, name FROM {table} ORDER BY id").fetchall()
    assert rows == [(1, "pem"), (2, "kelvin")]


def test_postgres_rejects_a_wrong_password(postgres_server):
    params = conninfo_to_dict(postgres_server)
    params["password"] = "not-the-password"
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(make_conninfo(**params))


def test_etcd_put_get_round_trip(etcd_server):
    client = pyetcd.Etcd3Client(host=etcd_server.host, port=etcd_server.port)
    try:
        key = f"/pyxie/test/{uuid.uuid4().hex}"
        client.put(key, b"agent-metadata")
        value, meta = client.get(key)
        assert value == b"agent-metadata"
        assert meta.key == key.encode()
        assert client.get(f"{key}/missing") == (None, None)
    finally:
        client.close()


# A pytest session of its own that uses the fixtures, records the server pids, and then either
# ends normally or is SIGKILLed (a crash: no teardown, no atexit).
_INNER_TEST = """
import json, os, signal
from pathlib import Path

def test_record_pids(nats_server, postgres_server, etcd_server, infra_state_dir):
    pids = {{name: json.loads((infra_state_dir / name / f"{{name}}.pid").read_text())["pid"]
            for name in ("nats", "postgres", "etcd")}}
    pids["state_dir"] = str(infra_state_dir)
    Path({out!r}).write_text(json.dumps(pids))
    if {crash!r}:
        os.kill(os.getpid(), signal.SIGKILL)
"""


def _run_inner_session(tmp_path: Path, crash: bool) -> dict[str, int]:
    out = tmp_path / "pids.json"
    test_file = tmp_path / "test_inner_session.py"
    test_file.write_text(textwrap.dedent(_INNER_TEST.format(out=str(out), crash=crash)))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "pyxie_testing.fixtures",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            "-c",
            os.devnull,
            str(test_file),
        ],
        cwd=tmp_path,
        capture_output=True,
        timeout=240,
        check=False,
    )
    expected = -signal.SIGKILL if crash else 0
    assert proc.returncode == expected, proc.stdout.decode() + proc.stderr.decode()
    pids = json.loads(out.read_text())
    # A killed session cannot remove its state dir; do it for it.
    shutil.rmtree(pids.pop("state_dir"), ignore_errors=True)
    assert set(pids) == {"nats", "postgres", "etcd"}
    return pids


def _wait_until_gone(pids: dict[str, int]) -> dict[str, int]:
    # Exit after a parent-death signal is asynchronous (PostgreSQL checkpoints first); this is
    # a bounded wait for that, not a timing assertion.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        alive = {name: pid for name, pid in pids.items() if pid_alive(pid)}
        if not alive:
            return {}
        time.sleep(0.1)
    return alive


@pytest.mark.slow
def test_no_server_process_is_left_after_the_session_ends(tmp_path):
    pids = _run_inner_session(tmp_path, crash=False)
    # Teardown is synchronous: every server is gone by the time pytest exits.
    assert {name: pid for name, pid in pids.items() if pid_alive(pid)} == {}


@pytest.mark.slow
def test_no_server_process_is_left_when_the_session_is_killed(tmp_path):
    pids = _run_inner_session(tmp_path, crash=True)
    left = _wait_until_gone(pids)
    for pid in left.values():  # do not let a failure here leak servers into the machine
        os.killpg(pid, signal.SIGKILL)
    assert left == {}
