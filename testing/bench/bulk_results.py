"""Bulk results: 1M ``http_events`` rows to the official pxapi through the cloud, encrypted.

    uv run --all-packages python testing/bench/bulk_results.py [--rows 1000000]

No root needed. One run brings up the cloud devstack and a standalone vizier (one node, no eBPF,
no demo app) whose PEM holds ``--rows`` synthetic ``http_events`` rows (every column), registers
the vizier with the cloud and waits until it is HEALTHY. Then:

- bulk: Pixie's unmodified pxapi 0.9.0 (its own venv, ``pyxie_testing.pxapi_env``) runs
  ``px.DataFrame('http_events')`` (all columns) through the cloud api with end-to-end
  encryption (``use_encryption=True``) and iterates every row with ``script.results()``.
  Path: pxapi -> api (TLS) -> NATS -> vzconn -> cloud connector -> query broker <- PEM.
  A second pass reads the same stream raw through pxapi's own stubs to split the time into
  stages: first response, all messages received, JWE decrypt + RowBatchData parse (pxapi's
  ``decode_row_batch``), rows built with pxapi's column formatters;
- baseline: the same synthetic rows (same generator and seed) as an Arrow IPC stream over a
  local Unix socket, read back and turned into the same row shape (a list of Python values
  per row), in this process.

The last line is ``bulk_1m_s=<x> baseline_1m_s=<y>`` (seconds for the official client's full
run and for the socket baseline; with --rows N the figures are for N rows).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

# 1M rows of http_events are ~300 MB in Arrow: the PEM's default store budget is too tight.
_STORE_LIMIT_MB = 4096
_TABLE = "http"


def _query(rows: int) -> str:
    # Every column, every stored row: the broker's 10k output-row cap is raised for this script.
    return (
        f"#px:set max_output_rows_per_table={rows}\n"
        "import px\n"
        "df = px.DataFrame(table='http_events', start_time='-1h')\n"
        f"px.display(df, '{_TABLE}')\n"
    )


# Runs inside the pxapi venv. argv: addr ca api_key cluster_id query_file
_PXAPI_CLIENT = r"""
import asyncio, json, sys, time
import grpc, pxapi
from pxapi.data import _Relation
from pxapi.proto import vizierapi_pb2 as vpb
from pxapi.proto import vizierapi_pb2_grpc as vpb_grpc
from pxapi.utils import CryptoOptions, decode_row_batch

addr, ca_path, api_key, cluster_id, query_file, table = sys.argv[1:7]
creds = grpc.ssl_channel_credentials(root_certificates=open(ca_path, "rb").read())
query = open(query_file).read()
out = {}

def official():
    asyncio.set_event_loop(asyncio.new_event_loop())
    client = pxapi.Client(
        token=api_key, server_url=addr, use_encryption=True,
        channel_fn=lambda url: grpc.secure_channel(url, creds),
        conn_channel_fn=lambda url: grpc.aio.secure_channel(url, creds),
    )
    started = time.perf_counter()
    conn = client.connect_to_cluster(cluster_id)
    script = conn.prepare_script(query)
    rows = 0
    first = None
    columns = 0
    for row in script.results(table):
        if first is None:
            first = time.perf_counter() - started
            columns = len(row._data) if hasattr(row, "_data") else 0
        rows += 1
    out["official_s"] = time.perf_counter() - started
    out["official_first_row_s"] = first
    out["official_rows"] = rows
    out["columns"] = columns

async def collect(request):
    async with grpc.aio.secure_channel(addr, creds) as channel:
        stub = vpb_grpc.VizierServiceStub(channel)
        metadata = [("pixie-api-key", api_key), ("pixie-api-client", "python")]
        started = time.perf_counter()
        first = None
        responses = []
        async for response in stub.ExecuteScript(request, metadata=metadata):
            if first is None and response.WhichOneof("result") == "data":
                first = time.perf_counter() - started
            responses.append(response)
        return responses, first, time.perf_counter() - started

def staged():
    started = time.perf_counter()
    crypto = CryptoOptions()  # pxapi makes one 4096-bit RSA key per script run, as here
    out["keygen_s"] = time.perf_counter() - started
    request = vpb.ExecuteScriptRequest(query_str=query, cluster_id=cluster_id)
    request.encryption_options.CopyFrom(crypto.encrypt_options())
    responses, first, received = asyncio.run(collect(request))
    relations = {}
    sealed = []
    for r in responses:
        kind = r.WhichOneof("result")
        if kind == "meta_data":
            relations[r.meta_data.id] = _Relation(r.meta_data.relation)
        elif kind == "data" and r.data.encrypted_batch:
            sealed.append(r.data.encrypted_batch)
    started = time.perf_counter()
    batches = [decode_row_batch(crypto, blob) for blob in sealed]
    decrypted = time.perf_counter() - started
    started = time.perf_counter()
    rows = 0
    for batch in batches:
        relation = relations[batch.table_id]
        formatters = [relation.get_col_formatter(i) for i in range(len(batch.cols))]
        cols = batch.cols
        for i in range(batch.num_rows):
            [fmt(col, i) for fmt, col in zip(formatters, cols)]
            rows += 1
    built = time.perf_counter() - started
    out.update(
        staged_first_data_s=first, staged_received_s=received, staged_messages=len(responses),
        staged_sealed_bytes=sum(len(b) for b in sealed), staged_decrypt_parse_s=decrypted,
        staged_rows_s=built, staged_rows=rows,
    )

