"""The local provider over the real /proc: processes it spawns become pods and services."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyxie_metadata.providers import ScopedUpdate
from pyxie_metadata.providers.local import LocalProvider
from pyxie_metadata.providers.local_config import (
    LocalConfigError,
    LocalServicesConfig,
    load_local_config,
)

NODE = "test-node"


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _runs_python_with(cmdline: bytes, python: bytes, marker: bytes) -> bool:
    argv = cmdline.split(b"\0")
    return argv[0] == python and marker in argv


class Sleepers:
    """`python -c` sleepers whose command lines carry a per-test token."""

    def __init__(self) -> None:
        self.token = f"pyxie-{uuid.uuid4().hex[:10]}"
        self.processes: list[subprocess.Popen[bytes]] = []

    def spawn(self, role: str, *prefix: str) -> int:
        process = subprocess.Popen(
            [*prefix, sys.executable, "-c", "import time; time.sleep(300)", f"{self.token}-{role}"]
        )
        self.processes.append(process)
        # Popen returns once the child forked, maybe before it exec'd: until then its command
        # line is still ours and a scan cannot match it. With a prefix (`ip netns exec ...`)
        # the marker shows up first in the prefix's own command line, before that program
        # entered the namespace and exec'd Python. Wait until Python itself runs (a
        # condition, with a hang guard), so every test sees its sleeper from the first scan.
        marker = f"{self.token}-{role}".encode()
        python = sys.executable.encode()
        deadline = time.monotonic() + 30.0
        while not _runs_python_with(_cmdline(process.pid), python, marker):
            assert process.poll() is None, f"sleeper {role} exited with {process.returncode}"
            assert time.monotonic() < deadline, f"sleeper {role} never exec'd"
            time.sleep(0.01)
        return process.pid

    def kill(self, pid: int) -> None:
        for process in self.processes:
            if process.pid == pid:
                process.kill()
                process.wait()

    def kill_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait()


@pytest.fixture
def sleepers() -> Iterator[Sleepers]:
    spawned = Sleepers()
    yield spawned
    spawned.kill_all()


def write_config(tmp_path: Path, token: str, suffix: str = ".yaml") -> Path:
    path = tmp_path / f"services{suffix}"
    if suffix == ".toml":
        path.write_text(
            f"""
namespace = "shop"
group_containers = false
group_systemd_units = false
[[services]]
name = "alpha"
cmdline = '{token}-alpha$'
[[services]]
name = "backoffice/beta"
cmdline = '{token}-beta$'
"""
        )
    else:
        path.write_text(
            f"""
namespace: shop
group_containers: false
group_systemd_units: false
services:
  - name: alpha
    cmdline: '{token}-alpha$'
  - name: backoffice/beta
    cmdline: '{token}-beta$'
