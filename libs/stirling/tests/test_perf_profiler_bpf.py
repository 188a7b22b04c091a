"""The real profiler and proc_exit probes on this kernel (root + bcc)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pytest
from pyxie_stirling import Stirling
from stirling_bpf_support import bpf_skip_reason, rows_of

pytestmark = [
    pytest.mark.root,
    pytest.mark.bpf,
    pytest.mark.skipif(bpf_skip_reason() is not None, reason=str(bpf_skip_reason())),
]

BURNER = textwrap.dedent(
    """\
    import time


    def pyxie_burn_known_function(n):
        total = 0
        for i in range(n):
            total += i * i
        return total


    def main():
        end = time.time() + 60
        while time.time() < end:
            pyxie_burn_known_function(200000)


    main()
    """
)


class Collected:
    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, object]]] = {}

    def __call__(self, table: str, batch: pa.RecordBatch) -> None:
        self.rows.setdefault(table, []).extend(rows_of(batch))


def _pid_of(upid: object) -> int:
    assert isinstance(upid, bytes)
    return int.from_bytes(upid[4:8], "big")


def _interpreters() -> list[str]:
    """This interpreter, plus another supported CPython minor version when one is installed."""
    found = [sys.executable]
    other = "python3.12" if sys.version_info[:2] == (3, 11) else "python3.11"
    path = shutil.which(other)
    # A version manager's shim may exist without the version behind it: it must run.
    if (
        path is not None
        and subprocess.run([path, "-c", "pass"], capture_output=True).returncode == 0
    ):
        found.append(path)
    return found


@pytest.mark.parametrize("python", _interpreters())
def test_python_process_burning_cpu_shows_its_function_and_line(
    tmp_path: Path, python: str
) -> None:
    from pyxie_stirling.perf_profiler import PerfProfilerConfig, PerfProfilerSource

    script = tmp_path / "burner.py"
    script.write_text(BURNER)
    collected = Collected()
    source = PerfProfilerSource(PerfProfilerConfig(window_s=3600))
    stirling = Stirling([source], collected)
    stirling.init_sources()
    child = subprocess.Popen([python, str(script)])
    try:
        # The first samples register the interpreter; later ones carry its frames. On a loaded
        # CI machine registering took most of 8 s once (only native frames were collected).
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            stirling.run_once()
            time.sleep(0.25)
        source.flush_window()
        stirling.run_once(force_push=True)
    finally:
        child.kill()
        child.wait()
        stirling.stop()
    # DATA_LOSS (15): other processes' samples dropped while symbol tables were first parsed.
    errors = [
        r["error"] for r in collected.rows.get("stirling_error", []) if r["status"] not in (0, 15)
    ]
    assert not errors, errors
    mine = [r for r in collected.rows["stack_traces.beta"] if _pid_of(r["upid"]) == child.pid]
    assert mine
    expected_frames = (
        f"main ({script}:14);pyxie_burn_known_function ({script}:"  # line 6 or 7: loop or add
    )
    hot = [r for r in mine if expected_frames in str(r["stack_trace"])]
    assert hot, [r["stack_trace"] for r in mine][:5]
    leaf = {str(r["stack_trace"]).split(";")[-1] for r in hot if "[k]" not in r["stack_trace"]}
    assert leaf <= {
        f"pyxie_burn_known_function ({script}:6)",
        f"pyxie_burn_known_function ({script}:7)",
    }, leaf
    assert all(str(r["stack_trace"]).startswith(f"<module> ({script}:17)") for r in hot)


def test_exit_code_and_terminating_signal_are_reported_exactly() -> None:
    from pyxie_stirling.proc_exit import ProcExitSource

    collected = Collected()
    stirling = Stirling([ProcExitSource()], collected)
    stirling.init_sources()
    try:
        code3 = subprocess.Popen(["sh", "-c", "exit 3"])
        code3.wait()
        clean = subprocess.Popen(["sh", "-c", "exit 0"])
        clean.wait()
        term = subprocess.Popen(["sleep", "30"])
        time.sleep(0.2)
        term.send_signal(signal.SIGTERM)
        term.wait()
        time.sleep(0.3)
        stirling.run_once(force_push=True)
    finally:
        stirling.stop()
    rows = {
        _pid_of(r["upid"]): (r["exit_code"], r["signal"], r["comm"])
        for r in collected.rows.get("proc_exit_events", [])
    }
    assert rows[code3.pid] == (3, 0, "sh")
    assert rows[term.pid] == (0, 15, "sleep")
    assert clean.pid not in rows  # a clean exit is not abnormal


def test_exits_are_kept_to_the_filtered_network_namespace() -> None:
    """With a PEM's netns filter, a process of that namespace is reported after it is gone from
    /proc (the filter was applied while it lived), and one of the host is not."""
    from pyxie_stirling import ProcessFilter
    from pyxie_stirling.proc_exit import ProcExitSource

    netns = f"pxexit{os.getpid() % 100000}"
    subprocess.run(["ip", "netns", "add", netns], check=True)
    try:
        inode = os.stat(f"/run/netns/{netns}").st_ino
        collected = Collected()
        stirling = Stirling(
            [ProcExitSource()], collected, process_filter=ProcessFilter(netns_inode=inode)
        )
        stirling.init_sources()
        try:
            inside = subprocess.Popen(["ip", "netns", "exec", netns, "sh", "-c", "sleep 2; exit 4"])
            outside = subprocess.Popen(["sh", "-c", "sleep 2; exit 5"])
            deadline = time.monotonic() + 10
            while inside.poll() is None or outside.poll() is None:
                stirling.run_once()
                time.sleep(0.2)
                assert time.monotonic() < deadline
            time.sleep(0.3)
            stirling.run_once(force_push=True)
        finally:
            stirling.stop()
    finally:
        subprocess.run(["ip", "netns", "del", netns], check=False)
    rows = {
        _pid_of(r["upid"]): (r["exit_code"], r["signal"])
        for r in collected.rows.get("proc_exit_events", [])
    }
    assert rows.get(inside.pid) == (4, 0)
    assert outside.pid not in rows
    # The UPID carries the start time read while the process lived.
    [row] = [r for r in collected.rows["proc_exit_events"] if _pid_of(r["upid"]) == inside.pid]
    assert int.from_bytes(bytes(row["upid"])[8:16], "big") > 0  # type: ignore[arg-type]
