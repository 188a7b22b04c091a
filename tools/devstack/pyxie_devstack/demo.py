"""``python -m pyxie_devstack demo``: the standalone vizier with the demo shop, queried with px.

``demo --infra-only`` keeps the first demo: start NATS/etcd/PostgreSQL, prove each works, stop.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pyxie_devstack.etcd_server import EtcdEndpoint, etcd_get, etcd_put
from pyxie_devstack.nats_server import NatsEndpoint
from pyxie_devstack.postgres_server import PostgresEndpoint
from pyxie_devstack.settings import DevstackSettings
from pyxie_devstack.stack import InfraStack
from pyxie_devstack.vizier import VizierStack

__all__ = ["run_demo", "run_vizier_demo"]

# Between polls for the first traced requests: one px run costs a second of CPU or so.
_DATA_POLL_S = 3.0
_PX_TIMEOUT_S = 60.0

_STILL_TO_COME = (
    "query engine (Carnot over Arrow batches)",
    "PxL compiler and distributed planner",
    "eBPF collectors (socket tracer, process stats, profiler)",
    "vizier services (query broker, metadata, kelvin, PEM) and the cloud",
)


async def _nats_round_trip(endpoint: NatsEndpoint) -> str:
    import nats

    client = await nats.connect(endpoint.url, connect_timeout=5, max_reconnect_attempts=0)
    try:
        subscription = await client.subscribe("pyxie.demo")
        await client.publish("pyxie.demo", b"hello from pyxie")
        message = await subscription.next_msg(timeout=10)
        return message.data.decode()
    finally:
        await client.close()


def _postgres_round_trip(endpoint: PostgresEndpoint) -> str:
    import psycopg

    with psycopg.connect(endpoint.dsn, connect_timeout=10) as conn:
        conn.execute("CREATE TEMP TABLE demo_agents (name text, cpu_pct float8)")
        conn.execute("INSERT INTO demo_agents VALUES ('pem-1', 1.5), ('kelvin', 0.5)")
        row = conn.execute("SELECT count(*), sum(cpu_pct) FROM demo_agents").fetchone()
        version = conn.execute("SHOW server_version").fetchone()
    assert row is not None and version is not None
    return f"PostgreSQL {version[0]}: {row[0]} rows, sum {row[1]}"


def _etcd_round_trip(endpoint: EtcdEndpoint) -> str:
    etcd_put(endpoint, b"/pyxie/demo", b"metadata lives here")
    value = etcd_get(endpoint, b"/pyxie/demo")
    return (value or b"<missing>").decode()


def run_demo(settings: DevstackSettings, say: Callable[[str], None] = print) -> int:
    """Run the demo in a throwaway state dir; return the process exit code."""
    scratch = Path(tempfile.mkdtemp(prefix="pyxie-demo-"))
    # Passable (not listable) by others, in case PostgreSQL has to run as another account.
    os.chmod(scratch, 0o711)
    demo_settings = DevstackSettings(
        state_dir=scratch,
        pg_run_as_user=settings.pg_run_as_user,
        start_timeout_s=settings.start_timeout_s,
        stop_timeout_s=settings.stop_timeout_s,
    )
    say("Pyxie demo: starting the embedded infrastructure (no Docker, no Kubernetes)...")
    started = time.monotonic()
    try:
        with InfraStack(demo_settings, durable=False) as stack:
            endpoints = stack.endpoints
            say(f"  up in {time.monotonic() - started:.1f}s, state under {scratch}")
            checks: list[tuple[str, str, Callable[[], str]]] = [
                ("NATS", endpoints.nats.url, lambda: asyncio.run(_nats_round_trip(endpoints.nats))),
                (
                    "PostgreSQL",
                    f"{endpoints.postgres.host}:{endpoints.postgres.port}",
                    lambda: _postgres_round_trip(endpoints.postgres),
                ),
                ("etcd", endpoints.etcd.url, lambda: _etcd_round_trip(endpoints.etcd)),
            ]
            failed = False
            for label, where, check in checks:
                try:
                    say(f"  ✔ {label:<10} {where:<28} {check()}")
                except Exception as exc:
                    failed = True
                    say(f"  ✘ {label:<10} {where:<28} {type(exc).__name__}: {exc}")
            say("")
            say("Running now: NATS (JetStream) for the message bus, PostgreSQL for the control")
            say("plane database, etcd for vizier metadata. Still to come:")
            for item in _STILL_TO_COME:
                say(f"  · {item}")
        say("Stopped everything; nothing left running.")
        return 1 if failed else 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _px(*args: str, timeout_s: float = _PX_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pyxie_cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def _wait_for_rows(wait_s: float, say: Callable[[str], None]) -> bool:
    deadline = time.monotonic() + wait_s
    last_error = ""
    while time.monotonic() < deadline:
        try:
            result = _px("run", "px/http_data", "-o", "json", "--", "--max_num_records", "5")
        except subprocess.TimeoutExpired:
            last_error = "px run timed out"
            continue
        if result.returncode == 0 and result.stdout.strip():
            return True
        last_error = result.stderr.strip() or "no rows yet"
        time.sleep(_DATA_POLL_S)
    say(f"  no HTTP rows after {wait_s:.0f}s (last answer: {last_error})")
    return False


def run_vizier_demo(
    settings: DevstackSettings, *, wait_s: float = 180.0, say: Callable[[str], None] = print
) -> int:
    """Start (or reuse) the standalone vizier with the demo shop and show its traffic."""
    say("Pyxie demo: a standalone vizier on this host (no Docker, no Kubernetes)")
    stack = VizierStack(settings, say=lambda line: say(f"  {line}"))
    started = time.monotonic()
    endpoints = stack.up()
    say(f"  up in {time.monotonic() - started:.1f}s; logs in {stack.log_dir}")
    say("Waiting for the first traced HTTP requests of the demo shop...")
    if not _wait_for_rows(wait_s, say):
        say(
            "  The socket tracer needs root and bcc (`make setup-bpf`); without them only the "
            f"/proc tables fill. PEM logs: {stack.log_dir}/pem.log. The stack keeps running; "
            "`make demo-stop` stops it."
        )
        return 1
    for script, extra in (
        ("px/http_data", ["--", "--max_num_records", "15"]),
        ("px/service_stats", []),
    ):
        say(f"\n$ uv run px run {script} {' '.join(extra)}".rstrip())
        result = _px("run", script, *extra)
        say(result.stdout.rstrip() or result.stderr.rstrip())
    say("")
    say(f"The vizier keeps running (broker {endpoints.broker}). Try:")
    say("  uv run px scripts list")
    say("  uv run px run px/http_request_stats")
    say("  uv run px run px/http_data -o json -- --destination_filter orders")
    say("  uv run px run px/mysql_data    (also redis_, dns_, nats_, amqp_, mux_, pgsql_data)")
    say("  uv run python -m pyxie_devstack vizier status")
    say("Stop everything with `make demo-stop`.")
    return 0
