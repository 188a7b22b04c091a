"""The PxL compiler: parse → build IR → resolve types → analyze → optimize → split → emit.

``Compiler(catalog, schemas).compile(source, options)`` returns a ``LogicalPlan``; call
``.to_plan()`` for a single-process plan (memory sinks) or ``.distribute(agents, address)`` for
one plan per agent. Errors are ``CompilerError`` with 1-based line and column.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pyxie_proto.carnot.planpb import plan_pb2
from pyxie_scripts import ExecFunc, library_sources
from pyxie_types import TableSchema
from pyxie_types.catalog import FunctionCatalog

from ._eval import Evaluator, MutationScanEnd
from ._lower import LoweringContext, NodeIds, lower_plan
from ._otel import OTelDefaults
from ._parse import parse_pxl
from ._pxtrace import MutationPlan
from ._rules import (
    DEFAULT_MAX_OUTPUT_ROWS,
    DataAccess,
    add_result_limits,
    apply_data_access,
    optimize,
)
from .errors import CompilerError
from .ir import Operator, ResultSinkOp
from .planner import AgentInfo, split_plan

__all__ = [
    "CompileOptions",
    "Compiler",
    "DataAccess",
    "ExecFunc",
    "LogicalPlan",
    "MutationPlan",
    "OTelDefaults",
    "QueryFlags",
    "library_sources",
    "parse_query_flags",
]

_FLAG_LINE = re.compile(r"^\s*#px:set\s+(.*)$")


@dataclass(frozen=True)
class QueryFlags:
    """``#px:set key=value`` lines at the top of a script (Pixie knows exactly these three)."""

    max_output_rows_per_table: int = DEFAULT_MAX_OUTPUT_ROWS
    explain: bool = False
    analyze: bool = False


def _flag_bool(key: str, value: str, line: int) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise CompilerError(f"#px:set {key} expects true or false, got {value!r}", line, 1)


def parse_query_flags(source: str, defaults: QueryFlags | None = None) -> QueryFlags:
    flags = defaults or QueryFlags()
    values: dict[str, object] = {}
    for number, text in enumerate(source.splitlines(), start=1):
        match = _FLAG_LINE.match(text)
        if match is None:
            continue
        for item in match.group(1).split():
            key, sep, value = item.partition("=")
            if not sep:
                raise CompilerError(f"#px:set expects key=value, got {item!r}", number, 1)
            if key == "max_output_rows_per_table":
                try:
                    rows = int(value)
                except ValueError:
                    rows = -1
                if rows < 0:
                    raise CompilerError(
                        f"#px:set max_output_rows_per_table expects a non-negative integer, "
                        f"got {value!r}",
                        number,
                        1,
                    )
                values[key] = rows
            elif key in ("explain", "analyze"):
                values[key] = _flag_bool(key, value, number)
            else:
                raise CompilerError(
                    f"unknown #px:set flag {key!r}; known flags: max_output_rows_per_table, "
                    "explain, analyze",
                    number,
                    1,
                )
    return QueryFlags(
        max_output_rows_per_table=int(
            values.get("max_output_rows_per_table", flags.max_output_rows_per_table)  # type: ignore[call-overload]
        ),
        explain=bool(values.get("explain", flags.explain)),
        analyze=bool(values.get("analyze", flags.analyze)),
    )


@dataclass(frozen=True)
class CompileOptions:
    # Query time "now" in Unix ns; fixed once per compilation (None = the wall clock).
    now_ns: int | None = None
    exec_funcs: Sequence[ExecFunc] = ()
    data_access: DataAccess = DataAccess.FULL
    # Default for scripts that do not set #px:set max_output_rows_per_table.
    max_output_rows_per_table: int = DEFAULT_MAX_OUTPUT_ROWS
    query_id: str = ""
    # px.export's defaults: a plugin's endpoint and window, the export byte limits.
    otel: OTelDefaults = field(default_factory=OTelDefaults)


