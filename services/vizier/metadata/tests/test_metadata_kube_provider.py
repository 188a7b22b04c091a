"""The Kubernetes provider's event handling, fed with recorded API objects (no API server)."""

from __future__ import annotations

import asyncio
import copy
import json
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pyxie_metadata.controllers import MetadataPublisher
from pyxie_metadata.kvstore import SqliteKVStore
from pyxie_metadata.providers import ScopedUpdate
from pyxie_metadata.providers.kube import (
    KubeEvent,
    KubernetesProvider,
    KubeTranslator,
    WatchEventSource,
    parse_kube_time,
)
from pyxie_metadata.testing import REPLY_WITHIN
from pyxie_proto.vizier.messagespb import messages_pb2 as msgs
from pyxie_service import NatsBus

OBJECTS = Path(__file__).parent / "kube_objects"
NOW_NS = 1_714_650_000_000_000_000
POD_UID = "7a1d5c3e-4b2f-4e8a-9c6d-1e2f3a4b5c6d"


def recorded(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((OBJECTS / f"{name}.json").read_text())
    return loaded


@pytest.fixture
def translator() -> KubeTranslator:
    return KubeTranslator(wall_clock_ns=lambda: NOW_NS)


def kinds(updates: list[ScopedUpdate]) -> list[str]:
    return [scoped.update.WhichOneof("update") or "" for scoped in updates]


def test_parse_kube_time() -> None:
    assert parse_kube_time("2024-05-02T10:21:33Z") == 1_714_645_293_000_000_000
    assert parse_kube_time("2024-05-02T10:21:33.250000Z") == 1_714_645_293_250_000_000
    assert parse_kube_time(None) == 0 and parse_kube_time("") == 0


def test_a_pod_becomes_a_node_scoped_pod_update_and_its_containers(
    translator: KubeTranslator,
) -> None:
    updates = translator.handle(KubeEvent("Pod", "ADDED", recorded("pod")))
    assert kinds(updates) == ["pod", "container", "container"]
    pod = updates[0].update.pod
    assert (pod.uid, pod.name, pod.namespace) == (
        POD_UID,
        "front-end-6f9d8c9b7d-x2kqp",
        "sock-shop",
    )
    assert (pod.node_name, pod.pod_ip, pod.phase, pod.ready) == (
        "gke-demo-pool-1-7f3a",
        "10.4.1.17",
        "Running",
        True,
    )
    assert pod.start_timestamp_ns == parse_kube_time("2024-05-02T10:21:33Z")
    assert pod.stop_timestamp_ns == 0
    assert dict(pod.labels) == {"name": "front-end", "pod-template-hash": "6f9d8c9b7d"}
    assert list(pod.container_names) == ["envoy", "front-end"]
    assert (
        pod.container_ids[1] == "4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f"
    )
    # Routed to the node by its host IP and its name.
    assert all(s.selectors == ("10.128.0.12", "gke-demo-pool-1-7f3a") for s in updates)
    front_end = updates[2].update.container
    assert (front_end.cid, front_end.name, front_end.pod_id, front_end.state) == (
        pod.container_ids[1],
        "front-end",
        POD_UID,
        "Running",
    )
    assert front_end.start_timestamp_ns == parse_kube_time("2024-05-02T10:21:40Z")


def test_a_deleted_pod_gets_a_stop_time(translator: KubeTranslator) -> None:
    terminating = copy.deepcopy(recorded("pod"))
    terminating["metadata"]["deletionTimestamp"] = "2024-05-02T11:00:00Z"
    [pod, *containers] = translator.handle(KubeEvent("Pod", "MODIFIED", terminating))
    assert pod.update.pod.stop_timestamp_ns == parse_kube_time("2024-05-02T11:00:00Z")
    assert {c.update.container.state for c in containers} == {"Terminated"}

    [pod, *containers] = translator.handle(KubeEvent("Pod", "DELETED", recorded("pod")))
    assert pod.update.pod.stop_timestamp_ns == NOW_NS
    assert {c.update.container.stop_timestamp_ns for c in containers} == {NOW_NS}


def test_a_pending_pod_reports_only_started_containers(translator: KubeTranslator) -> None:
    pending = copy.deepcopy(recorded("pod"))
    pending["status"]["phase"] = "Pending"
    pending["status"]["containerStatuses"][0] = {
        "name": "envoy",
        "ready": False,
        "restartCount": 0,
        "state": {"waiting": {"reason": "ContainerCreating"}},
    }
    pending["status"]["containerStatuses"][1]["state"] = {
        "terminated": {
            "exitCode": 1,
            "reason": "Error",
            "startedAt": "2024-05-02T10:21:40Z",
            "finishedAt": "2024-05-02T10:22:40Z",
        }
    }
    for condition in pending["status"]["conditions"]:
        if condition["type"] == "Ready":
            condition["status"] = "False"
    [pod, container] = translator.handle(KubeEvent("Pod", "MODIFIED", pending))
    assert (pod.update.pod.phase, pod.update.pod.ready) == ("Pending", False)
    assert list(pod.update.pod.container_names) == ["front-end"]
    assert container.update.container.state == "Terminated"
    assert container.update.container.stop_timestamp_ns == parse_kube_time("2024-05-02T10:22:40Z")


def test_services_carry_the_ready_pods_of_their_endpoints(translator: KubeTranslator) -> None:
    # Endpoints may arrive before their Service: nothing to send until the Service is known.
    assert translator.handle(KubeEvent("Endpoints", "ADDED", recorded("endpoints"))) == []
    [service] = translator.handle(KubeEvent("Service", "ADDED", recorded("service")))
    body = service.update.service
    assert (body.name, body.namespace, body.cluster_ip) == ("front-end", "sock-shop", "10.8.3.214")
    assert list(body.external_ips) == ["35.202.14.9"]
    # Ready addresses only (notReadyAddresses are left out).
    assert list(body.pod_ids) == sorted([POD_UID, "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f"])
    assert service.selectors == ()

    shrunk = copy.deepcopy(recorded("endpoints"))
    del shrunk["subsets"][0]["addresses"][1]
    [service] = translator.handle(KubeEvent("Endpoints", "MODIFIED", shrunk))
    assert list(service.update.service.pod_ids) == [POD_UID]

    [deleted] = translator.handle(KubeEvent("Service", "DELETED", recorded("service")))
    assert deleted.update.service.stop_timestamp_ns == NOW_NS
    assert list(deleted.update.service.pod_ids) == []
    assert translator.handle(KubeEvent("Endpoints", "MODIFIED", shrunk)) == []


def test_headless_services_have_no_cluster_ip(translator: KubeTranslator) -> None:
    headless = copy.deepcopy(recorded("service"))
    headless["spec"]["clusterIP"] = "None"
    [service] = translator.handle(KubeEvent("Service", "ADDED", headless))
    assert service.update.service.cluster_ip == ""


def test_namespaces_and_nodes(translator: KubeTranslator) -> None:
    [namespace] = translator.handle(KubeEvent("Namespace", "ADDED", recorded("namespace")))
    assert (namespace.update.namespace.name, namespace.update.namespace.uid) == (
        "sock-shop",
        "5f0c1f5e-8f43-4f0e-9a53-0b0a0d4c8a11",
    )
    [node] = translator.handle(KubeEvent("Node", "ADDED", recorded("node")))
    assert (node.update.node.name, node.update.node.internal_ip) == (
        "gke-demo-pool-1-7f3a",
        "10.128.0.12",
    )
    [gone] = translator.handle(KubeEvent("Node", "DELETED", recorded("node")))
    assert gone.update.node.stop_timestamp_ns == NOW_NS


def test_pods_carry_their_owner_references(translator: KubeTranslator) -> None:
    pod = translator.handle(KubeEvent("Pod", "ADDED", recorded("pod")))[0].update.pod
    assert [(o.kind, o.name, o.uid) for o in pod.owner_references] == [
        ("ReplicaSet", "front-end-6f9d8c9b7d", "0c2f4a2e-2b7a-4a1f-8d8e-3f3f0a6b1c22")
    ]


def test_replica_sets_and_deployments_are_cluster_scoped_updates(
    translator: KubeTranslator,
) -> None:
    (rs,) = translator.handle(KubeEvent("ReplicaSet", "ADDED", recorded("replicaset")))
    assert rs.selectors == ()
    update = rs.update.replica_set
    assert (update.name, update.namespace) == ("front-end-6f9d8c9b7d", "sock-shop")
    assert (update.replicas, update.ready_replicas, update.available_replicas) == (2, 1, 1)
    assert [(o.kind, o.name) for o in update.owner_references] == [("Deployment", "front-end")]
    assert update.start_timestamp_ns == parse_kube_time("2024-05-02T10:21:30Z")
    (dep,) = translator.handle(KubeEvent("Deployment", "MODIFIED", recorded("deployment")))
    d = dep.update.deployment
    assert (d.uid, d.name) == ("5d1e0b7a-9c3f-4f2e-a1b2-c3d4e5f60718", "front-end")
    assert (d.replicas, d.updated_replicas, d.ready_replicas, d.unavailable_replicas) == (
        2,
        2,
        1,
        1,
    )
    (gone,) = translator.handle(KubeEvent("Deployment", "DELETED", recorded("deployment")))
    assert gone.update.deployment.stop_timestamp_ns == NOW_NS


def test_other_kinds_and_event_types_are_ignored(translator: KubeTranslator) -> None:
    assert translator.handle(KubeEvent("ConfigMap", "ADDED", {"metadata": {}})) == []
    assert translator.handle(KubeEvent("Pod", "BOOKMARK", recorded("pod"))) == []


class RecordedSource:
    """A `KubeEventSource` replaying recorded events."""

    def __init__(self, events: list[KubeEvent]) -> None:
        self._events = events
        self.closed = False

    async def events(self) -> AsyncIterator[KubeEvent]:
        for event in self._events:
            yield event

    async def close(self) -> None:
        self.closed = True


async def test_the_provider_feeds_recorded_events_through_the_publisher_to_the_node_topic(
    tmp_path: Path, nats_server: Any
) -> None:
    bus = await NatsBus.connect(nats_server.url, name="kube-test")
    kv = await SqliteKVStore.open(tmp_path / "kv.sqlite")
    try:
        publisher = await MetadataPublisher.load(kv, bus, update_ttl_seconds=3600)
        received: asyncio.Queue[msgs.MetadataUpdate] = asyncio.Queue()

        async def deliver(message: msgs.VizierMessage) -> None:
            received.put_nowait(message.metadata_update)

        await bus.subscribe("K8sUpdates/10.128.0.12", msgs.VizierMessage, deliver)
        await bus.flush()
        source = RecordedSource(
            [
                KubeEvent("Namespace", "ADDED", recorded("namespace")),
                KubeEvent("Node", "ADDED", recorded("node")),
                KubeEvent("Service", "ADDED", recorded("service")),
                KubeEvent("Pod", "ADDED", recorded("pod")),
            ]
        )
        await KubernetesProvider(source).run(publisher.publish)
        assert source.closed
        got = [await asyncio.wait_for(received.get(), REPLY_WITHIN) for _ in range(5)]
        # The node learns the existing namespace when it becomes known, then itself, the
        # service, its pod and the pod's containers.
        assert [u.WhichOneof("update") for u in got] == [
            "namespace",
            "node",
            "service",
            "pod",
            "container",
        ]
        assert [u.version for u in got] == sorted(u.version for u in got)
    finally:
        await bus.drain()
        await kv.close()


class FakeApiResponse:
    """What the client's `_preload_content=False` calls return (urllib3 response shape)."""

    status = 200

    def __init__(self, body: bytes = b"", lines: list[dict[str, Any]] | None = None) -> None:
        self.data = body
        self._lines = lines or []

    def stream(self, amt: Any = None, decode_content: Any = False) -> Iterator[bytes]:
        for line in self._lines:
            yield json.dumps(line).encode() + b"\n"

    def close(self) -> None:
        pass

    def release_conn(self) -> None:
        pass


class FakePodApi:
    """A scripted API server for `list pods`: lists and watch streams in order."""

    def __init__(self, lists: list[list[dict[str, Any]]], watches: list[list[dict[str, Any]]]):
        self.lists, self.watches = lists, watches
        self.watch_versions: list[str] = []
        self.done = threading.Event()

    def __call__(self, **kwargs: Any) -> FakeApiResponse:
        if kwargs.get("watch"):
            self.watch_versions.append(kwargs.get("resource_version", ""))
            if not self.watches:
                self.done.wait(REPLY_WITHIN)
                return FakeApiResponse()
            return FakeApiResponse(lines=self.watches.pop(0))
        items = self.lists.pop(0)
        return FakeApiResponse(
            json.dumps(
                {"kind": "PodList", "metadata": {"resourceVersion": "100"}, "items": items}
            ).encode()
        )


def pod_named(name: str, uid: str, version: str) -> dict[str, Any]:
    pod = copy.deepcopy(recorded("pod"))
    pod["metadata"].update(name=name, uid=uid, resourceVersion=version)
    return pod


async def test_the_watch_source_lists_watches_and_relists_after_410_gone() -> None:
    pod_a, pod_b, pod_c = (
        pod_named("a", "uid-a", "101"),
        pod_named("b", "uid-b", "102"),
        pod_named("c", "uid-c", "200"),
    )
    modified_a = pod_named("a", "uid-a", "103")
    api = FakePodApi(
        lists=[[pod_a, pod_b], [pod_c]],
        watches=[
            [
                {"type": "MODIFIED", "object": modified_a},
                {
                    "type": "BOOKMARK",
                    "object": {"kind": "Pod", "metadata": {"resourceVersion": "104"}},
                },
                {"type": "DELETED", "object": pod_named("b", "uid-b", "105")},
            ],
            [
                {
                    "type": "ERROR",
                    "object": {
                        "kind": "Status",
                        "code": 410,
                        "reason": "Expired",
                        "message": "too old",
                    },
                }
            ],
        ],
    )
    source = WatchEventSource([("Pod", api)], watch_timeout_seconds=1)
    events = source.events()
    seen: list[tuple[str, str]] = []
    try:
        for _ in range(6):
            event = await asyncio.wait_for(anext(events), REPLY_WITHIN)
            seen.append((event.type, event.object["metadata"]["name"]))
    finally:
        api.done.set()
        await source.close()
        await events.aclose()
    assert seen == [
        ("ADDED", "a"),
        ("ADDED", "b"),
        ("MODIFIED", "a"),
        ("DELETED", "b"),
        # 410 Gone: list again; "a" went away while nobody watched.
        ("DELETED", "a"),
        ("ADDED", "c"),
    ]
    # The first watch starts at the list's version, the next one at the newest version seen.
    assert api.watch_versions[:2] == ["100", "105"]
