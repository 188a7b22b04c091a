"""Metadata functions: UPIDs, pods, services, containers, replica sets and deployments.

Each lookup maps *distinct* keys through the ``MetadataState`` (a column of UPIDs or pod ids
holds few distinct values) and scatters the results back with ``take``: one Python call per
distinct key, never per row. UPID bit fields (pid, asid, start time) are decoded with numpy
straight from the Arrow buffer.

Formats are Pixie's: pods, services, replica sets and deployments are ``<ns>/<name>``; several
services come back as a JSON array string; unknown keys give "" or 0.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyxie_types import UPID, DataType, SemanticType

from ..context import FunctionContext
from ..metadata import (
    ContainerInfo,
    DeploymentInfo,
    MetadataState,
    OwnerReference,
    PodInfo,
    ReplicaSetInfo,
)
from ..registry import Registry, SemanticRule
from ._arrow import Arg, as_int, batch_length, map_distinct, map_rows, norm
from ._json import compact_json

__all__ = ["register"]

B, I, S, T, U = (  # noqa: E741 (PxL type letters)
    DataType.BOOLEAN,
    DataType.INT64,
    DataType.STRING,
    DataType.TIME64NS,
    DataType.UINT128,
)
ST = SemanticType
_ARROW = {S: pa.string(), I: pa.int64(), T: pa.timestamp("ns"), B: pa.bool_()}


# ------------------------------------------------------------------ record navigation


def _split_name(name: str) -> tuple[str, str] | None:
    parts = name.split("/")
    return (parts[0], parts[1]) if len(parts) == 2 else None


def _upid_int(value: bytes | int) -> int:
    return value if isinstance(value, int) else int.from_bytes(value, "big")


def _container_of_upid(md: MetadataState, upid: bytes) -> ContainerInfo | None:
    process = md.process(_upid_int(upid))
    if process is None or not process.container_id:
        return None
    return md.container(process.container_id)


def _pod_of_upid(md: MetadataState, upid: bytes) -> PodInfo | None:
    container = _container_of_upid(md, upid)
    return md.pod(container.pod_id) if container is not None else None


def _pod_of_name(md: MetadataState, name: str) -> PodInfo | None:
    parts = _split_name(name)
    return md.pod(md.pod_id_by_name(*parts)) if parts else None


def _owner(refs: Sequence[OwnerReference], kind: str) -> str:
    return next((r.uid for r in refs if r.kind == kind), "")


def _replicaset_of_pod(md: MetadataState, pod: PodInfo | None) -> ReplicaSetInfo | None:
    return md.replicaset(_owner(pod.owner_references, "ReplicaSet")) if pod else None


def _deployment_of_replicaset(
    md: MetadataState, rs: ReplicaSetInfo | None
) -> DeploymentInfo | None:
    return md.deployment(_owner(rs.owner_references, "Deployment")) if rs else None


def _replicaset_of_name(md: MetadataState, name: str) -> ReplicaSetInfo | None:
    parts = _split_name(name)
    return md.replicaset(md.replicaset_id_by_name(*parts)) if parts else None


def _deployment_of_name(md: MetadataState, name: str) -> DeploymentInfo | None:
    parts = _split_name(name)
    return md.deployment(md.deployment_id_by_name(*parts)) if parts else None


def _stringify(values: Sequence[str]) -> str:
    """Pixie's StringifyVector: "" for none, the value for one, a JSON array for several."""
    if not values:
        return ""
    return values[0] if len(values) == 1 else compact_json(list(values))


def _running_services(md: MetadataState, pod: PodInfo | None) -> list[tuple[str, str]]:
    if pod is None:
        return []
    found = []
    for sid in md.service_ids_of_pod(pod.uid):
        service = md.service(sid)
        if service is not None and service.stop_time_ns == 0:
            found.append((sid, service.qualified_name))
    return found


def _service_names(md: MetadataState, pod: PodInfo | None) -> str:
    return _stringify([name for _, name in _running_services(md, pod)])


