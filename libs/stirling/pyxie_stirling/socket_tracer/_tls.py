"""Finding the libssl copies processes use, for the SSL_read/SSL_write uprobes.

A uprobe attaches to a file (an inode): every process mapping that file is traced. So the
tracer attaches once per distinct libssl file found in /proc/*/maps (through /proc/<pid>/root,
so containers' copies count) and in the dynamic linker cache, and rescans periodically for
processes that brought a new copy.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

__all__ = ["SSL_PROBES", "find_libssl_files", "parse_ldconfig", "parse_maps_libssl"]

# (symbol, entry program). Every call returns through probe_return_ssl, which reads the byte
# count from the return value (SSL_read/SSL_write) or from the size_t* (the _ex variants).
SSL_PROBES: tuple[tuple[str, str], ...] = (
    ("SSL_write", "probe_enter_ssl_write"),
    ("SSL_read", "probe_enter_ssl_read"),
    ("SSL_write_ex", "probe_enter_ssl_write_ex"),
    ("SSL_read_ex", "probe_enter_ssl_read_ex"),
)
SSL_RETURN_PROBE = "probe_return_ssl"

_LIB_MARKER = "/libssl.so"


def parse_maps_libssl(text: str) -> set[str]:
    """Paths of libssl files mapped in one /proc/<pid>/maps."""
    out: set[str] = set()
    if _LIB_MARKER not in text:
        return out  # most processes: one search in C instead of a loop over every line
    for line in text.splitlines():
        slash = line.find("/")
        if slash < 0:
            continue
        path = line[slash:]
        if _LIB_MARKER in path and not path.endswith(" (deleted)"):
            out.add(path)
    return out


def parse_ldconfig(text: str) -> set[str]:
    """libssl paths from `ldconfig -p` output ("libssl.so.3 (libc6,x86-64) => /lib/...")."""
    out: set[str] = set()
    for line in text.splitlines():
        name, sep, path = line.partition("=>")
        if sep and name.strip().startswith("libssl.so"):
            out.add(path.strip())
    return out


def find_libssl_files(
    pids: Iterable[int], proc: Path = Path("/proc"), extra: Iterable[str] = ()
) -> dict[tuple[int, int], str]:
    """Distinct libssl files, keyed by (device, inode), as paths this process can open."""
    found: dict[tuple[int, int], str] = {}

    def add(path: str) -> None:
        try:
            st = os.stat(path)
        except OSError:
            return
        found.setdefault((st.st_dev, st.st_ino), os.path.realpath(path))

    for path in extra:
        add(path)
    for pid in pids:
        try:
            text = (proc / str(pid) / "maps").read_text()
        except (OSError, ValueError):
            continue
        for path in parse_maps_libssl(text):
            add(f"{proc}/{pid}/root{path}")
    return found
