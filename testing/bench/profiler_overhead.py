"""CPU profiler overhead at 99 Hz, and where the Python stack is cheapest to read.

    sudo uv run --all-packages python testing/bench/profiler_overhead.py [--seconds 10 --pairs 3]

One run, three measurements (needs root and bcc):
1. off: one CPU-bound Python worker per core does a fixed amount of work, the perf event
   detached;
2. on: the same work with the profiler sampling every CPU at 99 Hz (Stirling running it in this
   process as the PEM does). Off and on phases alternate (--pairs), so the shared machine's
   drifting load hits both; the ratio is total on time / total off time. The profiler's own CPU
   in the on phases (this process's user+system time, plus the BPF program's run time from the
   kernel's bpf_stats) is given as % of one core and % of all cores;
3. reading a Python stack: the BPF program's mean run time per sample of phase 2 (all samples
   are of CPython workers: both stack ids plus the frame walk in the kernel, no syscall)
   against a user-space reader (py-spy's way: walk the same chain through /proc/<pid>/mem,
   one pread per pointer), timed on one more worker.
The last line prints the figures.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import textwrap
import time
from pathlib import Path

WORKER = textwrap.dedent(
    """\
    import sys, time
    def spin(n):
        total = 0
        for i in range(n):
            total += i * i
        return total
    def work(rounds):
        for _ in range(rounds):
            spin(100_000)
    start = time.perf_counter()
    work(int(sys.argv[1]))
    print(time.perf_counter() - start)
    """
)


def run_workers(script: Path, rounds: int, n: int) -> float:
    """Mean wall time of n workers started together, each doing ``rounds``."""
    procs = [
        subprocess.Popen([sys.executable, str(script), str(rounds)], stdout=subprocess.PIPE)
        for _ in range(n)
    ]
    times = [float(p.communicate()[0]) for p in procs]
    return sum(times) / len(times)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def bpf_prog_stats(fd: int) -> tuple[int, int]:
    """(run_time_ns, run_cnt) of a loaded BPF program (kernel.bpf_stats_enabled must be 1)."""
    run_time = run_cnt = 0
    with open(f"/proc/self/fdinfo/{fd}") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key == "run_time_ns":
                run_time = int(value)
            elif key == "run_cnt":
                run_cnt = int(value)
    return run_time, run_cnt


def user_space_stack_read(source: object, pid: int, reads: int) -> float:
    """Mean seconds to walk pid's main-thread Python stack through /proc/<pid>/mem."""
    from pyxie_stirling.perf_profiler import _python

    process = source._python[pid]  # type: ignore[attr-defined]
    layout: _python.PyLayout = process.layout
    table = source._bpf[b"py_procs"]  # type: ignore[attr-defined]
    import ctypes

    head_addr = int(table[ctypes.c_uint32(pid)].interp_head_addr)
    mem = _python.ProcessMemory(pid)
    depth = 0
    start = time.perf_counter()
    for _ in range(reads):
        interp = mem.u64(head_addr)
        tstate = mem.u64(interp + layout.interp_threads_head)
        while tstate and mem.u64(tstate + layout.tstate_native_thread_id) & 0xFFFFFFFF != pid:
            tstate = mem.u64(tstate + layout.tstate_next)
        frame = mem.u64(mem.u64(tstate + layout.tstate_cframe) + layout.cframe_current_frame)
        depth = 0
        while frame and depth < 64:
            mem.u64(frame + layout.frame_code)
            mem.u64(frame + layout.frame_prev_instr)
            frame = mem.u64(frame + layout.frame_previous)
            depth += 1
    elapsed = (time.perf_counter() - start) / reads
    mem.close()
    assert depth >= 3, depth
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0, help="target length of a phase")
    parser.add_argument("--pairs", type=int, default=3, help="off/on phase pairs")
    parser.add_argument("--hz", type=int, default=99)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (perf events + BPF)")
    from bcc import PerfSWConfig, PerfType  # type: ignore[import-not-found,import-untyped,unused-ignore]
    from pyxie_stirling import Stirling
    from pyxie_stirling.perf_profiler import PerfProfilerConfig, PerfProfilerSource

    ncpu = os.cpu_count() or 1
    script = Path("/tmp") / f"pyxie-profiler-bench-{os.getpid()}.py"
    script.write_text(WORKER)
    # Calibrate the rounds so that one phase lasts about --seconds.
    t1 = run_workers(script, 20, 1)
    rounds = max(20, int(20 * args.seconds / t1))

    stats_path = Path("/proc/sys/kernel/bpf_stats_enabled")
    stats_before = stats_path.read_text().strip()
    stats_path.write_text("1")
    source = PerfProfilerSource(PerfProfilerConfig(sampling_hz=args.hz))
    stirling = Stirling([source], lambda table, batch: None)
    off_times: list[float] = []
    on_times: list[float] = []
    wall = collector_s = bpf_s = 0.0
    samples = 0
    try:
        stirling.init_sources()  # compile + attach: not part of the steady-state cost
        stirling.start()
        # Warm the symbol caches (first ELF parses) before measuring.
        warm = subprocess.Popen([sys.executable, str(script), "60"], stdout=subprocess.DEVNULL)
        warm.wait()
        time.sleep(1)
        bpf = source._bpf
        prog_fd = bpf.funcs[b"on_cpu_sample"].fd
        event = {"ev_type": PerfType.SOFTWARE, "ev_config": PerfSWConfig.CPU_CLOCK}
        # Off and on phases alternate, so that the shared machine's drifting load hits both.
        for _ in range(args.pairs):
            bpf.detach_perf_event(**event)
            off_times.append(run_workers(script, rounds, ncpu))
            bpf.attach_perf_event(fn_name=b"on_cpu_sample", sample_freq=args.hz, **event)
            bpf_t0, bpf_n0 = bpf_prog_stats(prog_fd)
            cpu0, wall0 = cpu_seconds(), time.perf_counter()
            on_times.append(run_workers(script, rounds, ncpu))
            cpu1, wall1 = cpu_seconds(), time.perf_counter()
            bpf_t1, bpf_n1 = bpf_prog_stats(prog_fd)
            wall += wall1 - wall0
            collector_s += cpu1 - cpu0
            bpf_s += (bpf_t1 - bpf_t0) / 1e9
            samples += bpf_n1 - bpf_n0
        # The user-space reader, timed on one more worker (registered by the profiler).
        probe = subprocess.Popen(
            [sys.executable, str(script), str(rounds)], stdout=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 20
        while probe.pid not in source._python and time.monotonic() < deadline:
            time.sleep(0.2)
        user_read = user_space_stack_read(source, probe.pid, 2000)
        probe.kill()
        probe.wait()
    finally:
        stirling.stop()
        stats_path.write_text(stats_before)
        script.unlink()
    per_core = 100 * (collector_s + bpf_s) / wall
    all_cores = per_core / ncpu
    ratio = sum(on_times) / sum(off_times)
    # Every sample of the on phases is a CPython worker's: the mean includes the frame walk.
    bpf_us = 1e6 * bpf_s / max(1, samples)
    print(f"cpus: {ncpu}, rate: {args.hz} Hz per CPU, profiled: {wall:.1f} s, samples: {samples}")
    print("workers off: " + " ".join(f"{t:.2f}" for t in off_times) + " s")
    print("workers on:  " + " ".join(f"{t:.2f}" for t in on_times) + " s")
    print(f"collector (user space): {collector_s:.3f} s CPU, BPF program: {bpf_s:.4f} s CPU")
    print(
        f"python stack read: in BPF {bpf_us:.2f} us/sample (whole program, with both stack ids); "
        f"user space via /proc/pid/mem {1e6 * user_read:.1f} us/stack"
    )
    print(
        f"RESULT profiler_cpu_percent_of_one_core={per_core:.2f} "
        f"profiler_cpu_percent_of_all_cores={all_cores:.2f} workload_ratio={ratio:.3f} "
        f"bpf_us_per_sample={bpf_us:.2f} userspace_us_per_stack={1e6 * user_read:.1f}"
    )


if __name__ == "__main__":
    main()
