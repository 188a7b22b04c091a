"""``python -m pyxie_devstack.cloud up|down|status|connect|serve``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from pyxie_client.local import LocalStackError, tls_dir
from pyxie_crypto import CertificateAuthority, CertificateError, IssuedCertificate
from pyxie_crypto.revocation import CRL_FILE, revoke_certificate

from pyxie_devstack._errors import DevstackError
from pyxie_devstack.cloud._stack import CloudStack
from pyxie_devstack.cloud._state import read_bootstrap
from pyxie_devstack.nats_server import NatsServer
from pyxie_devstack.postgres_server import PostgresServer
from pyxie_devstack.settings import DevstackSettings, load_settings

__all__ = ["main"]


def _serve(settings: DevstackSettings, what: str, directory: Path) -> int:
    """One infrastructure server in the foreground, for the group supervisor."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    component: NatsServer | PostgresServer
    if what == "nats":
        component = NatsServer(directory, start_timeout_s=settings.start_timeout_s)
    else:
        component = PostgresServer(
            directory, run_as_user=settings.pg_run_as_user, start_timeout_s=settings.start_timeout_s
        )
    stop_requested = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop_requested.set())
    signal.signal(signal.SIGINT, lambda *_: stop_requested.set())
    with component:
        print(f"{what} ready at {component.endpoint.host}:{component.endpoint.port}", flush=True)
        while not stop_requested.wait(0.5):
            if component.exited():
                # Exit too, so the supervisor restarts us (and with us, the server).
                print(f"{what} exited; see {component.log_path}", flush=True)
                return 1
    return 0


def _revoke(settings: DevstackSettings, certificate: str) -> int:
    directory = tls_dir(settings.state_dir)
    path = Path(certificate)
    target: bytes | int = path.read_bytes() if path.exists() else int(certificate, 16)
    serial = revoke_certificate(directory, target)
    print(f"revoked serial {serial:x}; CRL {directory / CRL_FILE} (vzconn re-reads it)")
    return 0


def _rotate(settings: DevstackSettings) -> int:
    directory = tls_dir(settings.state_dir)
    current = IssuedCertificate.load(directory, "vzconn")
    old = current.certificate
    issued = CertificateAuthority.load(directory).reissue(current)
    issued.save(directory, "vzconn")
    print(
        f"vzconn certificate {old.serial_number:x} replaced by "
        f"{issued.certificate.serial_number:x}; new connections get it, open streams stay"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pyxie_devstack cloud", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the cloud (detached) and bootstrap a demo org")
    up.add_argument("--no-bootstrap", action="store_true")
    sub.add_parser("down", help="stop everything the cloud devstack started")
    sub.add_parser("status", help="show the cloud's process groups")
    sub.add_parser("keys", help="print the demo org's credentials")
    connect = sub.add_parser("connect", help="register the standalone vizier with this cloud")
    connect.add_argument("--deploy-key", default="")
    connect.add_argument("--cluster-name", default="local")
    revoke = sub.add_parser(
        "revoke-cert", help="revoke a certificate of the local CA and publish its CRL"
    )
    revoke.add_argument("certificate", help="a PEM file, or the serial number in hex")
    sub.add_parser(
        "rotate-cert", help="issue vzconn a new certificate (it switches without a restart)"
    )
    serve = sub.add_parser("serve", help=argparse.SUPPRESS)
    serve.add_argument("what", choices=["nats", "postgres"])
    serve.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        if args.command == "serve":
            return _serve(settings, args.what, args.dir)
        stack = CloudStack(settings)
        if args.command == "up":
            stack.up(bootstrap=not args.no_bootstrap)
            return 0
        if args.command == "down":
            stopped = stack.down()
            print(f"stopped {', '.join(stopped)}" if stopped else "nothing was running")
            return 0
        if args.command == "revoke-cert":
            return _revoke(settings, args.certificate)
        if args.command == "rotate-cert":
            return _rotate(settings)
        if args.command == "keys":
            for key, value in read_bootstrap(settings.state_dir).to_dict().items():
                print(f"{key:<11} {value}")
            return 0
        if args.command == "connect":
            key = args.deploy_key or read_bootstrap(settings.state_dir).deploy_key
            vizier_id = stack.connect_local_vizier(key, args.cluster_name)
            print(f"vizier {vizier_id} connected")
            return 0
        running = 0
        statuses = stack.status()
        for status in statuses:
            running += status.running
            state = "running" if status.running else "stopped"
            print(f"{status.name:<16} {state}  {status.pids}  restarts {status.restarts}")
        return 0 if statuses and running == len(statuses) else 3
    except (DevstackError, LocalStackError, CertificateError, ValueError) as exc:
        print(f"pyxie_devstack cloud: {exc}", file=sys.stderr)
        return 2