def _service_ids(md: MetadataState, pod: PodInfo | None) -> str:
    return _stringify([sid for sid, _ in _running_services(md, pod)])


def _pod_status(pod: PodInfo | None) -> str:
    if pod is None:
        status = {"phase": "Unknown", "message": "", "reason": "", "ready": False}
    else:
        status = {
            "phase": pod.phase,
            "message": pod.message,
            "reason": pod.reason,
            "ready": pod.ready,
        }
    return compact_json(status)


def _container_status(container: ContainerInfo | None) -> str:
    if container is None:
        return compact_json({"state": "Unknown", "message": "", "reason": ""})
    return compact_json(
        {"state": container.state, "message": container.message, "reason": container.reason}
    )


def _owner_refs(refs: Sequence[OwnerReference] | None) -> str:
    if refs is None:
        return ""
    return compact_json(
        [compact_json({"uid": r.uid, "kind": r.kind, "name": r.name}) for r in refs]
    )


def _pod_prop(pod: PodInfo | None, md: MetadataState, prop: str) -> Any:
    """One named property of a pod (or its owners/services); the empty value when unknown."""
    if prop == "status":
        return _pod_status(pod)
    if prop in ("start_time", "stop_time"):
        if pod is None:
            return 0
        return pod.start_time_ns if prop == "start_time" else pod.stop_time_ns
    if prop == "service_name":
        return _service_names(md, pod)
    if prop == "service_id":
        return _service_ids(md, pod)
    if pod is None:
        return ""
    if prop.startswith(("replicaset_", "deployment_")):
        rs = _replicaset_of_pod(md, pod)
        if prop.startswith("replicaset_"):
            if rs is None:
                return ""
            return rs.uid if prop == "replicaset_id" else rs.qualified_name
        dep = _deployment_of_replicaset(md, rs)
        if dep is None:
            return ""
        return dep.uid if prop == "deployment_id" else dep.qualified_name
    simple: dict[str, Callable[[PodInfo], str]] = {
        "pod_id": lambda p: p.uid,
        "pod_name": lambda p: p.qualified_name,
        "namespace": lambda p: p.namespace,
        "node_name": lambda p: p.node_name,
        "hostname": lambda p: p.hostname,
        "pod_ip": lambda p: p.pod_ip,
        "pod_labels": lambda p: p.labels_json,
        "owner_references": lambda p: _owner_refs(p.owner_references),
        "pod_qos": lambda p: p.qos_class,
    }
    return simple[prop](pod)


def _upid_prop(md: MetadataState, upid: bytes, prop: str) -> Any:
    if prop == "cmdline":
        process = md.process(_upid_int(upid))
        return process.cmdline if process else ""
    if prop == "container_id":
        process = md.process(_upid_int(upid))
        return process.container_id if process else ""
    if prop == "container_name":
        container = _container_of_upid(md, upid)
        return container.name if container else ""
    pod = _pod_of_upid(md, upid)
    if prop == "pod_status":
        return _pod_status(pod)
    if prop.startswith(("replicaset_", "deployment_")):
        rs = _replicaset_of_pod(md, pod)
        # Only owners that still run count, as in Pixie.
        if rs is None or rs.stop_time_ns != 0:
            return ""
        if prop.startswith("replicaset_"):
            return rs.uid if prop == "replicaset_id" else rs.qualified_name
        dep = _deployment_of_replicaset(md, rs)
        if dep is None or dep.stop_time_ns != 0:
            return ""
        return dep.uid if prop == "deployment_id" else dep.qualified_name
    return _pod_prop(pod, md, prop)


