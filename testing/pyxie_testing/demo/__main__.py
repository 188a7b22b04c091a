"""python -m pyxie_testing.demo {frontend|orders|loadgen} [options]."""

from __future__ import annotations

import argparse
import os
import signal
import sys

from .frontend import serve_frontend
from .loadgen import run_loadgen
from .orders import serve_orders


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pyxie_testing.demo")
    sub = parser.add_subparsers(dest="role", required=True)
    fe = sub.add_parser("frontend")
    fe.add_argument("--port", type=int, default=8080)
    fe.add_argument("--orders-url", default="http://127.0.0.1:8081")
    od = sub.add_parser("orders")
    od.add_argument("--port", type=int, default=8081)
    od.add_argument(
        "--dsn",
        # From the environment by default, so the password does not show in `ps`.
        default=os.environ.get("DEMO_ORDERS_DSN"),
        help="PostgreSQL connection string (default: $DEMO_ORDERS_DSN)",
    )
    lg = sub.add_parser("loadgen")
    lg.add_argument("--frontend-url", default="http://127.0.0.1:8080")
    lg.add_argument("--rps", type=float, default=10.0)
    lg.add_argument("--duration", type=float, default=None)
    args = parser.parse_args(argv)
    if args.role == "orders" and not args.dsn:
        parser.error("orders needs --dsn or DEMO_ORDERS_DSN")
    # SIGTERM (honcho, `vizier down`) unwinds like Ctrl-C, so orders stops the nats-server and
    # RabbitMQ it started (they run in their own sessions and would outlive it otherwise).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        if args.role == "frontend":
            serve_frontend(args.port, args.orders_url)
        elif args.role == "orders":
            serve_orders(args.port, args.dsn)
        else:
            run_loadgen(args.frontend_url, args.rps, args.duration)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
