"""Shared by the native-parser tests: the C extension module, built privately when not in place."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

HTTP_NATIVE = "pyxie_stirling.protocols._http_native"
ROOT = Path(__file__).resolve().parents[3]

_built: dict[str, ModuleType] = {}


def _load_by_path(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {name} from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_private(out_root: Path) -> Path:
    """Build the native HTTP module into out_root with tools/native_build.py; its path.

    Skips the calling test when there is no C compiler or no Python.h to build it with.
    """
    tool = ROOT / "tools" / "native_build.py"
    if not tool.exists():
        pytest.skip("tools/native_build.py is not in this tree (Bazel's runfiles)")
    builder = _load_by_path("_pyxie_native_build", tool)
    try:
        path: Path = builder.build_one(HTTP_NATIVE, out_root=out_root)
    except SystemExit as exc:  # the builder's own "no compiler" / "no Python.h" message
        pytest.skip(str(exc))
    return path


def http_native(out_root: Path) -> ModuleType:
    """The native HTTP module: the in-place build of `make mypyc`, else a copy built in out_root.

    Skips the calling test when there is no C compiler or no Python.h to build it with.
    """
    if HTTP_NATIVE in _built:
        return _built[HTTP_NATIVE]
    try:
        module = importlib.import_module(HTTP_NATIVE)
    except ImportError:
        module = _load_by_path(HTTP_NATIVE, build_private(out_root))
        # A single-phase-init extension registers itself in sys.modules: take the private copy
        # out again, or later tests (mypyc_status, make_parser) would find it as if built in place.
        if sys.modules.get(HTTP_NATIVE) is module:
            del sys.modules[HTTP_NATIVE]
    _built[HTTP_NATIVE] = module
    return module
