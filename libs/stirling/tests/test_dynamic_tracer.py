"""pxtrace on the PEM: function probes typed from DWARF and generated as BPF C (no root), and
the same probes and a bpftrace program loaded into the real kernel (root + bpf)."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from pyxie_proto.vizier.messagespb import messages_pb2 as msgs
from pyxie_stirling.dynamic import ArgKind, DynamicTracer, generate_probe, read_signature
from pyxie_table_store import TableStore
from pyxie_types import UPID, DataType
from pyxie_types.tracepoints import TracepointSpecError, UnsafeProgramError
from stirling_bpf_support import bpf_skip_reason, rows_of

DATA = Path(__file__).parent / "data"
S = msgs.TracepointState


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("needs gcc to build the traced program")
    out = tmp_path_factory.mktemp("pxtrace") / "pxtrace_app"
    subprocess.run(["gcc", "-g", "-O0", "-o", str(out), str(DATA / "pxtrace_app.c")], check=True)
    return out


def _probe(*outputs: msgs.ProbeOutput, symbol: str = "compute") -> msgs.FunctionProbe:
    return msgs.FunctionProbe(symbol=symbol, outputs=outputs)


def test_dwarf_types_the_arguments_and_the_return_value(app: Path) -> None:
    signature = read_signature(app, "compute")
    assert signature.from_dwarf
    assert [(name, t.kind, t.size) for name, t in signature.params] == [
        ("n", ArgKind.SIGNED, 4),
        ("label", ArgKind.STRING, 8),
        ("scale", ArgKind.UNSIGNED, 8),
    ]
    assert signature.returns is not None
    assert (signature.returns.kind, signature.returns.size) == (ArgKind.SIGNED, 8)


def test_the_generated_program_reads_registers_by_type(app: Path) -> None:
    probe = generate_probe(
        _probe(
            msgs.ProbeOutput(column="n", arg="n"),
            msgs.ProbeOutput(column="label", arg="label"),
            msgs.ProbeOutput(column="result", ret="$0"),
            msgs.ProbeOutput(column="latency", latency=True),
        ),
        read_signature(app, "compute"),
        "compute_table",
        filter_tgids=(42,),
    )
    assert "ev.c_n = (s64)(s32)(PT_REGS_PARM1(ctx));" in probe.source
    assert "(void *)PT_REGS_PARM2(ctx)" in probe.source
    assert "ev.c_result = (s64)(s64)(PT_REGS_RC(ctx));" in probe.source
    assert "if (tgid != 42) return 0;" in probe.source
    assert probe.return_fn == "probe_return"
    assert [(c.name, c.data_type) for c in probe.schema.columns] == [
        ("time_", DataType.TIME64NS),
        ("upid", DataType.UINT128),
        ("n", DataType.INT64),
        ("label", DataType.STRING),
        ("result", DataType.INT64),
        ("latency", DataType.INT64),
    ]


@pytest.mark.parametrize(
    ("symbol", "output", "message"),
    [
        ("ratio", msgs.ProbeOutput(column="a", arg="a"), "floating-point"),
        ("ratio", msgs.ProbeOutput(column="r", ret="$0"), "floating-point"),
        ("by_value", msgs.ProbeOutput(column="p", arg="p"), "struct passed by value"),
        ("compute", msgs.ProbeOutput(column="x", arg="missing"), "no argument 'missing'"),
        # A spec arriving over NATS is checked again: no C text can be injected.
        ("compute", msgs.ProbeOutput(column="x", arg="n); bpf_probe_write_user(0"), "identifier"),
        ("compute", msgs.ProbeOutput(column="x; }", arg="n"), "identifier"),
    ],
)
def test_unreadable_or_malicious_outputs_are_refused(
    app: Path, symbol: str, output: msgs.ProbeOutput, message: str
) -> None:
    with pytest.raises(TracepointSpecError, match=message):
        generate_probe(_probe(output, symbol=symbol), read_signature(app, symbol), "t")


# ------------------------------------------------------------------ the real kernel


class _Reports:
    def __init__(self) -> None:
        self.items: list[tuple[str, int, int, str]] = []
        self.audits: list[tuple[Any, ...]] = []
        self._changed = threading.Condition()

    def report(self, tracepoint_id: str, state: int, code: int, message: str) -> None:
        with self._changed:
            self.items.append((tracepoint_id, state, code, message))
            self._changed.notify_all()

    def audit(self, action: str, outcome: str, **fields: Any) -> None:
        self.audits.append((action, outcome, fields.get("target"), fields.get("reason", "")))

    def wait_running(self, tracepoint_id: str, timeout_s: float = 60.0) -> None:
        settled = (S.TRACEPOINT_STATE_RUNNING, S.TRACEPOINT_STATE_FAILED)
        with self._changed:
            self._changed.wait_for(lambda: self.last_state(tracepoint_id) in settled, timeout_s)
        assert self.last_state(tracepoint_id) == S.TRACEPOINT_STATE_RUNNING, self.items

    def last_state(self, tracepoint_id: str) -> int | None:
        states = [state for tid, state, _, _ in self.items if tid == tracepoint_id]
        return states[-1] if states else None


def _rows(store: TableStore, table: str) -> list[dict[str, object]]:
    cursor = store.table(table).cursor()
    rows: list[dict[str, object]] = []
    while (batch := cursor.next_batch()) is not None:
        rows.extend(rows_of(batch))
    return rows


def _wait_rows(store: TableStore, table: str, count: int) -> list[dict[str, object]]:
    deadline = time.monotonic() + 30
    while True:
        rows = _rows(store, table)
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


bpf = pytest.mark.skipif(bpf_skip_reason() is not None, reason=bpf_skip_reason() or "")


def _start_ticks(pid: int) -> int:
    # Field 22 of /proc/<pid>/stat (after the parenthesised command name).
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])


def _compute_deployment(app: Path, upid: int) -> msgs.TracepointDeployment:
    target = msgs.TracepointTarget()
    target.upid.high, target.upid.low = upid >> 64, upid & (2**64 - 1)
    outputs = [
        msgs.ProbeOutput(column="n", arg="n"),
        msgs.ProbeOutput(column="label", arg="label"),
        msgs.ProbeOutput(column="scale", arg="scale"),
        msgs.ProbeOutput(column="result", ret="$0"),
        msgs.ProbeOutput(column="latency", latency=True),
    ]
    probe = msgs.FunctionProbe(binary=str(app), symbol="compute", outputs=outputs)
    return msgs.TracepointDeployment(
        name="compute_probe",
        ttl_ns=60 * 10**9,
        target=target,
        programs=[msgs.TracepointProgram(table_name="compute_table", probe=probe)],
    )


@bpf
@pytest.mark.root
@pytest.mark.bpf
@pytest.mark.slow
def test_a_uprobe_on_a_test_binary_fills_its_table_with_exact_rows(app: Path) -> None:
    store = TableStore()
    reports = _Reports()
    tracer = DynamicTracer(store, lambda: 9, reports.report, audit=reports.audit)
    with subprocess.Popen(
        [str(app), "3"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as process:
        upid = UPID(9, process.pid, _start_ticks(process.pid))
        try:
            tracer.deploy("tp-1", _compute_deployment(app, upid.value))
            reports.wait_running("tp-1")
            out, _ = process.communicate("go\n", timeout=30)
            rows = _wait_rows(store, "compute_table", 3)
        finally:
            if process.poll() is None:
                process.kill()
            tracer.stop()
    assert out.splitlines()[:3] == ["204", "494", "984"]
    assert [(r["upid"], r["n"], r["label"], r["scale"], r["result"]) for r in rows] == [
        (upid.to_bytes(), 10, "r1", 2, 204),
        (upid.to_bytes(), 20, "r2", 2, 494),
        (upid.to_bytes(), 30, "r3", 2, 984),
    ]
    assert all(isinstance(r["latency"], int) and r["latency"] > 0 for r in rows)
    assert all(abs(int(str(r["time_"])) - time.time_ns()) < 60 * 10**9 for r in rows)
    assert ("tracepoint.deploy", "applied", "compute_probe", "") in reports.audits


@bpf
@pytest.mark.root
@pytest.mark.bpf
@pytest.mark.slow
def test_a_bpftrace_tracepoint_program_fills_its_table_and_stops_on_removal(app: Path) -> None:
    if shutil.which("bpftrace") is None:
        pytest.skip("needs bpftrace (make setup-bpf)")
    store = TableStore()
    reports = _Reports()
    tracer = DynamicTracer(store, lambda: 9, reports.report, audit=reports.audit)
    program = (
        'tracepoint:sched:sched_process_exec /comm == "pxtrace_app"/ '
        '{ printf("time_:%llu pid:%d comm:%s\\n", nsecs, pid, comm); }'
    )
    deployment = msgs.TracepointDeployment(
        name="execs",
        ttl_ns=60 * 10**9,
        target=msgs.TracepointTarget(kernel=True),
        programs=[
            msgs.TracepointProgram(
                table_name="exec_table", bpftrace=msgs.BPFTraceProgram(program=program)
            )
        ],
    )
    try:
        tracer.deploy("tp-2", deployment)
        reports.wait_running("tp-2")
        for _ in range(2):
            process = subprocess.run([str(app), "1"], input="go\n", capture_output=True, text=True)
            assert process.returncode == 0
        rows = _wait_rows(store, "exec_table", 2)
    finally:
        tracer.remove("tp-2")
    assert [r["comm"] for r in rows] == ["pxtrace_app", "pxtrace_app"]
    assert all(isinstance(r["pid"], int) and r["pid"] > 0 for r in rows)
    assert reports.last_state("tp-2") == S.TRACEPOINT_STATE_TERMINATED
    # Nothing runs any more: a later exec adds no row.
    subprocess.run([str(app), "1"], input="go\n", capture_output=True, text=True, check=True)
    time.sleep(1.0)
    assert len(_rows(store, "exec_table")) == 2


@bpf
@pytest.mark.root
@pytest.mark.bpf
@pytest.mark.parametrize(
    ("program", "attack"),
    [
        ('uprobe:/bin/bash:readline { system("touch /tmp/pxtrace-owned"); }', "system"),
        ("tracepoint:syscalls:sys_enter_kill { signal(9); }", "signal"),
        ('BEGIN { cat("/etc/shadow"); }', "cat"),
        ("BEGIN { bpf_probe_write_user(0, 0, 0); }", "bpf_probe_write_user"),
    ],
)
def test_the_pem_refuses_unsafe_programs_before_loading(program: str, attack: str) -> None:
    """The broker already refuses these; a spec that reaches the PEM anyway is refused again."""
    store = TableStore()
    reports = _Reports()
    tracer = DynamicTracer(store, lambda: 9, reports.report, audit=reports.audit)
    deployment = msgs.TracepointDeployment(
        name="attack",
        ttl_ns=60 * 10**9,
        target=msgs.TracepointTarget(kernel=True),
        programs=[
            msgs.TracepointProgram(table_name="t", bpftrace=msgs.BPFTraceProgram(program=program))
        ],
    )
    tracer.deploy("tp-bad", deployment)
    (_, state, code, message) = reports.items[-1]
    assert (state, code) == (S.TRACEPOINT_STATE_FAILED, 3)
    assert "read-only" in message and attack in message
    assert tracer.active == []
    assert "t" not in store.schemas()
    assert reports.audits[-1][:3] == ("tracepoint.deploy", "refused", "attack")
    assert not Path("/tmp/pxtrace-owned").exists()


def test_unsafe_generated_c_is_refused_by_the_same_check() -> None:
    from pyxie_types.tracepoints import check_bpf_program

    with pytest.raises(UnsafeProgramError):
        check_bpf_program("int f(void *ctx) { return bpf_override_return(ctx, 0); }")


def test_a_node_runs_a_bounded_number_of_tracepoints(tmp_path: Path) -> None:
    # A stand-in bpftrace that prints nothing and exits: no root needed.
    fake = tmp_path / "bpftrace"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    reports = _Reports()
    tracer = DynamicTracer(
        TableStore(),
        lambda: 9,
        reports.report,
        audit=reports.audit,
        bpftrace=str(fake),
        max_deployments=1,
    )
    program = msgs.TracepointProgram(
        table_name="t", bpftrace=msgs.BPFTraceProgram(program='BEGIN { printf("n:%d", 1); }')
    )
    deployment = msgs.TracepointDeployment(
        name="one", ttl_ns=10**9, target=msgs.TracepointTarget(kernel=True), programs=[program]
    )
    try:
        tracer.deploy("tp-1", deployment)
        tracer.deploy("tp-2", deployment)
    finally:
        tracer.stop()
    refusal = [r for r in reports.items if r[0] == "tp-2"][-1]
    assert refusal[1:3] == (S.TRACEPOINT_STATE_FAILED, 8)
    assert "already runs 1 tracepoints" in refusal[3]
