"""The /proc parsers of the local provider, on recorded file contents and on this process."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from pyxie_metadata.providers import _procfs

FIB_TRIE = """Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 10.0.0.0/24 2 0 2
        |-- 10.0.0.0
           /24 link UNICAST
        |-- 10.0.0.5
           /32 host LOCAL
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
     |-- 172.17.0.1
        /32 host LOCAL
Local:
  +-- 0.0.0.0/0 3 0 5
     |-- 10.0.0.5
        /32 host LOCAL
"""


def test_fib_trie_local_addresses_skip_loopback_and_duplicates() -> None:
    assert _procfs.parse_fib_trie_local_addresses(FIB_TRIE) == ["10.0.0.5", "172.17.0.1"]
    assert _procfs.parse_fib_trie_local_addresses("") == []


def test_cgroup_path_prefers_the_unified_hierarchy() -> None:
    v2 = "0::/system.slice/nginx.service\n"
    hybrid = "12:memory:/x\n1:name=systemd:/system.slice/cron.service\n0::/\n"
    assert _procfs.parse_cgroup_path(v2) == "/system.slice/nginx.service"
    assert _procfs.parse_cgroup_path(hybrid) == "/system.slice/cron.service"
    assert _procfs.parse_cgroup_path("0::/\n") == ""


def test_container_ids_from_the_usual_runtimes() -> None:
    cid = "4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f"
    for path in (
        f"/docker/{cid}",
        f"/system.slice/docker-{cid}.scope",
        f"/kubepods.slice/kubepods-burstable.slice/kubepods-pod1.slice/cri-containerd-{cid}.scope",
        f"/machine.slice/libpod-{cid}.scope/container",
    ):
        assert _procfs.container_id_from_cgroup(path) == cid, path
    # Shorter ids (a sandbox's own cgroup names) are not containers.
    assert _procfs.container_id_from_cgroup("/process_api/a65f3dc7cb621c751af4b0f2211b969e") is None


def test_systemd_units_skip_the_user_manager() -> None:
    assert _procfs.systemd_unit_from_cgroup("/system.slice/nginx.service") == "nginx"
    assert (
        _procfs.systemd_unit_from_cgroup(
            "/user.slice/user-0.slice/user@0.service/app.slice/x.service"
        )
        == "x"
    )
    assert (
        _procfs.systemd_unit_from_cgroup("/user.slice/user-0.slice/user@0.service/init.scope")
        is None
    )
    assert _procfs.systemd_unit_from_cgroup("/user.slice/user-0.slice/session-3.scope") is None


def test_start_ticks_survive_odd_command_names() -> None:
    fields = " ".join(str(n) for n in range(3, 30))
    stat = f"4242 (we ird) name)) S {fields}"
    # Field 22 is the 20th after the state (field 3 is "S" here, so numbers start at field 4).
    assert _procfs.parse_start_ticks(stat) == 21


def test_listening_sockets_keep_listen_state_only() -> None:
    table = (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
        "timeout inode\n"
        "   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0"
        "        0 566 1 0000000074bfcbb7 100 0 0 10 0\n"
        "   1: 0100007F:8989 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0"
        "        0 777 1 000000008647c328 100 0 0 10 0\n"
    )
    assert _procfs.parse_listening_sockets(table) == {566: 8080}


def test_this_process_is_read_from_proc() -> None:
    snapshots = {snapshot.pid: snapshot for snapshot in _procfs.read_processes()}
    me = snapshots[os.getpid()]
    assert "pytest" in me.cmdline or "python" in me.cmdline
    assert me.netns == _procfs.netns_inode(os.getpid()) > 0
    assert me.start_ticks > 0
    assert _procfs.boot_time_ns() > 0


def test_listening_ports_of_this_process_are_found() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        listening = _procfs.listening_ports_by_inode(os.getpid())
        mine = {listening[i] for i in _procfs.socket_inodes(os.getpid()) if i in listening}
        assert port in mine


def test_named_network_namespaces_map_inodes_to_names(tmp_path: Path) -> None:
    (tmp_path / "blue").write_text("")
    (tmp_path / "green").write_text("")
    names = _procfs.named_netns_by_inode(tmp_path)
    assert sorted(names.values()) == ["blue", "green"]
    assert names[(tmp_path / "blue").stat().st_ino] == "blue"
    assert _procfs.named_netns_by_inode(tmp_path / "absent") == {}
