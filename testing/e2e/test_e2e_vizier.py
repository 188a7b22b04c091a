"""The standalone vizier end to end: two netns nodes, the demo shop, real eBPF, px and the client.

One stack for the module (starting it compiles the BPF program on two PEMs: minutes on a small
machine). It has its own network tag/subnet, free ports and short agent expiry, so it never
touches a developer's `make demo` stack.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import io
import json
import os
import signal
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest
from pyxie_cli import NotedResult, execute_on_vizier, main
from pyxie_cli._target import Target, mint_vizier_token
from pyxie_client import PxLError, ScriptError, VizierClient
from pyxie_crypto import decrypt_compact, generate_rsa_private_key, rsa_public_jwk
from pyxie_devstack import DevstackSettings
from pyxie_devstack.supervise import process_pid
from pyxie_devstack.vizier import VizierOptions, VizierStack
from pyxie_devstack.vizier_state import VizierEndpoints
from pyxie_proto.api.vizierpb import vizierapi_pb2 as vpb
from pyxie_proto.api.vizierpb import vizierapi_pb2_grpc as vpb_grpc

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.root,
    pytest.mark.bpf,
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces and eBPF need root"),
    pytest.mark.skipif(
        importlib.util.find_spec("bcc") is None,
        reason="bcc is not importable: run `make setup-bpf` (as root) first",
    ),
    # Starting the stack compiles the socket tracer on two PEMs; a PEM restart compiles again.
    pytest.mark.timeout(900),
]

_TAG, _SUBNET = "pxe2e", "10.250.78"
# Short agent expiry so a killed PEM leaves the plan within the 60 s the test allows.
_EXPIRY_S = 15
_DATA_WAIT_S = 120.0
_T = TypeVar("_T")


@dataclass
class Stack:
    vizier: VizierStack
    endpoints: VizierEndpoints
    state_dir: Path

    def token(self) -> str:
        return mint_vizier_token(self.state_dir)

    def client(self, *, encrypt: bool = False) -> VizierClient:
        return VizierClient(self.endpoints.broker, token=self.token(), encrypt=encrypt)

    def node_ip(self, index: int) -> str:
        return self.endpoints.nodes[index].ip


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    state = tmp_path_factory.mktemp("vizier-e2e")
    os.chmod(state, 0o711)  # PostgreSQL may run as another account and must pass through
    options = VizierOptions(
        nodes=2,
        net_tag=_TAG,
        subnet=_SUBNET,
        broker_port=0,
        metadata_port=0,
        kelvin_port=0,
        loadgen_rps=5,
        service_env={
            "metadata": {
                "PL_AGENT_EXPIRATION_TIMEOUT_SECONDS": str(_EXPIRY_S),
                "PL_UNHEALTHY_AGENT_THRESHOLD_SECONDS": "5",
            }
        },
        ready_timeout_s=420,
    )
    vizier = VizierStack(DevstackSettings(state_dir=state), options, say=lambda _line: None)
    try:
        endpoints = vizier.up()
        yield Stack(vizier, endpoints, state)
    finally:
        vizier.down()


@pytest.fixture
def px_env(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Stack:
    """`px` without flags talks to this stack (it reads PL_STATE_DIR)."""
    monkeypatch.setenv("PL_STATE_DIR", str(stack.state_dir))
    return stack


def _poll(what: str, attempt: Callable[[], _T | None], timeout_s: float = _DATA_WAIT_S) -> _T:
    deadline = time.monotonic() + timeout_s
    last: object = None
    while time.monotonic() < deadline:
        try:
            value = attempt()
        except (ScriptError, grpc.RpcError) as exc:
            value, last = None, exc
        if value is not None:
            return value
        time.sleep(2.0)
    pytest.fail(f"{what} not seen within {timeout_s:.0f}s (last error: {last})")


def _px_json(argv: list[str]) -> list[dict[str, Any]]:
    out, err = io.StringIO(), io.StringIO()
    own, script_args = (
        (argv[: argv.index("--")], argv[argv.index("--") :]) if "--" in argv else (argv, [])
    )
    code = main([*own, "-o", "json", *script_args], stdout=out, stderr=err)
    if code != 0:
        raise ScriptError(code, err.getvalue())
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _label(value: str) -> str:
    with contextlib.suppress(ValueError, TypeError, AttributeError):
        return str(json.loads(value)["label"])
    return value


def _http_rows() -> list[dict[str, Any]]:
    rows = _px_json(["run", "px/http_data", "--", "--max_num_records", "5000"])
    for row in rows:
        row["source"], row["destination"] = _label(row["source"]), _label(row["destination"])
    return rows


def _fresh_requests(url: str, count: int = 5) -> None:
    """Requests on new connections (connections opened before a PEM's probes are not traced)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    for _ in range(count):
        with contextlib.suppress(OSError), opener.open(url, timeout=5) as response:
            response.read()


def _loadgen_path(path: str) -> bool:
    """A path the demo's load generator requests from the frontend."""
    fixed = {"/api/products", "/api/recommendations", "/api/checkout", "/api/unknown-page"}
    return path in fixed or path.startswith("/api/products/")


def _frontend_call(path: str) -> bool:
    """A path the demo's frontend requests from orders (its gRPC port lookup included)."""
    return path in {"/grpc", "/products", "/orders"} or path.startswith(("/products/", "/orders/"))


def test_http_data_has_real_demo_requests_from_both_nodes_with_service_names(
    px_env: Stack,
) -> None:
    node1, node2 = (node.name for node in px_env.endpoints.nodes)

    def both_nodes() -> list[dict[str, Any]] | None:
        # Waits for the loadgen's own calls too, not just any request: its connection may
        # predate the tracer until the demo client renews it (every 20 s at most).
        rows = _http_rows()
        paths: dict[str, set[str]] = {}
        for row in rows:
            paths.setdefault(row["destination"], set()).add(row["req_path"])
        frontend = paths.get(f"demo/frontend-{node1}", set())
        from_loadgen = any(_loadgen_path(p) for p in frontend)
        from_frontend = any(_frontend_call(p) for p in paths.get(f"demo/orders-{node2}", ()))
        return rows if from_loadgen and from_frontend else None

    rows = _poll("HTTP rows from both nodes", both_nodes)
    by_destination: dict[str, set[str]] = {}
    for row in rows:
        by_destination.setdefault(row["destination"], set()).add(row["req_path"])
    frontend_paths = by_destination[f"demo/frontend-{node1}"]
    orders_paths = by_destination[f"demo/orders-{node2}"]
    # The loadgen's calls to the frontend, the frontend's calls to orders (besides /health
    # probes): each named after the service that served it on its node.
    assert any(_loadgen_path(p) for p in frontend_paths), frontend_paths
    assert any(_frontend_call(p) for p in orders_paths), orders_paths
    assert all(row["req_method"] in {"GET", "POST"} for row in rows)


def test_encrypted_results_arrive_only_as_encrypted_batches(stack: Stack) -> None:
    pxl = (
        "import px\n"
        "df = px.DataFrame(table='process_stats', start_time='-5m')\n"
        "px.display(df[['time_', 'upid', 'rss_bytes']], 'procs')\n"
    )
    private_key = generate_rsa_private_key(2048)
    request = vpb.ExecuteScriptRequest(
        query_str=pxl,
        encryption_options=vpb.ExecuteScriptRequest.EncryptionOptions(
            jwk_key=rsa_public_jwk(private_key.public_key()),
            key_alg="RSA-OAEP-256",
            content_alg="A256GCM",
            compression_alg="DEF",
        ),
    )

    async def raw_stream() -> list[vpb.ExecuteScriptResponse]:
        async with grpc.aio.insecure_channel(stack.endpoints.broker) as channel:
            call = vpb_grpc.VizierServiceStub(channel).ExecuteScript(
                request, metadata=(("authorization", f"bearer {stack.token()}"),)
            )
            return [response async for response in call]

    responses = asyncio.run(raw_stream())
    data = [r.data for r in responses if r.HasField("data")]
    assert not [d for d in data if d.HasField("batch")], "a plaintext row batch was sent"
    sealed = [d.encrypted_batch for d in data if d.encrypted_batch]
    assert sealed
    rows = 0
    for blob in sealed:
        batch = vpb.RowBatchData.FromString(decrypt_compact(blob, private_key))
        rows += batch.num_rows
    assert rows > 0

    result = asyncio.run(stack.client(encrypt=True).execute(pxl))
    assert result.tables["procs"].num_rows > 0


def test_compile_error_reports_line_and_column(stack: Stack) -> None:
    pxl = (
        "import px\n"
        "df = px.DataFrame(table='http_events', start_time='-5m')\n"
        "df = df[df.no_such_column == 1]\n"
        "px.display(df)\n"
    )
    with pytest.raises(PxLError) as caught:
        asyncio.run(stack.client().execute(pxl))
    detail = caught.value.details[0]
    assert detail.line == 3 and detail.column > 0
    assert "no_such_column" in caught.value.render()


def test_missing_table_is_a_clear_error(stack: Stack) -> None:
    pxl = "import px\npx.display(px.DataFrame(table='no_such_table'))\n"
    with pytest.raises(ScriptError) as caught:
        asyncio.run(stack.client().execute(pxl))
    assert "no_such_table" in str(caught.value)


def test_result_over_the_row_limit_is_cut_and_the_limit_reported(stack: Stack) -> None:
    pxl = (
        "#px:set max_output_rows_per_table=5\n"
        "import px\n"
        "df = px.DataFrame(table='process_stats', start_time='-10m')\n"
        "px.display(df[['time_', 'upid']], 'procs')\n"
    )
    target = Target(stack.endpoints.broker, direct=True, encrypt=False, token=stack.token())
    result = asyncio.run(execute_on_vizier(target, pxl, []))
    assert isinstance(result, NotedResult)
    assert result.tables["procs"].num_rows == 5
    assert any("max_output_rows_per_table=5" in note for note in result.notes)


def test_a_killed_pem_is_restarted_by_its_supervisor_and_its_data_flows_again(
    px_env: Stack,
) -> None:
    # The devstack's supervisor restarts a crashed process by itself (as the kubelet does), so
    # a PEM killed with SIGKILL comes back without anyone running `vizier up`.
    stack = px_env
    _node1, node2 = stack.endpoints.nodes
    group = next(g for g in stack.vizier.all_groups() if g.name == f"pem-{node2.name}")
    pid = process_pid(group, group.processes[0].name)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    killed_at_ns = time.time_ns()

    def restarted() -> int | None:
        new_pid = process_pid(group, group.processes[0].name)
        return new_pid if new_pid is not None and new_pid != pid else None

    _poll("node2 PEM restarted by its supervisor", restarted, timeout_s=60)

    def node2_back() -> list[dict[str, Any]] | None:
        _fresh_requests(f"http://{node2.ip}:8081/products")
        rows = [
            r
            for r in _http_rows()
            if r["destination"] == f"demo/orders-{node2.name}"
            and _time_ns(r["time_"]) >= killed_at_ns
        ]
        return rows or None

    # The dead PEM stays registered until metadata expires it (60 s); the restarted one joins
    # the plan once registered and its tracer is attached (BPF compile on a busy 2-core box).
    assert _poll("node2 data after the PEM restart", node2_back, timeout_s=300)


def _time_ns(text: str) -> int:
    """RFC 3339 with nanoseconds (px's JSON time format) to ns since the epoch."""
    import datetime as dt

    seconds, _, rest = text.rstrip("Z").partition(".")
    moment = dt.datetime.strptime(seconds, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.UTC)
    return int(moment.timestamp()) * 10**9 + int(rest.ljust(9, "0")[:9] or 0)
