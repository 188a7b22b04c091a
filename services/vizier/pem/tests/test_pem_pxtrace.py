"""pxtrace through a whole in-process vizier: the real metadata service, a PEM loading real
probes, a Kelvin and the query broker. A mutation script deploys a uprobe on a function of a
test binary and a bpftrace program; their rows come back through ordinary queries; the status
shows RUNNING and then TERMINATED once the TTL ran out. Unsafe and unauthorised mutations are
refused with a clear error."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pyarrow as pa
import pytest
from pyxie_jwt import SigningKey
from pyxie_kelvin import kelvin_service as kelvin_service_for
from pyxie_kelvin.testing import kelvin_test_settings
from pyxie_metadata.app import build as build_metadata
from pyxie_metadata.settings import MetadataSettings
from pyxie_pem import Pem
from pyxie_pem.testing import pem_on_store
from pyxie_proto.api.vizierpb import vizierapi_pb2 as vpb
from pyxie_proto.api.vizierpb import vizierapi_pb2_grpc as vpb_grpc
from pyxie_query_broker.app import QueryBroker
from pyxie_query_broker.testing import broker_settings, service_token
from pyxie_service.audit import AuditEvent, add_audit_sink, remove_audit_sink
from pyxie_service.natsbus import NatsBus
from pyxie_table_store import TableStore
from pyxie_types import UPID
from pyxie_types.rowbatch import relation_from_vizier, row_batch_from_vizier

sys.path.insert(0, str(Path(__file__).parents[4] / "libs" / "stirling" / "tests"))
try:
    from stirling_bpf_support import bpf_skip_reason
except ImportError:  # Bazel's sandbox holds only this member's tests; pytest runs this one
    pytest.skip("needs libs/stirling/tests beside it (root eBPF test)", allow_module_level=True)

pytestmark = [
    pytest.mark.root,
    pytest.mark.bpf,
    pytest.mark.slow,
    pytest.mark.skipif(bpf_skip_reason() is not None, reason=bpf_skip_reason() or ""),
]

KEY = "p" * 40
APP_SOURCE = Path(__file__).parents[4] / "libs" / "stirling" / "tests" / "data" / "pxtrace_app.c"
TTL = "6s"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("gcc") is None or shutil.which("bpftrace") is None:
        pytest.skip("needs gcc and bpftrace (make setup-bpf)")
    out = tmp_path_factory.mktemp("pxtrace") / "pxtrace_app"
    subprocess.run(["gcc", "-g", "-O0", "-o", str(out), str(APP_SOURCE)], check=True)
    return out


@pytest.fixture
async def vizier(nats_server: Any, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    key = SigningKey(KEY)
    md_service = await build_metadata(
        MetadataSettings(
            jwt_signing_key=KEY,
            grpc_host="127.0.0.1",
            grpc_port=0,
            metrics_enabled=False,
            kv_path=tmp_path / "kv.sqlite",
            nats_url=nats_server.url,
            metadata_provider="none",
            tracepoint_tick_seconds=0.2,
            shutdown_grace_seconds=0.2,
        )
    )
    await md_service.start()
    bus = await NatsBus.connect(nats_server.url, name="pxtrace-agents")
    pem = pem_on_store(bus, TableStore(), signing_key=key, host_ip="10.78.0.1")
    await pem.start()
    _, kelvin_service = kelvin_service_for(kelvin_test_settings(KEY), bus)
    await kelvin_service.start()
    broker_bus = await NatsBus.connect(nats_server.url, name="pxtrace-broker")
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{md_service.grpc_port}")
    broker = QueryBroker(
        broker_settings(key, nats_server.url, mutation_wait_seconds=90.0),
        bus=broker_bus,
        metadata_channel=channel,
    )
    await broker.start()

    async def ready() -> bool:
        state = broker.tracker.state
        return pem.agent.registered.is_set() and state is not None and bool(state.agents)

    await _until(ready)
    client = grpc.aio.insecure_channel(f"127.0.0.1:{broker.service.grpc_port}")
    events: list[AuditEvent] = []
    add_audit_sink(events.append)
    try:
        yield {
            "pem": pem,
            "stub": vpb_grpc.VizierServiceStub(client),
            "auth": (("authorization", f"bearer {service_token(key)}"),),
            "audit": events,
        }
    finally:
        remove_audit_sink(events.append)
        await client.close(None)
        await broker.stop()
        await channel.close(None)
        await broker_bus.drain()
        await kelvin_service.stop()
        await pem.close()
        await bus.drain()
        await md_service.stop()


async def _run(
    vizier: dict[str, Any], script: str, *, mutation: bool = False
) -> tuple[dict[str, list[dict[str, object]]], list[vpb.MutationInfo]]:
    request = vpb.ExecuteScriptRequest(query_str=script, mutation=mutation)
    relations: dict[str, Any] = {}
    names: dict[str, str] = {}
    tables: dict[str, list[dict[str, object]]] = {}
    infos: list[vpb.MutationInfo] = []
    async for response in vizier["stub"].ExecuteScript(request, metadata=vizier["auth"]):
        if response.HasField("mutation_info"):
            infos.append(response.mutation_info)
        if response.HasField("meta_data"):
            meta = response.meta_data
            relations[meta.id] = relation_from_vizier(meta.relation)
            names[meta.id] = meta.name
            tables[meta.name] = []
        if response.HasField("data") and response.data.HasField("batch"):
            batch = response.data.batch
            decoded = row_batch_from_vizier(batch, relations[batch.table_id])
            for index, field in enumerate(decoded.schema):
                if pa.types.is_timestamp(field.type):
                    decoded = decoded.set_column(
                        index, field.name, decoded.column(index).cast(pa.int64())
                    )
            tables[names[batch.table_id]].extend(decoded.to_pylist())
    return tables, infos


def _deploy_script(app: Path, upid: UPID) -> str:
    return f"""