def _rs_prop(md: MetadataState, rs: ReplicaSetInfo | None, prop: str) -> Any:
    if prop in ("start_time", "stop_time"):
        if rs is None:
            return 0
        return rs.start_time_ns if prop == "start_time" else rs.stop_time_ns
    if rs is None:
        return ""
    if prop.startswith("deployment_"):
        dep = _deployment_of_replicaset(md, rs)
        if dep is None:
            return ""
        return dep.uid if prop == "deployment_id" else dep.qualified_name
    return {
        "replicaset_id": rs.uid,
        "replicaset_name": rs.qualified_name,
        "namespace": rs.namespace,
        "owner_references": _owner_refs(rs.owner_references),
        "status": rs.status_json,
    }[prop]


def _dep_prop(dep: DeploymentInfo | None, prop: str) -> Any:
    if prop in ("start_time", "stop_time"):
        if dep is None:
            return 0
        return dep.start_time_ns if prop == "start_time" else dep.stop_time_ns
    if dep is None:
        return ""
    return {
        "deployment_id": dep.uid,
        "deployment_name": dep.qualified_name,
        "namespace": dep.namespace,
        "status": dep.status_json,
    }[prop]


def _equals_or_array_contains(container: str, value: str) -> bool:
    try:
        doc = json.loads(container)
    except json.JSONDecodeError:
        return container == value
    if not isinstance(doc, list):
        return container == value
    for item in doc:
        if not isinstance(item, str):
            return False
        if item == value:
            return True
    return False


# ------------------------------------------------------------------ vectorised UPID fields


def _upid_words(upids: pa.Array) -> Any:
    """The UPID column as an (n, 2) array of big-endian uint64 (high, low), zero-copy."""
    data = upids.buffers()[1]
    words = np.frombuffer(data, dtype=">u8", count=2 * len(upids), offset=16 * upids.offset)
    return words.reshape(-1, 2)


def _upid_field(upid: Any, pick: Callable[[Any, Any], Any], out: pa.DataType) -> Arg:
    upid = norm(upid)
    if isinstance(upid, pa.Scalar):
        value = _upid_int(upid.as_py())
        high, low = np.uint64(value >> 64), np.uint64(value & (2**64 - 1))
        return pa.scalar(int(np.asarray(pick(high, low)).astype(np.int64)), out)
    if len(upid) == 0:
        return pa.array([], out)
    words = _upid_words(upid)
    values = np.asarray(pick(words[:, 0], words[:, 1])).astype(np.int64)
    result = pa.array(values, pa.int64())
    return result.view(out) if out != pa.int64() else result


def _upid_to_asid(_: FunctionContext, upid: Any) -> Arg:
    return _upid_field(upid, lambda hi, lo: hi >> np.uint64(32), pa.int64())


def _upid_to_pid(_: FunctionContext, upid: Any) -> Arg:
    return _upid_field(upid, lambda hi, lo: hi & np.uint64(0xFFFFFFFF), pa.int64())


def _upid_to_start_ts(_: FunctionContext, upid: Any) -> Arg:
    return _upid_field(upid, lambda hi, lo: lo.astype(np.int64), pa.timestamp("ns"))


def _upid_to_string(_: FunctionContext, upid: Any) -> Arg:
    return map_distinct(
        lambda v: str(UPID.from_int(_upid_int(v))), norm(upid), pa.string(), dictionary=True
    )


def _make_upid_array(asid: Any, pid: Any, start: Any, n: int | None) -> Arg:
    with np.errstate(all="ignore"):
        hi = (np.asarray(asid).astype(np.uint64) << np.uint64(32)) | (
            np.asarray(pid).astype(np.uint64) & np.uint64(0xFFFFFFFF)
        )
        lo = np.asarray(start).astype(np.int64).astype(np.uint64)
    if n is None:
        return pa.scalar((int(hi) << 64 | int(lo)).to_bytes(16, "big"), pa.binary(16))
    words = np.empty((n, 2), dtype=">u8")
    words[:, 0] = hi
    words[:, 1] = lo
    return pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(16), n, [None, pa.py_buffer(words.tobytes())]
    )


def _ints(value: Arg) -> Any:
    value = as_int(value)
    if isinstance(value, pa.Array):
        return value.to_numpy(zero_copy_only=False)
    return np.int64(value.as_py())


