"""Each `pxviews` function returns what an equivalent hand-written query returns on the same data.

The data is one synthetic cluster (every table filled, plus profiler samples in
stack_traces.beta); both queries run through the compiler and Carnot in this process. The
hand-written queries spell out the semantics in `reference/pxl-language.md` directly
(max - min of cumulative counters, `px.bin` buckets, server-side HTTP rows) so a view that
drifts from them fails here.
"""

from __future__ import annotations

import math
from typing import Any

import pyarrow as pa
import pytest
from pyxie_carnot import FunctionContext, run_plan
from pyxie_carnot.builtins import function_catalog, new_registry
from pyxie_pxl import CompileOptions, Compiler, CompilerError
from pyxie_synthetic import synthetic_store
from pyxie_types.tables import ALL_TABLES

NOW_NS = 1_700_000_000_000_000_000
WINDOW_NS = 10_000_000_000
REGISTRY = new_registry()
COMPILER = Compiler(function_catalog(), {t.name: t for t in ALL_TABLES})
STACKS = ("main;serve;handle", "main;serve;parse", "main;gc")


@pytest.fixture(scope="module")
def run() -> Any:
    store, cluster = synthetic_store(now_ns=NOW_NS, events_per_table=1500)
    _add_stack_traces(store, cluster)
    context = FunctionContext(
        registry=REGISTRY,
        metadata=cluster.metadata,
        agent_id="local",
        hostname=cluster.node_name,
        table_schemas=store.schemas,
    )

    def execute(source: str) -> pa.Table:
        plan = COMPILER.compile(source, CompileOptions(now_ns=NOW_NS))
        result = run_plan(plan.to_plan(), REGISTRY, store, func_ctx=context)
        return result.tables["out"]

    return execute


def _add_stack_traces(store: Any, cluster: Any) -> None:
    schema = store.schemas()["stack_traces.beta"].relation.arrow_schema()
    rows: list[tuple[int, bytes, int, str, int]] = []
    for i, pod in enumerate(cluster.pods):
        for j, stack in enumerate(STACKS):
            for sample in range(3):
                when = NOW_NS - (sample + 1) * 30_000_000_000
                rows.append((when, pod.upid.to_bytes(), j, stack, i + j + sample + 1))
    columns = list(zip(*rows, strict=True))
    batch = pa.RecordBatch.from_arrays(
        [pa.array(list(c), type=f.type) for c, f in zip(columns, schema, strict=True)],
        schema=schema,
    )
    store.append("stack_traces.beta", batch)


def _view(call: str) -> str:
    return f"import px\nimport pxviews\npx.display(pxviews.{call}, 'out')\n"


def _rows(table: pa.Table) -> list[tuple[Any, ...]]:
    """Rows as sortable tuples in column-name order; floats rounded, times as integers."""
    names = sorted(table.column_names)
    columns = []
    for name in names:
        column = table.column(name)
        if pa.types.is_timestamp(column.type):
            column = column.cast(pa.int64())
        values = column.to_pylist()
        if pa.types.is_floating(column.type):
            values = [None if v is None or math.isnan(v) else round(v, 6) for v in values]
        columns.append(values)
    return sorted(zip(*columns, strict=True), key=repr)


def _assert_same(view: pa.Table, hand: pa.Table) -> None:
    assert sorted(view.column_names) == sorted(hand.column_names)
    assert view.num_rows > 0, "the view returned no rows: the comparison would prove nothing"
    assert _rows(view) == _rows(hand)


_PROCESS_CTX = """
    df.pod_id = df.ctx['pod_id']
    df.pod = df.ctx['pod']
    df.container = df.ctx['container']
    df.namespace = df.ctx['namespace']
    df.node = df.ctx['node']
"""

HAND: dict[str, str] = {}

