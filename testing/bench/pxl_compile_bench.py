"""Benchmark of the PxL compiler on the bundled scripts.

    uv run python testing/bench/pxl_compile_bench.py --iterations 50

Each iteration compiles one bundled script with the exec functions its vis.json names (default
argument values), against every declared table and the builtin function registry (both built
once, as the query broker does), and distributes the plan over 2 PEMs and 1 Kelvin. Prints the
median and p90 per script in milliseconds; the last line is
`largest_script_compile_median_ms=<x>` for the script with the longest source. The budget is a
median under 50 ms.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

from pyxie_carnot.builtins import new_registry
from pyxie_pxl import AgentInfo, CompileOptions, Compiler, exec_funcs_from_vis
from pyxie_scripts import list_scripts, load_script
from pyxie_types.tables import ALL_TABLES

# A fixed "now" so every iteration compiles the same relative times.
NOW_NS = 1_700_000_000_000_000_000
BUDGET_MS = 50.0


def _agents() -> list[AgentInfo]:
    tables = frozenset(t.name for t in ALL_TABLES)
    return [
        AgentInfo("00000000-0000-0000-0000-000000000001", False, tables),
        AgentInfo("00000000-0000-0000-0000-000000000002", False, tables),
        AgentInfo("00000000-0000-0000-0000-0000000000ff", True, frozenset(), "kelvin:59300"),
    ]


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=50, help="compiles per script")
    parser.add_argument("--script", action="append", help="only these scripts (px/<name>)")
    args = parser.parse_args()

    compiler = Compiler(new_registry(), {t.name: t for t in ALL_TABLES})
    agents = _agents()
    names = args.script or list_scripts()
    results: list[tuple[str, int, float, float]] = []
    print(f"{'script':28} {'chars':>6} {'median_ms':>10} {'p90_ms':>8}")
    for name in names:
        script = load_script(name)
        options = CompileOptions(
            now_ns=NOW_NS,
            exec_funcs=tuple(exec_funcs_from_vis(script.vis)) if script.vis else (),
        )
        # One warm-up compile, outside the samples (first-use imports and caches).
        compiler.compile(script.pxl, options).distribute(agents, "kelvin:59300")
        samples: list[float] = []
        gc.collect()
        for _ in range(args.iterations):
            start = time.perf_counter_ns()
            compiler.compile(script.pxl, options).distribute(agents, "kelvin:59300")
            samples.append((time.perf_counter_ns() - start) / 1e6)
        median, p90 = statistics.median(samples), _percentile(samples, 0.9)
        results.append((name, len(script.pxl), median, p90))
        print(f"{name:28} {len(script.pxl):6d} {median:10.2f} {p90:8.2f}")

    overall = statistics.median(r[2] for r in results)
    largest = max(results, key=lambda r: r[1])
    print(f"median of script medians: {overall:.2f} ms (budget {BUDGET_MS:.0f} ms)")
    print(f"largest script: {largest[0]} ({largest[1]} chars)")
    print(f"largest_script_compile_median_ms={largest[2]:.2f}")


if __name__ == "__main__":
    main()
