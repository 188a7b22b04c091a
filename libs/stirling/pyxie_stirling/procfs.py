"""Pure parsers for the /proc files the collectors read, and small readers around them.

Parsers take file text and return typed records so they can be unit-tested on any text; the
readers only open files. A process that exits between listing and reading is normal: readers
return None for it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CLOCK_TICKS_PER_SECOND",
    "PAGE_SIZE",
    "NetDevStats",
    "PidIO",
    "PidStat",
    "iter_pids",
    "netns_inode",
    "parse_net_dev",
    "parse_pid_io",
    "parse_pid_stat",
    "read_pid_io",
    "read_pid_stat",
]

CLOCK_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True, slots=True)
class PidStat:
    """The fields of /proc/<pid>/stat the collectors use (times in clock ticks)."""

    pid: int
    comm: str
    state: str
    ppid: int
    minor_faults: int
    major_faults: int
    utime_ticks: int
    stime_ticks: int
    num_threads: int
    start_time_ticks: int
    vsize_bytes: int
    rss_pages: int


@dataclass(frozen=True, slots=True)
class PidIO:
    rchar: int
    wchar: int
    read_bytes: int
    write_bytes: int


@dataclass(frozen=True, slots=True)
class NetDevStats:
    rx_bytes: int
    rx_packets: int
    rx_errors: int
    rx_drops: int
    tx_bytes: int
    tx_packets: int
    tx_errors: int
    tx_drops: int


def parse_pid_stat(text: str) -> PidStat:
    """Parse /proc/<pid>/stat. The command name may hold spaces and parentheses, so it is
    delimited by the first '(' and the LAST ')'."""
    open_paren = text.find("(")
    close_paren = text.rfind(")")
    if open_paren < 0 or close_paren < open_paren:
        raise ValueError(f"not a /proc/<pid>/stat line: {text[:80]!r}")
    # rest[0] is field 3 (state); field N is rest[N - 3].
    rest = text[close_paren + 2 :].split()
    if len(rest) < 22:
        raise ValueError(f"/proc/<pid>/stat line has {len(rest) + 2} fields, expected >= 24")
    return PidStat(
        pid=int(text[:open_paren]),
        comm=text[open_paren + 1 : close_paren],
        state=rest[0],
        ppid=int(rest[1]),
        minor_faults=int(rest[7]),
        major_faults=int(rest[9]),
        utime_ticks=int(rest[11]),
        stime_ticks=int(rest[12]),
        num_threads=int(rest[17]),
        start_time_ticks=int(rest[19]),
        vsize_bytes=int(rest[20]),
        rss_pages=int(rest[21]),
    )


def parse_pid_io(text: str) -> PidIO:
    """Parse /proc/<pid>/io ("key: value" lines)."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            values[key.strip()] = int(value)
    try:
        return PidIO(values["rchar"], values["wchar"], values["read_bytes"], values["write_bytes"])
    except KeyError as missing:
        raise ValueError(f"/proc/<pid>/io lacks {missing}") from None


def parse_net_dev(text: str) -> dict[str, NetDevStats]:
    """Parse /proc/net/dev: interface name -> counters (two header lines, then one per iface)."""
    out: dict[str, NetDevStats] = {}
    for line in text.splitlines()[2:]:
        name, sep, counters = line.partition(":")
        if not sep:
            continue
        f = [int(v) for v in counters.split()]
        if len(f) < 16:
            raise ValueError(f"/proc/net/dev line for {name.strip()!r} has {len(f)} counters")
        # rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes packets errs drop
        out[name.strip()] = NetDevStats(f[0], f[1], f[2], f[3], f[8], f[9], f[10], f[11])
    return out


def iter_pids(proc: Path = Path("/proc")) -> Iterator[int]:
    for entry in os.scandir(proc):
        if entry.name.isdigit():
            yield int(entry.name)


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None


def read_pid_stat(pid: int, proc: Path = Path("/proc")) -> PidStat | None:
    text = _read(proc / str(pid) / "stat")
    return parse_pid_stat(text) if text else None


def read_pid_io(pid: int, proc: Path = Path("/proc")) -> PidIO | None:
    text = _read(proc / str(pid) / "io")
    return parse_pid_io(text) if text else None


def netns_inode(pid: int, proc: Path = Path("/proc")) -> int | None:
    """Inode of the network namespace of ``pid`` (what `ip netns identify` compares)."""
    try:
        return os.stat(proc / str(pid) / "ns" / "net").st_ino
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
