"""Simulated nodes as network namespaces on a bridge (needs root)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyxie_devstack.netns import NodeNetwork, netns_inode

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root"),
]

# A subnet and tag of their own, so a developer's running stack is never touched.
_TAG, _SUBNET = "pxnt", "10.250.91"


def _namespaces() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return {line.split()[0] for line in out.stdout.splitlines() if line.strip()}


def _links() -> str:
    return subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def network(tmp_path: Path) -> Iterator[NodeNetwork]:
    net = NodeNetwork(tmp_path, tag=_TAG, subnet=_SUBNET, nodes=2)
    yield net
    net.down()


def _connect_from(netns: str, host: str, port: int) -> subprocess.CompletedProcess[str]:
    code = (
        "import socket, sys\n"
        f"s = socket.create_connection(({host!r}, {port}), timeout=5)\n"
        "print(s.recv(16).decode())\n"
    )
    return subprocess.run(
        ["ip", "netns", "exec", netns, sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_nodes_reach_each_other_and_the_host_bridge_address(network: NodeNetwork) -> None:
    node1, node2 = network.up()
    assert (node1.ip, node2.ip) == (f"{_SUBNET}.11", f"{_SUBNET}.12")
    # The host listens on its bridge address; node1 connects to it.
    with socket.create_server((network.bridge_ip, 0)) as server:
        port = server.getsockname()[1]
        client = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                node1.netns,
                sys.executable,
                "-c",
                f"import socket; socket.create_connection(('{network.bridge_ip}', {port}), 5)"
                ".sendall(b'from-node1')",
            ]
        )
        server.settimeout(10)
        conn, (peer, _) = server.accept()
        with conn:
            assert conn.recv(16) == b"from-node1"
        assert peer == node1.ip
        assert client.wait(30) == 0
    # node1 -> node2 through the bridge: a server inside node2.
    server_code = (
        "import socket\n"
        f"s = socket.create_server(({node2.ip!r}, 7777))\n"
        "print('ready', flush=True)\n"
        "c, _ = s.accept(); c.sendall(b'hi-from-node2')\n"
    )
    server = subprocess.Popen(
        ["ip", "netns", "exec", node2.netns, sys.executable, "-c", server_code],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        result = _connect_from(node1.netns, node2.ip, 7777)
        assert result.stdout.strip() == "hi-from-node2", result.stderr
    finally:
        server.kill()
        server.wait()
        if server.stdout is not None:
            server.stdout.close()


def test_each_node_has_its_own_namespace_inode(network: NodeNetwork) -> None:
    node1, node2 = network.up()
    inodes = {netns_inode(node1.netns), netns_inode(node2.netns)}
    assert len(inodes) == 2
    assert os.stat("/proc/self/ns/net").st_ino not in inodes


def test_up_twice_is_fine_and_down_removes_what_it_made(network: NodeNetwork) -> None:
    network.up()
    network.up()
    assert {f"{_TAG}-node1", f"{_TAG}-node2"} <= _namespaces()
    removed = network.down()
    assert set(removed) == {f"{_TAG}-node1", f"{_TAG}-node2", f"{_TAG}-br"}
    assert not {f"{_TAG}-node1", f"{_TAG}-node2"} & _namespaces()
    assert f"{_TAG}-br" not in _links() and f"{_TAG}-n1h" not in _links()


def test_down_leaves_a_namespace_it_did_not_create_but_removes_its_veth(tmp_path: Path) -> None:
    subprocess.run(["ip", "netns", "add", f"{_TAG}-node1"], check=True)
    net = NodeNetwork(tmp_path, tag=_TAG, subnet=_SUBNET, nodes=1)
    try:
        net.up()
        net.down()
        assert f"{_TAG}-node1" in _namespaces()
        assert f"{_TAG}-n1h" not in _links()
    finally:
        subprocess.run(["ip", "netns", "del", f"{_TAG}-node1"], check=False)
        net.down()


def test_down_tolerates_a_veth_that_vanishes_between_check_and_delete(
    network: NodeNetwork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The host end of a veth goes away by itself, asynchronously, when its peer's namespace
    is deleted: `down` may see it, then fail to delete it ("Cannot find device")."""
    import pyxie_devstack.netns as netns_module

    network.up()
    real_exists = netns_module._link_exists
    seen: set[str] = set()

    def stale_once(name: str, netns: str | None = None) -> bool:
        # The first check of each host veth answers as if it were still there.
        if name.endswith("h") and name not in seen:
            seen.add(name)
            return True
        return real_exists(name, netns)

    monkeypatch.setattr(netns_module, "_link_exists", stale_once)
    removed = network.down()
    assert {f"{_TAG}-node1", f"{_TAG}-node2"} <= set(removed)
    assert seen == {f"{_TAG}-n1h", f"{_TAG}-n2h"}
    assert f"{_TAG}-n1h" not in _links() and f"{_TAG}-n2h" not in _links()
