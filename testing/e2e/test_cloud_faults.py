"""Faults on the running cloud: its database (and NATS) restarting under the services, and vzconn
restarting during a query. The services must recover by themselves, without being restarted."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from pyxie_devstack import load_settings
from pyxie_devstack.cloud import CloudStack, read_bootstrap
from pyxie_devstack.supervise import GroupSpec, process_pid, start_group, stop_group
from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb
from pyxie_proto.api.cloudpb import cloudapi_pb2_grpc as cpb_grpc

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# A restarted PostgreSQL takes a few seconds; services reconnect on their next use.
_RECOVERY_S = 60.0


@pytest.fixture
def stack() -> Iterator[CloudStack]:
    state = Path(tempfile.mkdtemp(prefix="pyxie-e2e-faults-"))
    os.chmod(state, 0o711)
    previous = os.environ.get("PL_STATE_DIR")
    os.environ["PL_STATE_DIR"] = str(state)
    # A vizier that cannot be reached fails a query after 5 s here instead of 30 s, so the
    # recovery probe below can retry often.
    cloud = CloudStack(
        load_settings(),
        say=lambda _line: None,
        extra_env={"api": {"PL_PASSTHROUGH_FIRST_REPLY_SECONDS": "5"}},
    )
    try:
        cloud.up()
        yield cloud
    finally:
        cloud.down()
        if previous is None:
            os.environ.pop("PL_STATE_DIR", None)
        else:
            os.environ["PL_STATE_DIR"] = previous
        shutil.rmtree(state, ignore_errors=True)


def _eventually(what: str, probe: Callable[[], bool]) -> None:
    deadline = time.monotonic() + _RECOVERY_S
    while not probe():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not recover within {_RECOVERY_S:.0f}s")
        time.sleep(0.5)


def _keys_listed(stack: CloudStack) -> Callable[[], bool]:
    state = stack.settings.state_dir
    demo = read_bootstrap(state)
    ca = (state / "cloud" / "tls" / "ca.crt").read_bytes()
    from pyxie_devstack.cloud import read_cloud_endpoints

    api = read_cloud_endpoints(state).api

    def probe() -> bool:
        creds = grpc.ssl_channel_credentials(root_certificates=ca)
        with grpc.secure_channel(api, creds) as channel:
            try:
                # API key → auth (PostgreSQL), then vzmgr (PostgreSQL) for the deploy keys.
                cpb_grpc.VizierDeploymentKeyManagerStub(channel).List(
                    cpb.ListDeploymentKeyRequest(),
                    metadata=[("pixie-api-key", demo.api_key)],
                    timeout=5,
                )
            except grpc.RpcError:
                return False
        return True

    return probe


def test_services_recover_from_a_database_restart_without_restarting(stack: CloudStack) -> None:
    probe = _keys_listed(stack)
    assert probe()
    services = GroupSpec.from_json((stack.run_dir / "cloud-services.json").read_text())
    pids_before = {p.name: process_pid(services, p.name) for p in services.processes}
    infra = stack.infra_group()
    # PostgreSQL and the cloud NATS share one supervisor: both go down and come back.
    stop_group(infra)
    assert not probe()
    start_group(infra)
    _eventually("the api → auth → PostgreSQL path", probe)
    assert {p.name: process_pid(services, p.name) for p in services.processes} == pids_before


def test_vzconn_restart_fails_the_query_cleanly_and_the_vizier_returns(stack: CloudStack) -> None:
    """Needs the standalone vizier (the devstack's), connected to this cloud."""
    from pyxie_client import ScriptError, VizierClient
    from pyxie_devstack.cloud import read_cloud_endpoints
    from pyxie_devstack.vizier import VizierOptions, VizierStack

    state = stack.settings.state_dir
    vizier = VizierStack(
        stack.settings, VizierOptions(nodes=1, use_netns=False, demo_app=False, ebpf=False)
    )
    vizier.up()
    try:
        demo = read_bootstrap(state)
        vizier_id = stack.connect_local_vizier(demo.deploy_key, "faults")
        api = read_cloud_endpoints(state).api
        ca = (state / "cloud" / "tls" / "ca.crt").read_bytes()
        client = VizierClient(api, api_key=demo.api_key, root_ca=ca, cluster_id=vizier_id)
        healthy = _cluster_healthy(api, ca, demo.api_key, vizier_id)
        _eventually("the vizier becoming HEALTHY", healthy)
        # A long query: rows keep coming for a while, so the restart lands in its middle.
        long_query = "import px\npx.display(px.DataFrame('process_stats', start_time='-30d'))\n"

        async def query_during_restart() -> BaseException | None:
            task = asyncio.ensure_future(client.execute(long_query))
            await asyncio.sleep(0.5)
            await asyncio.to_thread(stack.restart_service, "vzconn")
            try:
                await asyncio.wait_for(task, 120)
            except (ScriptError, TimeoutError) as exc:
                return exc
            return None

        outcome = asyncio.run(query_during_restart())
        # Either it finished before the bridge went, or it failed with a clean gRPC status.
        assert outcome is None or isinstance(outcome, ScriptError)

        # The status stays HEALTHY through a short outage (vzmgr waits 120 s for heartbeats):
        # recovered means HEALTHY and answering queries through the new bridge.
        def answers() -> bool:
            try:
                result = asyncio.run(client.execute("import px\npx.display(px.GetAgentStatus())\n"))
            except ScriptError:
                return False
            return bool(result.tables)

        _eventually("HEALTHY and answering after vzconn restarted", lambda: healthy() and answers())
    finally:
        vizier.down()


def _cluster_healthy(api: str, ca: bytes, api_key: str, vizier_id: str) -> Callable[[], bool]:
    import uuid

    number = uuid.UUID(vizier_id).int

    def probe() -> bool:
        request = cpb.GetClusterInfoRequest()
        request.id.high_bits, request.id.low_bits = number >> 64, number & ((1 << 64) - 1)
        creds = grpc.ssl_channel_credentials(root_certificates=ca)
        with grpc.secure_channel(api, creds) as channel:
            try:
                info = cpb_grpc.VizierClusterInfoStub(channel).GetClusterInfo(
                    request, metadata=[("pixie-api-key", api_key)], timeout=5
                )
            except grpc.RpcError:
                return False
        return bool(info.clusters) and info.clusters[0].status == cpb.CS_HEALTHY

    return probe