HAND["container_process_summary('-5m', px.now())"] = f"""
import px
def q():
    df = px.DataFrame('process_stats', start_time='-5m', end_time=px.now())
{_PROCESS_CTX}
    df = df.groupby(['upid', 'pod_id', 'pod', 'container', 'namespace', 'node']).agg(
        t0=('time_', px.min), t1=('time_', px.max),
        u0=('cpu_utime_ns', px.min), u1=('cpu_utime_ns', px.max),
        k0=('cpu_ktime_ns', px.min), k1=('cpu_ktime_ns', px.max),
        rss=('rss_bytes', px.mean), vsize=('vsize_bytes', px.mean),
        r0=('read_bytes', px.min), r1=('read_bytes', px.max),
        w0=('write_bytes', px.min), w1=('write_bytes', px.max))
    df.window = df.t1 - df.t0
    df.cpu_ns = df.u1 - df.u0 + df.k1 - df.k0
    df.cpu_usage = px.select(df.window > 0, df.cpu_ns / df.window, 0.0)
    df.read_bytes = df.r1 - df.r0
    df.write_bytes = df.w1 - df.w0
    return df[['upid', 'pod_id', 'pod', 'container', 'namespace', 'node', 'window', 'cpu_ns',
               'cpu_usage', 'rss', 'vsize', 'read_bytes', 'write_bytes']]
px.display(q(), 'out')
"""

HAND[f"container_process_timeseries('-5m', px.now(), {WINDOW_NS})"] = f"""
import px
def q():
    df = px.DataFrame('process_stats', start_time='-5m', end_time=px.now())
{_PROCESS_CTX}
    df.time_ = px.bin(df.time_, {WINDOW_NS})
    df = df.groupby(['time_', 'upid', 'pod_id', 'pod', 'container', 'namespace', 'node']).agg(
        u0=('cpu_utime_ns', px.min), u1=('cpu_utime_ns', px.max),
        k0=('cpu_ktime_ns', px.min), k1=('cpu_ktime_ns', px.max),
        rss=('rss_bytes', px.mean), vsize=('vsize_bytes', px.mean),
        r0=('read_bytes', px.min), r1=('read_bytes', px.max),
        w0=('write_bytes', px.min), w1=('write_bytes', px.max))
    df.cpu_usage = (df.u1 - df.u0 + df.k1 - df.k0) / {WINDOW_NS}
    df.read_bytes_per_ns = (df.r1 - df.r0) / {WINDOW_NS}
    df.write_bytes_per_ns = (df.w1 - df.w0) / {WINDOW_NS}
    return df[['time_', 'upid', 'pod_id', 'pod', 'container', 'namespace', 'node', 'cpu_usage',
               'rss', 'vsize', 'read_bytes_per_ns', 'write_bytes_per_ns']]
px.display(q(), 'out')
"""

HAND["pod_resource_stats('-5m', px.now())"] = f"""
import px
def q():
    df = px.DataFrame('process_stats', start_time='-5m', end_time=px.now())
{_PROCESS_CTX}
    df = df.groupby(['upid', 'pod_id', 'pod', 'container', 'namespace', 'node']).agg(
        t0=('time_', px.min), t1=('time_', px.max),
        u0=('cpu_utime_ns', px.min), u1=('cpu_utime_ns', px.max),
        k0=('cpu_ktime_ns', px.min), k1=('cpu_ktime_ns', px.max),
        rss=('rss_bytes', px.mean), vsize=('vsize_bytes', px.mean),
        r0=('read_bytes', px.min), r1=('read_bytes', px.max),
        w0=('write_bytes', px.min), w1=('write_bytes', px.max))
    df.window = df.t1 - df.t0
    df.cpu_ns = df.u1 - df.u0 + df.k1 - df.k0
    df.read_bytes = df.r1 - df.r0
    df.write_bytes = df.w1 - df.w0
    df = df.groupby(['pod_id', 'pod', 'namespace', 'node', 'container']).agg(
        cpu_ns=('cpu_ns', px.sum), window=('window', px.max), rss=('rss', px.sum),
        vsize=('vsize', px.sum), read_bytes=('read_bytes', px.sum),
        write_bytes=('write_bytes', px.sum))
    df = df.groupby(['pod_id', 'pod', 'namespace', 'node']).agg(
        container_count=('container', px.count), cpu_ns=('cpu_ns', px.sum),
        window=('window', px.max), rss=('rss', px.sum), vsize=('vsize', px.sum),
        read_bytes=('read_bytes', px.sum), write_bytes=('write_bytes', px.sum))
    df.cpu_usage = px.select(df.window > 0, df.cpu_ns / df.window, 0.0)
    df.rss = px.floor(df.rss)
    df.vsize = px.floor(df.vsize)
    return df
px.display(q(), 'out')
"""

