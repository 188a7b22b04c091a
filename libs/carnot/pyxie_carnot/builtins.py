"""The registry with every builtin function, as agents use it, and as the compiler's catalog."""

from __future__ import annotations

import functools

from pyxie_types.catalog import FunctionCatalog

from . import funcs, udas, udtfs
from .registry import Registry
from .udas._pprof import register_pprof
from .udtfs._host import register_host_udtfs

__all__ = ["default_registry", "function_catalog", "new_registry"]


def new_registry() -> Registry:
    """A fresh registry holding all builtins (scalars, aggregates, table functions)."""
    registry = Registry()
    funcs.register_all(registry)
    udas.register_all(registry)
    udtfs.register_all(registry)
    register_host_udtfs(registry)
    register_pprof(registry)
    return registry


@functools.cache
def default_registry() -> Registry:
    """The shared registry; treat it as read-only."""
    return new_registry()


def function_catalog() -> FunctionCatalog:
    """The builtins as the compiler's function catalog (``pyxie_pxl.Compiler(catalog, ...)``)."""
    return default_registry().as_catalog()
