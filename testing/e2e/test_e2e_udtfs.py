"""Every table function through the query broker on a two-node vizier (plus its Kelvin).

Cluster-wide UDTFs (GetAgentStatus, GetSchemas, GetTables, GetLinuxHeadersStatus) run on the
Kelvin from the metadata service's state; per-agent ones run on every PEM (GetUPIDs) or on every
agent including the Kelvin (Version, _Heap*, _Debug*). The stack has no eBPF and no demo shop:
the /proc collectors are enough, so it starts in seconds and never touches another stack.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pytest
from pyxie_cli._target import mint_vizier_token
from pyxie_client import VizierClient
from pyxie_devstack import DevstackSettings
from pyxie_devstack.vizier import VizierOptions, VizierStack
from pyxie_devstack.vizier_state import VizierEndpoints

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.root,
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root"),
    pytest.mark.timeout(600),
]

_TAG, _SUBNET = "pxudtf", "10.250.93"
_NODES = 2
_WAIT_S = 90.0


@dataclass
class Stack:
    endpoints: VizierEndpoints
    state_dir: Path

    def run(self, pxl: str) -> pa.Table:
        client = VizierClient(self.endpoints.broker, token=mint_vizier_token(self.state_dir))
        result = asyncio.run(client.execute(pxl))
        assert not result.incomplete, result.incomplete
        table = result.tables["output"]
        # Nanosecond timestamps as integers (to_pylist cannot make datetimes of them).
        return pa.Table.from_arrays(
            [c.cast(pa.int64()) if pa.types.is_timestamp(c.type) else c for c in table.columns],
            names=table.column_names,
        )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    state = tmp_path_factory.mktemp("vizier-udtfs")
    options = VizierOptions(
        nodes=_NODES,
        net_tag=_TAG,
        subnet=_SUBNET,
        demo_app=False,
        ebpf=False,
        broker_port=0,
        metadata_port=0,
        kelvin_port=0,
        ready_timeout_s=240,
    )
    vizier = VizierStack(DevstackSettings(state_dir=state), options, say=lambda _line: None)
    try:
        endpoints = vizier.up()
        stack = Stack(endpoints, state)
        _wait_for_agents(stack)
        yield stack
    finally:
        vizier.down()


def _wait_for_agents(stack: Stack) -> None:
    """Until both PEMs and the Kelvin are registered and the PEMs' tables are in the schema."""
    deadline = time.monotonic() + _WAIT_S
    while time.monotonic() < deadline:
        agents = stack.run("import px\npx.display(px.GetAgentStatus())\n")
        tables = stack.run("import px\npx.display(px.GetTables())\n")
        if agents.num_rows == _NODES + 1 and "process_stats" in tables["table_name"].to_pylist():
            return
        time.sleep(2.0)
    pytest.fail(f"the agents did not all register within {_WAIT_S:.0f}s")


def _display(call: str) -> str:
    return f"import px\npx.display(px.{call})\n"


def test_get_agent_status_lists_both_pems_and_the_kelvin(stack: Stack) -> None:
    rows = stack.run(_display("GetAgentStatus()")).to_pylist()
    assert len(rows) == _NODES + 1
    assert {r["agent_state"] for r in rows} == {"AGENT_STATE_HEALTHY"}
    assert len({r["asid"] for r in rows}) == _NODES + 1
    hostnames = {r["hostname"] for r in rows}
    assert {n.name for n in stack.endpoints.nodes} <= hostnames
    assert all(r["last_heartbeat_ns"] >= 0 and r["create_time"] > 0 for r in rows)
    pems_only = stack.run(_display("GetAgentStatus(include_kelvin=False)"))
    assert pems_only.num_rows == _NODES
    node_ips = {n.ip for n in stack.endpoints.nodes}
    assert set(pems_only["ip_address"].to_pylist()) == node_ips


def test_get_tables_and_schemas_are_the_clusters_union(stack: Stack) -> None:
    tables = set(stack.run(_display("GetTables()"))["table_name"].to_pylist())
    assert {"process_stats", "network_stats"} <= tables
    schemas = stack.run(_display("GetSchemas()")).to_pylist()
    columns = {(r["table_name"], r["column_name"]): r["column_type"] for r in schemas}
    assert columns[("process_stats", "upid")] == "UINT128"
    assert columns[("process_stats", "rss_bytes")] == "INT64"
    assert {t for t, _ in columns} == tables


def test_get_linux_headers_status_has_one_row_per_pem(stack: Stack) -> None:
    rows = stack.run(_display("GetLinuxHeadersStatus()")).to_pylist()
    assert sorted(r["hostname"] for r in rows) == sorted(n.name for n in stack.endpoints.nodes)


@pytest.fixture
def node_sleepers(stack: Stack) -> Iterator[dict[str, tuple[int, str]]]:
    """A `sleep` inside each simulated node's network namespace: node -> (pid, cmdline)."""
    started = {
        node.name: subprocess.Popen(["ip", "netns", "exec", node.netns, "sleep", f"{3600 + i}"])
        for i, node in enumerate(stack.endpoints.nodes)
    }
    try:
        for proc in started.values():  # until `ip netns exec` has exec'd sleep
            cmdline = Path(f"/proc/{proc.pid}/cmdline")
            while not cmdline.read_bytes().startswith(b"sleep"):
                time.sleep(0.05)
        yield {name: (proc.pid, " ".join(map(str, proc.args))) for name, proc in started.items()}
    finally:
        for proc in started.values():
            proc.kill()
            proc.wait()


