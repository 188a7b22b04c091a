"""A PEM and a Kelvin against the real metadata service (pyxie_metadata) over NATS: they
register, the PEM's schema lands in the computed schema, and the local provider's pods reach
the PEM's metadata state, mapped by UPID."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pyarrow as pa
import pytest
from pyxie_agent import ServiceCallCredentials, proc_start_time_ticks
from pyxie_jwt import SigningKey
from pyxie_kelvin import Kelvin
from pyxie_kelvin import kelvin_service as kelvin_service_for
from pyxie_kelvin.testing import kelvin_test_settings
from pyxie_metadata.app import build as build_metadata
from pyxie_metadata.settings import MetadataSettings
from pyxie_pem import Pem
from pyxie_pem.testing import pem_on_store
from pyxie_proto.vizier.metadatapb import metadata_pb2, metadata_pb2_grpc
from pyxie_service.natsbus import NatsBus
from pyxie_table_store import TableStore
from pyxie_types import UPID, Column, DataType, Relation, TableSchema

KEY = "m" * 40
NODE = "pyxie-agent-test-node"
TABLE = TableSchema(
    "probe_table", Relation((Column("time_", DataType.TIME64NS), Column("v", DataType.INT64)))
)
PROBE_MARK = "pyxie-agent-metadata-probe"


@pytest.fixture
async def running(nats_server: Any, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    config = tmp_path / "services.yaml"
    config.write_text(
        "namespace: testns\n"
        "group_containers: false\n"
        "group_systemd_units: false\n"
        "services:\n"
        f"  - name: testns/probe\n    cmdline: '{PROBE_MARK}'\n"
    )
    probe = await asyncio.create_subprocess_exec(
        sys.executable, "-c", f"import time; time.sleep(120)  # {PROBE_MARK}"
    )
    settings = MetadataSettings(
        jwt_signing_key=KEY,
        grpc_host="127.0.0.1",
        grpc_port=0,
        metrics_enabled=False,
        kv_path=tmp_path / "kv.sqlite",
        nats_url=nats_server.url,
        metadata_provider="local",
        local_services_config=config,
        local_scan_interval_seconds=0.2,
        local_node_name=NODE,
        shutdown_grace_seconds=0.2,
    )
    md_service = await build_metadata(settings)
    await md_service.start()

    bus = await NatsBus.connect(nats_server.url, name="agents")
    store = TableStore()
    store.add_table(TABLE)
    store.append(
        TABLE.name,
        pa.RecordBatch.from_pydict(
            {"time_": pa.array([1], pa.timestamp("ns")), "v": [1]},
            schema=TABLE.relation.arrow_schema(),
        ),
    )
    pem = pem_on_store(
        bus, store, signing_key=SigningKey(KEY), host_ip="10.77.0.1", k8s_selector=NODE
    )
    await pem.start()
    kelvin, kelvin_service = kelvin_service_for(kelvin_test_settings(KEY), bus)
    await kelvin_service.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{md_service.grpc_port}")
    try:
        yield {
            "pem": pem,
            "kelvin": kelvin,
            "stub": metadata_pb2_grpc.MetadataServiceStub(channel),
            "probe": probe,
        }
    finally:
        await channel.close(None)
        await kelvin_service.stop()
        await pem.close()
        await bus.drain()
        await md_service.stop()
        probe.kill()
        await probe.wait()


async def _until(condition: Any, timeout_s: float = 20.0) -> None:
    async def poll() -> None:
        # Agents and the metadata service signal nothing a test could await.
        while not await condition():  # noqa: ASYNC110
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), timeout_s)


@pytest.mark.slow
async def test_agents_register_with_the_real_metadata_service_and_get_its_pods(
    running: dict[str, Any],
) -> None:
    pem: Pem = running["pem"]
    kelvin: Kelvin = running["kelvin"]
    stub: Any = running["stub"]
    auth = tuple(ServiceCallCredentials(SigningKey(KEY), service_id="query_broker")())

    async def schema_has_pem_table() -> bool:
        response = await stub.GetSchemas(metadata_pb2.SchemaRequest(), metadata=auth)
        owners = response.schema.table_name_to_agent_ids.get(TABLE.name)
        return owners is not None and pem.agent.agent_id in owners.agent_ids

    await _until(schema_has_pem_table)
    agents = await stub.GetAgentInfo(metadata_pb2.AgentInfoRequest(), metadata=auth)
    by_id = {status.info.agent_id: status for status in agents.info}
    assert kelvin.agent is not None
    assert by_id[pem.agent.agent_id].asid == pem.agent.asid
    assert by_id[pem.agent.agent_id].info.collects_data
    assert by_id[kelvin.agent.agent_id].info.address == kelvin.config.address
    assert not by_id[kelvin.agent.agent_id].info.collects_data

    probe_pid = running["probe"].pid
    ticks = proc_start_time_ticks(probe_pid)
    assert ticks is not None
    upid = UPID(pem.agent.asid, probe_pid, ticks).value
    state = pem.metadata_state

    async def probe_mapped() -> bool:
        process = state.process(upid)
        return process is not None and bool(process.container_id)

    await _until(probe_mapped)
    process = state.process(upid)
    assert process is not None
    container = state.container(process.container_id)
    assert container is not None
    pod = state.pod(container.pod_id)
    assert pod is not None and pod.qualified_name == f"testns/probe-{NODE}"
    assert pod.pod_ip != "" or pod.node_name == NODE
    os.kill(probe_pid, 0)  # the probe is still the process the UPID names
