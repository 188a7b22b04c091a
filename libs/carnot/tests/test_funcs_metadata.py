"""Metadata functions over an InMemoryMetadataState."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pytest
from pyxie_carnot import funcs
from pyxie_carnot.context import FunctionContext
from pyxie_carnot.metadata import (
    ContainerInfo,
    DeploymentInfo,
    InMemoryMetadataState,
    OwnerReference,
    PodInfo,
    ProcessInfo,
    ReplicaSetInfo,
    ServiceInfo,
)
from pyxie_carnot.registry import Registry
from pyxie_types import UPID, SemanticType, data_type_of_arrow

REGISTRY = Registry()
funcs.register_all(REGISTRY)
U128 = pa.binary(16)
TS = pa.timestamp("ns")

WEB_UPID = UPID(asid=7, pid=1234, start_time_ticks=555)
HOST_UPID = UPID(asid=7, pid=1, start_time_ticks=9)
UNKNOWN_UPID = UPID(asid=7, pid=999, start_time_ticks=1)


def _state() -> InMemoryMetadataState:
    md = InMemoryMetadataState(
        host="node-a",
        agent_asid=7,
        cluster_id="c-1",
        cluster_name="dev",
        cluster_pod_cidrs=("10.0.0.0/16",),
        cluster_service_cidr="10.96.0.0/12",
    )
    md.add_deployment(DeploymentInfo("dep-1", "web", "shop", start_time_ns=1))
    md.add_replicaset(
        ReplicaSetInfo(
            "rs-1",
            "web-abc",
            "shop",
            owner_references=(OwnerReference("dep-1", "Deployment", "web"),),
        )
    )
    md.add_pod(
        PodInfo(
            "pod-1",
            "web-abc-1",
            "shop",
            node_name="node-a",
            hostname="web-abc-1",
            pod_ip="10.0.0.5",
            start_time_ns=1_000,
            container_ids=("c-1",),
            owner_references=(OwnerReference("rs-1", "ReplicaSet", "web-abc"),),
            qos_class="Burstable",
        )
    )
    # An older pod that held the same IP earlier.
    md.add_pod(
        PodInfo("pod-0", "old-1", "shop", pod_ip="10.0.0.5", start_time_ns=10, stop_time_ns=500)
    )
    md.add_container(ContainerInfo("c-1", "web", pod_id="pod-1", start_time_ns=1_100))
    md.add_service(ServiceInfo("svc-1", "web", "shop", cluster_ip="10.96.0.10", pod_ids=("pod-1",)))
    md.add_service(ServiceInfo("svc-2", "web-v2", "shop", pod_ids=("pod-1",)))
    md.add_service(ServiceInfo("svc-3", "gone", "shop", pod_ids=("pod-1",), stop_time_ns=5))
    md.add_process(ProcessInfo(WEB_UPID.value, cmdline="python app.py", container_id="c-1"))
    md.add_process(ProcessInfo(HOST_UPID.value, cmdline="/sbin/init"))
    md.add_namespace("shop", "ns-uid")
    return md


CTX = FunctionContext(REGISTRY, _state(), hostname="exec-host", num_cpus=8)


def call(name: str, *args: Any) -> Any:
    types = [data_type_of_arrow(a.type) for a in args]
    return REGISTRY.lookup_scalar(name, types).fn(CTX, *args)


def upids(*values: UPID) -> pa.Array:
    return pa.array([u.to_bytes() for u in values], U128)


UPIDS = upids(WEB_UPID, HOST_UPID, UNKNOWN_UPID, WEB_UPID)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("upid_to_pod_name", ["shop/web-abc-1", "", "", "shop/web-abc-1"]),
        ("upid_to_pod_id", ["pod-1", "", "", "pod-1"]),
        ("upid_to_namespace", ["shop", "", "", "shop"]),
        ("upid_to_node_name", ["node-a", "", "", "node-a"]),
        ("upid_to_hostname", ["web-abc-1", "", "", "web-abc-1"]),
        ("upid_to_container_id", ["c-1", "", "", "c-1"]),
        ("upid_to_container_name", ["web", "", "", "web"]),
        ("upid_to_cmdline", ["python app.py", "/sbin/init", "", "python app.py"]),
        (
            "upid_to_service_name",
            ['["shop/web","shop/web-v2"]', "", "", '["shop/web","shop/web-v2"]'],
        ),
        ("upid_to_service_id", ['["svc-1","svc-2"]', "", "", '["svc-1","svc-2"]']),
        ("upid_to_replicaset_name", ["shop/web-abc", "", "", "shop/web-abc"]),
        ("upid_to_deployment_name", ["shop/web", "", "", "shop/web"]),
        ("upid_to_deployment_id", ["dep-1", "", "", "dep-1"]),
        ("upid_to_pod_qos", ["Burstable", "", "", "Burstable"]),
        ("upid_to_string", ["7:1234:555", "7:1:9", "7:999:1", "7:1234:555"]),
    ],
)
def test_upid_lookups(name: str, expected: list[str]) -> None:
    assert call(name, UPIDS).to_pylist() == expected


def test_upid_bit_fields_are_decoded_vectorised() -> None:
    assert call("upid_to_pid", UPIDS).to_pylist() == [1234, 1, 999, 1234]
    assert call("upid_to_asid", UPIDS).to_pylist() == [7, 7, 7, 7]
    start = call("upid_to_start_ts", UPIDS)
    assert start.type == TS and start.cast(pa.int64()).to_pylist() == [555, 9, 1, 555]
    sliced = UPIDS.slice(1, 2)
    assert call("upid_to_pid", sliced).to_pylist() == [1, 999]
    assert call("upid_to_pid", pa.scalar(WEB_UPID.to_bytes(), U128)).as_py() == 1234
    assert len(call("upid_to_pid", upids())) == 0


def test_upid_pod_status_json_and_unknown_pod() -> None:
    out = [json.loads(v) for v in call("upid_to_pod_status", UPIDS).to_pylist()]
    assert out[0] == {"phase": "Running", "message": "", "reason": "", "ready": True}
    assert out[2] == {"phase": "Unknown", "message": "", "reason": "", "ready": False}


def test_upid_constructors_round_trip() -> None:
    made = call("upid", pa.array([1234], pa.int64()), pa.scalar(555))
    assert made.type == U128 and made.to_pylist() == [WEB_UPID.to_bytes()]
    made = call("upid", pa.scalar(7), pa.scalar(1), pa.scalar(9))
    assert made.as_py() == HOST_UPID.to_bytes()


def test_pod_id_lookups() -> None:
    ids = pa.array(["pod-1", "nope", "pod-1"])
    assert call("pod_id_to_pod_name", ids).to_pylist() == ["shop/web-abc-1", "", "shop/web-abc-1"]
    assert call("pod_id_to_namespace", ids).to_pylist() == ["shop", "", "shop"]
    assert call("pod_id_to_node_name", ids).to_pylist() == ["node-a", "", "node-a"]
    assert call("pod_id_to_service_id", ids).to_pylist()[1] == ""
    assert call("pod_id_to_replicaset_id", ids).to_pylist() == ["rs-1", "", "rs-1"]
    start = call("pod_id_to_start_time", ids)
    assert start.type == TS and start.cast(pa.int64()).to_pylist() == [1_000, 0, 1_000]
    refs = json.loads(call("pod_id_to_owner_references", pa.scalar("pod-1")).as_py())
    assert [json.loads(r) for r in refs] == [
        {"uid": "rs-1", "kind": "ReplicaSet", "name": "web-abc"}
    ]


def test_pod_name_lookups() -> None:
    names = pa.array(["shop/web-abc-1", "shop/missing", "malformed", "a/b/c"])
    assert call("pod_name_to_pod_id", names).to_pylist() == ["pod-1", "", "", ""]
    assert call("pod_name_to_pod_ip", names).to_pylist() == ["10.0.0.5", "", "", ""]
    assert call("pod_name_to_namespace", names).to_pylist() == ["shop", "shop", "", ""]
    assert call("pod_name_to_start_time", names).cast(pa.int64()).to_pylist() == [1_000, 0, 0, 0]
    status = json.loads(call("pod_name_to_status", names).to_pylist()[0])
    assert set(status) == {"phase", "message", "reason", "ready"}
    assert call("pod_name_to_deployment_name", names).to_pylist()[0] == "shop/web"
    udf = REGISTRY.lookup_scalar("pod_name_to_status", [data_type_of_arrow(names.type)])
    assert udf.output_semantic_type([]) is SemanticType.ST_POD_STATUS


def test_ip_lookups_with_and_without_time() -> None:
    ips = pa.array(["10.0.0.5", "10.96.0.10", "1.2.3.4"])
    assert call("ip_to_pod_id", ips).to_pylist() == ["pod-1", "", ""]
    at = pa.array([100, 2_000, 100], TS)
    assert call("ip_to_pod_id", ips, at).to_pylist() == ["pod-0", "", ""]
    assert call("ip_to_service_id", ips).to_pylist() == ['["svc-1","svc-2"]', "svc-1", ""]


def test_services_and_containers() -> None:
    sids = pa.array(["svc-1", "svc-3", "x"])
    assert call("service_id_to_service_name", sids).to_pylist() == ["shop/web", "shop/gone", ""]
    assert call("service_id_to_cluster_ip", sids).to_pylist() == ["10.96.0.10", "", ""]
    assert call("service_name_to_service_id", pa.array(["shop/web", "web"])).to_pylist() == [
        "svc-1",
        "",
    ]
    assert call("service_name_to_namespace", pa.scalar("pl/kelvin")).as_py() == "pl"
    status = call("container_id_to_status", pa.array(["c-1", "c-x"])).to_pylist()
    assert json.loads(status[0]) == {"state": "Running", "message": "", "reason": ""}
    assert json.loads(status[1])["state"] == "Unknown"
    assert call("container_name_to_container_id", pa.scalar("web")).as_py() == "c-1"
    assert call("namespace_name_to_namespace_id", pa.scalar("shop")).as_py() == "ns-uid"


def test_has_service_name_accepts_json_arrays() -> None:
    services = pa.array(['["shop/web","shop/web-v2"]', "shop/web", "", "[1]"])
    out = call("has_service_name", services, pa.scalar("shop/web"))
    assert out.to_pylist() == [True, True, False, False]
    assert call("has_value", pa.scalar("a"), pa.scalar("a")).as_py() is True


def test_local_addr_fallback_uses_ip_when_upid_has_no_pod() -> None:
    out = call(
        "_upid_to_podname_local_addr_fallback",
        upids(WEB_UPID, HOST_UPID, HOST_UPID),
        pa.array(["9.9.9.9", "10.0.0.5", "10.0.0.5"]),
        pa.array([2_000, 2_000, 100], TS),
    )
    assert out.to_pylist() == ["shop/web-abc-1", "shop/web-abc-1", "shop/old-1"]


def test_agent_facts() -> None:
    assert call("_exec_hostname").as_py() == "exec-host"
    assert call("_exec_host_num_cpus").as_py() == 8
    assert call("asid").as_py() == 7
    assert call("vizier_name").as_py() == "dev"
    assert json.loads(call("get_cidrs").as_py()) == ["10.0.0.0/16", "10.96.0.0/12"]


def test_lookups_run_once_per_distinct_key() -> None:
    calls: list[str] = []
    state = _state()
    original = state.pod

    def counting(pod_id: str) -> Any:
        calls.append(pod_id)
        return original(pod_id)

    state.pod = counting  # type: ignore[method-assign]
    ctx = FunctionContext(REGISTRY, state)
    fn = REGISTRY.lookup_scalar("pod_id_to_pod_name", [data_type_of_arrow(pa.string())]).fn
    out = fn(ctx, pa.array(["pod-1", "pod-0"] * 5_000))
    assert len(out) == 10_000
    assert sorted(calls) == ["pod-0", "pod-1"]