_NET = """
    df = px.DataFrame('network_stats', start_time='-5m', end_time=px.now())
    df.pod = px.pod_id_to_pod_name(df.pod_id)
    df.namespace = px.pod_id_to_namespace(df.pod_id)
    df.node = px.pod_id_to_node_name(df.pod_id)
"""

HAND["pod_network_summary('-5m', px.now())"] = f"""
import px
def q():
{_NET}
    df = df.groupby(['pod_id', 'pod', 'namespace', 'node']).agg(
        a0=('rx_bytes', px.min), a1=('rx_bytes', px.max),
        b0=('tx_bytes', px.min), b1=('tx_bytes', px.max),
        c0=('rx_packets', px.min), c1=('rx_packets', px.max),
        d0=('tx_packets', px.min), d1=('tx_packets', px.max),
        e0=('rx_errors', px.min), e1=('rx_errors', px.max),
        f0=('tx_errors', px.min), f1=('tx_errors', px.max),
        g0=('rx_drops', px.min), g1=('rx_drops', px.max),
        h0=('tx_drops', px.min), h1=('tx_drops', px.max))
    df.rx_bytes = df.a1 - df.a0
    df.tx_bytes = df.b1 - df.b0
    df.rx_packets = df.c1 - df.c0
    df.tx_packets = df.d1 - df.d0
    df.rx_errors = df.e1 - df.e0
    df.tx_errors = df.f1 - df.f0
    df.rx_drops = df.g1 - df.g0
    df.tx_drops = df.h1 - df.h0
    return df[['pod_id', 'pod', 'namespace', 'node', 'rx_bytes', 'tx_bytes', 'rx_packets',
               'tx_packets', 'rx_errors', 'tx_errors', 'rx_drops', 'tx_drops']]
px.display(q(), 'out')
"""

HAND[f"pod_network_timeseries('-5m', px.now(), {WINDOW_NS})"] = f"""
import px
def q():
{_NET}
    df.time_ = px.bin(df.time_, {WINDOW_NS})
    df = df.groupby(['time_', 'pod_id', 'pod', 'namespace', 'node']).agg(
        a0=('rx_bytes', px.min), a1=('rx_bytes', px.max),
        b0=('tx_bytes', px.min), b1=('tx_bytes', px.max),
        e0=('rx_errors', px.min), e1=('rx_errors', px.max),
        f0=('tx_errors', px.min), f1=('tx_errors', px.max),
        g0=('rx_drops', px.min), g1=('rx_drops', px.max),
        h0=('tx_drops', px.min), h1=('tx_drops', px.max))
    df.rx_bytes_per_ns = (df.a1 - df.a0) / {WINDOW_NS}
    df.tx_bytes_per_ns = (df.b1 - df.b0) / {WINDOW_NS}
    df.rx_errors_per_ns = (df.e1 - df.e0) / {WINDOW_NS}
    df.tx_errors_per_ns = (df.f1 - df.f0) / {WINDOW_NS}
    df.rx_drops_per_ns = (df.g1 - df.g0) / {WINDOW_NS}
    df.tx_drops_per_ns = (df.h1 - df.h0) / {WINDOW_NS}
    return df[['time_', 'pod_id', 'pod', 'namespace', 'node', 'rx_bytes_per_ns',
               'tx_bytes_per_ns', 'rx_errors_per_ns', 'tx_errors_per_ns', 'rx_drops_per_ns',
               'tx_drops_per_ns']]
px.display(q(), 'out')
"""

_SERVED = """
    df = px.DataFrame('http_events', start_time='-5m', end_time=px.now())
    df = df[df.trace_role == 2]
    df.pod = df.ctx['pod']
    df.service = df.ctx['service']
    df.namespace = df.ctx['namespace']
    df.failure = df.resp_status >= 400
"""