import pxtrace
import px

@pxtrace.probe("{app}:compute")
def compute_probe():
    return [{{'n': pxtrace.ArgExpr('n')}},
            {{'label': pxtrace.ArgExpr('label')}},
            {{'result': pxtrace.RetExpr('$0')}},
            {{'latency': pxtrace.FunctionLatency()}}]

exec_program = '''tracepoint:sched:sched_process_exec /comm == "pxtrace_app"/
{{ printf("time_:%llu pid:%d comm:%s\\\\n", nsecs, pid, comm); }}'''

pxtrace.UpsertTracepoint('compute_probe', 'compute_table', compute_probe,
                         pxtrace.UPID('{upid}'), '{TTL}')
pxtrace.UpsertTracepoint('app_execs', 'exec_table', exec_program, pxtrace.kprobe(), '{TTL}')
px.display(px.DataFrame('compute_table')[['n', 'label', 'result']], 'compute')
"""


async def _until(condition: Any, timeout_s: float = 60.0) -> Any:
    async def poll() -> Any:
        while not (result := await condition()):  # noqa: ASYNC110 - nothing to await on
            await asyncio.sleep(0.3)
        return result

    return await asyncio.wait_for(poll(), timeout_s)


async def test_a_pxtrace_script_deploys_probes_whose_rows_are_queryable_until_the_ttl(
    vizier: dict[str, Any], app: Path
) -> None:
    pem: Pem = vizier["pem"]
    process = await asyncio.create_subprocess_exec(
        str(app), "3", stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        stat = await asyncio.to_thread(Path(f"/proc/{process.pid}/stat").read_text)
        ticks = int(stat.rsplit(")", 1)[1].split()[19])
        upid = UPID(pem.agent.asid, process.pid, ticks)
        tables, infos = await _run(vizier, _deploy_script(app, upid), mutation=True)
        # Progress first, then OK once both run; the table exists (no call happened yet).
        assert infos[-1].status.code == 0
        assert sorted((s.name, s.state) for s in infos[-1].states) == [
            ("app_execs", vpb.RUNNING_STATE),
            ("compute_probe", vpb.RUNNING_STATE),
        ]
        assert tables == {"compute": []}
        out, _ = await process.communicate(b"go\n")
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert out.decode().splitlines()[:3] == ["204", "494", "984"]

    async def computed() -> list[dict[str, object]] | None:
        tables, _ = await _run(
            vizier, "import px\npx.display(px.DataFrame('compute_table'), 'compute')\n"
        )
        rows = tables["compute"]
        return rows if len(rows) >= 3 else None

    rows = await _until(computed)
    assert [(r["upid"], r["n"], r["label"], r["result"]) for r in rows] == [
        (upid.to_bytes(), 10, "r1", 204),
        (upid.to_bytes(), 20, "r2", 494),
        (upid.to_bytes(), 30, "r3", 984),
    ]

    # The traced process started before the bpftrace program: one started now is seen.
    second = await asyncio.create_subprocess_exec(
        str(app), "1", stdin=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    await second.communicate(b"go\n")

    async def execs() -> list[dict[str, object]] | None:
        tables, _ = await _run(vizier, "import px\npx.display(px.DataFrame('exec_table'), 'e')\n")
        return tables["e"] or None

    exec_rows = await _until(execs)
    assert [(r["pid"], r["comm"]) for r in exec_rows] == [(second.pid, "pxtrace_app")]

    schemas, _ = await _run(vizier, "import px\npx.display(px.GetSchemas(), 's')\n")
    columns = {(r["table_name"], r["column_name"]) for r in schemas["s"]}
    assert {("compute_table", "latency"), ("exec_table", "comm")} <= columns

    async def status() -> dict[str, dict[str, object]]:
        tables, _ = await _run(vizier, "import px\npx.display(px.GetTracepointStatus(), 't')\n")
        return {str(r["name"]): r for r in tables["t"]}

    running = await status()
    assert {name: r["state"] for name, r in running.items()} == {
        "compute_probe": "RUNNING_STATE",
        "app_execs": "RUNNING_STATE",
    }
    assert json.loads(str(running["compute_probe"]["output_tables"])) == ["compute_table"]

    async def terminated() -> bool:
        states = {name: r["state"] for name, r in (await status()).items()}
        return set(states.values()) == {"TERMINATED_STATE"}

    await _until(terminated, 30.0)
    assert pem.tracer.active == []
    deploys = [(e.action, e.outcome, e.target) for e in vizier["audit"]]
    assert ("tracepoint.deploy", "allowed", "compute_probe") in deploys
    assert ("tracepoint.deploy", "applied", "compute_probe") in deploys
    assert ("tracepoint.deploy", "applied", "app_execs") in deploys


async def test_unsafe_and_unmarked_mutations_are_refused(vizier: dict[str, Any]) -> None:
    unsafe = (
        "import pxtrace\n"
        "pxtrace.UpsertTracepoint('evil', 'evil_table', "
        '\'uprobe:/bin/bash:readline { system("touch /tmp/pxtrace-owned"); '
        "printf(\"n:%d\", 1); }', pxtrace.kprobe(), '1m')\n"
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _run(vizier, unsafe, mutation=True)
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "read-only" in (refused.value.details() or "")

    harmless = (
        "import pxtrace\n"
        "pxtrace.UpsertTracepoint('quiet', 'quiet_table', "
        "'BEGIN { printf(\"n:%d\\\\n\", 1); }', pxtrace.kprobe(), '1m')\n"
    )
    with pytest.raises(grpc.aio.AioRpcError) as unmarked:
        await _run(vizier, harmless, mutation=False)
    assert unmarked.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "mutation" in (unmarked.value.details() or "")

    refusals = [(e.action, e.outcome, e.reason) for e in vizier["audit"]]
    assert any(o == "refused" and "read-only" in r for a, o, r in refusals)
    assert any(o == "refused" and "mutation=true" in r for a, o, r in refusals)
    assert vizier["pem"].tracer.active == []
    assert not await asyncio.to_thread(Path("/tmp/pxtrace-owned").exists)