def test_get_upids_lists_the_processes_each_pem_observes(
    stack: Stack, node_sleepers: dict[str, tuple[int, str]]
) -> None:
    agents = stack.run(_display("GetAgentStatus(include_kelvin=False)")).to_pylist()
    asid_of = {a["hostname"]: a["asid"] for a in agents}
    rows = stack.run(_display("GetUPIDs()")).to_pylist()
    assert all(r["pid"] > 0 and len(r["upid"]) == 16 for r in rows)
    for node, (pid, argv) in node_sleepers.items():
        # `ip netns exec` execs sleep in place: the pid is the sleeper's.
        mine = [r for r in rows if r["pid"] == pid]
        assert [r["asid"] for r in mine] == [asid_of[node]], (node, mine)
        assert mine[0]["cmdline"] == argv.split(" ", 4)[-1]
        assert int.from_bytes(mine[0]["upid"][:4], "big") == asid_of[node]


def test_udf_uda_udtf_lists_come_from_the_registry(stack: Stack) -> None:
    udfs = set(stack.run(_display("GetUDFList()"))["name"].to_pylist())
    assert {"pluck", "upid_to_pod_name", "bin"} <= udfs
    udas = set(stack.run(_display("GetUDAList()"))["name"].to_pylist())
    assert {"count", "mean", "quantiles"} <= udas
    udtfs = stack.run(_display("GetUDTFList()")).to_pylist()
    executors = {r["name"]: r["executor"] for r in udtfs}
    assert executors["GetAgentStatus"] == "UDTF_ONE_KELVIN"
    assert executors["_HeapStats"] == "UDTF_ALL_AGENTS"


_EVERY_AGENT: dict[str, Callable[[dict[str, object]], bool]] = {
    "Version()": lambda r: bool(r["version"]),
    "_HeapStats()": lambda r: "malloc_in_use_bytes" in str(r["heap"]),
    "_HeapStatsNumeric()": lambda r: int(str(r["rss_bytes"])) > 0,
    "_HeapSample()": lambda r: "tracemalloc" in str(r["heap"]),
    "_HeapGrowthStacks()": lambda r: "tracemalloc" in str(r["heap"]),
    "_HeapReleaseFreeMemory()": lambda r: int(str(r["gc_collected"])) >= 0,
    "_DebugStackTrace()": lambda r: "thread MainThread" in str(r["stack_trace"]),
    "_DebugAgentProcStatus()": lambda r: "VmRSS:" in str(r["proc_status"]),
    "_DebugAgentProcSMaps()": lambda r: "Rss:" in str(r["smaps"]),
}


@pytest.mark.parametrize("call", sorted(_EVERY_AGENT))
def test_per_agent_udtfs_answer_from_every_agent_including_kelvin(stack: Stack, call: str) -> None:
    all_asids = set(stack.run(_display("GetAgentStatus()"))["asid"].to_pylist())
    rows = stack.run(_display(call)).to_pylist()
    assert sorted(r["asid"] for r in rows) == sorted(all_asids)
    assert all(_EVERY_AGENT[call](r) for r in rows), rows[0]


def test_debug_table_info_lists_each_pems_tables(stack: Stack) -> None:
    pem_asids = set(stack.run(_display("GetAgentStatus(include_kelvin=False)"))["asid"].to_pylist())
    rows = stack.run(_display("_DebugTableInfo()")).to_pylist()
    assert {r["asid"] for r in rows} == pem_asids
    process_stats = [r for r in rows if r["table_name"] == "process_stats"]
    assert len(process_stats) == _NODES and all(r["max_bytes"] > 0 for r in process_stats)


def test_heap_ranges_cover_every_agent(stack: Stack) -> None:
    all_asids = set(stack.run(_display("GetAgentStatus()"))["asid"].to_pylist())
    rows = stack.run(_display("_HeapRanges()")).to_pylist()
    assert {r["asid"] for r in rows} == all_asids
    assert all(r["range_end"] > r["range_start"] for r in rows)


def test_udtf_output_joins_like_any_table(stack: Stack) -> None:
    """Kelvin-side and all-agent UDTFs combine in one plan: heap numbers per hostname."""
    pxl = (
        "import px\n"
        "agents = px.GetAgentStatus()\n"
        "heap = px._HeapStatsNumeric()\n"
        "df = agents.merge(heap, how='inner', left_on='asid', right_on='asid',"
        " suffixes=['', '_heap'])\n"
        "px.display(df[['hostname', 'rss_bytes']])\n"
    )
    rows = stack.run(pxl).to_pylist()
    assert len(rows) == _NODES + 1
    assert all(r["rss_bytes"] > 0 for r in rows)


def test_debug_md_get_with_prefix_reads_the_metadata_store(stack: Stack) -> None:
    rows = stack.run(
        _display("_DebugMDGetWithPrefix('/agent/', 'pyxie.vizier.metadatapb.AgentStatus')")
    ).to_pylist()
    assert len(rows) == _NODES + 1
    assert all(r["key"].startswith("/agent/") and "host_info" in r["value"] for r in rows)
    raw = stack.run(_display("_DebugMDGetWithPrefix('/agent/')")).to_pylist()
    assert all(bytes.fromhex(r["value"]) for r in raw)  # no type named: hex