HAND["inbound_http_summary('-5m', px.now())"] = f"""
import px
def q():
{_SERVED}
    df.size = df.req_body_size + df.resp_body_size
    df = df.groupby(['pod', 'service', 'namespace']).agg(
        http_requests=('latency', px.count), http_errors=('failure', px.sum),
        http_bytes=('size', px.sum), q=('latency', px.quantiles),
        window_start=('time_', px.min), window_end=('time_', px.max))
    df.http_error_rate = df.http_errors / df.http_requests
    df.http_latency_p50 = px.floor(px.pluck_float64(df.q, 'p50'))
    df.http_latency_p90 = px.floor(px.pluck_float64(df.q, 'p90'))
    df.http_latency_p99 = px.floor(px.pluck_float64(df.q, 'p99'))
    return df.drop('q')
px.display(q(), 'out')
"""

HAND[f"inbound_http_throughput_timeseries('-5m', px.now(), {WINDOW_NS})"] = f"""
import px
def q():
{_SERVED}
    df.size = df.req_body_size + df.resp_body_size
    df.time_ = px.bin(df.time_, {WINDOW_NS})
    df = df.groupby(['time_', 'pod', 'service', 'namespace']).agg(
        n=('latency', px.count), e=('failure', px.sum), b=('size', px.sum))
    df.request_throughput = df.n / {WINDOW_NS}
    df.error_rate = df.e / df.n
    df.errors_per_ns = df.e / {WINDOW_NS}
    df.bytes_per_ns = df.b / {WINDOW_NS}
    return df.drop(['n', 'e', 'b'])
px.display(q(), 'out')
"""

HAND[f"inbound_http_latency_timeseries('-5m', px.now(), {WINDOW_NS})"] = f"""
import px
def q():
{_SERVED}
    df.time_ = px.bin(df.time_, {WINDOW_NS})
    df = df.groupby(['time_', 'pod', 'service', 'namespace']).agg(q=('latency', px.quantiles))
    df.latency_p50 = px.floor(px.pluck_float64(df.q, 'p50'))
    df.latency_p90 = px.floor(px.pluck_float64(df.q, 'p90'))
    df.latency_p99 = px.floor(px.pluck_float64(df.q, 'p99'))
    return df.drop('q')
px.display(q(), 'out')
"""

HAND["http_graph('-5m', px.now())"] = """
import px
def edges(df):
    df.failure = df.resp_status >= 400
    df = df.groupby(['requestor_pod', 'requestor_service', 'requestor_ip', 'responder_pod',
                     'responder_service', 'responder_ip']).agg(
        requests=('latency', px.count), errors=('failure', px.sum),
        inbound_bytes_total=('req_body_size', px.sum),
        outbound_bytes_total=('resp_body_size', px.sum),
        q=('latency', px.quantiles), t0=('time_', px.min), t1=('time_', px.max))
    df.request_throughput = px.select(df.t1 > df.t0, df.requests / (df.t1 - df.t0), 0.0)
    df.error_rate = df.errors / df.requests
    df.latency_p50 = px.floor(px.pluck_float64(df.q, 'p50'))
    df.latency_p90 = px.floor(px.pluck_float64(df.q, 'p90'))
    df.latency_p99 = px.floor(px.pluck_float64(df.q, 'p99'))
    return df.drop(['q', 't0', 't1'])
def q():
    df = px.DataFrame('http_events', start_time='-5m', end_time=px.now())
    df.peer = px.pod_id_to_pod_name(px.ip_to_pod_id(df.remote_addr))
    df.peer_service = px.pod_id_to_service_name(px.ip_to_pod_id(df.remote_addr))
    served = df[df.trace_role == 2]
    served.requestor_pod = served.peer
    served.requestor_service = served.peer_service
    served.requestor_ip = served.remote_addr
    served.responder_pod = served.ctx['pod']
    served.responder_service = served.ctx['service']
    served.responder_ip = served.local_addr
    sent = df[df.trace_role != 2 and df.peer == '']
    sent.requestor_pod = sent.ctx['pod']
    sent.requestor_service = sent.ctx['service']
    sent.requestor_ip = sent.local_addr
    sent.responder_pod = sent.peer
    sent.responder_service = sent.peer_service
    sent.responder_ip = sent.remote_addr
    cols = ['time_', 'requestor_pod', 'requestor_service', 'requestor_ip', 'responder_pod',
            'responder_service', 'responder_ip', 'resp_status', 'latency', 'req_body_size',
            'resp_body_size']
    return edges(served[cols].append(sent[cols]))
px.display(q(), 'out')
"""

