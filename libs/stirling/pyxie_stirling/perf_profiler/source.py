"""The perf_profiler source: sampled CPU stacks of every process, folded into stack_traces.beta.

A perf-event BPF program (bpf/perf_profiler.c) runs on every CPU at ``sampling_hz`` and sends one
sample per tick through a ring buffer: kernel and user stack ids and, for CPython >= 3.11, the
interpreter frames of the sampled thread. Every ``window_s`` the samples of the window are
counted per (process, stack), symbolised (kernel from /proc/kallsyms, native frames from the
ELF symbols of mapped files, Python frames from code objects read out of the process), written
as Pixie's folded strings (root first, ``;``-separated, kernel frames prefixed ``[k] ``), and the
stack map is cleared for the next window.

A Python frame reads ``qualname (file:line)``. The native interpreter frames that run Python code
(``_PyEval_EvalFrameDefault``) are replaced by the Python frames they executed.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import logging
import os
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from typing import Any, ClassVar

from pyxie_types import TableSchema
from pyxie_types.tables import STACK_TRACES

from .._errors import BPFUnavailableError
from ..core import Source, SourceContext, StatusCode
from . import _python
from ._events import MAX_PY_FRAMES, SAMPLE_PY_TRUNCATED, CpuSample, PyLayoutStruct
from ._symbols import KernelSymbols, ProcessMaps, SymbolCache, parse_maps

__all__ = ["PerfProfilerConfig", "PerfProfilerSource", "fold_stack", "stack_trace_id"]

log = logging.getLogger(__name__)

# Native frame(s) of CPython that execute Python frames; replaced by those frames.
_EVAL_FRAME = "_PyEval_EvalFrameDefault"


@dataclass(frozen=True, slots=True)
class PerfProfilerConfig:
    # 99 Hz, not 100: stays out of lockstep with timers firing at round frequencies.
    sampling_hz: int = 99
    # Samples are counted per window; Pixie pushes its profile every 30 s, 10 s keeps the
    # flamegraph of a just-started workload fresh at the same cost per sample.
    window_s: float = 10.0
    python: bool = True
    # 1024 pages = 4 MiB: ~4000 samples of 1 KiB, 20 s of 2 CPUs at 99 Hz (2.5 s of 16 CPUs)
    # between two drains. Drains come every 250 ms, but the first parse of a large binary's
    # symbol tables (pyelftools, pure Python) holds the collector thread for seconds.
    ringbuf_pages: int = 1024

    @property
    def sampling_period_ms(self) -> int:
        return max(1, round(1000 / self.sampling_hz))


def stack_trace_id(folded: str) -> int:
    """A stable id of a folded stack (the same stack gets the same id in every window)."""
    return int.from_bytes(hashlib.blake2b(folded.encode(), digest_size=8).digest(), "little") >> 1


def fold_stack(native_user: list[str], python: list[str], kernel: list[str]) -> str:
    """One folded stack, root first. Every list is given root first.

    With Python frames, the native frames from the first to the last interpreter frame are
    replaced by the Python frames; when the native unwind never reached an interpreter frame
    (CPython is built without frame pointers) only the Python frames stand for user space.
    """
    frames: list[str]
    if python:
        evals = [i for i, name in enumerate(native_user) if name == _EVAL_FRAME]
        if evals:
            # Without frame pointers the unwind past the interpreter yields stray addresses
            # (frames that resolve to no mapping, printed as bare hex): drop those.
            root = [f for f in native_user[: evals[0]] if not f.startswith("0x")]
            frames = root + python + native_user[evals[-1] + 1 :]
        else:
            frames = list(python)
    else:
        frames = list(native_user)
    frames.extend(f"[k] {name}" for name in kernel)
    return ";".join(frames) if frames else "[unknown]"


# (tgid, user stack id, kernel stack id, raw Python frames (code, prev_instr)*, truncated)
_SampleKey = tuple[int, int, int, bytes, bool]


class _PythonProcess:
    """One CPython process: its layout, memory, and per-window caches of what was read."""

    def __init__(self, layout: _python.PyLayout, mem: _python.ProcessMemory) -> None:
        self.layout = layout
        self.mem = mem
        self.codes: dict[int, tuple[_python.CodeInfo, tuple[list[int], list[int]]] | None] = {}
        self.frames: dict[tuple[int, int], str] = {}

    def clear(self) -> None:
        """Forget code objects: they can be freed and their addresses reused."""
        self.codes.clear()
        self.frames.clear()

    def frame(self, code: int, prev_instr: int) -> str:
        label = self.frames.get((code, prev_instr))
        if label is None:
            label = self.frames[(code, prev_instr)] = self._label(code, prev_instr)
        return label

    def _label(self, code: int, prev_instr: int) -> str:
        if code not in self.codes:
            try:
                info = _python.read_code(self.mem, code, self.layout)
                # IndexError: a table read while the process was changing it.
                table = _python.decode_line_table(info.linetable, info.firstlineno)
                self.codes[code] = (info, table)
            except (OSError, ValueError, UnicodeError, IndexError):
                self.codes[code] = None
        entry = self.codes[code]
        if entry is None:
            return f"[py] {code:#x}"
        info, table = entry
        index = (prev_instr - code - self.layout.code_adaptive) // 2
        line = (_python.line_at(table, index) if index >= 0 else 0) or info.firstlineno
        return f"{info.qualname} ({info.filename}:{line})"


class PerfProfilerSource(Source):
    name: ClassVar[str] = "perf_profiler"
    tables: ClassVar[tuple[TableSchema, ...]] = (STACK_TRACES,)
    # Draining the ring buffer; the rows come once per window.
    sampling_period_ns: ClassVar[int] = 250_000_000
    push_period_ns: ClassVar[int] = 1_000_000_000

    def __init__(self, config: PerfProfilerConfig | None = None) -> None:
        super().__init__()
        self.config = config or PerfProfilerConfig()
        self._bpf: Any = None
        self._callback: Any = None
        self._counts: Counter[_SampleKey] = Counter()
        self._seen_tgids: set[int] = set()
        self._new_tgids: set[int] = set()
        self._python: dict[int, _PythonProcess] = {}
        self._symbols = SymbolCache()
        self._kernel: KernelSymbols | None = None
        self._window_end = 0.0
        self._lock = threading.Lock()
        self.samples_total = 0

    @property
    def sampling_period_ms(self) -> int:
        return self.config.sampling_period_ms

    # -- lifecycle ------------------------------------------------------------------------------

    def init(self, ctx: SourceContext) -> None:
        super().init(ctx)
        if os.geteuid() != 0:
            raise BPFUnavailableError("the CPU profiler needs root (perf events + BPF)")
        try:
            from bcc import (  # type: ignore[import-not-found,import-untyped,unused-ignore]
                BPF,
                PerfSWConfig,
                PerfType,
            )
        except ImportError as exc:
            raise BPFUnavailableError(f"bcc is not importable ({exc})") from exc
        bpf_dir = str(resources.files("pyxie_stirling") / "bpf")
        cflags = [
            f"-I{bpf_dir}",
            f"-DSELF_TGID={os.getpid()}",
            f"-DRINGBUF_PAGES={self.config.ringbuf_pages}",
        ]
        try:
            self._bpf = BPF(src_file=f"{bpf_dir}/perf_profiler.c".encode(), cflags=cflags)
            self._bpf.attach_perf_event(
                ev_type=PerfType.SOFTWARE,
                ev_config=PerfSWConfig.CPU_CLOCK,
                fn_name=b"on_cpu_sample",
                sample_freq=self.config.sampling_hz,
            )
        except Exception as exc:
            self.stop()
            raise BPFUnavailableError(f"the kernel refused the CPU profiler: {exc}") from exc
        ctx.report_probe(
            f"perf_event:cpu_clock:{self.config.sampling_hz}Hz",
            StatusCode.OK,
            info={"python": self.config.python},
        )
        try:
            self._kernel = KernelSymbols()
        except OSError as exc:
            ctx.report_error(f"no kernel symbols: {exc}", StatusCode.NOT_FOUND)
        size = ctypes.sizeof(CpuSample)

        string_at = ctypes.string_at
        unpack_header = struct.Struct("<IIiiII").unpack_from
        frames_offset = CpuSample.py.offset

        # Runs for every sample (CPUs x rate per second): only the header is decoded here; the
        # Python frames stay raw bytes (the dict key) until the window is counted.
        def on_sample(_ctx: Any, data: Any, length: int) -> int:
            if length < size:
                return 0
            tgid, _tid, user_id, kernel_id, depth, flags = unpack_header(string_at(data, 24))
            depth = min(depth, MAX_PY_FRAMES)
            frames = string_at(data + frames_offset, depth * 16) if depth else b""
            key = (tgid, user_id, kernel_id, frames, bool(flags & SAMPLE_PY_TRUNCATED))
            self._counts[key] += 1
            if tgid not in self._seen_tgids:
                self._seen_tgids.add(tgid)
                self._new_tgids.add(tgid)
            return 0

        self._callback = on_sample  # bcc keeps only a weak reference
        self._bpf[b"samples"].open_ring_buffer(on_sample)
        self._window_end = time.monotonic() + self.config.window_s

    def stop(self) -> None:
        with self._lock:
            if self._bpf is not None:
                self._bpf.cleanup()
                self._bpf = None
            for process in self._python.values():
                process.mem.close()
            self._python.clear()

    # -- sampling -------------------------------------------------------------------------------

    def sample(self) -> None:
        with self._lock:
            if self._bpf is None:
                return
            self._bpf.ring_buffer_consume()
            if self.config.python and self._new_tgids:
                new, self._new_tgids = self._new_tgids, set()
                for tgid in new:
                    self._register_python(tgid)
            if time.monotonic() >= self._window_end:
                self._close_window()
                self._window_end = time.monotonic() + self.config.window_s

    def flush_window(self) -> None:
        """Count what was sampled so far into rows now (tests, shutdown)."""
        with self._lock:
            if self._bpf is not None:
                self._bpf.ring_buffer_consume()
                self._close_window()

    def _register_python(self, tgid: int) -> None:
        """Tell the BPF program where the interpreter of ``tgid`` keeps its frames, if it is a
        CPython of a supported version."""
        try:
            with open(f"/proc/{tgid}/maps") as f:
                mappings = parse_maps(f.read())
        except OSError:
            return
        for path in dict.fromkeys(m.path for m in mappings):
            version = _python.python_version_of_path(path)
            layout = _python.LAYOUTS.get(version) if version else None
            if layout is None:
                continue
            elf = self._symbols.get(f"/proc/{tgid}/root{path}")
            if elf is None or "_PyRuntime" not in elf.runtime_symbols:
                continue
            bias = elf.load_bias(mappings, path)
            if bias is None:
                continue
            runtime = bias + elf.runtime_symbols["_PyRuntime"]
            try:
                mem = _python.ProcessMemory(tgid)
            except OSError:
                return
            old = self._python.pop(tgid, None)
            if old is not None:
                old.mem.close()
            self._python[tgid] = _PythonProcess(layout, mem)
            table = self._bpf[b"py_procs"]
            table[ctypes.c_uint32(tgid)] = PyLayoutStruct(
                runtime + layout.runtime_interp_head,
                layout.interp_threads_head,
                layout.tstate_next,
                layout.tstate_native_thread_id,
                layout.tstate_cframe,
                layout.cframe_current_frame,
                layout.frame_code,
                layout.frame_previous,
                layout.frame_prev_instr,
                layout.frame_owner,
                layout.owner_cstack,
            )
            log.debug("profiler: pid %d runs CPython %d.%d", tgid, *layout.version)
            return

    def _close_window(self) -> None:
        counts, self._counts = self._counts, Counter()
        ctx = self.ctx
        now = ctx.clock.now_ns()
        stacks = self._bpf[b"stack_traces"]
        addresses: dict[int, list[int]] = {}

        def walk(stack_id: int) -> list[int]:
            if stack_id < 0:
                return []
            if stack_id not in addresses:
                try:
                    addresses[stack_id] = list(stacks.walk(stack_id))
                except KeyError:
                    addresses[stack_id] = []
            return addresses[stack_id]

        maps: dict[int, ProcessMaps] = {}
        accepted: dict[int, bool] = {}
        folded: Counter[tuple[int, str]] = Counter()
        for (tgid, user_id, kernel_id, py_frames, truncated), count in counts.items():
            if tgid not in accepted:
                accepted[tgid] = ctx.process_filter.accepts(tgid)
            if not accepted[tgid]:
                continue
            user = walk(user_id)
            kernel = walk(kernel_id)
            native: list[str] = []
            if user:
                if tgid not in maps:
                    maps[tgid] = ProcessMaps(tgid, self._symbols)
                pmap = maps[tgid]
                # Return addresses point after the call: look up addr - 1 (not for the leaf).
                native = [pmap.symbol(a if i == 0 else a - 1) for i, a in enumerate(user)]
                native.reverse()
            python: list[str] = []
            process = self._python.get(tgid)
            if process is not None and py_frames:
                # Shim frames (code 0) stand for C calls into the interpreter: not a frame.
                pairs = [f for f in struct.iter_unpack("<QQ", py_frames) if f[0]]
                python = [process.frame(code, instr) for code, instr in reversed(pairs)]
                if truncated:
                    python.insert(0, "[truncated]")
            kernel_names: list[str] = []
            if kernel and self._kernel is not None:
                kernel_names = [self._kernel.symbol(a) for a in reversed(kernel)]
            folded[(tgid, fold_stack(native, python, kernel_names))] += count
        stacks.clear()
        self._forget_exited()
        for process in self._python.values():
            process.clear()
        rows = self.buffer(STACK_TRACES.name)
        for (tgid, stack), count in folded.items():
            self.samples_total += count
            rows.append((now, ctx.processes.upid_bytes(tgid), stack_trace_id(stack), stack, count))
        lost = self._lost_samples()
        if lost:
            ctx.report_error(f"{lost} CPU samples lost (ring buffer full)", StatusCode.DATA_LOSS)

    def _lost_samples(self) -> int:
        table = self._bpf[b"counters"]
        lost = int(sum(table[table.Key(0)]))
        if lost:
            table.clear()  # zeroes every CPU's slot of the array
        return lost

    def _forget_exited(self) -> None:
        for tgid in [t for t in self._python if not os.path.exists(f"/proc/{t}")]:
            self._python.pop(tgid).mem.close()
            table = self._bpf[b"py_procs"]
            with contextlib.suppress(KeyError):
                del table[ctypes.c_uint32(tgid)]
        # Let recycled pids be looked at again.
        self._seen_tgids = {t for t in self._seen_tgids if os.path.exists(f"/proc/{t}")}
