"""``python -m pyxie_pxl_runner check|run SCRIPT``: compile, or compile and execute, a PxL script.

A script is a ``.pxl`` file (with an optional ``--vis vis.json``; a ``vis.json`` next to the file
is picked up too) or a bundled script name such as ``px/http_data``. ``check`` compiles against
every declared table and prints the outputs and the distributed plan; ``run`` executes the plan
in this process over synthetic data and prints each output table.

This is where the compiler (``pyxie_pxl``) meets the engine (``pyxie_carnot``): the builtin
function catalog is passed to the compiler here, and ``run`` executes the plan with Carnot over
``pyxie_synthetic`` data. ``python -m pyxie_pxl check|run`` forwards here.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from pyxie_carnot import FunctionContext, run_plan
from pyxie_carnot.builtins import function_catalog, new_registry
from pyxie_pxl import (
    AgentInfo,
    CompileOptions,
    Compiler,
    CompilerError,
    DataAccess,
    LogicalPlan,
    PxlError,
    explain_distributed,
    explain_plan,
)
from pyxie_scripts import (
    ExecFunc,
    ScriptError,
    VisSpecError,
    exec_funcs_from_vis,
    list_scripts,
    load_script,
)
from pyxie_synthetic import synthetic_store
from pyxie_types.tables import ALL_TABLES

__all__ = ["main"]

# The cluster `check` plans for: one Kelvin and two PEMs holding every table.
_CHECK_AGENTS = (
    AgentInfo("kelvin", True, frozenset(), "kelvin.pl.svc:59300"),
    AgentInfo("pem-1", False, frozenset(t.name for t in ALL_TABLES)),
    AgentInfo("pem-2", False, frozenset(t.name for t in ALL_TABLES)),
)
_BROKER_ADDRESS = "vizier-query-broker-svc.pl.svc:50300"


def _load(target: str, vis_path: str | None) -> tuple[str, dict[str, Any] | None, str]:
    path = Path(target)
    if path.is_file():
        source = path.read_text(encoding="utf-8")
        vis_file = Path(vis_path) if vis_path else path.with_name("vis.json")
        vis = json.loads(vis_file.read_text(encoding="utf-8")) if vis_file.is_file() else None
        if vis_path and not vis_file.is_file():
            raise PxlError(f"vis spec {vis_path} not found")
        return source, vis, str(path)
    script = load_script(target)
    vis = script.vis
    if vis_path:
        vis = json.loads(Path(vis_path).read_text(encoding="utf-8"))
    return script.pxl, vis, script.name


def _parse_args_kv(items: Sequence[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise PxlError(f"--args takes key=value, got {item!r}")
        values[key] = value
    return values


def _compile(args: argparse.Namespace, now_ns: int) -> tuple[LogicalPlan, str]:
    source, vis, _name = _load(args.script, args.vis)
    exec_funcs: list[ExecFunc] = []
    overrides = _parse_args_kv(args.args or [])
    if vis is not None:
        exec_funcs = exec_funcs_from_vis(vis, overrides)
    elif overrides:
        raise PxlError("--args needs a vis spec declaring the variables")
    compiler = Compiler(function_catalog(), {t.name: t for t in ALL_TABLES})
    options = CompileOptions(
        now_ns=now_ns,
        exec_funcs=exec_funcs,
        data_access=DataAccess.parse(args.data_access),
    )
    try:
        return compiler.compile(source, options), source
    except CompilerError as err:
        err.source = source  # type: ignore[attr-defined]
        raise


def _check_all(args: argparse.Namespace, out: TextIO) -> int:
    """Compile every bundled script with its vis spec's defaults; one line per script."""
    failed = 0
    names = list_scripts()
    width = max(len(n) for n in names)
    for name in names:
        args.script = name
        try:
            plan, _ = _compile(args, time.time_ns())
            plan.distribute(_CHECK_AGENTS, _BROKER_ADDRESS)
        except (PxlError, ScriptError, VisSpecError) as err:
            failed += 1
            first_line = str(err).splitlines()[0] if str(err) else type(err).__name__
            out.write(f"{name.ljust(width)}  FAILED  {first_line}\n")
            continue
        outputs = ", ".join(plan.output_names)
        out.write(f"{name.ljust(width)}  ok      {outputs}\n")
    out.write(f"{len(names) - failed}/{len(names)} bundled scripts compile\n")
    return 1 if failed else 0


