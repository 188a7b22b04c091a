"""The standalone vizier on etcd: a supervised member per etcd process, fixed ports, metadata
pointed at every member."""

from __future__ import annotations

from pathlib import Path

from pyxie_devstack import DevstackSettings
from pyxie_devstack.vizier import VizierOptions, VizierStack
from pyxie_devstack.vizier_state import VizierEndpoints


def _stack(tmp_path: Path, **options: object) -> VizierStack:
    base = VizierOptions(nodes=1, use_netns=False, demo_app=False, ebpf=False)
    opts = VizierOptions(**{**base.__dict__, **options})  # type: ignore[arg-type]
    return VizierStack(DevstackSettings(state_dir=tmp_path), opts, say=lambda _line: None)


def _endpoints() -> VizierEndpoints:
    return VizierEndpoints(
        broker="127.0.0.1:1", metadata="127.0.0.1:2", kelvin="127.0.0.1:3", nats="nats://x:4"
    )


def test_sqlite_backend_runs_no_etcd(tmp_path: Path) -> None:
    stack = _stack(tmp_path)
    assert [p.name for p in stack.infra_group().processes] == ["nats"]
    metadata = stack.vizier_group(_endpoints(), "k" * 64).processes[0]
    assert "PL_KV_BACKEND" not in metadata.env


def test_etcd_backend_supervises_each_member_and_keeps_its_ports(tmp_path: Path) -> None:
    stack = _stack(tmp_path, kv_backend="etcd", etcd_members=3)
    infra = stack.infra_group()
    assert [p.name for p in infra.processes] == ["nats", "etcd-0", "etcd-1", "etcd-2"]
    assert infra.processes[2].argv[-2:] == ("--member", "etcd-1")
    members = stack.etcd_members()
    ports = [p for m in members for p in (m.client_port, m.peer_port)]
    assert len(set(ports)) == 6
    # A second stack object (a later `up`, a restarted member) sees the same ports.
    assert _stack(tmp_path, kv_backend="etcd", etcd_members=3).etcd_members() == members
    metadata = stack.vizier_group(_endpoints(), "k" * 64).processes[0]
    assert metadata.env["PL_KV_BACKEND"] == "etcd"
    assert metadata.env["PL_ETCD_ENDPOINT"] == ",".join(
        f"127.0.0.1:{m.client_port}" for m in members
    )