def _upid_ctor(ctx: FunctionContext, pid: Any, start: Any) -> Arg:
    pid, start = norm(pid), norm(start)
    return _make_upid_array(
        ctx.metadata.asid(), _ints(pid), _ints(start), batch_length([pid, start])
    )


def _upid_ctor_asid(_: FunctionContext, asid: Any, pid: Any, start: Any) -> Arg:
    args = [norm(asid), norm(pid), norm(start)]
    asid_v, pid_v, start_v = (_ints(a) for a in args)
    return _make_upid_array(asid_v, pid_v, start_v, batch_length(args))


# ------------------------------------------------------------------ IP lookups


def _ip_to_pod_id(ctx: FunctionContext, ip: Any) -> Arg:
    md = ctx.metadata
    return map_distinct(lambda v: md.pod_id_by_ip(v), norm(ip), pa.string(), dictionary=True)


def _ip_to_pod_id_at(ctx: FunctionContext, ip: Any, time: Any) -> Arg:
    md = ctx.metadata
    return map_rows(md.pod_id_by_ip, [norm(ip), as_int(norm(time))], pa.string())


def _service_id_of_ip(md: MetadataState, ip: str) -> str:
    sid = md.service_id_by_cluster_ip(ip)
    if sid:
        return sid
    pod_id = md.pod_id_by_ip(ip)
    return _service_ids(md, md.pod(pod_id)) if pod_id else ""


def _ip_to_service_id(ctx: FunctionContext, ip: Any) -> Arg:
    md = ctx.metadata
    return map_distinct(lambda v: _service_id_of_ip(md, v), norm(ip), pa.string(), dictionary=True)


def _pod_name_with_fallback(ctx: FunctionContext, upid: Any, local_addr: Any, time: Any) -> Arg:
    md = ctx.metadata
    upid, local_addr, time = norm(upid), norm(local_addr), as_int(norm(time))

    def by_address(ip: str, t: int) -> str:
        pod = md.pod(md.pod_id_by_ip(ip, t))
        return pod.qualified_name if pod else ""

    names = map_distinct(lambda v: _upid_prop(md, v, "pod_name"), upid, pa.string())
    if isinstance(names, pa.Scalar) and batch_length([local_addr, time]) is None:
        return names if names.as_py() else pa.scalar(by_address(local_addr.as_py(), time.as_py()))
    n = batch_length([upid, local_addr, time])
    assert n is not None
    if isinstance(names, pa.Scalar):
        names = pa.array([names.as_py()] * n, pa.string())
    missing = pc.equal(names, "")
    if not pc.any(missing).as_py():
        return names
    pick = [pc.filter(a, missing) if isinstance(a, pa.Array) else a for a in (local_addr, time)]
    return pc.replace_with_mask(names, missing, map_rows(by_address, pick, pa.string()))


# ------------------------------------------------------------------ registration


def _bind(
    prop: str, compute: Callable[[MetadataState, Any, str], Any]
) -> Callable[[MetadataState, Any], Any]:
    """Fix the property name of a ``compute(md, key, prop)`` lookup."""

    def bound(md: MetadataState, key: Any) -> Any:
        return compute(md, key, prop)

    return bound


def _keyed(
    compute: Callable[[MetadataState, Any], Any], out: DataType
) -> Callable[[FunctionContext, Any], Arg]:
    def run(ctx: FunctionContext, key: Any) -> Arg:
        md = ctx.metadata
        # STRING results stay dictionary-encoded: the engine groups on them cheaply.
        return map_distinct(
            lambda v: compute(md, v), norm(key), _ARROW[out], dictionary=out is DataType.STRING
        )

    return run


def _nullary(compute: Callable[[FunctionContext], Any], out: DataType) -> Callable[..., Arg]:
    def run(ctx: FunctionContext) -> Arg:
        return pa.scalar(compute(ctx), _ARROW[out])

    return run