HAND["stacktraces('-5m', px.now())"] = f"""
import px
def q():
    df = px.DataFrame('stack_traces.beta', start_time='-5m', end_time=px.now())
{_PROCESS_CTX}
    df = df.groupby(['upid', 'pod_id', 'pod', 'container', 'namespace', 'node',
                     'stack_trace_id', 'stack_trace']).agg(count=('count', px.sum))
    df.cmdline = px.upid_to_cmdline(df.upid)
    df.pid = px.upid_to_pid(df.upid)
    return df
px.display(q(), 'out')
"""

HAND["connection_throughput_stats('-5m', px.now())"] = """
import px
def q():
    df = px.DataFrame('conn_stats', start_time='-5m', end_time=px.now())
    df.pod = df.ctx['pod']
    df.namespace = df.ctx['namespace']
    df = df.groupby(['upid', 'pod', 'namespace', 'remote_addr', 'trace_role']).agg(
        s0=('bytes_sent', px.min), s1=('bytes_sent', px.max),
        r0=('bytes_recv', px.min), r1=('bytes_recv', px.max),
        o0=('conn_open', px.min), o1=('conn_open', px.max),
        c0=('conn_close', px.min), c1=('conn_close', px.max),
        t0=('time_', px.min), t1=('time_', px.max))
    df.bytes_sent = df.s1 - df.s0
    df.bytes_recv = df.r1 - df.r0
    df.conns_opened = df.o1 - df.o0
    df.conns_closed = df.c1 - df.c0
    df.window = df.t1 - df.t0
    return df[['upid', 'pod', 'namespace', 'remote_addr', 'trace_role', 'bytes_sent',
               'bytes_recv', 'conns_opened', 'conns_closed', 'window']]
px.display(q(), 'out')
"""

HAND["processes('-5m', px.now())"] = f"""
import px
def q():
    df = px.DataFrame('process_stats', start_time='-5m', end_time=px.now())
{_PROCESS_CTX}
    df = df.groupby(['upid', 'pod_id', 'pod', 'container', 'namespace', 'node']).agg(
        last_seen=('time_', px.max), first_seen=('time_', px.min))
    df.pid = px.upid_to_pid(df.upid)
    df.cmdline = px.upid_to_cmdline(df.upid)
    return df
px.display(q(), 'out')
"""


@pytest.mark.parametrize("call", sorted(HAND))
def test_view_matches_the_hand_written_query(run: Any, call: str) -> None:
    _assert_same(run(_view(call)), run(HAND[call]))


def test_views_take_pixies_arguments_and_name_a_wrong_count() -> None:
    missing = r"pod_resource_stats\(\) missing argument\(s\): 'end_time'"
    with pytest.raises(CompilerError, match=missing):
        COMPILER.compile(_view("pod_resource_stats('-5m')"), CompileOptions(now_ns=NOW_NS))


def test_time_series_are_bucketed_by_window_ns(run: Any) -> None:
    out = run(_view(f"inbound_http_latency_timeseries('-5m', px.now(), {WINDOW_NS})"))
    times = out.column("time_").cast(pa.int64()).to_pylist()
    assert times and all(t % WINDOW_NS == 0 for t in times)


def test_end_time_limits_the_window(run: Any) -> None:
    whole = run(_view("inbound_http_summary('-5m', px.now())"))
    early = run(_view("inbound_http_summary('-5m', '-2m')"))
    assert sum(early["http_requests"].to_pylist()) < sum(whole["http_requests"].to_pylist())
