"""Load through the cloud: 20 concurrent pxapi queries all succeed; latency vs direct-to-broker.

    uv run --all-packages python testing/bench/cloud_load.py [--state-dir DIR] [--keep]

Uses the cloud and standalone vizier under the state dir (starting and connecting them when
they are not running, as testing/compat/pxapi/run does). Three phases, same query each time:
1. official pxapi 0.9.0 (in its venv): N concurrent ScriptExecutor.run_async through the cloud;
   every one must return rows;
2. pyxie_client, N concurrent, through the cloud (api → NATS → vzconn → connector → broker);
3. pyxie_client, N concurrent, straight to the query broker (the baseline, same run).
Prints p50/p99 of each and the cloud/direct ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUERY = "import px\npx.display(px.DataFrame(table='process_stats', start_time='-1m'), 'stats')\n"

# Runs in the pxapi venv: N concurrent queries, one JSON line of latencies (or the error).
_PXAPI_LOAD = r"""
import asyncio, json, sys, time, grpc, pxapi
addr, ca, key, cluster, n, query = sys.argv[1:7]
creds = grpc.ssl_channel_credentials(root_certificates=open(ca, "rb").read())
client = pxapi.Client(token=key, server_url=addr,
    channel_fn=lambda u: grpc.secure_channel(u, creds),
    conn_channel_fn=lambda u: grpc.aio.secure_channel(u, creds))
conn = client.connect_to_cluster(cluster)
async def one():
    script = conn.prepare_script(query)
    rows = []
    script.add_callback("stats", rows.append)
    start = time.perf_counter()
    await script.run_async()
    return time.perf_counter() - start, len(rows)
async def main():
    return await asyncio.gather(*(one() for _ in range(int(n))), return_exceptions=True)
results = asyncio.run(main())
errors = [repr(r) for r in results if isinstance(r, BaseException)]
print(json.dumps({"latencies": [r[0] for r in results if not isinstance(r, BaseException)],
                  "rows": [r[1] for r in results if not isinstance(r, BaseException)],
                  "errors": errors}))
"""


def _quantiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99


async def _concurrent(client: object, n: int) -> list[float]:
    async def one() -> float:
        start = time.perf_counter()
        result = await client.execute(QUERY)  # type: ignore[attr-defined]
        assert result.tables["stats"].num_rows > 0
        return time.perf_counter() - start

    return list(await asyncio.gather(*(one() for _ in range(n))))


def _wait_healthy(api: str, ca: bytes, api_key: str, vizier_id: str) -> None:
    import uuid

    import grpc
    from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb
    from pyxie_proto.api.cloudpb import cloudapi_pb2_grpc as cpb_grpc

    number = uuid.UUID(vizier_id).int
    request = cpb.GetClusterInfoRequest()
    request.id.high_bits, request.id.low_bits = number >> 64, number & ((1 << 64) - 1)
    deadline = time.monotonic() + 120  # a fresh connector reports health within seconds
    with grpc.secure_channel(api, grpc.ssl_channel_credentials(root_certificates=ca)) as channel:
        stub = cpb_grpc.VizierClusterInfoStub(channel)
        while time.monotonic() < deadline:
            info = stub.GetClusterInfo(request, metadata=[("pixie-api-key", api_key)], timeout=10)
            if info.clusters and info.clusters[0].status == cpb.CS_HEALTHY:
                return
            time.sleep(1)
    raise SystemExit(f"vizier {vizier_id} did not become HEALTHY")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("-n", "--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.state_dir is not None:
        os.environ["PL_STATE_DIR"] = str(args.state_dir)
    elif "PL_STATE_DIR" not in os.environ:
        state = Path(tempfile.mkdtemp(prefix="pyxie-cloud-load-"))
        os.chmod(state, 0o711)
        os.environ["PL_STATE_DIR"] = str(state)

    from pyxie_cli._target import mint_vizier_token
    from pyxie_client import VizierClient
    from pyxie_devstack import load_settings
    from pyxie_devstack.cloud import CloudStack, ca_cert_path, read_bootstrap
    from pyxie_devstack.vizier import VizierStack
    from pyxie_devstack.vizier_state import read_endpoints
    from pyxie_testing.pxapi_env import pxapi_python

    settings = load_settings()
    cloud, vizier = CloudStack(settings), VizierStack(settings)
    started: list[CloudStack | VizierStack] = []
    try:
        if not (cloud.status() and all(s.running for s in cloud.status())):
            started.append(cloud)
        endpoints = cloud.up()
        try:
            read_endpoints(settings.state_dir)
            vizier_up = all(s.running for s in vizier.status())
        except Exception:
            vizier_up = False
        if not vizier_up:
            started.append(vizier)  # before up(): a half-started stack is stopped too
            vizier.up()
        demo = read_bootstrap(settings.state_dir)
        vizier_id = cloud.connect_local_vizier(demo.deploy_key, "load")
        ca_path = ca_cert_path(settings.state_dir)
        ca = ca_path.read_bytes()
        _wait_healthy(endpoints.api, ca, demo.api_key, vizier_id)
        n = args.concurrency

        pxapi = subprocess.run(
            [
                str(pxapi_python()),
                "-c",
                _PXAPI_LOAD,
                endpoints.api,
                str(ca_path),
                demo.api_key,
                vizier_id,
                str(n),
                QUERY,
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        report = json.loads(pxapi.stdout.strip().splitlines()[-1])
        ok = len(report["latencies"]) == n and not report["errors"] and all(report["rows"])
        p50, p99 = _quantiles(report["latencies"]) if report["latencies"] else (0.0, 0.0)
        print(
            f"pxapi   x{n} through the cloud: {len(report['latencies'])}/{n} succeeded, "
            f"p50 {p50 * 1000:.0f} ms  p99 {p99 * 1000:.0f} ms  errors {report['errors'][:3]}"
        )

        through = VizierClient(
            endpoints.api, api_key=demo.api_key, root_ca=ca, cluster_id=vizier_id
        )
        broker = read_endpoints(settings.state_dir).broker
        direct = VizierClient(broker, token=mint_vizier_token(settings.state_dir))
        cloud_lat: list[float] = []
        direct_lat: list[float] = []
        for _ in range(args.rounds):  # interleaved, so drift hits both alike
            direct_lat += asyncio.run(_concurrent(direct, n))
            cloud_lat += asyncio.run(_concurrent(through, n))
        c50, c99 = _quantiles(cloud_lat)
        d50, d99 = _quantiles(direct_lat)
        print(f"direct  x{n}x{args.rounds}: p50 {d50 * 1000:.0f} ms  p99 {d99 * 1000:.0f} ms")
        print(f"cloud   x{n}x{args.rounds}: p50 {c50 * 1000:.0f} ms  p99 {c99 * 1000:.0f} ms")
        print(f"ratio cloud/direct: p50 {c50 / d50:.2f}x  p99 {c99 / d99:.2f}x")
        return 0 if ok else 1
    finally:
        if not args.keep:
            for stack in reversed(started):
                stack.down()


if __name__ == "__main__":
    sys.exit(main())