_PROP_SEMANTIC: dict[str, SemanticRule] = {
    "pod_name": ST.ST_POD_NAME,
    "namespace": ST.ST_NAMESPACE_NAME,
    "node_name": ST.ST_NODE_NAME,
    "service_name": ST.ST_SERVICE_NAME,
    "container_name": ST.ST_CONTAINER_NAME,
    "pod_status": ST.ST_POD_STATUS,
    "status": ST.ST_POD_STATUS,
    "start_time": ST.ST_TIME_NS,
    "stop_time": ST.ST_TIME_NS,
    "pod_ip": ST.ST_IP_ADDRESS,
}


def _ret(prop: str) -> DataType:
    return T if prop in ("start_time", "stop_time") else S


def _doc(what: str, key: str, example: str) -> str:
    return f"{what} from {key} ('' or 0 when unknown). Example: {example}"


def _reg(
    registry: Registry,
    name: str,
    args: Sequence[DataType],
    ret: DataType,
    fn: Callable[..., Arg],
    doc: str,
    semantic: SemanticRule | None = None,
) -> None:
    registry.register_scalar(name, args, ret, fn, doc, semantic=semantic)


def register(registry: Registry) -> None:
    """Every metadata function: by UPID, pod, replica set, deployment, container, service, IP."""
    _register_upid(registry)
    _register_pod_id(registry)
    _register_pod_name(registry)
    _register_replica_sets(registry)
    _register_deployments(registry)
    _register_containers(registry)
    _register_services(registry)
    _register_ips(registry)
    _register_membership(registry)
    _register_upid_constructors(registry)
    _register_agent_facts(registry)


def _register_upid(registry: Registry) -> None:
    """UPID parts, and every process property keyed by UPID."""
    _reg(
        registry,
        "upid_to_asid",
        (U,),
        I,
        _upid_to_asid,
        _doc("Agent short id", "a UPID", "px.upid_to_asid(df.upid)"),
        ST.ST_ASID,
    )
    _reg(
        registry,
        "upid_to_pid",
        (U,),
        I,
        _upid_to_pid,
        _doc("Process id", "a UPID", "px.upid_to_pid(df.upid)"),
    )
    _reg(
        registry,
        "upid_to_start_ts",
        (U,),
        T,
        _upid_to_start_ts,
        _doc("Process start time", "a UPID", "px.upid_to_start_ts(df.upid)"),
    )
    _reg(
        registry,
        "upid_to_string",
        (U,),
        S,
        _upid_to_string,
        _doc("'asid:pid:start' text", "a UPID", "px.upid_to_string(df.upid)"),
    )
    for prop in (
        "cmdline", "container_id", "container_name", "pod_id", "pod_name", "namespace",
        "node_name", "hostname", "service_id", "service_name", "pod_status", "pod_qos",
        "replicaset_id", "replicaset_name", "deployment_id", "deployment_name",
    ):  # fmt: skip
        _reg(
            registry,
            f"upid_to_{prop}",
            (U,),
            S,
            _keyed(_bind(prop, lambda md, v, p: _upid_prop(md, v, p)), S),
            _doc(prop.replace("_", " "), "a UPID", f"df.{prop} = px.upid_to_{prop}(df.upid)"),
            _PROP_SEMANTIC.get(prop),
        )


def _register_pod_id(registry: Registry) -> None:
    """Pod properties keyed by pod id."""
    for prop in (
        "pod_name", "namespace", "node_name", "service_name", "service_id", "start_time",
        "stop_time", "pod_labels", "owner_references", "replicaset_id", "replicaset_name",
        "deployment_id", "deployment_name",
    ):  # fmt: skip
        _reg(
            registry,
            f"pod_id_to_{prop}",
            (S,),
            _ret(prop),
            _keyed(_bind(prop, lambda md, v, p: _pod_prop(md.pod(v), md, p)), _ret(prop)),
            _doc(prop.replace("_", " "), "a pod id", f"df.x = px.pod_id_to_{prop}(df.pod_id)"),
            _PROP_SEMANTIC.get(prop),
        )