"""
        )
    return path


def of_kind(updates: list[ScopedUpdate], kind: str, namespaces: set[str]) -> list[ScopedUpdate]:
    found = []
    for scoped in updates:
        if scoped.update.WhichOneof("update") != kind:
            continue
        body = getattr(scoped.update, kind)
        namespace = body.name if kind == "namespace" else getattr(body, "namespace", None)
        if namespace is None or namespace in namespaces:
            found.append(scoped)
    return found


def test_spawned_processes_are_grouped_into_pods_and_services(
    tmp_path: Path, sleepers: Sleepers
) -> None:
    config = load_local_config(write_config(tmp_path, sleepers.token))
    alpha = sorted([sleepers.spawn("alpha"), sleepers.spawn("alpha")])
    beta = sleepers.spawn("beta")
    sleepers.spawn("unmatched")
    provider = LocalProvider(config, node_name=NODE)
    mine = {"shop", "backoffice"}

    updates = provider.scan()
    pods = {s.update.pod.name: s for s in of_kind(updates, "pod", mine)}
    assert set(pods) == {f"alpha-{NODE}", f"beta-{NODE}"}
    alpha_pod = pods[f"alpha-{NODE}"]
    assert alpha_pod.update.pod.namespace == "shop"
    assert pods[f"beta-{NODE}"].update.pod.namespace == "backoffice"
    assert alpha_pod.update.pod.phase == "Running" and alpha_pod.update.pod.ready
    assert alpha_pod.update.pod.node_name == NODE
    assert alpha_pod.update.pod.pod_ip and NODE in alpha_pod.selectors
    assert alpha_pod.selectors[0] == alpha_pod.update.pod.pod_ip
    assert alpha_pod.update.pod.start_timestamp_ns > 0

    containers = {
        s.update.container.name: s.update.container for s in of_kind(updates, "container", mine)
    }
    assert list(containers["alpha"].pids) == alpha
    assert list(containers["beta"].pids) == [beta]
    assert containers["alpha"].pod_id == alpha_pod.update.pod.uid
    assert list(alpha_pod.update.pod.container_ids) == [containers["alpha"].cid]

    services = {s.update.service.name: s for s in of_kind(updates, "service", mine)}
    assert set(services) == {"alpha", "beta"}
    assert list(services["alpha"].update.service.pod_ids) == [alpha_pod.update.pod.uid]
    assert services["alpha"].selectors == ()  # cluster-scoped
    assert {s.update.namespace.name for s in of_kind(updates, "namespace", mine)} == mine
    nodes = [s.update.node for s in updates if s.update.WhichOneof("update") == "node"]
    assert NODE in {n.name for n in nodes}

    # Nothing changed: nothing is sent.
    assert of_kind(provider.scan(), "pod", mine) == []

    # One alpha process exits: only its container changes.
    sleepers.kill(alpha[0])
    updates = provider.scan()
    assert of_kind(updates, "pod", mine) == []
    [changed] = of_kind(updates, "container", mine)
    assert list(changed.update.container.pids) == [alpha[1]]

    # Everything exits: each object is sent once more with its stop time.
    sleepers.kill_all()
    updates = provider.scan()
    stopped = {
        (s.update.WhichOneof("update"), getattr(s.update, s.update.WhichOneof("update") or "").name)
        for s in updates
    }
    for expected in [
        ("container", "alpha"),
        ("pod", f"alpha-{NODE}"),
        ("service", "alpha"),
        ("namespace", "backoffice"),
    ]:
        assert expected in stopped
    for scoped in of_kind(updates, "pod", mine) + of_kind(updates, "service", mine):
        kind = scoped.update.WhichOneof("update") or ""
        assert getattr(scoped.update, kind).stop_timestamp_ns > 0
    # The config's own namespace stays.
    assert ("namespace", "shop") not in stopped
    assert of_kind(provider.scan(), "pod", mine) == []


def test_uids_are_stable_across_provider_restarts(tmp_path: Path, sleepers: Sleepers) -> None:
    config = load_local_config(write_config(tmp_path, sleepers.token, ".toml"))
    sleepers.spawn("alpha")
    first = LocalProvider(config, node_name=NODE).scan()
    second = LocalProvider(config, node_name=NODE).scan()

    def uids(updates: list[ScopedUpdate]) -> set[str]:
        return {s.update.pod.uid for s in of_kind(updates, "pod", {"shop"})}

    assert uids(first) == uids(second) and len(uids(first)) == 1


def test_a_resync_sends_everything_again(tmp_path: Path, sleepers: Sleepers) -> None:
    config = load_local_config(write_config(tmp_path, sleepers.token))
    sleepers.spawn("alpha")
    now = [0.0]
    provider = LocalProvider(config, node_name=NODE, resync_interval=100, monotonic=lambda: now[0])
    assert of_kind(provider.scan(), "pod", {"shop"})
    assert not of_kind(provider.scan(), "pod", {"shop"})
    now[0] = 100.0
    assert of_kind(provider.scan(), "pod", {"shop"})


def test_processes_listening_on_a_configured_port_form_that_service(
    tmp_path: Path,
) -> None:
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import socket, sys, time\n"
            "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
            "print(s.getsockname()[1], flush=True); time.sleep(300)",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        config = LocalServicesConfig.model_validate(
            {
                "namespace": "ports",
                "group_containers": False,
                "group_systemd_units": False,
                "services": [{"name": "db", "ports": [port]}],
            }
        )
        updates = LocalProvider(config, node_name=NODE).scan()
        [container] = of_kind(updates, "container", {"ports"})
        assert list(container.update.container.pids) == [server.pid]
    finally:
        server.kill()
        server.wait()
        if server.stdout is not None:
            server.stdout.close()


@pytest.mark.root
def test_processes_in_a_named_network_namespace_run_on_that_node(
    tmp_path: Path, sleepers: Sleepers
) -> None:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 to create a network namespace")
    netns = f"pyxie-t-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", netns], check=True)
    try:
        subprocess.run(["ip", "-n", netns, "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "-n", netns, "addr", "add", "10.251.7.1/32", "dev", "lo"], check=True)
        config = load_local_config(write_config(tmp_path, sleepers.token))
        inside = sleepers.spawn("alpha", "ip", "netns", "exec", netns)
        outside = sleepers.spawn("alpha")
        updates = LocalProvider(config, node_name=NODE).scan()
        pods = {s.update.pod.name: s for s in of_kind(updates, "pod", {"shop"})}
        assert set(pods) == {f"alpha-{netns}", f"alpha-{NODE}"}
        assert pods[f"alpha-{netns}"].update.pod.pod_ip == "10.251.7.1"
        assert pods[f"alpha-{netns}"].selectors == ("10.251.7.1", netns)
        containers = {
            s.update.container.pod_id: list(s.update.container.pids)
            for s in of_kind(updates, "container", {"shop"})
        }
        assert containers[pods[f"alpha-{netns}"].update.pod.uid] == [inside]
        assert containers[pods[f"alpha-{NODE}"].update.pod.uid] == [outside]
        nodes = {
            s.update.node.name: s.update.node
            for s in updates
            if s.update.WhichOneof("update") == "node"
        }
        assert nodes[netns].internal_ip == "10.251.7.1"
    finally:
        sleepers.kill_all()
        subprocess.run(["ip", "netns", "del", netns], check=False)


def test_the_shipped_config_maps_the_demo_processes_to_demo_services() -> None:
    config = load_local_config()
    samples = {
        "/srv/pyxie/.venv/bin/python -m pyxie_testing.demo frontend --port 8080": "frontend",
        "python -m pyxie_testing.demo orders --port 8081 --dsn postgresql://x": "orders",
        "python3 -m pyxie_testing.demo loadgen --rps 5": "loadgen",
        "/opt/pgserver/pginstall/bin/postgres -D /var/lib/pg -p 5432": "postgres",
        "postgres: checkpointer ": "postgres",
        "postgres: demo demo 127.0.0.1(40000) idle": "postgres",
    }
    for cmdline, service in samples.items():
        matched = [
            rule for rule in config.services if rule.cmdline and rule.cmdline.search(cmdline)
        ]
        assert [rule.qualified(config.namespace) for rule in matched] == [("demo", service)], (
            cmdline
        )
    for cmdline in ("pytest tests/test_postgres.py", "python -m pyxie_testing.demo", "psql -h x"):
        assert not [r for r in config.services if r.cmdline and r.cmdline.search(cmdline)], cmdline


def test_config_namespace_can_be_overridden(tmp_path: Path) -> None:
    config = load_local_config(write_config(tmp_path, "tok"), namespace="staging")
    assert config.services[0].qualified(config.namespace) == ("staging", "alpha")
    assert config.services[1].qualified(config.namespace) == ("backoffice", "beta")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("services:\n  - name: x\n", "needs a `cmdline` regex or `ports`"),
        ("services:\n  - name: Bad_Name\n    cmdline: x\n", "not a DNS label"),
        ("services:\n  - name: x\n    cmdline: '('\n", "regular expression"),
        ("services:\n  - name: x\n    ports: [70000]\n", "out of range"),
        ("servics: []\n", "Extra inputs"),
        ("- a\n- b\n", "expected a mapping"),
        ("services: [", "not valid YAML"),
    ],
)
def test_a_bad_config_is_refused_with_a_clear_error(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(LocalConfigError, match=error):
        load_local_config(path)


def test_a_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LocalConfigError, match="cannot read"):
        load_local_config(tmp_path / "absent.yaml")


def test_each_service_is_a_deployment_owning_a_replica_set_owning_its_pods(
    tmp_path: Path, sleepers: Sleepers
) -> None:
    config = load_local_config(write_config(tmp_path, sleepers.token))
    sleepers.spawn("alpha")
    sleepers.spawn("alpha")
    updates = LocalProvider(config, node_name=NODE).scan()
    (pod,) = [s.update.pod for s in of_kind(updates, "pod", {"shop"})]
    (rs,) = [s for s in updates if s.update.replica_set.namespace == "shop"]
    (dep,) = [s for s in updates if s.update.deployment.namespace == "shop"]
    assert rs.selectors == () and dep.selectors == ()  # cluster-scoped, as in Kubernetes
    replica_set, deployment = rs.update.replica_set, dep.update.deployment
    assert [(o.kind, o.uid, o.name) for o in pod.owner_references] == [
        ("ReplicaSet", replica_set.uid, replica_set.name)
    ]
    assert replica_set.name.startswith("alpha-") and deployment.name == "alpha"
    assert [(o.kind, o.uid) for o in replica_set.owner_references] == [
        ("Deployment", deployment.uid)
    ]
    assert replica_set.replicas == deployment.replicas == 1  # one pod: one node
    sleepers.kill_all()
