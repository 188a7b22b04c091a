"""The reconciler core on the Kubernetes backend, against recorded API objects.

No API server can run on this machine: the requests the real ``kubernetes`` client sends are
answered from recorded objects (``tests/recorded``) and asserted on.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from pyxie_cli.kube import KubeError, render
from pyxie_cli.kube._render import helm_python
from pyxie_operator.backends.kubernetes import STATUS_CONFIG_MAP, KubernetesBackend
from pyxie_operator.controllers.backend import EtcdHealth
from pyxie_operator.controllers.reconciler import Reconciler, Timing
from pyxie_operator.controllers.resource import InvalidSpec, VizierSpec
from pyxie_operator.testing import FakeReleases, RecordedApi, recorded, recorded_api
from pyxie_release.verify import VerifiedRelease
from pyxie_service.audit import AuditEvent, add_audit_sink, remove_audit_sink


def _helm() -> bool:
    try:
        return helm_python().exists()
    except KubeError:
        return False


needs_helm = pytest.mark.skipif(not _helm(), reason="Helm tool venv missing (deploy/helm/setup.sh)")
COMPONENTS = ("nats", "metadata", "query-broker", "kelvin", "cloud-connector", "pem", "etcd")
REGISTRY = "reg.example:5000"
VIZIER = "/apis/pyxie.dev/v1alpha1/namespaces/pl/viziers/pyxie"


def release(version: str, seed: str) -> VerifiedRelease:
    return VerifiedRelease(
        version=version,
        images={c: f"{REGISTRY}/pyxie-{c}@sha256:{seed * 64}" for c in COMPONENTS},
        chart_digest="sha256:" + "c" * 64,
    )


RELEASES = {"0.1.0": release("0.1.0", "1"), "0.2.0": release("0.2.0", "2")}


def chart(name: str, values: dict[str, object], namespace: str) -> list[dict[str, object]]:
    return render(name, values, namespace=namespace)


class Etcd:
    def __init__(self) -> None:
        self.health = EtcdHealth(True)
        self.probed: list[str] = []

    def __call__(self, url: str) -> EtcdHealth:
        self.probed.append(url)
        return self.health


@pytest.fixture
def audited() -> Iterator[list[AuditEvent]]:
    events: list[AuditEvent] = []
    add_audit_sink(events.append)
    yield events
    remove_audit_sink(events.append)


@pytest.fixture
def cluster() -> Iterator[tuple[RecordedApi, KubernetesBackend, Etcd]]:
    with recorded_api() as (api, client):
        api.put(VIZIER, recorded("vizier"))
        api.put(
            "/api/v1/namespaces/pl/secrets/pyxie-deploy-key",
            {"data": {"deploy-key": base64.b64encode(b"px-dep-" + b"a" * 32).decode()}},
        )
        api.put("/api/v1/namespaces/pl/pods", {"items": []})
        api.put("/apis/pyxie.dev/v1alpha1/viziers", {"items": []})
        api.put("/apis/apps/v1/deployments", {"items": []})
        etcd = Etcd()
        backend = KubernetesBackend(
            client, namespace="pl", name="pyxie", etcd_probe=etcd, reachable=lambda _addr: ""
        )
        yield api, backend, etcd


def reconciler(backend: KubernetesBackend, releases: FakeReleases) -> Reconciler:
    return Reconciler(
        backend, releases, chart, namespace="pl", target="k8s:pl/pyxie", timing=Timing()
    )


def spec_of(api: RecordedApi) -> VizierSpec:
    return VizierSpec.from_resource(api.objects[VIZIER])


def test_the_recorded_vizier_parses_and_a_bad_one_names_its_field() -> None:
    spec = VizierSpec.from_resource(recorded("vizier"))
    assert (spec.version, spec.data_access, spec.pem_memory_limit) == ("0.2.0", "Restricted", "1Gi")
    bad = recorded("vizier")
    bad["spec"]["pemMemoryLimit"] = "lots"
    with pytest.raises(InvalidSpec, match="pemMemoryLimit"):
        VizierSpec.from_resource(bad)


@needs_helm
def test_a_verified_update_is_applied_by_digest_with_server_side_apply(
    cluster: tuple[RecordedApi, KubernetesBackend, Etcd], audited: list[AuditEvent]
) -> None:
    api, backend, _ = cluster
    releases = FakeReleases(RELEASES)
    status = reconciler(backend, releases).tick(spec_of(api))
    assert releases.calls == [("0.2.0", "0.1.0")]
    applies = [r for r in api.writes("PATCH") if r.content_type == "application/apply-patch+yaml"]
    assert applies and all(
        r.query == {"fieldManager": "pyxie-operator", "force": "true"} for r in applies
    )
    images = [
        c["image"]
        for r in applies
        if r.body["kind"] in ("Deployment", "DaemonSet", "StatefulSet")
        for c in r.body["spec"]["template"]["spec"]["containers"]
    ]
    assert len(images) == 7 and all(
        i.startswith(f"{REGISTRY}/") and "@sha256:2222" in i for i in images
    )
    connector = next(
        r.body for r in applies if r.body["metadata"]["name"] == "pyxie-cloud-connector"
    )
    pod = connector["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env["PL_VIZIER_VERSION"] == "0.2.0"
    assert env["PL_OPERATOR_STATUS_FILE"] == "/var/lib/pyxie/operator/status.json"
    assert {
        "name": "operator-status",
        "configMap": {"name": STATUS_CONFIG_MAP, "optional": True},
    } in pod["volumes"]
    pem = next(r.body for r in applies if r.body["metadata"]["name"] == "pyxie-pem")
    assert (
        pem["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] == "1Gi"
    )
    assert (status.version, status.phase, status.update_state) == (
        "0.2.0",
        "Updating",
        "applied 0.2.0",
    )
    patch = next(r for r in api.writes("PATCH") if r.path == VIZIER + "/status")
    assert patch.content_type == "application/merge-patch+json"
    assert patch.body["status"]["version"] == "0.2.0"
    assert [(e.action, e.outcome, e.details["version"]) for e in audited] == [
        ("update.apply", "applied", "0.2.0")
    ]


def test_a_refused_update_touches_nothing_and_says_why_on_the_resource(
    cluster: tuple[RecordedApi, KubernetesBackend, Etcd], audited: list[AuditEvent]
) -> None:
    api, backend, _ = cluster
    api.objects[VIZIER]["spec"]["requestedImages"] = {"pem": f"{REGISTRY}/evil@sha256:{'e' * 64}"}
    api.put("/apis/apps/v1/namespaces/pl/deployments/pyxie-cloud-connector", {"kind": "Deployment"})
    releases = FakeReleases(RELEASES)
    core = reconciler(backend, releases)
    status = core.tick(spec_of(api))
    assert not [
        r
        for r in api.writes()
        if r.content_type == "application/apply-patch+yaml" and r.body["kind"] != "ConfigMap"
    ]
    assert status.version == "0.1.0"
    assert status.reason == "UpdateRefused"
    assert "evil" in status.message and "not in the signed release" in status.message
    cm = [r for r in api.writes() if r.body and r.body.get("kind") == "ConfigMap"]
    assert "UpdateRefused" in cm[-1].body["data"]["status.json"]
    core.tick(spec_of(api))  # the same request is not verified (nor audited) again
    assert len(releases.calls) == 1
    assert [(e.action, e.outcome) for e in audited] == [("update.apply", "refused")]
    assert "not in the signed release" in audited[0].reason


def test_a_crash_looping_pem_is_reported_with_its_reason_and_the_kubelet_restarts_it(
    cluster: tuple[RecordedApi, KubernetesBackend, Etcd],
) -> None:
    api, backend, _ = cluster
    api.objects[VIZIER]["spec"]["version"] = "0.1.0"
    api.put("/apis/apps/v1/namespaces/pl/deployments/pyxie-cloud-connector", {"kind": "Deployment"})
    api.put("/api/v1/namespaces/pl/pods", recorded("pods-crashloop"))
    api.put(
        "/api/v1/namespaces/pl/pods/pyxie-pem-7xq2d/log",
        "loading BPF program\ntable store over budget\n",
    )
    status = reconciler(backend, FakeReleases(RELEASES)).tick(spec_of(api))
    assert status.phase == "Degraded" and status.reason == "CrashLoop"
    assert "pem@node-a" in status.message
    assert "CrashLoopBackOff" in status.message and "137" in status.message
    assert "table store over budget" in status.message
    assert status.components["pem@node-b"] == "running"
    assert not api.writes("DELETE")  # the kubelet backs off and restarts; no pod deleted


def test_etcd_without_quorum_is_rolled_with_force_new_cluster_and_the_flag_removed_after(
    cluster: tuple[RecordedApi, KubernetesBackend, Etcd],
) -> None:
    api, backend, etcd = cluster
    api.objects[VIZIER]["spec"]["version"] = "0.1.0"
    api.put("/apis/apps/v1/namespaces/pl/deployments/pyxie-cloud-connector", {"kind": "Deployment"})
    sts_path = "/apis/apps/v1/namespaces/pl/statefulsets/pyxie-etcd"
    api.put(sts_path, recorded("etcd-statefulset"))
    now = [0.0]
    core = Reconciler(
        backend,
        FakeReleases(RELEASES),
        chart,
        namespace="pl",
        target="k8s:pl/pyxie",
        timing=Timing(etcd_grace_seconds=15),
        clock=lambda: now[0],
    )
    etcd.health = EtcdHealth(False, "RAFT NO LEADER")
    status = core.tick(spec_of(api))
    assert status.reason == "EtcdUnhealthy" and etcd.probed
    assert etcd.probed[-1] == "http://pyxie-etcd.pl.svc:2379"
    now[0] = 20.0
    status = core.tick(spec_of(api))
    assert status.reason == "EtcdRepaired" and "RAFT NO LEADER" in status.message
    patch = next(r for r in api.writes("PATCH") if r.path == sts_path)
    assert patch.content_type == "application/strategic-merge-patch+json"
    assert "--force-new-cluster" in patch.body["spec"]["template"]["spec"]["containers"][0]["args"]
    assert status.repairs and "etcd lost quorum" in status.repairs[-1]
    # The rolled etcd has the flag and a leader again: the flag is taken off.
    rolled = recorded("etcd-statefulset")
    rolled["spec"]["template"]["spec"]["containers"][0]["args"].append("--force-new-cluster")
    api.put(sts_path, rolled)
    etcd.health = EtcdHealth(True)
    core.tick(spec_of(api))
    last = [r for r in api.writes("PATCH") if r.path == sts_path][-1]
    assert (
        "--force-new-cluster" not in last.body["spec"]["template"]["spec"]["containers"][0]["args"]
    )


def test_a_second_vizier_in_the_cluster_is_surfaced(
    cluster: tuple[RecordedApi, KubernetesBackend, Etcd],
) -> None:
    api, backend, _ = cluster
    api.objects[VIZIER]["spec"]["version"] = "0.1.0"
    api.put("/apis/apps/v1/namespaces/pl/deployments/pyxie-cloud-connector", {"kind": "Deployment"})
    api.put("/apis/pyxie.dev/v1alpha1/viziers", recorded("vizier-list"))
    api.put("/apis/apps/v1/deployments", recorded("connector-deployments"))
    status = reconciler(backend, FakeReleases(RELEASES)).tick(spec_of(api))
    assert status.other_viziers == ["pixie/old", "team-b/pyxie-cloud-connector (unmanaged)"]
    assert status.reason == "SecondVizier" and "pixie/old" in status.message


def test_an_unreachable_cloud_is_reported(
    cluster: tuple[RecordedApi, KubernetesBackend, Etcd],
) -> None:
    api, backend, _ = cluster
    api.objects[VIZIER]["spec"]["version"] = "0.1.0"
    api.put("/apis/apps/v1/namespaces/pl/deployments/pyxie-cloud-connector", {"kind": "Deployment"})
    backend._reachable = lambda addr: "Connection refused"
    status = reconciler(backend, FakeReleases(RELEASES)).tick(spec_of(api))
    assert status.reason == "CloudUnreachable"
    assert "cloud.example.com:51600" in status.message and "Connection refused" in status.message


class _Offered(KubernetesBackend):
    """The recorded cluster, with an offer file the connector would have written."""

    offer = ""

    def read_offer(self) -> str:
        return self.offer


def _offered(cluster: tuple[RecordedApi, KubernetesBackend, Etcd]) -> _Offered:
    _, backend, _ = cluster
    offered = _Offered.__new__(_Offered)
    offered.__dict__.update(backend.__dict__)
    return offered


def _auto(api: RecordedApi, version: str, auto_update: bool) -> VizierSpec:
    resource = recorded("vizier")
    resource["spec"]["version"] = version
    resource["spec"]["autoUpdate"] = auto_update
    api.put(VIZIER, resource)
    return spec_of(api)


@needs_helm
def test_an_offer_is_taken_only_with_auto_update_and_is_verified_like_a_spec_version(
    cluster: tuple[RecordedApi, KubernetesBackend, Etcd], audited: list[AuditEvent]
) -> None:
    api, _, _ = cluster
    backend = _offered(cluster)
    releases = FakeReleases(RELEASES)
    core = reconciler(backend, releases)
    assert core.tick(_auto(api, "0.1.0", False)).version == "0.1.0"
    backend.offer = "0.2.0"
    # Without autoUpdate the offer is only an offer: the spec decides.
    assert core.tick(_auto(api, "0.1.0", False)).version == "0.1.0"
    assert {version for version, _ in releases.calls} == {"0.1.0"}
    status = core.tick(_auto(api, "0.1.0", True))
    assert status.version == "0.2.0" and status.update_state == "applied 0.2.0"
    assert releases.calls[-1] == ("0.2.0", "0.1.0")
    applied = [e.details.get("version") for e in audited if e.outcome == "applied"]
    assert applied[-1] == "0.2.0" and applied.count("0.2.0") == 1


@needs_helm
def test_an_offer_of_an_unsigned_older_or_bogus_release_changes_nothing(
    cluster: tuple[RecordedApi, KubernetesBackend, Etcd], audited: list[AuditEvent]
) -> None:
    api, _, _ = cluster
    backend = _offered(cluster)
    releases = FakeReleases(RELEASES)
    core = reconciler(backend, releases)
    assert core.tick(_auto(api, "0.2.0", True)).version == "0.2.0"
    for older_or_bogus in ("0.1.0", "0.2.0", "not-a-version", "9.9.9; rm -rf /"):
        backend.offer = older_or_bogus
        assert core.tick(_auto(api, "0.2.0", True)).version == "0.2.0"
    verified = {version for version, _ in releases.calls}
    assert verified == {"0.2.0"}, "nothing but the spec's release was verified"
    backend.offer = "0.3.0"  # newer, but not in the signed targets
    status = core.tick(_auto(api, "0.2.0", True))
    assert status.version == "0.2.0"
    assert status.reason == "UpdateRefused"
    assert "0.3.0 is not in the signed targets" in status.update_state
    core.tick(_auto(api, "0.2.0", True))
    assert releases.calls.count(("0.3.0", "0.2.0")) == 1, "a refused offer is not retried"
    outcomes = [(e.outcome, e.details.get("version")) for e in audited]
    assert outcomes.count(("refused", "0.3.0")) == 1
    assert not [o for o in outcomes if o[0] == "applied" and o[1] != "0.2.0"]


def test_auto_update_must_be_a_boolean() -> None:
    bad = recorded("vizier")
    bad["spec"]["autoUpdate"] = "yes"
    with pytest.raises(InvalidSpec, match="autoUpdate"):
        VizierSpec.from_resource(bad)


@needs_helm
def test_with_auto_update_a_spec_behind_the_running_release_is_no_rollback(
    cluster: tuple[RecordedApi, KubernetesBackend, Etcd], audited: list[AuditEvent]
) -> None:
    api, _, _ = cluster
    backend = _offered(cluster)
    releases = FakeReleases(RELEASES)
    core = reconciler(backend, releases)
    backend.offer = "0.2.0"
    assert core.tick(_auto(api, "0.1.0", True)).version == "0.2.0"
    backend.offer = ""  # the offer file is gone (a new identity volume)
    status = core.tick(_auto(api, "0.1.0", True))
    assert status.version == "0.2.0" and status.reason != "UpdateRefused"
    assert not [e for e in audited if e.outcome == "refused"]
