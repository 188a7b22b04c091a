"""Regenerate the Python code of every ``.proto`` under ``proto/``, or check it is up to date.

Generated files sit beside their ``.proto`` (``foo.proto`` -> ``foo_pb2.py``, ``foo_pb2.pyi``,
``foo_pb2_grpc.py``) and are committed, so the check compares a fresh generation in a temporary
directory with the tree byte for byte.
"""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import grpc_tools

__all__ = [
    "GENERATED_SUFFIXES",
    "ProtogenError",
    "StaleReport",
    "find_proto_root",
    "generate",
    "proto_sources",
    "stale_files",
    "write_generated",
]

# What protoc writes per source with --python_out, --pyi_out, --grpc_python_out and (typed
# service stubs, so services type-check under mypy --strict) mypy-protobuf's --mypy_grpc_out.
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")

# Well-known types (google/protobuf/*.proto) ship inside grpc_tools.
_WELL_KNOWN_INCLUDE = Path(grpc_tools.__file__).parent / "_proto"


class ProtogenError(Exception):
    """protoc failed, or the proto tree could not be found."""


@dataclass(frozen=True)
class StaleReport:
    """Paths (relative to the proto root) whose committed state differs from a fresh run."""

    changed: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    orphaned: tuple[str, ...] = ()
    packages_without_init: tuple[str, ...] = ()

    @property
    def clean(self) -> bool:
        return not (self.changed or self.missing or self.orphaned or self.packages_without_init)

    def lines(self) -> list[str]:
        """One human-readable line per problem."""
        return (
            [f"stale:    {path}" for path in self.changed]
            + [f"missing:  {path}" for path in self.missing]
            + [f"orphaned: {path} (its .proto is gone)" for path in self.orphaned]
            + [f"no __init__.py: {path}" for path in self.packages_without_init]
        )


def find_proto_root(start: Path | None = None) -> Path:
    """Find ``<repo>/proto``: above ``start`` (default: cwd), else above this package."""
    candidates = [start or Path.cwd(), Path(__file__).resolve().parent]
    for origin in candidates:
        for directory in (origin.resolve(), *origin.resolve().parents):
            proto_root = directory / "proto"
            if (proto_root / "pyxie_proto").is_dir():
                return proto_root
    raise ProtogenError(
        f"no proto/pyxie_proto directory above {candidates[0]} or {candidates[1]}; "
        "run from inside the Pyxie repository"
    )


def proto_sources(proto_root: Path) -> list[str]:
    """Every ``.proto`` under ``proto_root``, as sorted POSIX paths relative to it."""
    return sorted(
        path.relative_to(proto_root).as_posix()
        for path in proto_root.rglob("*.proto")
        if not _is_hidden(path.relative_to(proto_root))
    )


def _mypy_grpc_plugin() -> Path:
    """mypy-protobuf's gRPC stub plugin, installed beside this interpreter."""
    plugin = Path(sys.executable).parent / "protoc-gen-mypy_grpc"
    if not plugin.exists():
        found = shutil.which("protoc-gen-mypy_grpc")
        if found is None:
            raise ProtogenError("protoc-gen-mypy_grpc not found; install mypy-protobuf")
        plugin = Path(found)
    return plugin


def generate(proto_root: Path, out_dir: Path) -> list[str]:
    """Run protoc over every source into ``out_dir``; return the generated relative paths."""
    sources = proto_sources(proto_root)
    if not sources:
        raise ProtogenError(f"no .proto files under {proto_root}")
    out_dir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        "--proto_path=.",
        f"--proto_path={_WELL_KNOWN_INCLUDE}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        f"--plugin=protoc-gen-mypy_grpc={_mypy_grpc_plugin()}",
        f"--mypy_grpc_out={out_dir}",
        *sources,
    ]
    # Run from the proto root so descriptors are named "pyxie_proto/...", as the imports are.
    result = subprocess.run(command, cwd=proto_root, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ProtogenError(f"protoc failed (exit {result.returncode}):\n{result.stderr}")
    return sorted(
        path.relative_to(out_dir).as_posix() for path in out_dir.rglob("*") if path.is_file()
    )


def stale_files(proto_root: Path) -> StaleReport:
    """Compare a fresh generation with what is in ``proto_root``, without touching it."""
    with tempfile.TemporaryDirectory(prefix="pyxie-protogen-") as tmp:
        fresh_root = Path(tmp)
        fresh = generate(proto_root, fresh_root)
        changed: list[str] = []
        missing: list[str] = []
        for relative in fresh:
            committed = proto_root / relative
            if not committed.is_file():
                missing.append(relative)
            elif not filecmp.cmp(committed, fresh_root / relative, shallow=False):
                changed.append(relative)
    orphaned = sorted(set(_generated_in_tree(proto_root)) - set(fresh))
    return StaleReport(
        changed=tuple(changed),
        missing=tuple(missing),
        orphaned=tuple(orphaned),
        packages_without_init=tuple(_packages_without_init(proto_root)),
    )


def write_generated(proto_root: Path) -> list[str]:
    """Regenerate in place: rewrite only files whose bytes change, delete orphans.

    Returns the relative paths written or deleted.
    """
    touched: list[str] = []
    with tempfile.TemporaryDirectory(prefix="pyxie-protogen-") as tmp:
        fresh_root = Path(tmp)
        fresh = generate(proto_root, fresh_root)
        for relative in fresh:
            target = proto_root / relative
            source = fresh_root / relative
            if target.is_file() and filecmp.cmp(target, source, shallow=False):
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            touched.append(relative)
    for relative in sorted(set(_generated_in_tree(proto_root)) - set(fresh)):
        (proto_root / relative).unlink()
        touched.append(relative)
    return touched


def _generated_in_tree(proto_root: Path) -> list[str]:
    return sorted(
        path.relative_to(proto_root).as_posix()
        for path in proto_root.rglob("*_pb2*")
        if path.is_file()
        and path.name.endswith(GENERATED_SUFFIXES)
        and not _is_hidden(path.relative_to(proto_root))
    )


def _packages_without_init(proto_root: Path) -> list[str]:
    """Directories holding a .proto, and their parents up to proto/, that lack __init__.py."""
    needed: set[Path] = set()
    for source in proto_sources(proto_root):
        directory = (proto_root / source).parent
        while directory != proto_root:
            needed.add(directory)
            directory = directory.parent
    return sorted(
        (directory / "__init__.py").relative_to(proto_root).as_posix()
        for directory in needed
        if not (directory / "__init__.py").is_file()
    )


def _is_hidden(relative: Path) -> bool:
    return any(part.startswith(".") or part == "__pycache__" for part in relative.parts)
