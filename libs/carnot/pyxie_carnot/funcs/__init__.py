"""Builtin funcs (filled by the module's owner)."""

from __future__ import annotations

from ..registry import Registry

__all__ = ["register_all"]


def register_all(registry: Registry) -> None:
    """Register every builtin of this module into ``registry``."""
