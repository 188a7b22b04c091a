"""``python -m pyxie_devstack up|down|status|demo|vizier up|down|status``.

``up``/``down``/``status`` drive the bare infrastructure (NATS, etcd, PostgreSQL) in the
foreground; ``vizier`` the standalone vizier (detached, supervised: crashed processes restart);
``demo`` starts the vizier with the demo shop and queries its traffic with ``px``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

from pyxie_client.local import LocalStackError

from pyxie_devstack._errors import DevstackError
from pyxie_devstack._http import PROBE_ERRORS, get_json
from pyxie_devstack._process import read_pid_file, stop_pid_group
from pyxie_devstack.demo import run_demo, run_vizier_demo
from pyxie_devstack.etcd_server import EtcdClusterMember, EtcdServer, read_cluster_plan
from pyxie_devstack.nats_server import NatsServer
from pyxie_devstack.postgres_server import PostgresServer
from pyxie_devstack.settings import DevstackSettings, load_settings
from pyxie_devstack.stack import InfraStack
from pyxie_devstack.supervise import run_group
from pyxie_devstack.vizier import VizierOptions, VizierStack, etcd_cluster_plan_path
from pyxie_devstack.vizier_state import vizier_dir

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


def _serve(
    settings: DevstackSettings, component_name: str, host: str, allow: list[str], member: str
) -> int:
    """Run one infrastructure server of the standalone vizier in the foreground (supervised)."""
    state = vizier_dir(settings.state_dir)
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    component: NatsServer | PostgresServer | EtcdClusterMember
    if component_name == "nats":
        component = NatsServer(state, host=host, start_timeout_s=settings.start_timeout_s)
    elif component_name == "etcd":
        cluster = read_cluster_plan(etcd_cluster_plan_path(state))
        (me,) = [m for m in cluster if m.name == member]
        component = EtcdClusterMember(
            state, me, cluster, host=host, start_timeout_s=settings.start_timeout_s
        )
    else:
        component = PostgresServer(
            state,
            host=host,
            run_as_user=settings.pg_run_as_user,
            start_timeout_s=settings.start_timeout_s,
            allowed_networks=allow,
        )
    stop_requested = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop_requested.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with component:
        print(f"{component_name} ready at {component.endpoint.host}:{component.endpoint.port}")
        print(f"log {component.log_path}", flush=True)
        while not stop_requested.wait(0.5):
            if component.exited():
                # Exit too, so the supervisor restarts us (and with us, the server).
                print(f"{component_name} exited; see {component.log_path}", flush=True)
                return 1
    return 0


def _vizier(settings: DevstackSettings, args: argparse.Namespace) -> int:
    options = None
    if args.vizier_command == "up" and (args.nodes or args.no_netns or args.no_demo_app):
        options = VizierOptions(
            nodes=args.nodes or 2,
            use_netns=False if args.no_netns else None,
            demo_app=not args.no_demo_app,
        )
    stack = VizierStack(settings, options)
    if args.vizier_command == "up":
        endpoints = stack.up()
        print(f"broker {endpoints.broker}  (try: uv run px run px/http_data)")
        return 0
    if args.vizier_command == "down":
        stopped = stack.down()
        print(f"stopped {', '.join(stopped)}" if stopped else "nothing was running")
        return 0
    running = 0
    statuses = stack.status()
    for group in statuses:
        running += group.running
        pids = ", ".join(
            f"{name} {pid or 'stopped'} (restarts {group.restarts.get(name, 0)})"
            for name, pid in group.processes.items()
        )
        print(f"{group.name:<22} {'running' if group.running else 'stopped':<8} {pids}")
    if not statuses:
        print(f"no standalone vizier under {stack.dir}")
    return 0 if statuses and running == len(statuses) else 3


def main(argv: list[str] | None = None) -> int:
    # `cloud …` belongs to the cloud devstack (pyxie_devstack.cloud), which parses its own args.
    raw = sys.argv[1:] if argv is None else argv
    if raw[:1] == ["cloud"]:
        from pyxie_devstack.cloud import main as cloud_main

        return cloud_main(raw[1:])
    parser = argparse.ArgumentParser(prog="python -m pyxie_devstack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="run NATS, etcd and PostgreSQL in the foreground")
    sub.add_parser("down", help="stop what `up` started")
    sub.add_parser("status", help="show what `up` runs")
    demo = sub.add_parser(
        "demo", help="standalone vizier + demo app, then query real traffic with px"
    )
    demo.add_argument(
        "--infra-only", action="store_true", help="only start NATS/etcd/PostgreSQL, check, stop"
    )
    demo.add_argument("--wait", type=float, default=180.0, help="seconds to wait for data")
    sub.add_parser("cloud", help="the cloud control plane: cloud up|down|status|keys|connect")
    vizier = sub.add_parser("vizier", help="the standalone vizier (detached, supervised)")
    vizier.add_argument("vizier_command", choices=["up", "down", "status"])
    vizier.add_argument("--nodes", type=int, default=0, help="simulated nodes (default 2)")
    vizier.add_argument("--no-netns", action="store_true", help="one node: the host")
    vizier.add_argument("--no-demo-app", action="store_true", help="no demo shop processes")
    serve = sub.add_parser("serve", help=argparse.SUPPRESS)
    serve.add_argument("component", choices=["nats", "postgres", "etcd"])
    serve.add_argument("--member", default="", help="etcd member name (etcd)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--allow", action="append", default=[], help="client CIDR (postgres)")
    supervise = sub.add_parser("supervise", help=argparse.SUPPRESS)
    supervise.add_argument("--detach", action="store_true")
    supervise.add_argument("spec", type=Path)
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        if args.command == "up":
            return _up(settings)
        if args.command == "down":
            return _down(settings)
        if args.command == "status":
            return _status(settings)
        if args.command == "vizier":
            return _vizier(settings, args)
        if args.command == "serve":
            return _serve(settings, args.component, args.host, args.allow, args.member)
        if args.command == "supervise":
            return run_group(args.spec, detach=args.detach)
        if args.infra_only:
            return run_demo(settings)
        return run_vizier_demo(settings, wait_s=args.wait)
    except (DevstackError, LocalStackError) as exc:
        print(f"pyxie_devstack: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
