"""The Kubernetes provider: a watch of pods, services, endpoints, namespaces, nodes,
replica sets and deployments (with the owner references that link pods to them).

`KubeTranslator.handle` turns one watch event (the API object as JSON, the shape of `kubectl
get -o json`) into `MetadataUpdate`s; `WatchEventSource` runs the official client's list+watch
loops (one thread per kind) and yields those events. The source is injectable, so tests feed
recorded objects through the same handler without an API server.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, Final, Protocol

from pyxie_proto.vizier.messagespb import messages_pb2 as msgs
from pyxie_service import get_logger

from pyxie_metadata.providers._base import ScopedUpdate, UpdateSink

__all__ = [
    "WATCHED_KINDS",
    "KubeEvent",
    "KubeEventSource",
    "KubeTranslator",
    "KubernetesProvider",
    "ListFunction",
    "WatchEventSource",
    "kube_list_functions",
    "parse_kube_time",
]

WATCHED_KINDS: Final = (
    "Namespace",
    "Node",
    "Pod",
    "Endpoints",
    "Service",
    "ReplicaSet",
    "Deployment",
)
_HTTP_GONE: Final = 410
# After a failed list/watch: retry soon, back off to a ceiling (an API server restart).
_RETRY_INITIAL_SECONDS: Final = 1.0
_RETRY_MAX_SECONDS: Final = 30.0
# The API server ends each watch after this; the loop then resumes from the last version.
_WATCH_TIMEOUT_SECONDS: Final = 300
# Container ids carry the runtime as a scheme: `containerd://<id>`.
_CONTAINER_ID_SCHEME: Final = "://"

_log = get_logger("pyxie.metadata.kubernetes")

JsonObject = Mapping[str, Any]
ListFunction = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class KubeEvent:
    kind: str
    # ADDED, MODIFIED or DELETED.
    type: str
    object: JsonObject


class KubeEventSource(Protocol):
    def events(self) -> AsyncIterator[KubeEvent]: ...

    async def close(self) -> None: ...


def parse_kube_time(value: str | None) -> int:
    """RFC 3339 (`2024-05-01T10:00:00Z`) -> Unix ns; 0 when absent."""
    if not value:
        return 0
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return int(parsed.timestamp()) * 1_000_000_000 + parsed.microsecond * 1000


def _meta(obj: JsonObject) -> JsonObject:
    meta: JsonObject = obj.get("metadata") or {}
    return meta


def _stop_ns(obj: JsonObject, event_type: str, now_ns: int) -> int:
    stop = parse_kube_time(_meta(obj).get("deletionTimestamp"))
    if event_type == "DELETED" and not stop:
        return now_ns
    return stop


def _owners(obj: JsonObject) -> list[msgs.OwnerReference]:
    return [
        msgs.OwnerReference(kind=o.get("kind", ""), name=o.get("name", ""), uid=o.get("uid", ""))
        for o in _meta(obj).get("ownerReferences") or []
    ]


def _strip_runtime(container_id: str) -> str:
    _scheme, sep, bare = container_id.partition(_CONTAINER_ID_SCHEME)
    return bare if sep else container_id


class KubeTranslator:
    """Watch events -> updates. Keeps services and endpoints to join them (pod ids)."""

    def __init__(self, *, wall_clock_ns: Callable[[], int] = time.time_ns) -> None:
        self._wall_clock_ns = wall_clock_ns
        # (namespace, name) -> the latest Service object / pod ids of its Endpoints.
        self._services: dict[tuple[str, str], JsonObject] = {}
        self._endpoint_pods: dict[tuple[str, str], list[str]] = {}

    def handle(self, event: KubeEvent) -> list[ScopedUpdate]:
        if event.type not in ("ADDED", "MODIFIED", "DELETED"):
            return []
        handler = {
            "Pod": self._pod,
            "Service": self._service,
            "Endpoints": self._endpoints,
            "Namespace": self._namespace,
            "Node": self._node,
            "ReplicaSet": self._replica_set,
            "Deployment": self._deployment,
        }.get(event.kind)
        if handler is None:
            return []
        return handler(event.object, event.type)

    def _pod(self, obj: JsonObject, event_type: str) -> list[ScopedUpdate]:
        meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
        now = self._wall_clock_ns()
        stop = _stop_ns(obj, event_type, now)
        uid, namespace = meta.get("uid", ""), meta.get("namespace", "")
        statuses = [
            *(status.get("initContainerStatuses") or []),
            *(status.get("containerStatuses") or []),
        ]
        conditions = status.get("conditions") or []
        pod = msgs.PodUpdate(
            uid=uid,
            name=meta.get("name", ""),
            namespace=namespace,
            node_name=spec.get("nodeName", ""),
            hostname=spec.get("hostname", ""),
            pod_ip=status.get("podIP", ""),
            start_timestamp_ns=parse_kube_time(meta.get("creationTimestamp")),
            stop_timestamp_ns=stop,
            phase=status.get("phase", ""),
            message=status.get("message", ""),
            reason=status.get("reason", ""),
            ready=any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions),
            container_ids=[
                _strip_runtime(s["containerID"]) for s in statuses if s.get("containerID")
            ],
            container_names=[s.get("name", "") for s in statuses if s.get("containerID")],
            labels=dict(meta.get("labels") or {}),
            owner_references=_owners(obj),
        )
        selectors = tuple(dict.fromkeys(s for s in (status.get("hostIP", ""), pod.node_name) if s))
        updates = [ScopedUpdate(msgs.MetadataUpdate(pod=pod), selectors)]
        for container in statuses:
            if not container.get("containerID"):
                continue  # not started yet: no id to report
            updates.append(
                ScopedUpdate(
                    msgs.MetadataUpdate(container=self._container(container, uid, namespace, stop)),
                    selectors,
                )
            )
        return updates

    @staticmethod
    def _container(
        container: JsonObject, pod_uid: str, namespace: str, pod_stop_ns: int
    ) -> msgs.ContainerUpdate:
        state: JsonObject = container.get("state") or {}
        running, terminated = state.get("running"), state.get("terminated")
        if terminated is not None:
            phase = "Terminated"
            start = parse_kube_time(terminated.get("startedAt"))
            stop = parse_kube_time(terminated.get("finishedAt")) or pod_stop_ns
        elif running is not None:
            phase, start, stop = "Running", parse_kube_time(running.get("startedAt")), pod_stop_ns
        else:
            phase, start, stop = "Waiting", 0, pod_stop_ns
        if pod_stop_ns and phase != "Terminated":
            phase = "Terminated"
        return msgs.ContainerUpdate(
            cid=_strip_runtime(container.get("containerID", "")),
            name=container.get("name", ""),
            pod_id=pod_uid,
            namespace=namespace,
            start_timestamp_ns=start,
            stop_timestamp_ns=stop,
            state=phase,
        )

    def _service(self, obj: JsonObject, event_type: str) -> list[ScopedUpdate]:
        meta = _meta(obj)
        key = (meta.get("namespace", ""), meta.get("name", ""))
        if event_type == "DELETED":
            self._services.pop(key, None)
        else:
            self._services[key] = obj
        return [self._service_update(obj, event_type)]

    def _endpoints(self, obj: JsonObject, event_type: str) -> list[ScopedUpdate]:
        meta = _meta(obj)
        key = (meta.get("namespace", ""), meta.get("name", ""))
        if event_type == "DELETED":
            self._endpoint_pods.pop(key, None)
        else:
            pods: list[str] = []
            for subset in obj.get("subsets") or []:
                for address in subset.get("addresses") or []:
                    target = address.get("targetRef") or {}
                    if target.get("kind") == "Pod" and target.get("uid"):
                        pods.append(target["uid"])
            self._endpoint_pods[key] = sorted(set(pods))
        service = self._services.get(key)
        # Endpoints without their Service yet: the Service event will carry the pods.
        return [] if service is None else [self._service_update(service, "MODIFIED")]

    def _service_update(self, obj: JsonObject, event_type: str) -> ScopedUpdate:
        meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
        key = (meta.get("namespace", ""), meta.get("name", ""))
        cluster_ip = spec.get("clusterIP", "")
        ingress = (status.get("loadBalancer") or {}).get("ingress") or []
        external = [*(spec.get("externalIPs") or []), *(i["ip"] for i in ingress if i.get("ip"))]
        service = msgs.ServiceUpdate(
            uid=meta.get("uid", ""),
            name=key[1],
            namespace=key[0],
            start_timestamp_ns=parse_kube_time(meta.get("creationTimestamp")),
            stop_timestamp_ns=_stop_ns(obj, event_type, self._wall_clock_ns()),
            pod_ids=[] if event_type == "DELETED" else self._endpoint_pods.get(key, []),
            # Headless services say "None".
            cluster_ip="" if cluster_ip == "None" else cluster_ip,
            external_ips=external,
        )
        return ScopedUpdate(msgs.MetadataUpdate(service=service))

    def _replica_set(self, obj: JsonObject, event_type: str) -> list[ScopedUpdate]:
        meta, status = _meta(obj), obj.get("status") or {}
        rs = msgs.ReplicaSetUpdate(
            uid=meta.get("uid", ""),
            name=meta.get("name", ""),
            namespace=meta.get("namespace", ""),
            start_timestamp_ns=parse_kube_time(meta.get("creationTimestamp")),
            stop_timestamp_ns=_stop_ns(obj, event_type, self._wall_clock_ns()),
            replicas=int(status.get("replicas") or 0),
            ready_replicas=int(status.get("readyReplicas") or 0),
            available_replicas=int(status.get("availableReplicas") or 0),
            owner_references=_owners(obj),
        )
        return [ScopedUpdate(msgs.MetadataUpdate(replica_set=rs))]

    def _deployment(self, obj: JsonObject, event_type: str) -> list[ScopedUpdate]:
        meta, status = _meta(obj), obj.get("status") or {}
        dep = msgs.DeploymentUpdate(
            uid=meta.get("uid", ""),
            name=meta.get("name", ""),
            namespace=meta.get("namespace", ""),
            start_timestamp_ns=parse_kube_time(meta.get("creationTimestamp")),
            stop_timestamp_ns=_stop_ns(obj, event_type, self._wall_clock_ns()),
            replicas=int(status.get("replicas") or 0),
            updated_replicas=int(status.get("updatedReplicas") or 0),
            ready_replicas=int(status.get("readyReplicas") or 0),
            available_replicas=int(status.get("availableReplicas") or 0),
            unavailable_replicas=int(status.get("unavailableReplicas") or 0),
        )
        return [ScopedUpdate(msgs.MetadataUpdate(deployment=dep))]

    def _namespace(self, obj: JsonObject, event_type: str) -> list[ScopedUpdate]:
        meta = _meta(obj)
        namespace = msgs.NamespaceUpdate(
            uid=meta.get("uid", ""),
            name=meta.get("name", ""),
            start_timestamp_ns=parse_kube_time(meta.get("creationTimestamp")),
            stop_timestamp_ns=_stop_ns(obj, event_type, self._wall_clock_ns()),
        )
        return [ScopedUpdate(msgs.MetadataUpdate(namespace=namespace))]

    def _node(self, obj: JsonObject, event_type: str) -> list[ScopedUpdate]:
        meta, status = _meta(obj), obj.get("status") or {}
        internal = [
            a.get("address", "")
            for a in status.get("addresses") or []
            if a.get("type") == "InternalIP"
        ]
        node = msgs.NodeUpdate(
            uid=meta.get("uid", ""),
            name=meta.get("name", ""),
            internal_ip=internal[0] if internal else "",
            start_timestamp_ns=parse_kube_time(meta.get("creationTimestamp")),
            stop_timestamp_ns=_stop_ns(obj, event_type, self._wall_clock_ns()),
        )
        return [ScopedUpdate(msgs.MetadataUpdate(node=node))]


class KubernetesProvider:
    """`MetadataProvider` over a `KubeEventSource`."""

    name = "kubernetes"

    def __init__(self, source: KubeEventSource, translator: KubeTranslator | None = None) -> None:
        self._source = source
        self._translator = KubeTranslator() if translator is None else translator

    async def run(self, sink: UpdateSink) -> None:
        try:
            async for event in self._source.events():
                updates = self._translator.handle(event)
                if updates:
                    await sink(updates)
        finally:
            await self._source.close()


class WatchEventSource:
    """List+watch loops of the official client, one daemon thread per kind.

    Each loop lists (emitting ADDED for every object and DELETED for objects that vanished
    while it was not watching), then watches from the list's resourceVersion, resuming after
    each server timeout; a 410 Gone starts over with a list, as informers do.
    """

    def __init__(
        self,
        list_functions: Sequence[tuple[str, ListFunction]],
        *,
        watch_factory: Callable[[], Any] | None = None,
        watch_timeout_seconds: int = _WATCH_TIMEOUT_SECONDS,
    ) -> None:
        if watch_factory is None:
            from kubernetes import watch

            watch_factory = watch.Watch
        self._list_functions = list(list_functions)
        self._watch_factory = watch_factory
        self._watch_timeout = watch_timeout_seconds
        self._stopped = threading.Event()
        self._watches: list[Any] = []
        self._threads: list[threading.Thread] = []

    async def events(self) -> AsyncIterator[KubeEvent]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[KubeEvent] = asyncio.Queue()

        def emit(event: KubeEvent) -> None:
            if not self._stopped.is_set():
                loop.call_soon_threadsafe(queue.put_nowait, event)

        for kind, list_function in self._list_functions:
            thread = threading.Thread(
                target=self._loop,
                args=(kind, list_function, emit),
                name=f"kube-watch-{kind}",
                daemon=True,
            )
            self._threads.append(thread)
            thread.start()
        while True:
            yield await queue.get()

    async def close(self) -> None:
        self._stopped.set()
        for active in list(self._watches):
            active.stop()

    def _loop(
        self, kind: str, list_function: ListFunction, emit: Callable[[KubeEvent], None]
    ) -> None:
        from kubernetes.client.exceptions import ApiException

        known: dict[str, JsonObject] = {}
        resource_version: str | None = None
        delay = _RETRY_INITIAL_SECONDS
        while not self._stopped.is_set():
            try:
                if resource_version is None:
                    resource_version = self._relist(kind, list_function, known, emit)
                resource_version = self._watch(kind, list_function, resource_version, known, emit)
                delay = _RETRY_INITIAL_SECONDS
            except ApiException as exc:
                if exc.status == _HTTP_GONE:
                    resource_version = None
                    continue
                _log.warning(
                    "kubernetes watch failed", kind=kind, status=exc.status, reason=exc.reason
                )
            except Exception as exc:
                _log.warning("kubernetes watch failed", kind=kind, error=repr(exc))
            if self._stopped.wait(delay):
                return
            delay = min(delay * 2, _RETRY_MAX_SECONDS)

    def _relist(
        self,
        kind: str,
        list_function: ListFunction,
        known: dict[str, JsonObject],
        emit: Callable[[KubeEvent], None],
    ) -> str:
        response = list_function(_preload_content=False)
        try:
            listed = json.loads(response.data)
        finally:
            response.release_conn()
        items: list[JsonObject] = listed.get("items") or []
        current = {_meta(item).get("uid", ""): item for item in items}
        for uid in [uid for uid in known if uid not in current]:
            emit(KubeEvent(kind, "DELETED", known.pop(uid)))
        for uid, item in current.items():
            known[uid] = item
            emit(KubeEvent(kind, "ADDED", item))
        version: str = _meta(listed).get("resourceVersion", "")
        return version

    def _watch(
        self,
        kind: str,
        list_function: ListFunction,
        resource_version: str,
        known: dict[str, JsonObject],
        emit: Callable[[KubeEvent], None],
    ) -> str:
        watch = self._watch_factory()
        self._watches.append(watch)
        try:
            for event in watch.stream(
                list_function,
                resource_version=resource_version,
                timeout_seconds=self._watch_timeout,
                allow_watch_bookmarks=True,
            ):
                # Not `deserialize=False`: the client's 410 handling then fails on a KeyError.
                obj: JsonObject = event.get("raw_object") or {}
                resource_version = _meta(obj).get("resourceVersion", resource_version)
                event_type = event.get("type", "")
                if event_type == "BOOKMARK":
                    continue
                uid = _meta(obj).get("uid", "")
                if event_type == "DELETED":
                    known.pop(uid, None)
                else:
                    known[uid] = obj
                emit(KubeEvent(kind, event_type, obj))
                if self._stopped.is_set():
                    break
        finally:
            self._watches.remove(watch)
        return resource_version


def kube_list_functions(
    kube_config: Path | None, namespaces: Sequence[str]
) -> list[tuple[str, ListFunction]]:
    """The CoreV1 and AppsV1 list functions to watch, after loading the kubeconfig or the
    in-cluster config."""
    from kubernetes import client, config

    if kube_config is None:
        config.load_incluster_config()  # type: ignore[no-untyped-call]
    else:
        config.load_kube_config(config_file=str(kube_config))  # type: ignore[no-untyped-call]
    core = client.CoreV1Api()
    apps = client.AppsV1Api()
    functions: list[tuple[str, ListFunction]] = [
        ("Namespace", core.list_namespace),
        ("Node", core.list_node),
    ]
    if not namespaces:
        functions += [
            ("Pod", core.list_pod_for_all_namespaces),
            ("Endpoints", core.list_endpoints_for_all_namespaces),
            ("Service", core.list_service_for_all_namespaces),
            ("ReplicaSet", apps.list_replica_set_for_all_namespaces),
            ("Deployment", apps.list_deployment_for_all_namespaces),
        ]
    for namespace in namespaces:
        functions += [
            ("Pod", partial(core.list_namespaced_pod, namespace)),
            ("Endpoints", partial(core.list_namespaced_endpoints, namespace)),
            ("Service", partial(core.list_namespaced_service, namespace)),
            ("ReplicaSet", partial(apps.list_namespaced_replica_set, namespace)),
            ("Deployment", partial(apps.list_namespaced_deployment, namespace)),
        ]
    return functions