@dataclass(frozen=True)
class LogicalPlan:
    """The optimized single-node plan: result sinks over an operator DAG."""

    sinks: tuple[Operator, ...]
    flags: QueryFlags
    query_id: str
    now_ns: int
    output_names: tuple[str, ...] = field(default=())
    # pxtrace tracepoints the script deploys or deletes (run before the plan).
    mutations: MutationPlan = field(default_factory=MutationPlan)

    def execution_options(self) -> plan_pb2.ExecutionOptions:
        return plan_pb2.ExecutionOptions(analyze=self.flags.analyze)

    def to_plan(self, *, result_address: str | None = None) -> plan_pb2.Plan:
        """Everything on one agent; results in memory sinks unless ``result_address`` is set."""
        ctx = LoweringContext(NodeIds(), result_address)
        return lower_plan(self.sinks, ctx, query_id=self.query_id, options=self.execution_options())

    def distribute(
        self, agents: Sequence[AgentInfo], result_address: str | None
    ) -> plan_pb2.DistributedPlan:
        return split_plan(
            self.sinks,
            agents,
            result_address=result_address,
            query_id=self.query_id,
            options=self.execution_options(),
        )


class Compiler:
    """Compiles PxL against table schemas and a function catalog (both injected)."""

    def __init__(self, catalog: FunctionCatalog, schemas: Mapping[str, TableSchema]) -> None:
        self.catalog = catalog
        self.schemas = dict(schemas)
        self._libraries = library_sources()

    def compile(self, source: str, options: CompileOptions | None = None) -> LogicalPlan:
        try:
            return self._compile(source, options or CompileOptions())
        except RecursionError:
            # Deeply nested expressions (1+1+...+1 thousands deep) exhaust Python's stack in the
            # recursive stages; that is a property of the script, so report it as one.
            raise CompilerError(
                "the script nests too deeply (an expression or a chain of calls is too long)",
                1,
                1,
            ) from None

    def compile_mutations(self, source: str, options: CompileOptions | None = None) -> MutationPlan:
        """Only the script's pxtrace mutations (Pixie's CompileMutations).

        The script runs until it reads a table that does not exist yet (the tracepoints it
        deploys create their tables); the broker registers the mutations, waits for the
        tables and then compiles the whole script with ``compile``.
        """
        options = options or CompileOptions()
        if "pxtrace" not in source:
            return MutationPlan()
        now_ns = options.now_ns if options.now_ns is not None else time.time_ns()
        try:
            module = parse_pxl(source)
            evaluator = Evaluator(
                self.catalog, self.schemas, now_ns=now_ns, library_sources=self._libraries
            )
            evaluator.mutation_scan = True
            try:
                module_globals = evaluator.run_module(module)
                if options.exec_funcs:
                    evaluator.run_exec_funcs(module_globals, options.exec_funcs)
            except MutationScanEnd:
                pass
        except RecursionError:
            raise CompilerError(
                "the script nests too deeply (an expression or a chain of calls is too long)",
                1,
                1,
            ) from None
        return evaluator.mutations

    def _compile(self, source: str, options: CompileOptions) -> LogicalPlan:
        now_ns = options.now_ns if options.now_ns is not None else time.time_ns()
        flags = parse_query_flags(
            source, QueryFlags(max_output_rows_per_table=options.max_output_rows_per_table)
        )
        # Stage 1: parse.
        module = parse_pxl(source)
        # Stages 2 and 3: build IR, resolving types as operators consume expressions.
        evaluator = Evaluator(
            self.catalog, self.schemas, now_ns=now_ns, library_sources=self._libraries
        )
        evaluator.otel_defaults = options.otel
        module_globals = evaluator.run_module(module)
        if options.exec_funcs:
            evaluator.run_exec_funcs(module_globals, options.exec_funcs)
        sinks: tuple[Operator, ...] = tuple(evaluator.result.sinks)
        # Stage 4: analyze (rules that change meaning on purpose).
        sinks = apply_data_access(sinks, options.data_access, evaluator.resolver)
        sinks = add_result_limits(sinks, flags.max_output_rows_per_table)
        # Stage 5: optimize.
        sinks = optimize(sinks)
        names = tuple(s.name for s in sinks if isinstance(s, ResultSinkOp))
        return LogicalPlan(
            sinks=sinks,
            flags=flags,
            query_id=options.query_id or str(uuid.uuid4()),
            now_ns=now_ns,
            output_names=names,
            mutations=evaluator.mutations,
        )