official()
staged()
print(json.dumps(out), flush=True)
"""


def _rows_of(batch: pa.RecordBatch) -> list[list[Any]]:
    """The row shape pxapi yields: one list of Python values per row (times as int ns)."""
    columns = [
        (column.cast(pa.int64()) if pa.types.is_timestamp(column.type) else column).to_pylist()
        for column in batch.columns
    ]
    return [list(row) for row in zip(*columns, strict=True)]


def baseline(rows: int, say: Callable[[str], None]) -> tuple[float, int]:
    """The same synthetic rows as an Arrow IPC stream over a Unix socket, read into rows."""
    from pyxie_synthetic import synthetic_http_events

    batches = synthetic_http_events(rows)
    schema = batches[0].schema
    directory = Path(tempfile.mkdtemp(prefix="pyxie-bulk-sock-"))
    path = str(directory / "arrow.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)

    def serve() -> None:
        conn, _ = listener.accept()
        with conn, conn.makefile("wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
            for batch in batches:
                writer.write_batch(batch)

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    try:
        started = time.perf_counter()
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(path)
        received: list[pa.RecordBatch] = []
        with client, client.makefile("rb") as source, pa.ipc.open_stream(source) as reader:
            for batch in reader:
                received.append(batch)
        got = time.perf_counter() - started
        count = 0
        for batch in received:
            count += len(_rows_of(batch))
        total = time.perf_counter() - started
    finally:
        server.join(timeout=30)
        listener.close()
        shutil.rmtree(directory, ignore_errors=True)
    say(f"  baseline: arrow stream received {got:.3f}s, rows built {total - got:.3f}s")
    return total, count


def _service_cpu(state: Path) -> dict[str, float]:
    """CPU seconds (user + system) so far of each process of this run's stacks, by name."""
    marker = f"PL_STATE_DIR={state}".encode()
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        modules = [a.decode() for a in argv if a.startswith(b"pyxie_")]
        name = modules[0] if modules else Path(argv[0].decode()).name
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def bulk(rows: int, say: Callable[[str], None]) -> dict[str, Any]:
    state = Path(tempfile.mkdtemp(prefix="pyxie-bulk-bench-"))
    os.chmod(state, 0o711)  # PostgreSQL may run as another account that must pass through
    previous = os.environ.get("PL_STATE_DIR")
    os.environ["PL_STATE_DIR"] = str(state)
    from pyxie_devstack import load_settings
    from pyxie_devstack.cloud import CloudStack, ca_cert_path, read_bootstrap
    from pyxie_devstack.vizier import VizierOptions, VizierStack
    from pyxie_testing.pxapi_env import pxapi_python

    python = pxapi_python()
    settings = load_settings()
    cloud = CloudStack(settings, say=lambda _line: None)
    vizier = VizierStack(
        settings,
        VizierOptions(
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
        ),
        say=lambda _line: None,
    )
    query = state / "bulk.pxl"
    query.write_text(_query(rows))
    try:
        started = time.perf_counter()
        endpoints = cloud.up()
        vizier.up()
        demo = read_bootstrap(state)
        vizier_id = cloud.connect_local_vizier(demo.deploy_key, "bulk-bench")
        elapsed = time.perf_counter() - started
        say(f"  cloud + vizier ({rows:,} rows) up and HEALTHY in {elapsed:.1f}s")
        cpu_before = _service_cpu(state)
        run = subprocess.run(
            [
                str(python),
                "-c",
                _PXAPI_CLIENT,
                endpoints.api,
                str(ca_cert_path(state)),
                demo.api_key,
                vizier_id,
                str(query),
                _TABLE,
            ],
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        if run.returncode != 0:
            raise SystemExit(f"pxapi client failed:\n{run.stderr[-4000:]}")
        cpu_after = _service_cpu(state)
        result: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
        spent = {k: v - cpu_before.get(k, 0.0) for k, v in cpu_after.items()}
        busy = sorted(((v, k) for k, v in spent.items() if v >= 0.05), reverse=True)
        say(
            "  service CPU seconds over both passes: "
            + ", ".join(f"{name} {seconds:.1f}" for seconds, name in busy)
        )
        return result
    finally:
        vizier.down()
        cloud.down()
        if previous is None:
            os.environ.pop("PL_STATE_DIR", None)
        else:
            os.environ["PL_STATE_DIR"] = previous
        if os.environ.get("PYXIE_BULK_KEEP_STATE"):
            say(f"  state kept in {state}")
        else:
            shutil.rmtree(state, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    say = print
    say(f"{args.rows:,} http_events rows, all columns")
    base_s, base_rows = baseline(args.rows, say)
    say(f"  baseline (Arrow IPC over a Unix socket -> rows): {base_s:.3f}s, {base_rows:,} rows")
    got = bulk(args.rows, say)
    say(
        f"  official pxapi, encrypted, through the cloud: {got['official_s']:.3f}s, "
        f"{got['official_rows']:,} rows (first row after {got['official_first_row_s']:.3f}s)"
    )
    say(
        f"  stages (raw stream, pxapi stubs): first data {got['staged_first_data_s']:.3f}s, "
        f"all {got['staged_messages']} messages ({got['staged_sealed_bytes'] / 1e6:.1f} MB "
        f"sealed) {got['staged_received_s']:.3f}s, decrypt+parse "
        f"{got['staged_decrypt_parse_s']:.3f}s, rows {got['staged_rows_s']:.3f}s "
        f"(pxapi's RSA-4096 key generation, in the official run too: {got['keygen_s']:.3f}s)"
    )
    if got["official_rows"] != args.rows or got["staged_rows"] != args.rows:
        say(f"  WARNING: expected {args.rows:,} rows")
    say(f"  ratio bulk/baseline: {got['official_s'] / base_s:.2f}")
    say(f"bulk_1m_s={got['official_s']:.3f} baseline_1m_s={base_s:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
