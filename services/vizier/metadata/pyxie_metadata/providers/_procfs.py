"""Reading what the local provider needs from /proc (pure parsers plus thin readers)."""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = [
    "ProcessSnapshot",
    "boot_time_ns",
    "clock_ticks_per_second",
    "container_id_from_cgroup",
    "listening_ports_by_inode",
    "local_ipv4_addresses",
    "named_netns_by_inode",
    "netns_inode",
    "parse_cgroup_path",
    "parse_fib_trie_local_addresses",
    "parse_listening_sockets",
    "parse_start_ticks",
    "read_processes",
    "route_source_ip",
    "socket_inodes",
    "systemd_unit_from_cgroup",
]

PROC: Final = Path("/proc")
NETNS_RUN_DIR: Final = Path("/run/netns")
# TCP state LISTEN in /proc/net/tcp{,6}.
_TCP_LISTEN: Final = "0A"
# docker, containerd (cri-containerd-), cri-o (crio-) and podman (libpod-) put the 64-hex
# container id into the cgroup path.
_CONTAINER_ID: Final = re.compile(r"(?:^|[/\-])([0-9a-f]{64})(?:\.scope)?(?:/|$)")
_NETNS_LINK: Final = re.compile(r"net:\[(\d+)\]")
_SOCKET_LINK: Final = re.compile(r"socket:\[(\d+)\]")


@dataclass(frozen=True, slots=True)
class ProcessSnapshot:
    pid: int
    # argv joined with spaces; empty for kernel threads.
    cmdline: str
    # The process's path in the unified (v2) hierarchy, or systemd's v1 one.
    cgroup: str
    # 0 when the namespace could not be read (the process went away, or no permission).
    netns: int
    # Since boot, in clock ticks (/proc/<pid>/stat field 22).
    start_ticks: int


def clock_ticks_per_second() -> int:
    return int(os.sysconf("SC_CLK_TCK"))


def boot_time_ns(proc: Path = PROC) -> int:
    for line in (proc / "stat").read_text().splitlines():
        if line.startswith("btime "):
            return int(line.split()[1]) * 1_000_000_000
    raise RuntimeError(f"no btime in {proc / 'stat'}")


def parse_start_ticks(stat: str) -> int:
    """Field 22 of /proc/<pid>/stat; the command name (field 2) may contain spaces and ')'."""
    after_comm = stat[stat.rindex(")") + 2 :].split()
    # after_comm[0] is field 3 (state), so field 22 is index 19.
    return int(after_comm[19])


def parse_cgroup_path(content: str) -> str:
    """The unified hierarchy's path (`0::<path>`), else systemd's v1 path, else ""."""
    v1_systemd = ""
    for line in content.splitlines():
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and controllers == "":
            if path not in ("", "/"):
                return path
        elif controllers == "name=systemd":
            v1_systemd = path
    return v1_systemd if v1_systemd != "/" else ""


def container_id_from_cgroup(cgroup: str) -> str | None:
    match = _CONTAINER_ID.search(cgroup)
    return None if match is None else match.group(1)


def systemd_unit_from_cgroup(cgroup: str) -> str | None:
    """The innermost `<unit>.service` of the path, except the per-user manager."""
    for part in reversed(cgroup.split("/")):
        if part.endswith(".service"):
            if part.startswith("user@"):
                return None
            return part.removesuffix(".service")
    return None


def netns_inode(pid: int | str, proc: Path = PROC) -> int:
    try:
        match = _NETNS_LINK.fullmatch(os.readlink(proc / str(pid) / "ns" / "net"))
    except OSError:
        return 0
    return 0 if match is None else int(match.group(1))


def named_netns_by_inode(run_dir: Path = NETNS_RUN_DIR) -> dict[int, str]:
    """`ip netns` names: each file under /run/netns is a bind mount of a namespace."""
    names: dict[int, str] = {}
    try:
        entries = sorted(run_dir.iterdir())
    except OSError:
        return names
    for entry in entries:
        try:
            names.setdefault(entry.stat().st_ino, entry.name)
        except OSError:
            continue
    return names


def read_processes(proc: Path = PROC) -> list[ProcessSnapshot]:
    """Every process still there while it is read; kernel threads and races are skipped."""
    snapshots: list[ProcessSnapshot] = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
            if not raw:
                continue
            cmdline = raw.rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")
            cgroup = parse_cgroup_path((entry / "cgroup").read_text())
            start_ticks = parse_start_ticks((entry / "stat").read_text())
        except (OSError, ValueError, IndexError):
            continue
        pid = int(entry.name)
        snapshots.append(ProcessSnapshot(pid, cmdline, cgroup, netns_inode(pid, proc), start_ticks))
    snapshots.sort(key=lambda snapshot: snapshot.pid)
    return snapshots


def parse_fib_trie_local_addresses(content: str) -> list[str]:
    """Host-local IPv4 addresses in /proc/net/fib_trie order, loopback excluded, deduplicated."""
    found: list[str] = []
    last_address = ""
    for line in content.splitlines():
        stripped = line.strip()
        if stripped.startswith("|-- "):
            last_address = stripped[4:].strip()
        elif stripped == "/32 host LOCAL" and last_address:
            try:
                address = ipaddress.IPv4Address(last_address)
            except ValueError:
                continue
            if not address.is_loopback and last_address not in found:
                found.append(last_address)
    return found


def local_ipv4_addresses(pid: int | str = "self", proc: Path = PROC) -> list[str]:
    """The IPv4 addresses of the network namespace `pid` is in."""
    try:
        return parse_fib_trie_local_addresses((proc / str(pid) / "net" / "fib_trie").read_text())
    except OSError:
        return []


def route_source_ip() -> str | None:
    """The source address the kernel picks for outside traffic (no packet is sent)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            # A TEST-NET-3 address: connect() on UDP only looks up the route.
            probe.connect(("203.0.113.1", 9))
            address: str = probe.getsockname()[0]
    except OSError:
        return None
    return address if address != "0.0.0.0" else None


def parse_listening_sockets(content: str) -> dict[int, int]:
    """socket inode -> port for the LISTEN sockets of a /proc/net/tcp or tcp6 table."""
    listening: dict[int, int] = {}
    for line in content.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != _TCP_LISTEN:
            continue
        port = int(fields[1].rsplit(":", 1)[1], 16)
        listening[int(fields[9])] = port
    return listening


def listening_ports_by_inode(pid: int, proc: Path = PROC) -> dict[int, int]:
    """LISTEN socket inode -> port in the network namespace of `pid`."""
    listening: dict[int, int] = {}
    for table in ("tcp", "tcp6"):
        try:
            listening.update(parse_listening_sockets((proc / str(pid) / "net" / table).read_text()))
        except OSError:
            continue
    return listening


def socket_inodes(pid: int, proc: Path = PROC) -> Iterable[int]:
    fd_dir = proc / str(pid) / "fd"
    try:
        fds = list(fd_dir.iterdir())
    except OSError:
        return
    for fd in fds:
        try:
            match = _SOCKET_LINK.fullmatch(os.readlink(fd))
        except OSError:
            continue
        if match is not None:
            yield int(match.group(1))
