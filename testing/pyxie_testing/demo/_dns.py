"""The demo's DNS: a private resolver for the shop's own names, queried with dnspython.

Needs Debian's dnsmasq (the ``dnsmasq-base`` package: the binary without the system service;
tools/setup_bpf.sh installs it). It runs as a child of orders on an ephemeral loopback UDP port,
answers only the ``shop.pyxie`` names below (no upstream, no /etc/hosts) and dies with it.
Without it, ``ShopResolver.start`` logs why and returns None.

Orders look up the mailer's address for every order. dnspython's ``dns.query.udp`` sends each
query from a fresh unconnected socket (sendto/recvfrom), as many resolvers do; glibc cannot be
pointed at a private port, so it is not used here.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import shutil
import socket
import subprocess
import time

__all__ = ["SHOP_NAMES", "ShopResolver", "dnsmasq_binary"]

log = logging.getLogger(__name__)

_SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin"])
# The shop's names and their addresses (all on this host).
SHOP_NAMES = {
    "mail.shop.pyxie": "127.0.0.1",
    "payments.shop.pyxie": "127.0.0.2",
}


def dnsmasq_binary() -> str | None:
    """Debian's dnsmasq, when installed."""
    return shutil.which("dnsmasq", path=_SEARCH_PATH)


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ShopResolver:
    """A private dnsmasq answering the shop's names; ``resolve`` asks it over UDP."""

    def __init__(self, binary: str) -> None:
        self.port = _free_udp_port()
        addresses = [f"--address=/{name}/{addr}" for name, addr in SHOP_NAMES.items()]
        self._server = subprocess.Popen(
            [binary, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
             "--no-hosts", "--no-poll", "--listen-address=127.0.0.1", "--bind-interfaces",
             f"--port={self.port}", "--pid-file=", f"--user={getpass.getuser()}",
             "--log-facility=-", "--cache-size=0", *addresses],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip

    @classmethod
    def start(cls) -> ShopResolver | None:
        binary = dnsmasq_binary()
        if binary is None:
            log.warning("dnsmasq is not installed: the demo shop resolves no names over DNS")
            return None
        return cls(binary)

    def wait_ready(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.resolve("mail.shop.pyxie", timeout_s=0.2) is not None:
                return True
            if self._server.poll() is not None:
                return False
            time.sleep(0.05)
        return False

    def resolve(self, name: str, timeout_s: float = 1.0) -> str | None:
        """The first IPv4 address of ``name``, or None (unknown name, no answer)."""
        import dns.exception
        import dns.message
        import dns.query
        import dns.rdatatype

        query = dns.message.make_query(name, dns.rdatatype.A)
        try:
            answer = dns.query.udp(query, "127.0.0.1", port=self.port, timeout=timeout_s)
        except (dns.exception.DNSException, OSError):
            return None
        for rrset in answer.answer:
            for rdata in rrset:
                if rdata.rdtype == dns.rdatatype.A:
                    return str(rdata.address)
        return None

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._server.pid, 15)
        try:
            self._server.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self._server.pid, 9)
            self._server.wait()
