"""What the ``px`` module and the DataFrame methods need from the evaluator.

``_methods`` and ``_px`` are written against this protocol, and ``_eval.Evaluator`` satisfies
it, so the dependency runs one way: ``_eval`` imports ``_methods`` and ``_px``, never back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from pyxie_types import TableSchema
from pyxie_types.catalog import FunctionCatalog

from ._values import DataFrameValue, Loc, PExpr
from .ir import Operator

__all__ = ["EvalContext"]


class EvalContext(Protocol):
    """The evaluator of one script, as helpers called from it see it."""

    catalog: FunctionCatalog
    schemas: Mapping[str, TableSchema]
    now_ns: int
    # True while the vis spec's exec functions run (after the module body).
    exec_mode: bool
    # Set while the broker only collects a script's pxtrace mutations.
    mutation_scan: bool

    def end_mutation_scan(self) -> None: ...

    def as_expr(self, value: Any, loc: Loc) -> PExpr: ...
    def build(self, make: Callable[[], Operator], loc: Loc) -> Operator: ...
    def project(self, frame: DataFrameValue, names: Sequence[Any], loc: Loc) -> DataFrameValue: ...
    def filter(self, frame: DataFrameValue, condition: Any, loc: Loc) -> DataFrameValue: ...
    def add_sink(self, frame: DataFrameValue, name: str) -> None: ...
    def add_export(self, node: Operator) -> None: ...
    def assign(self, frame: DataFrameValue, name: str, value: Any, loc: Loc) -> DataFrameValue: ...