def _check(args: argparse.Namespace, out: TextIO) -> int:
    if args.all:
        if args.script:
            raise PxlError("check --all takes no script")
        return _check_all(args, out)
    if not args.script:
        raise PxlError("check needs a script (or --all for every bundled script)")
    plan, _ = _compile(args, time.time_ns())
    distributed = plan.distribute(_CHECK_AGENTS, _BROKER_ADDRESS)
    out.write(f"ok: {len(plan.output_names)} output table(s): {', '.join(plan.output_names)}\n")
    out.write(explain_distributed(distributed))
    return 0


def _run(args: argparse.Namespace, out: TextIO) -> int:
    now_ns = time.time_ns()
    plan, _ = _compile(args, now_ns)
    registry = new_registry()
    store, cluster = synthetic_store(now_ns=now_ns, events_per_table=args.events)
    context = FunctionContext(
        registry=registry,
        metadata=cluster.metadata,
        agent_id="local",
        hostname=cluster.node_name,
        table_schemas=store.schemas,
    )
    physical = plan.to_plan()
    if plan.flags.explain:
        out.write(explain_plan(physical) + "\n")
    result = run_plan(physical, registry, store, func_ctx=context, analyze=plan.flags.analyze)
    for name in plan.output_names:
        table = result.tables.get(name)
        out.write(f"\n== {name} ({0 if table is None else table.num_rows} rows)\n")
        if table is not None:
            out.write(_format_table(table, args.max_rows) + "\n")
    return 0


def _format_table(table: Any, max_rows: int) -> str:
    import datetime as dt

    import pyarrow as pa

    head = table.slice(0, max_rows)
    names = list(table.column_names)
    columns: list[list[str]] = []
    for name in names:
        column = head.column(name)
        if pa.types.is_timestamp(column.type):
            values = column.cast(pa.int64()).to_pylist()
            columns.append(
                [
                    dt.datetime.fromtimestamp(v // 10**9, dt.UTC).strftime("%H:%M:%S")
                    + f".{v % 10**9:09d}"
                    for v in values
                ]
            )
        else:
            columns.append([_cell(v) for v in column.to_pylist()])
    cells = [list(row) for row in zip(*columns, strict=True)] if columns else []
    widths = [min(48, max([len(n)] + [len(r[i]) for r in cells])) for i, n in enumerate(names)]
    lines = ["  ".join(n.ljust(w)[:w] for n, w in zip(names, widths, strict=True))]
    lines += ["  ".join(c.ljust(w)[:w] for c, w in zip(r, widths, strict=True)) for r in cells]
    if table.num_rows > max_rows:
        lines.append(f"... {table.num_rows - max_rows} more rows")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pyxie_pxl_runner", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("check", "compile a script and print its distributed plan"),
        ("run", "compile and execute a script over synthetic data"),
    ):
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument(
            "script",
            nargs="?" if name == "check" else None,
            help="a .pxl file or a bundled script name (px/http_data)",
        )
        if name == "check":
            cmd.add_argument(
                "--all", action="store_true", help="compile every bundled script (no SCRIPT)"
            )
        cmd.add_argument("--vis", help="vis.json with the exec functions and variables")
        cmd.add_argument("--args", nargs="*", metavar="K=V", help="script variable values")
        cmd.add_argument("--data-access", default="Full", help="Full, Restricted or PIIRestricted")
        if name == "run":
            cmd.add_argument("--events", type=int, default=2000, help="synthetic events/table")
            cmd.add_argument("--max-rows", type=int, default=20, help="rows printed per table")
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    args = _parser().parse_args(argv)
    try:
        if args.command == "check":
            return _check(args, out)
        return _run(args, out)
    except CompilerError as err:
        source = getattr(err, "source", "")
        out.write((err.render(source) if source else str(err)) + "\n")
        return 1
    except VisSpecError as err:
        out.write(f"error: {err}\n")
        return 1
    except (PxlError, ScriptError, ValueError) as err:
        out.write(f"error: {err}\n")
        return 2
