"""The pxtrace module: what a mutation script compiles to, and what it may not do."""

from __future__ import annotations

import pytest
from pyxie_proto.vizier.messagespb import messages_pb2 as msgs
from pyxie_pxl.compiler import Compiler
from pyxie_pxl.errors import CompilerError

PROBE_SCRIPT = """
import pxtrace
import px

@pxtrace.probe("/opt/app/bin/server:compute")
def probe_fn():
    return [{'n': pxtrace.ArgExpr('n')},
            {'label': pxtrace.ArgExpr('label')},
            {'result': pxtrace.RetExpr('$0')},
            {'latency': pxtrace.FunctionLatency()}]

pxtrace.UpsertTracepoint('compute_probe', 'compute_table', probe_fn, None, '5m')
px.display(px.DataFrame('compute_table'))
"""

BPFTRACE = (
    "tracepoint:sched:sched_process_exec "
    '{ printf("time_:%llu pid:%d comm:%s\\n", nsecs, pid, comm); }'
)


def test_a_probe_function_compiles_to_a_deployment_and_the_scan_stops_at_its_table(
    compiler: Compiler,
) -> None:
    plan = compiler.compile_mutations(PROBE_SCRIPT)
    assert plan.deletes == []
    (deployment,) = plan.deployments
    assert deployment.name == "compute_probe"
    assert deployment.ttl_ns == 5 * 60 * 10**9
    assert deployment.target == msgs.TracepointTarget(binary_path="/opt/app/bin/server")
    (program,) = deployment.programs
    assert program.table_name == "compute_table"
    assert program.probe.binary == "/opt/app/bin/server"
    assert program.probe.symbol == "compute"
    assert [(o.column, o.WhichOneof("expr")) for o in program.probe.outputs] == [
        ("n", "arg"),
        ("label", "arg"),
        ("result", "ret"),
        ("latency", "latency"),
    ]


def test_the_full_compile_still_needs_the_table(compiler: Compiler) -> None:
    with pytest.raises(CompilerError, match="compute_table"):
        compiler.compile(PROBE_SCRIPT)


def test_bpftrace_programs_and_targets(compiler: Compiler) -> None:
    script = f"""
import pxtrace
prog = pxtrace.TraceProgram(program='{BPFTRACE}', min_kernel='5.8')
pxtrace.UpsertTracepoint('execs', 'exec_table', prog, pxtrace.kprobe(), '90s')
pxtrace.UpsertTracepoint('execs', 'exec_table2', '{BPFTRACE}', pxtrace.kprobe(), '90s')

@pxtrace.probe("compute")
def p():
    return [{{'n': pxtrace.ArgExpr('n')}}]

pxtrace.UpsertTracepoint('by_upid', 't1', p, pxtrace.UPID('3:1234:5678'), 60000000000)
pxtrace.UpsertTracepoint('by_pod', 't2', p, pxtrace.PodProcess('ns/web', 'c', 'server'), '1m')
so = pxtrace.SharedObject('libc.so.6', pxtrace.UPID('3:1:2'))
pxtrace.UpsertTracepoint('by_so', 't3', p, so, '1m')
pxtrace.DeleteTracepoint('old_one')
"""
    plan = compiler.compile_mutations("import px\n" + script)
    assert plan.deletes == ["old_one"]
    names = [(d.name, [p.table_name for p in d.programs]) for d in plan.deployments]
    assert names == [
        ("execs", ["exec_table", "exec_table2"]),
        ("by_upid", ["t1"]),
        ("by_pod", ["t2"]),
        ("by_so", ["t3"]),
    ]
    execs, by_upid, by_pod, by_so = plan.deployments
    assert execs.target.kernel and execs.ttl_ns == 90 * 10**9
    assert execs.programs[0].bpftrace.min_kernel == "5.8"
    upid = by_upid.target.upid
    assert (upid.high, upid.low) == (3 << 32 | 1234, 5678)
    assert by_pod.target.pod_process == msgs.TracepointTarget.PodProcess(
        pod="ns/web", container="c", process="server"
    )
    assert by_so.target.shared_object.name == "libc.so.6"
    assert by_so.target.shared_object.upid.high == 3 << 32 | 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        # The read-only rule, checked at compile time.
        (
            "pxtrace.UpsertTracepoint('x', 't', 'BEGIN { system(\"id\"); }', None, '1m')",
            "read-only",
        ),
        (
            "pxtrace.UpsertTracepoint('x', 't', 'uprobe:/bin/sh:main { signal(9); }', None, '1m')",
            "read-only",
        ),
        (
            "pxtrace.UpsertTracepoint('x', 't', 'BEGIN { cat(\"/etc/shadow\"); }', None, '1m')",
            "read-only",
        ),
        # Code smuggled through names never reaches a program.
        ("pxtrace.ArgExpr('n); bpf_probe_write_user(0')", "identifier"),
        (
            "pxtrace.UpsertTracepoint('a b', 't', 'BEGIN { printf(\"n:%d\", 1); }', None, '1m')",
            "identifier",
        ),
        ("pxtrace.RetExpr('$1')", "only '\\$0'"),
        (
            "pxtrace.UpsertTracepoint('x', 't', 'BEGIN { printf(\"n:%d\", 1); }', None, '-1m')",
            "ttl",
        ),
        ("pxtrace.UPID('12')", "asid:pid:start"),
        ("pxtrace.PodProcess('web')", "namespace"),
        ("pxtrace.probe('relative/bin:main')", "absolute path"),
    ],
)
def test_bad_or_unsafe_mutations_are_compile_errors(
    compiler: Compiler, body: str, message: str
) -> None:
    with pytest.raises(CompilerError, match=message):
        compiler.compile_mutations(f"import pxtrace\n{body}\n")


def test_a_probe_without_target_or_binary_is_refused(compiler: Compiler) -> None:
    script = """
import pxtrace
@pxtrace.probe("compute")
def p():
    return [{'n': pxtrace.ArgExpr('n')}]
pxtrace.UpsertTracepoint('x', 't', p, None, '1m')
"""
    with pytest.raises(CompilerError, match="must name its binary"):
        compiler.compile_mutations(script)


def test_an_undecorated_function_is_not_a_probe(compiler: Compiler) -> None:
    script = """
import pxtrace
def p():
    return [{'n': pxtrace.ArgExpr('n')}]
pxtrace.UpsertTracepoint('x', 't', p, None, '1m')
"""
    with pytest.raises(CompilerError, match="not a probe"):
        compiler.compile_mutations(script)


def test_scripts_without_pxtrace_have_no_mutations(compiler: Compiler) -> None:
    assert not compiler.compile_mutations("import px\npx.display(px.DataFrame('http_events'))\n")
