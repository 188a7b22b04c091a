"""Finding libssl copies for the TLS uprobes: /proc/<pid>/maps and the linker cache, and the
rescan's cost (ldconfig runs again only when its cache changed)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pyxie_stirling.socket_tracer import SocketTraceSource
from pyxie_stirling.socket_tracer import source as source_module
from pyxie_stirling.socket_tracer._tls import find_libssl_files, parse_ldconfig, parse_maps_libssl

MAPS = """\
55d0c8a00000-55d0c8a01000 r--p 00000000 08:01 1048 /usr/bin/python3.11
7f1c2a000000-7f1c2a0a0000 r-xp 00000000 08:01 2096 /usr/lib/x86_64-linux-gnu/libssl.so.3
7f1c2b000000-7f1c2b0a0000 r-xp 00000000 08:01 2097 /opt/app/lib/libssl.so.1.1 (deleted)
7f1c2c000000-7f1c2c021000 rw-p 00000000 00:00 0 [heap]
7f1c2d000000-7f1c2d0a0000 r-xp 00000000 08:01 2098 /usr/lib/x86_64-linux-gnu/libcrypto.so.3
"""


def test_maps_give_the_mapped_libssl_files_but_not_deleted_ones() -> None:
    assert parse_maps_libssl(MAPS) == {"/usr/lib/x86_64-linux-gnu/libssl.so.3"}


def test_maps_without_libssl_give_nothing() -> None:
    without = "\n".join(line for line in MAPS.splitlines() if "libssl" not in line)
    assert parse_maps_libssl(without) == set()
    assert parse_maps_libssl("") == set()


def test_ldconfig_lines_give_libssl_paths_only() -> None:
    out = (
        "1234 libs found in cache `/etc/ld.so.cache'\n"
        "\tlibssl.so.3 (libc6,x86-64) => /lib/x86_64-linux-gnu/libssl.so.3\n"
        "\tlibcrypto.so.3 (libc6,x86-64) => /lib/x86_64-linux-gnu/libcrypto.so.3\n"
    )
    assert parse_ldconfig(out) == {"/lib/x86_64-linux-gnu/libssl.so.3"}


def test_find_libssl_files_keys_copies_by_inode(tmp_path: Path) -> None:
    lib = tmp_path / "libssl.so.3"
    lib.write_bytes(b"\x7fELF")
    link = tmp_path / "libssl.so"
    link.symlink_to(lib)
    found = find_libssl_files([], extra=[str(lib), str(link), str(tmp_path / "missing.so")])
    st = os.stat(lib)
    assert found == {(st.st_dev, st.st_ino): str(lib)}


def test_ldconfig_runs_again_only_when_the_linker_cache_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "ld.so.cache"
    cache.write_bytes(b"v1")
    monkeypatch.setattr(source_module, "_LD_SO_CACHE", str(cache))
    calls: list[list[str]] = []

    def fake_run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append(argv)
        lib = f"/lib/libssl.so.{len(calls)}"
        return subprocess.CompletedProcess(argv, 0, f"\tlibssl.so.3 (libc6) => {lib}\n", "")

    monkeypatch.setattr(source_module.subprocess, "run", fake_run)
    tracer = SocketTraceSource()
    assert tracer._ldconfig_libssl() == {"/lib/libssl.so.1"}
    assert tracer._ldconfig_libssl() == {"/lib/libssl.so.1"}
    assert len(calls) == 1
    stamp = os.stat(cache).st_mtime_ns
    os.utime(cache, ns=(stamp + 10**9, stamp + 10**9))  # the cache was rebuilt
    assert tracer._ldconfig_libssl() == {"/lib/libssl.so.2"}
    assert calls == [["ldconfig", "-p"], ["ldconfig", "-p"]]