def _register_pod_name(registry: Registry) -> None:
    """Pod properties keyed by pod name ('ns/name')."""
    for prop in (
        "pod_id", "pod_ip", "service_name", "service_id", "start_time", "stop_time", "status",
        "owner_references", "replicaset_id", "replicaset_name", "deployment_id",
        "deployment_name",
    ):  # fmt: skip
        _reg(
            registry,
            f"pod_name_to_{prop}",
            (S,),
            _ret(prop),
            _keyed(_bind(prop, lambda md, v, p: _pod_prop(_pod_of_name(md, v), md, p)), _ret(prop)),
            _doc(prop.replace("_", " "), "a pod name 'ns/name'", f"px.pod_name_to_{prop}(df.pod)"),
            _PROP_SEMANTIC.get(prop),
        )
    _reg(
        registry,
        "pod_name_to_namespace",
        (S,),
        S,
        _keyed(lambda md, v: (_split_name(v) or ("", ""))[0], S),
        _doc(
            "Namespace", "a pod name 'ns/name'", "px.pod_name_to_namespace('pl/kelvin') gives 'pl'"
        ),
        ST.ST_NAMESPACE_NAME,
    )


_RS_PROPS = (
    "deployment_id", "deployment_name", "namespace", "owner_references", "start_time",
    "status", "stop_time",
)  # fmt: skip


def _register_replica_sets(registry: Registry) -> None:
    """Replica sets, by id and by 'ns/name'."""
    for prop in (*_RS_PROPS, "replicaset_name"):
        _reg(
            registry,
            f"replicaset_id_to_{prop}",
            (S,),
            _ret(prop),
            _keyed(_bind(prop, lambda md, v, p: _rs_prop(md, md.replicaset(v), p)), _ret(prop)),
            _doc(
                prop.replace("_", " "), "a replica set id", f"px.replicaset_id_to_{prop}(df.rs_id)"
            ),
        )
    for prop in (*_RS_PROPS, "replicaset_id"):
        _reg(
            registry,
            f"replicaset_name_to_{prop}",
            (S,),
            _ret(prop),
            _keyed(
                _bind(prop, lambda md, v, p: _rs_prop(md, _replicaset_of_name(md, v), p)),
                _ret(prop),
            ),
            _doc(
                prop.replace("_", " "),
                "a replica set 'ns/name'",
                f"px.replicaset_name_to_{prop}(df.rs)",
            ),
        )


def _register_deployments(registry: Registry) -> None:
    """Deployments, by id and by 'ns/name'."""
    for prop in ("deployment_name", "namespace", "start_time", "status", "stop_time"):
        _reg(
            registry,
            f"deployment_id_to_{prop}",
            (S,),
            _ret(prop),
            _keyed(_bind(prop, lambda md, v, p: _dep_prop(md.deployment(v), p)), _ret(prop)),
            _doc(
                prop.replace("_", " "), "a deployment id", f"px.deployment_id_to_{prop}(df.dep_id)"
            ),
        )
    for prop in ("deployment_id", "namespace", "start_time", "status", "stop_time"):
        _reg(
            registry,
            f"deployment_name_to_{prop}",
            (S,),
            _ret(prop),
            _keyed(
                _bind(prop, lambda md, v, p: _dep_prop(_deployment_of_name(md, v), p)), _ret(prop)
            ),
            _doc(
                prop.replace("_", " "),
                "a deployment 'ns/name'",
                f"px.deployment_name_to_{prop}(df.dep)",
            ),
        )


def _container_time(c: ContainerInfo | None, prop: str) -> int:
    if c is None:
        return 0
    return c.start_time_ns if prop == "start_time" else c.stop_time_ns


