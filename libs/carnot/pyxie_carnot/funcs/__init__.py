"""Builtin scalar functions: operators, math, strings, regex, JSON, PII, SQL, net, protocols
and metadata lookups.

Every function is registered with its exact PxL overloads and a docstring with an example.
Kernels are vectorised with ``pyarrow.compute``/numpy; functions that need Python per value
(metadata, JSON, SQL) run once per *distinct* input and are scattered back with ``take``; the
few with a genuine per-row Python fallback are registered with ``per_row=True``.
"""

from __future__ import annotations

from ..registry import Registry
from . import _extras, _json, _math, _metadata, _net, _pii, _protocols, _sql, _strings
from ._arrow import FunctionArgumentError

__all__ = ["FunctionArgumentError", "register_all"]


def register_all(registry: Registry) -> None:
    """Register every builtin scalar function into ``registry``."""
    for module in (_math, _strings, _json, _pii, _sql, _net, _protocols, _metadata, _extras):
        module.register(registry)
