"""Simulated nodes: network namespaces on one bridge, made with ``ip`` (iproute2).

Each node ``<tag>-node<i>`` is a network namespace with a veth pair whose host end sits on the
bridge ``<tag>-br`` (``<subnet>.1``, the host's address on it). The node has ``<subnet>.<10+i>``
and a default route via the bridge, so nodes reach each other and the host's services bound to
the bridge address (PostgreSQL). Nothing is NATed or forwarded: the nodes only need this subnet.

Everything is idempotent, and what was created is recorded under the state dir so that
teardown removes exactly that (a namespace the user made by hand with the same name is left
alone). Needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN); :func:`netns_supported` says whether this
process can do it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pyxie_devstack._errors import DevstackError

__all__ = [
    "NETNS_RUN_DIR",
    "NetworkError",
    "NodeNetwork",
    "SimulatedNode",
    "netns_inode",
    "netns_supported",
]

NETNS_RUN_DIR = Path("/run/netns")
_IP_TIMEOUT_S = 10  # an `ip` call is instant; a hang means something is badly wrong
_PREFIX_LEN = 24
# Node i gets host number 10+i: .1 is the bridge, .2-.9 stay free for the user's own things.
_FIRST_NODE_HOST = 10


class NetworkError(DevstackError):
    """An ``ip`` command failed; the message has its stderr."""


@dataclass(frozen=True)
class SimulatedNode:
    name: str  # also the network namespace name, and the node name metadata reports
    ip: str
    netns: str  # "" = the host's namespace (the fallback without root)
    host_veth: str = ""


def netns_supported() -> bool:
    """True when this process may create network namespaces (root with ``ip`` available)."""
    return os.geteuid() == 0 and shutil.which("ip") is not None


def netns_inode(name: str) -> int:
    """Inode of a named network namespace (the PEM's ``PL_NETNS_INODE`` filter value)."""
    return (NETNS_RUN_DIR / name).stat().st_ino


def _ip(*args: str, netns: str | None = None, check: bool = True) -> str:
    argv = ["ip", *args] if netns is None else ["ip", "-n", netns, *args]
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=_IP_TIMEOUT_S, check=False
    )
    if check and result.returncode != 0:
        raise NetworkError(f"`{' '.join(argv)}` failed: {result.stderr.strip()}")
    return result.stdout


def _link_exists(name: str, netns: str | None = None) -> bool:
    return bool(_ip("-o", "link", "show", "dev", name, netns=netns, check=False).strip())


def _delete_link(name: str) -> bool:
    """Delete a link if it exists; True if we deleted it.

    A veth's host end vanishes by itself, asynchronously, when its peer's namespace is
    deleted: it may exist when checked and be gone when deleted ("Cannot find device").
    What is already gone is what we wanted, so only a link that is still there is an error.
    """
    if not _link_exists(name):
        return False
    try:
        _ip("link", "del", name)
    except NetworkError:
        if _link_exists(name):
            raise
        return False
    return True


class NodeNetwork:
    """The bridge and node namespaces of one stack (``tag`` keeps stacks apart)."""

    def __init__(
        self, state_dir: Path, *, tag: str = "pyxie", subnet: str = "10.250.77", nodes: int = 2
    ) -> None:
        # Interface names are at most 15 bytes: "<tag>-n<i>h" must fit.
        if not 1 <= len(tag) <= 8 or not tag.replace("-", "").isalnum():
            raise DevstackError(f"network tag {tag!r} must be 1-8 letters, digits or '-'")
        if not 1 <= nodes <= 9:
            raise DevstackError(f"{nodes} nodes: between 1 and 9 are supported")
        self.record_path = state_dir / "network.json"
        self.tag = tag
        self.subnet = subnet
        self.bridge = f"{tag}-br"
        self.bridge_ip = f"{subnet}.1"
        self.nodes = [
            SimulatedNode(
                name=f"{tag}-node{i}",
                ip=f"{subnet}.{_FIRST_NODE_HOST + i}",
                netns=f"{tag}-node{i}",
                host_veth=f"{tag}-n{i}h",
            )
            for i in range(1, nodes + 1)
        ]

    def _record(self) -> dict[str, list[str]]:
        try:
            raw = json.loads(self.record_path.read_text())
        except (OSError, ValueError):
            return {"bridges": [], "namespaces": []}
        return {
            "bridges": [str(b) for b in raw.get("bridges", [])],
            "namespaces": [str(n) for n in raw.get("namespaces", [])],
        }

    def _save(self, record: dict[str, list[str]]) -> None:
        self.record_path.parent.mkdir(parents=True, exist_ok=True)
        self.record_path.write_text(json.dumps(record))

    def _existing_namespaces(self) -> set[str]:
        return {line.split()[0] for line in _ip("netns", "list").splitlines() if line.strip()}

    def up(self) -> list[SimulatedNode]:
        """Create whatever is missing; return the nodes."""
        record = self._record()
        if not _link_exists(self.bridge):
            _ip("link", "add", self.bridge, "type", "bridge")
            record["bridges"].append(self.bridge)
            self._save(record)
        addresses = _ip("-o", "-4", "addr", "show", "dev", self.bridge)
        if f" {self.bridge_ip}/" not in addresses:
            _ip("addr", "add", f"{self.bridge_ip}/{_PREFIX_LEN}", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        existing = self._existing_namespaces()
        for node in self.nodes:
            if node.netns not in existing:
                _ip("netns", "add", node.netns)
                record["namespaces"].append(node.netns)
                self._save(record)
            self._wire(node)
        return list(self.nodes)

    def _wire(self, node: SimulatedNode) -> None:
        inner = "eth0"
        if not _link_exists(inner, node.netns):
            if _link_exists(node.host_veth):  # half-made pair from an interrupted run
                _ip("link", "del", node.host_veth)
            peer = f"{self.tag}-tmp"
            _ip("link", "add", node.host_veth, "type", "veth", "peer", "name", peer)
            _ip("link", "set", peer, "netns", node.netns)
            _ip("link", "set", peer, "name", inner, netns=node.netns)
        _ip("link", "set", node.host_veth, "master", self.bridge)
        _ip("link", "set", node.host_veth, "up")
        _ip("link", "set", "lo", "up", netns=node.netns)
        addresses = _ip("-o", "-4", "addr", "show", "dev", inner, netns=node.netns)
        if f" {node.ip}/" not in addresses:
            _ip("addr", "add", f"{node.ip}/{_PREFIX_LEN}", "dev", inner, netns=node.netns)
        _ip("link", "set", inner, "up", netns=node.netns)
        routes = _ip("route", "show", "default", netns=node.netns)
        if self.bridge_ip not in routes:
            _ip("route", "replace", "default", "via", self.bridge_ip, netns=node.netns)

    def down(self) -> list[str]:
        """Delete the namespaces and bridge this stack created; return what was removed."""
        record = self._record()
        removed: list[str] = []
        existing = self._existing_namespaces() if record["namespaces"] else set()
        for name in record["namespaces"]:
            if name in existing:
                # Deleting the namespace destroys its veth end, which takes the host end along.
                try:
                    _ip("netns", "del", name)
                except NetworkError:
                    if name in self._existing_namespaces():
                        raise
                removed.append(name)
        for node in self.nodes:
            # The veth pairs are always ours, even inside a namespace we found existing.
            _delete_link(node.host_veth)
        for bridge in record["bridges"]:
            if _delete_link(bridge):
                removed.append(bridge)
        self.record_path.unlink(missing_ok=True)
        return removed