def _register_containers(registry: Registry) -> None:
    """Containers: status and times by id, times and id by name."""
    _reg(
        registry,
        "container_id_to_status",
        (S,),
        S,
        _keyed(lambda md, v: _container_status(md.container(v)), S),
        _doc(
            "JSON {state, message, reason}", "a container id", "px.container_id_to_status(df.cid)"
        ),
        ST.ST_CONTAINER_STATUS,
    )
    for prop in ("start_time", "stop_time"):
        _reg(
            registry,
            f"container_id_to_{prop}",
            (S,),
            T,
            _keyed(_bind(prop, lambda md, v, p: _container_time(md.container(v), p)), T),
            _doc(prop.replace("_", " "), "a container id", f"px.container_id_to_{prop}(df.cid)"),
            ST.ST_TIME_NS,
        )
        _reg(
            registry,
            f"container_name_to_{prop}",
            (S,),
            T,
            _keyed(
                _bind(
                    prop,
                    lambda md, v, p: _container_time(md.container(md.container_id_by_name(v)), p),
                ),
                T,
            ),
            _doc(prop.replace("_", " "), "a container name", f"px.container_name_to_{prop}(df.c)"),
            ST.ST_TIME_NS,
        )
    _reg(
        registry,
        "container_name_to_container_id",
        (S,),
        S,
        _keyed(lambda md, v: md.container_id_by_name(v), S),
        _doc("Container id", "a container name", "px.container_name_to_container_id(df.c)"),
    )


def _service_prop(md: MetadataState, sid: str, prop: str) -> str:
    service = md.service(sid)
    if service is None:
        return ""
    if prop == "service_name":
        return service.qualified_name
    if prop == "cluster_ip":
        return service.cluster_ip
    return compact_json(list(service.external_ips))


def _service_id_of_name(md: MetadataState, name: str) -> str:
    parts = _split_name(name)
    return md.service_id_by_name(*parts) if parts else ""


def _register_services(registry: Registry) -> None:
    """Services by id and by 'ns/name', and namespaces by name."""
    for prop, semantic in (
        ("service_name", ST.ST_SERVICE_NAME),
        ("cluster_ip", ST.ST_IP_ADDRESS),
        ("external_ips", None),
    ):
        _reg(
            registry,
            f"service_id_to_{prop}",
            (S,),
            S,
            _keyed(_bind(prop, lambda md, v, p: _service_prop(md, v, p)), S),
            _doc(prop.replace("_", " "), "a service id", f"px.service_id_to_{prop}(df.service_id)"),
            semantic,
        )

    _reg(
        registry,
        "service_name_to_service_id",
        (S,),
        S,
        _keyed(_service_id_of_name, S),
        _doc("Service id", "a service 'ns/name'", "px.service_name_to_service_id(df.service)"),
    )
    _reg(
        registry,
        "service_name_to_namespace",
        (S,),
        S,
        _keyed(lambda md, v: (_split_name(v) or ("", ""))[0], S),
        _doc(
            "Namespace",
            "a service 'ns/name'",
            "px.service_name_to_namespace('pl/kelvin') gives 'pl'",
        ),
        ST.ST_NAMESPACE_NAME,
    )
    _reg(
        registry,
        "namespace_name_to_namespace_id",
        (S,),
        S,
        _keyed(lambda md, v: md.namespace_id(v), S),
        _doc(
            "Namespace uid", "a namespace name", "px.namespace_name_to_namespace_id('kube-system')"
        ),
    )


