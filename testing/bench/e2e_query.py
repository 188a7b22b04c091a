"""End-to-end query latency through the standalone vizier vs the engine alone, same data.

    uv run --all-packages python testing/bench/e2e_query.py [--repeat 5]

For each volume (100k rows for ``px/http_data``, 1M rows for an aggregate) a standalone vizier
is started (one node, no eBPF, no demo app) whose PEM fills ``http_events`` with that many
synthetic rows (``PL_PEM_SYNTHETIC_ROWS``). The script then runs through the query broker
(client -> broker -> PEM -> Kelvin -> broker -> client, over gRPC and NATS) and, for the
baseline, the same script compiled in this process and run by Carnot over a table store
holding the same synthetic rows. The best of ``--repeat`` runs counts (after one warm-up).

The last line is ``e2e_100k_s=<x> engine_100k_s=<y>``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from pyxie_carnot import FunctionContext, run_plan
from pyxie_carnot.builtins import new_registry
from pyxie_carnot.metadata import InMemoryMetadataState
from pyxie_client import PxLError, VizierClient
from pyxie_devstack import DevstackSettings
from pyxie_devstack.vizier import VizierOptions, VizierStack
from pyxie_devstack.vizier_state import read_signing_key
from pyxie_jwt import VIZIER_AUDIENCE, SigningKey, service_claims, sign_token
from pyxie_proto.api.vizierpb import vizierapi_pb2 as vpb
from pyxie_pxl.compiler import CompileOptions, Compiler
from pyxie_scripts import exec_funcs_from_vis, load_script
from pyxie_synthetic import synthetic_http_events
from pyxie_table_store import StoreBudget, TableStore
from pyxie_types.tables import ALL_TABLES, HTTP_EVENTS

# Wider than the synthetic rows' 10-minute window, so every stored row is in range.
_START_TIME = "-1h"
_AGGREGATE_PXL = """
import px
df = px.DataFrame(table='http_events', start_time='-1h')
df = df.groupby(['req_path', 'resp_status']).agg(
    n=('latency', px.count),
    mean_latency=('latency', px.mean),
    max_latency=('latency', px.max),
)
px.display(df, 'by_path')
"""
# 1M rows of http_events are ~300 MB in Arrow; the PEM's default 1280 MB * 40 % is too tight.
_STORE_LIMIT_MB = 4096


def _http_data() -> tuple[str, dict[str, str], list[vpb.ExecuteScriptRequest.FuncToExecute]]:
    script = load_script("px/http_data")
    assert script.vis is not None
    overrides = {"start_time": _START_TIME}
    funcs = exec_funcs_from_vis(script.vis, overrides)
    wire = [
        vpb.ExecuteScriptRequest.FuncToExecute(
            func_name=f.func_name,
            output_table_prefix=f.output_table_prefix,
            arg_values=[
                vpb.ExecuteScriptRequest.FuncToExecute.ArgValue(name=k, value=v)
                for k, v in f.arg_values.items()
            ],
        )
        for f in funcs
    ]
    return script.pxl, overrides, wire


def _best(run: Callable[[], int], repeat: int) -> tuple[float, int]:
    rows = run()  # warm-up: connections, caches, first compile
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        rows = run()
        best = min(best, time.perf_counter() - started)
    return best, rows


def _engine_time(pxl: str, overrides: dict[str, str], rows: int, repeat: int) -> tuple[float, int]:
    """Compile in-process and run the single-node plan on Carnot over the same synthetic rows."""
    registry = new_registry()
    store = TableStore(StoreBudget(data_limit_mb=_STORE_LIMIT_MB))
    store.add_table(HTTP_EVENTS)
    for batch in synthetic_http_events(rows):
        store.append(HTTP_EVENTS.name, batch)
    script_vis = load_script("px/http_data").vis if overrides else None
    funcs = exec_funcs_from_vis(script_vis, overrides) if script_vis is not None else []
    compiler = Compiler(registry, {t.name: t for t in ALL_TABLES})
    context = FunctionContext(
        registry=registry,
        metadata=InMemoryMetadataState(host="bench"),
        agent_id="bench",
        hostname="bench",
        table_schemas=store.schemas,
    )

    def run() -> int:
        # Compile each time, as the broker does per query.
        plan = compiler.compile(pxl, CompileOptions(exec_funcs=funcs)).to_plan()
        result = run_plan(plan, registry, store, func_ctx=context)
        return sum(t.num_rows for t in result.tables.values())

    return _best(run, repeat)


def _e2e_time(
    rows: int,
    pxl: str,
    funcs: Sequence[vpb.ExecuteScriptRequest.FuncToExecute],
    repeat: int,
    say: Callable[[str], None],
) -> tuple[float, int]:
    state = Path(tempfile.mkdtemp(prefix="pyxie-e2e-bench-"))
    os.chmod(state, 0o711)
    options = VizierOptions(
        nodes=1,
        use_netns=False,
        demo_app=False,
        ebpf=False,
        broker_port=0,
        metadata_port=0,
        kelvin_port=0,
        service_env={
            "pem": {
                "PL_PEM_SYNTHETIC_ROWS": str(rows),
                "PL_TABLE_STORE_DATA_LIMIT_MB": str(_STORE_LIMIT_MB),
            }
        },
    )
    stack = VizierStack(DevstackSettings(state_dir=state), options, say=lambda _line: None)
    try:
        started = time.perf_counter()
        endpoints = stack.up()
        say(f"  vizier with {rows:,} synthetic rows up in {time.perf_counter() - started:.1f}s")
        key = SigningKey(read_signing_key(state))

        def run() -> int:
            token = sign_token(service_claims(service_id="bench", audience=VIZIER_AUDIENCE), key)
            client = VizierClient(endpoints.broker, token=token)
            result = asyncio.run(client.execute(pxl, exec_funcs=funcs))
            return sum(t.num_rows for t in result.tables.values())

        # The PEM registers its tables with the broker shortly after the stack is up; until
        # then a query fails cleanly with "table ... not found". Wait for that, untimed.
        deadline = time.monotonic() + 60.0
        while True:
            try:
                run()
                break
            except PxLError as exc:
                if "not found" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        return _best(run, repeat)
    finally:
        stack.down()
        shutil.rmtree(state, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--small-rows", type=int, default=100_000)
    parser.add_argument("--large-rows", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    say = print

    http_pxl, overrides, funcs = _http_data()
    say(f"px/http_data over {args.small_rows:,} stored rows (start_time={_START_TIME})")
    e2e_small, out_small = _e2e_time(args.small_rows, http_pxl, funcs, args.repeat, say)
    engine_small, engine_out_small = _engine_time(http_pxl, overrides, args.small_rows, args.repeat)
    say(f"  through the broker: {e2e_small:.3f}s ({out_small} rows out)")
    say(f"  engine only:        {engine_small:.3f}s ({engine_out_small} rows out)")
    say(f"  ratio e2e/engine:   {e2e_small / engine_small:.2f}")

    say(f"aggregate (groupby req_path, resp_status) over {args.large_rows:,} stored rows")
    e2e_large, out_large = _e2e_time(args.large_rows, _AGGREGATE_PXL, [], args.repeat, say)
    engine_large, engine_out_large = _engine_time(_AGGREGATE_PXL, {}, args.large_rows, args.repeat)
    say(f"  through the broker: {e2e_large:.3f}s ({out_large} rows out)")
    say(f"  engine only:        {engine_large:.3f}s ({engine_out_large} rows out)")
    say(f"  ratio e2e/engine:   {e2e_large / engine_large:.2f}")
    say(f"e2e_1m_agg_s={e2e_large:.3f} engine_1m_agg_s={engine_large:.3f}")
    say(f"e2e_100k_s={e2e_small:.3f} engine_100k_s={engine_small:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
