"""Running tracepoint programs: a bcc uprobe program or a bpftrace process, each on its own
thread, turning events into rows of its table.

Both report through `on_state(state, message)`: RUNNING once attached, FAILED with the reason
when loading or the program fails later. `stop()` detaches and joins.
"""

from __future__ import annotations

import ctypes
import json
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, Protocol

import pyarrow as pa
from pyxie_types import DataType, TableSchema
from pyxie_types.tracepoints import (
    TIME_COLUMN,
    BPFTraceField,
    bpftrace_fields,
    check_bpftrace_program,
)

from ..core import Clock, ProcessResolver, RowBuffer
from ._codegen import GeneratedProbe

__all__ = ["BPFTraceRunner", "RowSink", "Runner", "UprobeRunner", "bpftrace_binary"]

StateCallback = Callable[[str, str], None]
# bpftrace reports `attached_probes` before it attaches; its BEGIN probe fires after every
# probe is attached. A program without BEGIN gets one printing this marker, and the runner
# reports RUNNING when it arrives.
_ATTACHED_MARKER: Final = "__pyxie_attached__"
_BEGIN_PROBE = re.compile(r"(?<![A-Za-z0-9_:])BEGIN\s*(/|\{)")
# Rows are pushed at least this often (seconds) so that queries see them quickly.
_PUSH_INTERVAL_S: Final = 0.5
# bpftrace compiles its program with LLVM: allow it this long to attach.
_BPFTRACE_STDERR_TAIL: Final = 2000


class RowSink(Protocol):
    def append(self, name: str, batch: pa.RecordBatch) -> None: ...


class Runner(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


def bpftrace_binary() -> str | None:
    return shutil.which("bpftrace")


class UprobeRunner:
    """A generated uprobe program attached with bcc to `binary`'s `symbol`."""

    def __init__(
        self,
        probe: GeneratedProbe,
        binary: Path,
        symbol: str,
        sink: RowSink,
        resolver: ProcessResolver,
        on_state: StateCallback,
        *,
        clock: Clock | None = None,
        known_starts: dict[int, int] | None = None,
    ) -> None:
        self._probe = probe
        # Start times (clock ticks) of the target processes, known from their UPIDs: rows of a
        # process that exits before its events are read keep the right UPID. Other processes
        # are looked up in /proc when their event is read.
        self._known_starts = dict(known_starts or {})
        self._binary = binary
        self._symbol = symbol
        self._sink = sink
        self._resolver = resolver
        self._on_state = on_state
        self._clock = clock or Clock()
        self._buffer = RowBuffer(probe.schema)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"uprobe-{probe.schema.name}", daemon=True
        )
        self._bpf: Any = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        try:
            from bcc import BPF

            # bcc wants bytes (it warns on str, an error under strict warning filters).
            bpf = BPF(text=self._probe.source.encode())
            binary, symbol = str(self._binary).encode(), self._symbol.encode()
            bpf.attach_uprobe(name=binary, sym=symbol, fn_name=self._probe.entry_fn.encode())
            if self._probe.return_fn is not None:
                bpf.attach_uretprobe(
                    name=binary, sym=symbol, fn_name=self._probe.return_fn.encode()
                )
            bpf[b"events"].open_perf_buffer(self._on_event, page_cnt=64)
        except Exception as err:  # bcc raises bare Exceptions for load/attach failures
            self._on_state("FAILED", f"cannot load the probe on {self._symbol}: {err}")
            return
        self._bpf = bpf
        self._on_state("RUNNING", "")
        try:
            while not self._stop.is_set():
                bpf.perf_buffer_poll(timeout=int(_PUSH_INTERVAL_S * 1000))
                self._flush()
        except Exception as err:
            self._on_state("FAILED", f"the probe stopped: {err}")
        finally:
            self._flush()
            bpf.cleanup()

    def _on_event(self, _cpu: int, data: Any, _size: int) -> None:
        event = ctypes.cast(data, ctypes.POINTER(self._probe.event_type)).contents
        tgid = int(event.tgid)
        row: list[object] = [
            self._clock.monotonic_to_wall(int(event.time_ns)),
            self._resolver.upid(tgid, self._known_starts.get(tgid)).to_bytes(),
        ]
        for column in self._probe.fields:
            value = getattr(event, f"c_{column}")
            if isinstance(value, bytes):
                value = value.decode("utf-8", errors="replace")
            row.append(value)
        self._buffer.append(row)

    def _flush(self) -> None:
        batch = self._buffer.take_batch()
        if batch is not None:
            self._sink.append(self._probe.schema.name, batch)


