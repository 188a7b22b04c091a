"""`cloud connect` reports only what it verified: a connector pointed at a stale broker address
is restarted with the current one, and connect waits for a fresh HEALTHY heartbeat.

Found by an attack suite: after a manual `vizier up` the connector kept the broker's old
address while `cloud connect` printed "connected".
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyxie_devstack import load_settings
from pyxie_devstack.cloud import CloudStack, read_bootstrap, read_cloud_endpoints
from pyxie_devstack.supervise import GroupSpec, ProcessSpec, process_pid, stop_group
from pyxie_devstack.vizier import VizierOptions, VizierStack
from pyxie_devstack.vizier_state import read_endpoints
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture
def stacks() -> Iterator[tuple[CloudStack, VizierStack]]:
    state = Path(tempfile.mkdtemp(prefix="pyxie-e2e-connect-"))
    os.chmod(state, 0o711)
    previous = os.environ.get("PL_STATE_DIR")
    os.environ["PL_STATE_DIR"] = str(state)
    cloud = CloudStack(load_settings(), say=lambda _line: None)
    vizier = VizierStack(
        cloud.settings,
        VizierOptions(nodes=1, use_netns=False, demo_app=False, ebpf=False),
        say=lambda _line: None,
    )
    try:
        cloud.up()
        vizier.up()
        yield cloud, vizier
    finally:
        vizier.down()
        cloud.down()
        if previous is None:
            os.environ.pop("PL_STATE_DIR", None)
        else:
            os.environ["PL_STATE_DIR"] = previous
        shutil.rmtree(state, ignore_errors=True)


def test_connect_repoints_a_stale_connector_and_waits_for_health(
    stacks: tuple[CloudStack, VizierStack],
) -> None:
    cloud, _vizier = stacks
    state = cloud.settings.state_dir
    demo = read_bootstrap(state)
    vizier_id = cloud.connect_local_vizier(demo.deploy_key, "verify")
    endpoints = read_cloud_endpoints(state)
    assert cloud.vizier_info(endpoints, vizier_id).status == cvmsgs_pb2.VZ_ST_HEALTHY

    # The connector now runs with a broker address where nothing listens (as after a vizier
    # came back elsewhere): the cloud soon hears it is unhealthy.
    group = GroupSpec.from_json((cloud.run_dir / "cloud-connector.json").read_text())
    (process,) = group.processes
    stale = ProcessSpec(
        process.name, process.argv, {**process.env, "PL_BROKER_ADDR": "127.0.0.1:9"}
    )
    stop_group(group)
    broken = GroupSpec(group.name, (stale,), group.run_dir, group.log_dir)
    cloud._start(broken)
    deadline = time.monotonic() + 120
    while cloud.vizier_info(endpoints, vizier_id).status == cvmsgs_pb2.VZ_ST_HEALTHY:
        assert time.monotonic() < deadline, "the stale connector never reported unhealthy"
        time.sleep(1)
    stale_pid = process_pid(broken, process.name)

    # connect again: it notices the connector's spec is not the current one, restarts it with
    # the broker's real address, and returns only after a fresh HEALTHY heartbeat.
    assert cloud.connect_local_vizier(demo.deploy_key, "verify") == vizier_id
    assert process_pid(group, process.name) not in (None, stale_pid)
    current = GroupSpec.from_json((cloud.run_dir / "cloud-connector.json").read_text())
    assert current.processes[0].env["PL_BROKER_ADDR"] == read_endpoints(state).broker
    assert cloud.vizier_info(endpoints, vizier_id).status == cvmsgs_pb2.VZ_ST_HEALTHY
