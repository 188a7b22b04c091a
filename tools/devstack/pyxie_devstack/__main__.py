"""``python -m pyxie_devstack up|down|status|demo``."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

from pyxie_devstack._errors import DevstackError
from pyxie_devstack._http import PROBE_ERRORS, get_json
from pyxie_devstack._process import read_pid_file, stop_pid_group
from pyxie_devstack.demo import run_demo
from pyxie_devstack.etcd_server import EtcdServer
from pyxie_devstack.nats_server import NatsServer
from pyxie_devstack.postgres_server import PostgresServer
from pyxie_devstack.settings import DevstackSettings, load_settings
from pyxie_devstack.stack import InfraStack

_COMPONENTS = (
    (NatsServer.name, NatsServer.graceful_signal),
    (EtcdServer.name, EtcdServer.graceful_signal),
    (PostgresServer.name, PostgresServer.graceful_signal),
)


def _own_argv0() -> str:
    return Path("/proc/self/cmdline").read_bytes().split(b"\0", 1)[0].decode()


def _up(settings: DevstackSettings) -> int:
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    stop_requested = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop_requested.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    pid_path = settings.state_dir / "devstack.pid"
    pid_path.write_text(json.dumps({"pid": os.getpid(), "program": _own_argv0()}))
    try:
        with InfraStack(settings) as stack:
            endpoints = stack.endpoints
            print(f"state dir  {settings.state_dir}")
            print(f"NATS       {endpoints.nats.url}  (monitor {endpoints.nats.monitor_url})")
            print(f"etcd       {endpoints.etcd.url}")
            print(f"PostgreSQL {endpoints.postgres.dsn}")
            print(
                "running; Ctrl-C (or `python -m pyxie_devstack down`) stops everything", flush=True
            )
            while not stop_requested.wait(1.0):
                pass
            print("stopping...", flush=True)
    finally:
        pid_path.unlink(missing_ok=True)
    return 0


def _down(settings: DevstackSettings) -> int:
    stopped = 0
    up_pid = read_pid_file(settings.state_dir / "devstack.pid")
    if up_pid is not None:
        # The foreground `up` stops its own children in order; fall through for leftovers.
        stop_pid_group(up_pid, signal.SIGTERM, settings.stop_timeout_s * 3)
        stopped += 1
    for name, graceful in _COMPONENTS:
        pid = read_pid_file(settings.state_dir / name / f"{name}.pid")
        if pid is not None:
            stop_pid_group(pid, graceful, settings.stop_timeout_s)
            (settings.state_dir / name / f"{name}.pid").unlink(missing_ok=True)
            stopped += 1
    print("stopped" if stopped else f"nothing running under {settings.state_dir}")
    return 0


def _status(settings: DevstackSettings) -> int:
    running = 0
    for name, _ in _COMPONENTS:
        pid = read_pid_file(settings.state_dir / name / f"{name}.pid")
        try:
            ports = json.loads((settings.state_dir / name / "ports.json").read_text())
        except (OSError, ValueError):
            ports = {}
        if pid is None:
            print(f"{name:<10} stopped")
            continue
        running += 1
        health = ""
        if name == "nats" and "monitor" in ports:
            try:
                health = str(get_json(f"http://127.0.0.1:{ports['monitor']}/healthz"))
            except PROBE_ERRORS as exc:
                health = f"unhealthy ({exc})"
        elif name == "etcd" and "client" in ports:
            try:
                health = str(get_json(f"http://127.0.0.1:{ports['client']}/health"))
            except PROBE_ERRORS as exc:
                health = f"unhealthy ({exc})"
        print(f"{name:<10} running pid {pid} ports {ports} {health}")
    return 0 if running == len(_COMPONENTS) else 3  # 3: "not running", as LSB status uses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pyxie_devstack", description=__doc__)
    parser.add_argument(
        "command",
        choices=["up", "down", "status", "demo"],
        help="up: run NATS, etcd and PostgreSQL in the foreground; down: stop them; "
        "status: show what runs; demo: start, prove each works, stop",
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        if args.command == "up":
            return _up(settings)
        if args.command == "down":
            return _down(settings)
        if args.command == "status":
            return _status(settings)
        return run_demo(settings)
    except DevstackError as exc:
        print(f"pyxie_devstack: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