def _field_pattern(fields: list[BPFTraceField]) -> re.Pattern[str]:
    parts = []
    for index, field in enumerate(fields):
        if field.data_type is DataType.STRING:
            value = r"(.*?)"
        elif field.conversion.endswith(("x", "X")):
            value = r"([0-9a-fA-F]+)"
        else:
            value = r"(-?[0-9]+)"
        parts.append(re.escape(f"{field.name}:") + value)
        if index < len(fields) - 1:
            parts.append(r"\s+")
    return re.compile(r"\s*" + "".join(parts) + r"\s*\Z", re.DOTALL)


class BPFTraceRunner:
    """A bpftrace program (`bpftrace -f json`) whose printf lines become rows."""

    def __init__(
        self,
        program: str,
        schema: TableSchema,
        sink: RowSink,
        on_state: StateCallback,
        *,
        clock: Clock | None = None,
        executable: str | None = None,
    ) -> None:
        check_bpftrace_program(program)
        self._program = program
        self._schema = schema
        self._fields = bpftrace_fields(program)
        self._pattern = _field_pattern(self._fields)
        self._sink = sink
        self._on_state = on_state
        self._clock = clock or Clock()
        self._executable = executable or bpftrace_binary()
        self._buffer = RowBuffer(schema)
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"bpftrace-{schema.name}", daemon=True
        )
        self._flusher = threading.Thread(
            target=self._flush_forever, name=f"bpftrace-flush-{schema.name}", daemon=True
        )
        self._dir = tempfile.mkdtemp(prefix="pyxie-bpftrace-")
        self._has_begin = False
        self.unparsed_lines = 0

    def start(self) -> None:
        self._thread.start()
        self._flusher.start()

    def stop(self) -> None:
        self._stopping.set()
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for thread in (self._thread, self._flusher):
            if thread.is_alive():
                thread.join(timeout=10)
        self._flush()
        shutil.rmtree(self._dir, ignore_errors=True)

    def _run(self) -> None:
        if self._executable is None:
            self._on_state("FAILED", "bpftrace is not installed on this node")
            return
        script = Path(self._dir) / "program.bt"
        self._has_begin = bool(_BEGIN_PROBE.search(self._program))
        marker = "" if self._has_begin else f'\nBEGIN {{ printf("{_ATTACHED_MARKER}\\n"); }}\n'
        script.write_text(self._program + marker)
        stderr_path = Path(self._dir) / "stderr"
        # Never --unsafe: bpftrace itself then refuses system(), signal() and override().
        with (
            stderr_path.open("w") as stderr,
            subprocess.Popen(
                [self._executable, "-f", "json", str(script)],
                stdout=subprocess.PIPE,
                stderr=stderr,
                stdin=subprocess.DEVNULL,
                text=True,
            ) as process,
        ):
            self._process = process
            assert process.stdout is not None
            for line in process.stdout:
                self._on_line(line)
            code = process.wait()
        if not self._stopping.is_set():
            tail = stderr_path.read_text(errors="replace")[-_BPFTRACE_STDERR_TAIL:].strip()
            self._on_state("FAILED", f"bpftrace exited with status {code}: {tail}")

    def _on_line(self, line: str) -> None:
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            self.unparsed_lines += 1
            return
        kind = message.get("type")
        if kind == "attached_probes" and self._has_begin:
            # The program's own BEGIN may print nothing: the best signal there is.
            self._on_state("RUNNING", "")
        elif kind == "printf":
            data = str(message.get("data", ""))
            if data.strip() == _ATTACHED_MARKER:
                self._on_state("RUNNING", "")
            else:
                self._on_printf(data)

    def _on_printf(self, data: str) -> None:
        match = self._pattern.match(data)
        if match is None:
            self.unparsed_lines += 1
            return
        row: dict[str, object] = {}
        for field, raw in zip(self._fields, match.groups(), strict=True):
            if field.data_type is DataType.STRING:
                row[field.name] = raw
            elif field.conversion.endswith(("x", "X")):
                row[field.name] = int(raw, 16)
            else:
                row[field.name] = int(raw)
        if TIME_COLUMN in row:
            row[TIME_COLUMN] = self._clock.monotonic_to_wall(int(str(row[TIME_COLUMN])))
        else:
            row[TIME_COLUMN] = self._clock.now_ns()
        with self._lock:
            self._buffer.append_dict(row)

    def _flush_forever(self) -> None:
        while not self._stopping.wait(_PUSH_INTERVAL_S):
            self._flush()

    def _flush(self) -> None:
        with self._lock:
            batch = self._buffer.take_batch()
        if batch is not None:
            self._sink.append(self._schema.name, batch)
