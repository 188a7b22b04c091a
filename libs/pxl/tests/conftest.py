"""Fixtures for the PxL compiler tests: the real builtin registry and the declared tables."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pyxie_carnot.builtins import new_registry
from pyxie_carnot.registry import Registry
from pyxie_proto.carnot.planpb import plan_pb2
from pyxie_pxl.compiler import CompileOptions, Compiler, LogicalPlan
from pyxie_types.tables import ALL_TABLES

# A fixed "now" so relative times and goldens are deterministic.
NOW_NS = 1_700_000_000_000_000_000


@pytest.fixture(scope="session")
def registry() -> Registry:
    return new_registry()


@pytest.fixture(scope="session")
def compiler(registry: Registry) -> Compiler:
    return Compiler(registry, {t.name: t for t in ALL_TABLES})


@pytest.fixture
def compile_pxl(compiler: Compiler) -> Callable[..., LogicalPlan]:
    def run(source: str, **options: object) -> LogicalPlan:
        options.setdefault("now_ns", NOW_NS)
        return compiler.compile(source, CompileOptions(**options))  # type: ignore[arg-type]

    return run


@pytest.fixture
def plan_of(compile_pxl: Callable[..., LogicalPlan]) -> Callable[..., plan_pb2.Plan]:
    def run(source: str, **options: object) -> plan_pb2.Plan:
        return compile_pxl(source, **options).to_plan()

    return run
