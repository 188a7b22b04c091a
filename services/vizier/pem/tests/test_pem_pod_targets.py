"""pxtrace pod targets: "<ns>/<pod>" (and a container name) to this node's pids, from the
agent's metadata state."""

from __future__ import annotations

from pyxie_carnot.metadata import ContainerInfo, InMemoryMetadataState, PodInfo, ProcessInfo
from pyxie_pem.controllers.pem import PodTargets
from pyxie_types import UPID


def _state() -> InMemoryMetadataState:
    state = InMemoryMetadataState(agent_asid=4)
    state.add_pod(PodInfo(uid="p1", name="web", namespace="shop", container_ids=("c1", "c2")))
    state.add_pod(PodInfo(uid="p2", name="db", namespace="shop", container_ids=("c3",)))
    for cid, name in (("c1", "server"), ("c2", "sidecar"), ("c3", "postgres")):
        state.add_container(ContainerInfo(cid=cid, name=name, pod_id="p1" if cid != "c3" else "p2"))
    for pid, cid in ((101, "c1"), (102, "c1"), (201, "c2"), (301, "c3")):
        state.add_process(ProcessInfo(upid=UPID(4, pid, 1000 + pid).value, container_id=cid))
    return state


def test_a_pod_is_every_process_of_its_containers() -> None:
    assert PodTargets(_state()).pod_pids("shop/web", "") == [101, 102, 201]


def test_a_container_name_narrows_it() -> None:
    assert PodTargets(_state()).pod_pids("shop/web", "server") == [101, 102]


def test_an_unknown_pod_or_container_has_no_pids() -> None:
    targets = PodTargets(_state())
    assert targets.pod_pids("shop/nope", "") == []
    assert targets.pod_pids("other/web", "") == []
    assert targets.pod_pids("shop/web", "nope") == []
