"""Refuse to run stale mypyc-compiled modules (see tools/mypyc_build.py, `make mypyc`).

An extension module built next to a .py file shadows it: after an edit of the source, the old
compiled code would keep running without a word. The build writes ``_compiled_sources.txt``
(sha256 and path of every source it compiled); when that file exists, importing the package
compares it with the sources and fails with the command that fixes it. Without the file (pure
Python, the default) this costs one stat.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["MANIFEST_NAME", "StaleCompiledModulesError", "check"]

MANIFEST_NAME = "_compiled_sources.txt"


class StaleCompiledModulesError(ImportError):
    """A compiled module was built from a source that has changed since."""


def check(package_dir: Path) -> None:
    manifest = package_dir / MANIFEST_NAME
    try:
        lines = manifest.read_text().splitlines()
    except FileNotFoundError:
        return
    stale: list[str] = []
    for line in lines:
        digest, _, rel = line.partition("  ")
        if not rel:
            continue
        try:
            current = hashlib.sha256((package_dir / rel).read_bytes()).hexdigest()
        except FileNotFoundError:
            current = ""
        if current != digest:
            stale.append(rel)
    if stale:
        raise StaleCompiledModulesError(
            f"pyxie_stirling: compiled modules are older than their sources ({', '.join(stale)}):"
            " run `make mypyc` to rebuild them or `make mypyc-clean` for pure Python"
        )
