"""The registry with every builtin function, as agents and the compiler use it."""

from __future__ import annotations

import functools

from . import funcs, udas, udtfs
from .registry import Registry

__all__ = ["default_registry", "new_registry"]


def new_registry() -> Registry:
    """A fresh registry holding all builtins (scalars, aggregates, table functions)."""
    registry = Registry()
    funcs.register_all(registry)
    udas.register_all(registry)
    udtfs.register_all(registry)
    return registry


@functools.cache
def default_registry() -> Registry:
    """The shared registry; treat it as read-only."""
    return new_registry()
