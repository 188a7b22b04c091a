"""pyxie-pxl: the PxL compiler and distributed planner.

    compiler = Compiler(catalog, schemas)               # a FunctionCatalog, {name: TableSchema}
    plan = compiler.compile(source, CompileOptions(exec_funcs=exec_funcs_from_vis(vis)))
    plan.to_plan()                                      # one planpb.Plan, memory sinks
    plan.distribute(agents, broker_address)             # planpb.DistributedPlan, one Plan per agent

Stages: parse → build IR → resolve types → analyze (data access, row limits) → optimize
(push-down, pruning, map fusion) → split → emit. Errors are ``CompilerError`` with 1-based
line/column (``.errors`` lists every problem found).

The catalog is the ``pyxie_types.catalog.FunctionCatalog`` contract: the compiler never imports
the engine; ``pyxie_carnot.builtins.function_catalog()`` is the builtin one.
"""

from pyxie_scripts import ExecFunc, exec_funcs_from_vis, variable_values

from ._rules import DEFAULT_MAX_OUTPUT_ROWS, SENSITIVE_COLUMNS, DataAccess
from .compiler import CompileOptions, Compiler, LogicalPlan, QueryFlags, parse_query_flags
from .errors import CompilerError, ErrorDetail, PxlError
from .explain import explain_distributed, explain_plan
from .planner import AgentInfo, PlanningError

__all__ = [
    "DEFAULT_MAX_OUTPUT_ROWS",
    "SENSITIVE_COLUMNS",
    "AgentInfo",
    "CompileOptions",
    "Compiler",
    "CompilerError",
    "DataAccess",
    "ErrorDetail",
    "ExecFunc",
    "LogicalPlan",
    "PlanningError",
    "PxlError",
    "QueryFlags",
    "exec_funcs_from_vis",
    "explain_distributed",
    "explain_plan",
    "parse_query_flags",
    "variable_values",
]
