"""``px``: run PxL scripts on a Pyxie vizier and print their tables.

px run px/http_data                          bundled script on the local standalone vizier
px run px/http_data -o json -- --start_time -10m --max_num_records 50
px run -f my.pxl --direct 10.0.0.5:50300 --token "$TOKEN"
px live px/service_stats                     re-run a script every few seconds in a terminal UI
px script list | px script show px/http_data
px get viziers | px get cluster | px get pems
px debug logs | px collect-logs | px demo deploy
source <(px completion bash)                  shell completion
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

import pyarrow as pa
from pyxie_client import ClientError, PxLError, ScriptError, ScriptResult, VizierClient
from pyxie_proto.api.vizierpb import vizierapi_pb2 as vpb
from pyxie_scripts import list_scripts, load_script
from pyxie_types.rowbatch import relation_from_vizier, row_batch_from_vizier

from . import _ops as ops_commands
from . import cloud as cloud_commands
from ._output import OutputFormat, write_result
from ._script import CliUsageError, parse_script_args, resolve_script
from ._spinner import spinner
from ._target import Target, TargetError, resolve_target
from .live import DEFAULT_INTERVAL_SECONDS

__all__ = [
    "EXIT_SCRIPT_ERROR",
    "EXIT_UNAVAILABLE",
    "EXIT_USAGE",
    "Executor",
    "NotedResult",
    "execute_on_vizier",
    "main",
]

EXIT_SCRIPT_ERROR = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3

_GRPC_UNAVAILABLE = 14
_GRPC_DEADLINE_EXCEEDED = 4
# A pxtrace script whose tracepoints are still deploying is run again this often, this long.
_MUTATION_RETRY_S = 2.0
_MUTATION_WAIT_S = 120.0

FuncList = list[vpb.ExecuteScriptRequest.FuncToExecute]
Executor = Callable[[Target, str, FuncList], Awaitable[ScriptResult]]


@dataclass
class NotedResult(ScriptResult):
    """A result plus the notes an OK status carried (e.g. tables cut at the row limit)."""

    notes: list[str] = field(default_factory=list)


async def execute_on_vizier(target: Target, pxl: str, exec_funcs: FuncList) -> ScriptResult:
    """Run ``pxl`` and collect its tables (as ``VizierClient.execute``), keeping status notes.

    A pxtrace script whose tracepoints are still deploying when the broker stops waiting is
    run again (as Pixie's CLI does), with the deployment progress on stderr.
    """
    deadline = time.monotonic() + _MUTATION_WAIT_S
    while True:
        result = await _execute_once(target, pxl, exec_funcs)
        mutation = result.mutation
        if mutation is not None:
            states = ", ".join(
                f"{s.name}: {vpb.LifeCycleState.Name(s.state)}" for s in mutation.states
            )
            print(f"tracepoints: {states}", file=sys.stderr)
        if mutation is None or mutation.status.code == 0 or time.monotonic() >= deadline:
            return result
        await asyncio.sleep(_MUTATION_RETRY_S)


async def _execute_once(target: Target, pxl: str, exec_funcs: FuncList) -> NotedResult:
    client = VizierClient(
        target.address,
        token=target.token,
        api_key=target.api_key,
        root_ca=target.root_ca,
        cluster_id=target.cluster_id,
        encrypt=target.encrypt,
    )
    started = time.perf_counter()
    result = NotedResult()
    names: dict[str, str] = {}
    batches: dict[str, list[pa.RecordBatch]] = {}
    ended: set[str] = set()
    async for response in client.stream(pxl, exec_funcs=exec_funcs):
        result.query_id = response.query_id or result.query_id
        if response.HasField("mutation_info"):
            result.mutation = response.mutation_info
        if response.status.message and response.status.code == 0:
            result.notes.append(response.status.message)
        if response.HasField("meta_data"):
            meta = response.meta_data
            names[meta.id] = meta.name
            result.relations[meta.name] = relation_from_vizier(meta.relation)
            batches[meta.name] = []
        elif response.HasField("data") and response.data.HasField("batch"):
            batch = response.data.batch
            name = names.get(batch.table_id)
            if name is None:
                raise ClientError(f"data for unknown table id {batch.table_id}")
            batches[name].append(row_batch_from_vizier(batch, result.relations[name]))
            if batch.eos:
                ended.add(name)
    for name, relation in result.relations.items():
        result.tables[name] = pa.Table.from_batches(batches[name], schema=relation.arrow_schema())
        if name not in ended:
            result.incomplete.append(name)
    result.wall_time_s = time.perf_counter() - started
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="px", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser(
        "run",
        help="run a PxL script and print its tables",
        description="Run a bundled script (px/http_data) or a .pxl file. Script arguments go "
        "after `--` as --name value, for the variables the script's vis spec declares.",
        epilog="examples:\n  px run px/http_data\n  px run px/http_data -o json -- "
        "--start_time -10m\n  px run -f my.pxl -c <cluster id>",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("script", nargs="?", help="bundled script name, e.g. px/http_data")
    run.add_argument("-f", "--file", help="a .pxl file (a vis.json beside it is used)")
    run.add_argument("--vis", help="vis.json to use instead of the script's own")
    run.add_argument("-o", "--output", choices=["table", "json", "csv"], default="table")
    _target_arguments(run)
    live = sub.add_parser(
        "live",
        help="a terminal UI that re-runs a script every few seconds",
        description="Show a script's tables, re-run every --interval seconds. Keys: arrows "
        "and tab move, o sorts by the cursor's column (again: reverse), [ ] switch table, "
        "s switches script, r re-runs, p pauses, q quits.",
        epilog="examples:\n  px live px/service_stats\n  px live px/http_data -c <cluster id>"
        "\n  px live px/pods --interval 10",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    live.add_argument("script", help="bundled script name, e.g. px/service_stats")
    live.add_argument(
        "--interval", type=float, default=None, help="seconds between runs (default 5)"
    )
    _target_arguments(live)

    scripts = sub.add_parser("scripts", help="the bundled scripts (same as `px script list`)")
    scripts_sub = scripts.add_subparsers(dest="scripts_command", required=True)
    scripts_sub.add_parser("list", help="list bundled scripts with their descriptions")
    # Cloud commands (auth login, api-key, deploy-key, get viziers, deploy): pyxie_cli.cloud.
    cloud_commands.register(sub)
    # Scripts, the local stack, completion: pyxie_cli._ops.
    ops_commands.register(sub)
    return parser


def _target_arguments(run: argparse.ArgumentParser) -> None:
    """Where a script runs: the local vizier, a broker (--direct) or through the cloud."""
    run.add_argument(
        "--direct",
        metavar="ADDRESS",
        help="query broker host:port (default: the local standalone vizier)",
    )
    run.add_argument("--token", help="vizier token for --direct (default: minted locally)")
    run.add_argument("--cloud-addr", metavar="ADDRESS", help="run through the cloud api")
    run.add_argument(
        "-c", "--cluster", help="cluster (vizier) id: run through the cloud (see px auth login)"
    )
    run.add_argument("--api-key", help="API key for --cloud-addr (default: $PX_API_KEY)")
    run.add_argument("--ca-cert", help="PEM root CA for a TLS --cloud-addr")
    run.add_argument(
        "-e",
        "--e2e-encryption",
        dest="encrypt",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="encrypt results end to end (default: on through the cloud, off with --direct)",
    )
    run.add_argument(
        "--timeout", type=float, default=None, metavar="SECONDS", help="give up after this long"
    )


def _split_script_args(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """Everything after the first ``--`` belongs to the script."""
    args = list(argv)
    if "--" in args:
        cut = args.index("--")
        return args[:cut], args[cut + 1 :]
    return args, []


def _scripts_list(out: TextIO) -> int:
    names = list_scripts()
    width = max((len(n) for n in names), default=0)
    for name in names:
        out.write(f"{name.ljust(width)}  {load_script(name).short}\n")
    return 0


async def _run_with_spinner(
    execute: Executor, target: Target, pxl: str, funcs: FuncList, label: str, err: TextIO
) -> ScriptResult:
    async with spinner(err, label):
        return await execute(target, pxl, funcs)


def _run(
    args: argparse.Namespace, script_argv: list[str], out: TextIO, err: TextIO, execute: Executor
) -> int:
    script = resolve_script(args.script, args.file, args.vis)
    overrides = parse_script_args(script, script_argv)
    funcs = script.exec_funcs(overrides)
    target = resolve_target(
        direct=args.direct,
        token=args.token,
        cloud_addr=args.cloud_addr,
        cluster_id=args.cluster,
        api_key=args.api_key or os.environ.get("PX_API_KEY"),
        ca_cert=args.ca_cert,
        encrypt=args.encrypt,
    )
    coroutine = _run_with_spinner(execute, target, script.pxl, funcs, f"Running {script.name}", err)
    try:
        if args.timeout is not None:
            result = asyncio.run(_with_timeout(coroutine, args.timeout))
        else:
            result = asyncio.run(coroutine)
    except PxLError as exc:
        err.write(f"Script compilation failed:\n{exc.render()}\n")
        return EXIT_SCRIPT_ERROR
    except ScriptError as exc:
        if exc.code == _GRPC_UNAVAILABLE:
            hint = (
                "is it running? `python -m pyxie_devstack vizier status` shows the local one"
                if target.direct
                else "the vizier may be restarting or disconnected from the cloud: retry "
                "shortly, and see `px get viziers` for its status"
            )
            err.write(
                f"error: cannot reach the vizier at {target.describe()}: {exc.message}\n{hint}\n"
            )
            return EXIT_UNAVAILABLE
        err.write(f"error: {exc.message}\n")
        return EXIT_SCRIPT_ERROR
    except ClientError as exc:
        err.write(f"error: {exc}\n")
        return EXIT_SCRIPT_ERROR
    except TimeoutError:
        err.write(f"error: {script.name} did not finish within {args.timeout:g}s\n")
        return EXIT_SCRIPT_ERROR
    fmt: OutputFormat = args.output
    write_result(result, out, fmt)
    for name in result.incomplete:
        err.write(f"warning: table {name} ended without end-of-stream; rows may be missing\n")
    if isinstance(result, NotedResult):
        for note in result.notes:
            err.write(f"note: {note}\n")
    return 0


def _live(args: argparse.Namespace, err: TextIO, execute: Executor) -> int:
    # Textual loads only for `px live`: every other command starts without it.
    from .live import LiveApp, ScriptChoice

    resolve_script(args.script, None, None)  # a clear usage error before the UI starts
    target = resolve_target(
        direct=args.direct,
        token=args.token,
        cloud_addr=args.cloud_addr,
        cluster_id=args.cluster,
        api_key=args.api_key or os.environ.get("PX_API_KEY"),
        ca_cert=args.ca_cert,
        encrypt=args.encrypt,
    )

    async def run(name: str) -> ScriptResult:
        script = resolve_script(name, None, None)
        coroutine = execute(target, script.pxl, script.exec_funcs({}))
        if args.timeout is not None:
            return await _with_timeout(coroutine, args.timeout)
        return await coroutine

    choices = [ScriptChoice(name, load_script(name).short) for name in list_scripts()]
    interval = DEFAULT_INTERVAL_SECONDS if args.interval is None else args.interval
    if interval <= 0:
        raise CliUsageError("--interval must be a positive number of seconds")
    LiveApp(args.script, run, choices, interval_seconds=interval).run()
    err.write(f"px live: left {target.describe()}\n")
    return 0


async def _with_timeout(coroutine: Awaitable[ScriptResult], seconds: float) -> ScriptResult:
    async with asyncio.timeout(seconds):
        return await coroutine


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    execute: Executor = execute_on_vizier,
) -> int:
    """Entry point of the ``px`` console script; returns the exit status."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    own_argv, script_argv = _split_script_args(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    args = parser.parse_args(own_argv)
    try:
        if args.command == "scripts":
            return _scripts_list(out)
        if args.command == "live":
            return _live(args, err, execute)
        if args.command == "get" and args.get_command == "pems":
            # The agents table of the vizier, as `px run px/agent_status` prints it.
            args.script, args.file, args.vis = "px/agent_status", None, None
            args.cloud_addr, args.ca_cert = args.cloud_addr or None, args.ca_cert or None
            return _run(args, [], out, err, execute)
        if args.command in cloud_commands.COMMANDS:  # pyxie_cli.cloud
            return cloud_commands.run(args, out, err)
        if args.command in ops_commands.COMMANDS:  # pyxie_cli._ops
            return ops_commands.run(args, parser, out, err)
        if script_argv and args.command != "run":
            raise CliUsageError("only `px run` takes script arguments after --")
        return _run(args, script_argv, out, err, execute)
    except (CliUsageError, TargetError) as exc:
        err.write(f"px: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        err.write("px: interrupted\n")
        return 130  # the shell's convention for SIGINT
