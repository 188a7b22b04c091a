"""The demo's stock levels in MySQL: a private MariaDB server, started by the orders process.

Needs Debian's mariadb-server (tools/setup_bpf.sh installs it; the system service is never
used). The server runs as a child of orders with its own datadir, socket and loopback port,
and dies with it. Without the package, ``Inventory.start`` logs why and returns None, and the
shop runs without MySQL.

Orders read the stock of a product on every product page and take it off on every order,
through PyMySQL over TCP (the tracer sees TCP, not the Unix socket used to set up the user).
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import shutil
import socket
import subprocess
import threading
import time
from typing import Any

__all__ = ["Inventory", "mariadb_binaries"]

log = logging.getLogger(__name__)

# Debian puts the server in /usr/sbin, which a non-root PATH may lack.
_SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin"])
_USER, _PASSWORD, _DATABASE = "shop", "shop-demo", "shop"
# Renew the client connection now and then: a tracer started after the shop only sees
# connections opened after it (the HTTP clients renew theirs on the same schedule).
_RENEW_AFTER_S, _RENEW_AFTER_USES = 20.0, 100


def mariadb_binaries() -> tuple[str, str] | None:
    """(mariadbd, mariadb-install-db) when Debian's mariadb-server is installed."""
    server = shutil.which("mariadbd", path=_SEARCH_PATH)
    install = shutil.which("mariadb-install-db", path=_SEARCH_PATH)
    return (server, install) if server and install else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inventory:
    """Stock per product in a private MariaDB; unready calls answer None (no stock info)."""

    def __init__(self, base: str, binaries: tuple[str, str], products: int) -> None:
        self.port = _free_port()
        self._base = base
        self._binaries = binaries
        self._products = products
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._conn: Any = None
        self._opened = 0.0
        self._uses = 0
        self._server: subprocess.Popen[bytes] | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._boot, name="inventory", daemon=True)
        self._thread.start()

    @classmethod
    def start(cls, base: str, products: int) -> Inventory | None:
        binaries = mariadb_binaries()
        if binaries is None:
            log.warning("mariadb-server is not installed: the demo shop runs without MySQL")
            return None
        return cls(base, binaries, products)

    def wait_ready(self, timeout_s: float) -> bool:
        return self._ready.wait(timeout_s)

    # -- the server ---------------------------------------------------------------------------

    def _boot(self) -> None:
        try:
            self._start_server()
            self._prepare()
            self._ready.set()
        except Exception:
            log.exception("the demo's MariaDB did not start: the shop runs without MySQL")

    def _start_server(self) -> None:
        server, install = self._binaries
        datadir = os.path.join(self._base, "data")
        user = getpass.getuser()  # mariadbd refuses root unless told to run as root
        quiet = subprocess.DEVNULL
        subprocess.run(
            [install, "--no-defaults", f"--datadir={datadir}", f"--user={user}",
             "--auth-root-authentication-method=normal", "--skip-test-db"],
            stdout=quiet, stderr=quiet, check=True, timeout=120,
        )  # fmt: skip
        if self._closed:
            return
        self._server = subprocess.Popen(
            [server, "--no-defaults", f"--datadir={datadir}", f"--user={user}",
             f"--socket={self.socket_path}", f"--port={self.port}",
             "--bind-address=127.0.0.1", "--skip-name-resolve", "--skip-log-bin",
             f"--pid-file={os.path.join(self._base, 'mariadb.pid')}",
             f"--log-error={os.path.join(self._base, 'error.log')}",
             # A demo's few rows: small buffers keep the footprint near 100 MB.
             "--innodb-buffer-pool-size=16M", "--performance-schema=OFF"],
            stdout=quiet, stderr=quiet, start_new_session=True,
        )  # fmt: skip

    @property
    def socket_path(self) -> str:
        return os.path.join(self._base, "mariadb.sock")

    def _prepare(self) -> None:
        import pymysql

        deadline = time.monotonic() + 60
        while True:
            # Our own socket, handed to PyMySQL: when connect() itself fails (the server is not
            # listening yet), PyMySQL leaks the socket it made (it closes only what connected).
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(5)
                sock.connect(self.socket_path)
                admin = pymysql.connect(
                    unix_socket=self.socket_path, user="root", password="", defer_connect=True
                )
                admin.connect(sock)  # closes the socket itself if the handshake fails
                break
            except (OSError, pymysql.err.OperationalError):
                sock.close()
                if self._closed or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        with admin, admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS {_DATABASE}")
            cur.execute(
                f"CREATE USER IF NOT EXISTS '{_USER}'@'127.0.0.1' IDENTIFIED BY '{_PASSWORD}'"
            )
            cur.execute(f"GRANT ALL ON {_DATABASE}.* TO '{_USER}'@'127.0.0.1'")
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {_DATABASE}.stock "
                "(product_id INT PRIMARY KEY, quantity INT NOT NULL)"
            )
            for product_id in range(1, self._products + 1):
                cur.execute(
                    f"INSERT IGNORE INTO {_DATABASE}.stock VALUES (%s, %s)", (product_id, 1000)
                )
            admin.commit()

    # -- the client ---------------------------------------------------------------------------

    def _connection(self) -> Any:
        import pymysql

        now = time.monotonic()
        if self._conn is not None and (
            now - self._opened > _RENEW_AFTER_S or self._uses >= _RENEW_AFTER_USES
        ):
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
        if self._conn is None:
            self._conn = pymysql.connect(
                host="127.0.0.1", port=self.port, user=_USER, password=_PASSWORD,
                database=_DATABASE, autocommit=True, connect_timeout=2, read_timeout=2,
            )  # fmt: skip
            self._opened, self._uses = now, 0
        self._uses += 1
        return self._conn

    def _query(self, sql: str, args: tuple[int, ...]) -> tuple[Any, ...] | None:
        if not self._ready.is_set():
            return None
        with self._lock:
            try:
                with self._connection().cursor() as cur:
                    cur.execute(sql, args)
                    row: tuple[Any, ...] | None = cur.fetchone()
                    return row
            except Exception:
                if self._conn is not None:  # reconnect next time
                    with contextlib.suppress(Exception):
                        self._conn.close()
                    self._conn = None
                log.debug("inventory query failed", exc_info=True)
                return None

    def in_stock(self, product_id: int) -> int | None:
        """Units in stock, or None when unknown (no such product, server not up)."""
        row = self._query("SELECT quantity FROM stock WHERE product_id = %s", (product_id,))
        return None if row is None else int(row[0])

    def take(self, product_id: int, quantity: int) -> None:
        """Take units off the stock (never below zero; the demo never runs out for good)."""
        self._query(
            "UPDATE stock SET quantity = IF(quantity >= %s, quantity - %s, 1000) "
            "WHERE product_id = %s",
            (quantity, quantity, product_id),
        )

    def close(self) -> None:
        self._closed = True
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    self._conn.close()
                self._conn = None
        self._thread.join(10)
        if self._server is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._server.pid, 15)
            try:
                self._server.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self._server.pid, 9)
                self._server.wait()
