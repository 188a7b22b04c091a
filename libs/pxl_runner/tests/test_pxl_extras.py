"""The rest of PxL: rolling, stream, strptime, uint128, make_upid, `pl`, URIs, sample,
request-path clustering and k-means, compiled and executed over synthetic data."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from pyxie_carnot import FunctionContext, run_plan
from pyxie_carnot.builtins import function_catalog, new_registry
from pyxie_pxl import CompileOptions, Compiler, CompilerError
from pyxie_synthetic import synthetic_store
from pyxie_types import UPID, DataType
from pyxie_types.tables import ALL_TABLES

NOW_NS = 1_700_000_000_000_000_000
REGISTRY = new_registry()
COMPILER = Compiler(function_catalog(), {t.name: t for t in ALL_TABLES})
HTTP = "import px\ndf = px.DataFrame('http_events', start_time='-5m')\n"


def compile_pxl(source: str) -> Any:
    return COMPILER.compile(source, CompileOptions(now_ns=NOW_NS))


@pytest.fixture(scope="module")
def run() -> Any:
    store, cluster = synthetic_store(now_ns=NOW_NS, events_per_table=1000)
    context = FunctionContext(
        registry=REGISTRY,
        metadata=cluster.metadata,
        agent_id="local",
        hostname=cluster.node_name,
        table_schemas=store.schemas,
    )

    def execute(source: str) -> pa.Table:
        plan = compile_pxl(source)
        return run_plan(plan.to_plan(), REGISTRY, store, func_ctx=context).tables["output"]

    return execute


def _ints(table: pa.Table, column: str) -> list[int]:
    return table.column(column).cast(pa.int64()).to_pylist()


# ------------------------------------------------------------------ rolling / stream


def test_rolling_aggregates_per_window_of_time(run: Any) -> None:
    rolled = run(
        HTTP + "df = df.rolling('10s').groupby('req_method').agg(n=('latency', px.count))\n"
        "px.display(df)\n"
    )
    binned = run(
        HTTP + "df.time_ = px.bin(df.time_, px.DurationNanos(10000000000))\n"
        "df = df.groupby(['time_', 'req_method']).agg(n=('latency', px.count))\n"
        "px.display(df)\n"
    )
    assert rolled.column_names[0] == "time_"

    def key(t: pa.Table) -> list[tuple[int, str, int]]:
        return sorted(
            zip(_ints(t, "time_"), t["req_method"].to_pylist(), _ints(t, "n"), strict=True)
        )

    assert key(rolled) == key(binned) and rolled.num_rows > 1
    assert all(t % 10_000_000_000 == 0 for t in _ints(rolled, "time_"))


def test_rolling_without_groupby_groups_by_window_only(run: Any) -> None:
    out = run(HTTP + "px.display(df.rolling(5000000000).agg(n=('latency', px.count)))\n")
    assert out.column_names == ["time_", "n"]
    assert len(set(_ints(out, "time_"))) == out.num_rows


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("df.rolling('soon')", "rolling(window) needs a positive duration such as '10s'"),
        ("df.rolling(0)", "got 0"),
        ("df.rolling('1s', on='req_path')", "needs a TIME64NS column; 'req_path' is STRING"),
        ("df.rolling('1s', on='nope')", "nope"),
        ("df.rolling()", "missing required argument 'window'"),
    ],
)
def test_rolling_rejects_bad_windows_precisely(call: str, message: str) -> None:
    with pytest.raises(CompilerError, match=message.replace("(", r"\(").replace(")", r"\)")):
        compile_pxl(HTTP + f"px.display({call}.agg(n=('latency', px.count)))\n")


def test_stream_turns_table_scans_into_streaming_scans() -> None:
    plan = compile_pxl(HTTP + "df = df[df.resp_status >= 500].stream()\npx.display(df)\n")
    assert _mem_sources(plan) and all(s.streaming for s in _mem_sources(plan))
    batch = compile_pxl(HTTP + "px.display(df)\n")
    assert not any(s.streaming for s in _mem_sources(batch))


def _mem_sources(plan: Any) -> list[Any]:
    return [
        node.op.memory_source
        for fragment in plan.to_plan().fragments
        for node in fragment.nodes
        if node.op.HasField("memory_source")
    ]


def test_stream_then_agg_and_agg_then_stream_are_compile_errors() -> None:
    with pytest.raises(CompilerError, match="agg\\(\\) on a streamed DataFrame"):
        compile_pxl(HTTP + "df = df.stream().agg(n=('latency', px.count))\npx.display(df)\n")
    with pytest.raises(CompilerError, match="stream\\(\\) must come before aggregates"):
        compile_pxl(HTTP + "df = df.agg(n=('latency', px.count)).stream()\npx.display(df)\n")
    with pytest.raises(CompilerError, match="unexpected keyword argument 'forever'"):
        compile_pxl(HTTP + "px.display(df.stream(forever=True))\n")


# ------------------------------------------------------------------ constructors


def test_strptime_uint128_make_upid_and_the_pl_alias(run: Any) -> None:
    out = run(
        "import pl\n"
        "df = pl.DataFrame('http_events', start_time='-5m').head(1)\n"
        "df.t = pl.strptime('2024-05-01 10:00:00', '%Y-%m-%d %H:%M:%S')\n"
        "df.tz = pl.strptime('2024-05-01T10:00:00+0200', '%Y-%m-%dT%H:%M:%S%z')\n"
        "df.u = pl.uint128('00000001-0000-0002-0000-000000000003')\n"
        "df.p = pl.make_upid(7, 42, 99)\n"
        "pl.display(df[['t', 'tz', 'u', 'p']])\n"
    )
    assert _ints(out, "t") == [1_714_557_600_000_000_000]
    assert _ints(out, "tz") == [1_714_557_600_000_000_000 - 2 * 3600 * 10**9]
    assert out["u"].to_pylist() == [uuid.UUID("00000001-0000-0002-0000-000000000003").bytes]
    assert out["p"].to_pylist() == [UPID(7, 42, 99).to_bytes()]


def test_bad_constructor_arguments_fail_with_the_value_named(run: Any) -> None:
    with pytest.raises(Exception, match="not a UUID"):
        run(HTTP + "df.u = px.uint128('nope')\npx.display(df)\n")
    with pytest.raises(Exception, match="strptime\\('x'"):
        run(HTTP + "df.t = px.strptime('x', '%Y')\npx.display(df)\n")
    with pytest.raises(CompilerError, match="make_upid"):
        compile_pxl(HTTP + "df.p = px.make_upid('a', 1, 2)\npx.display(df)\n")


def test_uri_parse_and_recompose_round_trip(run: Any) -> None:
    out = run(
        HTTP + "df = df.head(1)\n"
        "df.parts = px.uri_parse('https://bob@api.example.com:8443/v1/items?id=3#top')\n"
        "df.host = px.pluck(df.parts, 'host')\n"
        "df.back = px.uri_recompose('https', 'bob', 'api.example.com', 8443, '/v1/items',"
        " 'id=3', 'top')\n"
        "df.bare = px.uri_recompose('http', '', 'svc', 0, 'x', '', '')\n"
        "px.display(df[['parts', 'host', 'back', 'bare']])\n"
    )
    row = out.to_pylist()[0]
    parts = json.loads(row["parts"])
    assert parts == {
        "scheme": "https",
        "userinfo": "bob",
        "host": "api.example.com",
        "port": 8443,
        "path": "/v1/items",
        "query": "id=3",
        "fragment": "top",
    }
    assert row["host"] == "api.example.com"
    assert row["back"] == "https://bob@api.example.com:8443/v1/items?id=3#top"
    assert row["bare"] == "http://svc/x"


# ------------------------------------------------------------------ aggregates


def test_sample_returns_a_value_of_its_group(run: Any) -> None:
    out = run(
        HTTP + "df.m = df.req_method\n"
        "df = df.groupby('req_method').agg(s=('m', px.sample), n=('latency', px.count))\n"
        "px.display(df)\n"
    )
    assert out.num_rows > 1
    assert out["s"].to_pylist() == out["req_method"].to_pylist()


def test_request_path_clusters_build_and_predict(run: Any) -> None:
    # 50 user ids (no id pattern: plain names) under one endpoint, plus one health endpoint.
    paths = (
        HTTP + "df.user = 'user' + px.itoa(df.latency % 50)\n"
        "df.p = px.select(df.latency % 7 == 0, '/api/health',"
        " '/api/users/' + df.user + '/orders?x=1')\n"
    )
    model_text = run(paths + "px.display(df.agg(model=('p', px._build_request_path_clusters)))\n")[
        "model"
    ][0].as_py()
    assert json.loads(model_text) == {"clusters": ["/api/health", "/api/users/*/orders"]}
    out = run(
        paths + f"df.cluster = px._predict_request_path_cluster(df.p, '{model_text}')\n"
        "df.is_orders = px._match_endpoint(df.p, '/api/users/:id/orders')\n"
        "df.is_health = px._match_endpoint(df.p, '/api/{what}')\n"
        "px.display(df[['p', 'cluster', 'is_orders', 'is_health']])\n"
    )
    for row in out.to_pylist():
        health = row["p"] == "/api/health"
        assert row["cluster"] == ("/api/health" if health else "/api/users/*/orders")
        assert row["is_orders"] is not health and row["is_health"] is health


def test_path_cluster_model_errors_name_the_builder(run: Any) -> None:
    with pytest.raises(Exception, match="_build_request_path_clusters"):
        run(HTTP + "df.c = px._predict_request_path_cluster(df.req_path, 'nope')\npx.display(df)\n")


def test_kmeans_fit_then_inference_separates_two_blobs(run: Any) -> None:
    # Points from the data itself: fast (< 50 ms) requests at 0, slow ones at 100.
    source = (
        HTTP + "df.point = '[' + px.itoa(px.select(df.latency >= 50000000, 100, 0)) + ']'\n"
        "px.display(df.agg(model=('point', px._kmeans_fit)))\n"
    )
    model = json.loads(run(source)["model"][0].as_py())
    assert model["k"] == 2  # k=3 asked, but only two distinct points exist
    assert sorted(c[0] for c in model["centroids"]) == [0.0, 100.0]
    slow_cluster = next(i for i, c in enumerate(model["centroids"]) if c[0] == 100.0)
    model_text = json.dumps(model)
    out = run(
        HTTP + f"df.c = px._kmeans_inference('[99]', '{model_text}')\n"
        f"df.k = px._kmeans_inference('{{\"point\": [1]}}', '{model_text}')\n"
        f"df.bad = px._kmeans_inference('[1, 2]', '{model_text}')\n"
        "px.display(df[['c', 'k', 'bad']].head(1))\n"
    )
    assert out.to_pylist() == [{"c": slow_cluster, "k": 1 - slow_cluster, "bad": -1}]


def test_kmeans_k_comes_from_the_rows() -> None:
    from pyxie_carnot.udas._ml import KMeansFitUDA

    uda = KMeansFitUDA((), DataType.STRING)
    rows = pa.array([json.dumps({"k": 2, "point": [x, 0]}) for x in (0, 1, 10, 11, 20, 21)])
    states = uda.update([rows], np.zeros(6, dtype=np.int64), 1)
    merged = uda.merge([pa.concat_arrays([states[0], states[0]])], np.zeros(2, np.int64), 1)
    model = json.loads(uda.finalize(merged)[0].as_py())
    assert model["k"] == 2 and len(model["centroids"]) == 2


def test_model_builders_refuse_non_string_columns() -> None:
    with pytest.raises(CompilerError, match="_kmeans_fit' does not accept argument types"):
        compile_pxl(HTTP + "px.display(df.agg(m=('latency', px._kmeans_fit)))\n")


def test_a_streamed_query_keeps_running_until_cancelled() -> None:
    from pyxie_carnot import Carnot, QueryCancelled

    store, cluster = synthetic_store(now_ns=NOW_NS, events_per_table=200)
    context = FunctionContext(
        registry=REGISTRY, metadata=cluster.metadata, agent_id="local", table_schemas=store.schemas
    )
    plan = COMPILER.compile(
        HTTP + "px.display(df[df.resp_status >= 0].stream())\n",
        CompileOptions(now_ns=NOW_NS, query_id="streamed"),
    ).to_plan()
    carnot = Carnot(REGISTRY, store, context)

    async def scenario() -> None:
        task = asyncio.ensure_future(carnot.execute(plan))
        await asyncio.sleep(0.5)
        assert not task.done(), "a streamed scan must not end when the table is exhausted"
        assert carnot.cancel("streamed")
        with pytest.raises(QueryCancelled):
            await task

    asyncio.run(scenario())
