"""Refuse to run stale mypyc-compiled modules (see tools/mypyc_build.py, `make mypyc`).

An extension module built next to a .py file shadows it: after an edit of the source, the old
compiled code would keep running without a word. The build writes ``_compiled_sources.txt``
(sha256 and path of every source it compiled); when that file exists, importing the package
compares it with the sources and fails with the command that fixes it. Without the file (pure
Python, the default) this costs one stat.

``status()`` tells whether the socket tracer's hot modules run compiled or pure (the PEM logs
it at start; ``python -m pyxie_stirling --require-compiled`` fails the PEM image
build when they are not compiled).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import sys
from pathlib import Path
from typing import NamedTuple

__all__ = [
    "HOT_MODULES",
    "MANIFEST_NAME",
    "NATIVE_MODULES",
    "MypycStatus",
    "StaleCompiledModulesError",
    "check",
    "status",
]

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


# Hand-written C modules (tools/native_build.py): no .py file, so "pure" means not built.
NATIVE_MODULES = ("pyxie_stirling.protocols._http_native",)
# The socket tracer's per-event path; `make mypyc` (and the PEM image) compile all of them.
HOT_MODULES = (
    "pyxie_stirling.protocols._common",
    "pyxie_stirling.protocols._http",
    "pyxie_stirling.socket_tracer._conntrack",
    "pyxie_stirling.socket_tracer._events",
    *NATIVE_MODULES,
)


class MypycStatus(NamedTuple):
    """Which of ``modules`` load as extension modules and which from their .py files."""

    compiled: tuple[str, ...]
    pure: tuple[str, ...]

    @property
    def mode(self) -> str:
        """``compiled`` (every module), ``pure`` (none) or ``mixed``."""
        if not self.pure:
            return "compiled"
        return "pure" if not self.compiled else "mixed"


def status(modules: tuple[str, ...] = HOT_MODULES) -> MypycStatus:
    """Whether each module runs compiled: imports it and looks at the file it was loaded from
    (CPython's finder prefers an extension module beside its .py file).

    The modules are imported rather than looked up with ``importlib.util.find_spec``: a package
    ``__init__`` compiled by mypyc reports a ``__path__`` its submodules cannot be found in.
    """
    compiled: list[str] = []
    pure: list[str] = []
    for name in modules:
        try:
            origin = getattr(importlib.import_module(name), "__file__", None) or ""
        except ModuleNotFoundError as exc:
            if exc.name != name or name not in NATIVE_MODULES:
                raise
            origin = ""  # not built
        is_extension = any(origin.endswith(s) for s in importlib.machinery.EXTENSION_SUFFIXES)
        (compiled if is_extension else pure).append(name)
    return MypycStatus(tuple(compiled), tuple(pure))


def main(argv: list[str] | None = None) -> int:
    """``python -m pyxie_stirling [--require-compiled]``: print the status.

    With ``--require-compiled`` exit 1 unless every hot module is compiled (image builds use it
    so a failed compilation never ships pure Python).
    """
    args = sys.argv[1:] if argv is None else argv
    result = status()
    print(f"pyxie_stirling: {result.mode}; compiled: {', '.join(result.compiled) or '-'}; "
          f"pure: {', '.join(result.pure) or '-'}")  # fmt: skip
    if "--require-compiled" in args and result.mode != "compiled":
        print("pyxie_stirling: not every hot module is compiled", file=sys.stderr)
        return 1
    return 0