def _register_ips(registry: Registry) -> None:
    """Pods and services by IP address (optionally at a time)."""
    _reg(
        registry,
        "ip_to_pod_id",
        (S,),
        S,
        _ip_to_pod_id,
        _doc("Pod id", "a pod IP", "df.pod_id = px.ip_to_pod_id(df.remote_addr)"),
    )
    _reg(
        registry,
        "ip_to_pod_id",
        (S, T),
        S,
        _ip_to_pod_id_at,
        _doc(
            "Pod id holding the IP at a time",
            "an IP and time",
            "px.ip_to_pod_id(df.remote_addr, df.time_)",
        ),
    )
    _reg(
        registry,
        "ip_to_service_id",
        (S,),
        S,
        _ip_to_service_id,
        _doc(
            "Service id (cluster IP, else the pod's services)",
            "an IP",
            "px.ip_to_service_id(df.remote_addr)",
        ),
    )
    _reg(
        registry,
        "_upid_to_podname_local_addr_fallback",
        (U, S, T),
        S,
        _pod_name_with_fallback,
        _doc(
            "Pod name of the UPID, else of the pod holding local_addr at time_",
            "a UPID, local address and time",
            "px._upid_to_podname_local_addr_fallback(df.upid, df.local_addr, df.time_)",
        ),
        ST.ST_POD_NAME,
    )


def _register_membership(registry: Registry) -> None:
    """has_service_name/has_service_id/has_value: equality or JSON-array membership."""
    for name, what in (
        ("has_service_name", "a service name"),
        ("has_service_id", "a service id"),
        ("has_value", "a value"),
    ):
        _reg(
            registry,
            name,
            (S, S),
            B,
            lambda _ctx, a, b: map_rows(_equals_or_array_contains, [norm(a), norm(b)], pa.bool_()),
            f"Whether {what} equals the first argument or is in it when that is a JSON array. "
            f"Example: df[px.{name}(df.ctx['service'], 'pl/kelvin')]",
        )


def _register_upid_constructors(registry: Registry) -> None:
    """``px.upid(pid, start)`` on this agent and ``px.upid(asid, pid, start)``."""
    _reg(
        registry,
        "upid",
        (I, I),
        U,
        _upid_ctor,
        "A UPID from pid and start time on this agent. "
        "Example: df.upid = px.upid(df.pid, df.start)",
        ST.ST_UPID,
    )
    _reg(
        registry,
        "upid",
        (I, I, I),
        U,
        _upid_ctor_asid,
        "A UPID from asid, pid and start time. Example: px.upid(px.asid(), df.pid, df.start)",
        ST.ST_UPID,
    )


def _register_agent_facts(registry: Registry) -> None:
    """This agent and its cluster: asid, host, CPUs, vizier id/name/namespace, CIDRs."""
    _reg(
        registry,
        "asid",
        (),
        I,
        _nullary(lambda c: c.metadata.asid(), I),
        "This agent's short id. Example: df.asid = px.asid()",
        ST.ST_ASID,
    )
    _reg(
        registry,
        "_exec_hostname",
        (),
        S,
        _nullary(lambda c: c.hostname or c.metadata.hostname(), S),
        "Hostname of the agent running the query. Example: df.host = px._exec_hostname()",
    )
    _reg(
        registry,
        "_exec_host_num_cpus",
        (),
        I,
        _nullary(lambda c: c.num_cpus, I),
        "CPU count of the agent running the query. Example: df.cpus = px._exec_host_num_cpus()",
    )
    _reg(
        registry,
        "vizier_id",
        (),
        S,
        _nullary(lambda c: c.metadata.vizier_id(), S),
        "Cluster (vizier) id. Example: px.vizier_id()",
    )
    _reg(
        registry,
        "vizier_name",
        (),
        S,
        _nullary(lambda c: c.metadata.vizier_name(), S),
        "Cluster (vizier) name. Example: px.vizier_name()",
    )
    _reg(
        registry,
        "vizier_namespace",
        (),
        S,
        _nullary(lambda c: c.metadata.vizier_namespace(), S),
        "Namespace vizier runs in. Example: px.vizier_namespace()",
    )
    _reg(
        registry,
        "get_cidrs",
        (),
        S,
        _nullary(_cidrs, S),
        "Pod and service CIDRs as a JSON array. Example: px.get_cidrs()",
    )


def _cidrs(ctx: FunctionContext) -> str:
    md = ctx.metadata
    cidrs = set(md.pod_cidrs())
    service = md.service_cidr()
    if service:
        cidrs.add(service)
    return compact_json(sorted(cidrs))
