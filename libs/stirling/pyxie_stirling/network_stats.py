"""network_stats: interface counters per network namespace ("pod"), from /proc/<pid>/net/dev.

Pixie reports one row per pod and second (cumulative counters over the pod's interfaces). Here a
pod is a network namespace: the counters of every interface except loopback are summed, and the
pod id comes from `pod_id_for_netns` — by default `netns_pod_id(inode)`, a stable id derived from
the namespace inode, until the local metadata provider supplies real pod ids.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from pyxie_types import TableSchema
from pyxie_types.tables import NETWORK_STATS

from . import procfs
from .core import Source

__all__ = ["NetworkStatsSource", "netns_pod_id", "sum_interfaces"]


def netns_pod_id(netns_inode: int) -> str:
    """The default pod id of a network namespace: stable for the namespace's lifetime."""
    return f"netns-{netns_inode}"


def sum_interfaces(devices: dict[str, procfs.NetDevStats]) -> procfs.NetDevStats:
    """Counters summed over every interface but loopback (pod-to-itself traffic is not I/O)."""
    totals = [0] * 8
    for name, dev in devices.items():
        if name == "lo":
            continue
        for i, value in enumerate(
            (
                dev.rx_bytes,
                dev.rx_packets,
                dev.rx_errors,
                dev.rx_drops,
                dev.tx_bytes,
                dev.tx_packets,
                dev.tx_errors,
                dev.tx_drops,
            )
        ):
            totals[i] += value
    return procfs.NetDevStats(*totals)


class NetworkStatsSource(Source):
    name: ClassVar[str] = "network_stats"
    tables: ClassVar[tuple[TableSchema, ...]] = (NETWORK_STATS,)
    sampling_period_ns: ClassVar[int] = 1_000_000_000
    push_period_ns: ClassVar[int] = 1_000_000_000

    def __init__(self, pod_id_for_netns: Callable[[int], str] = netns_pod_id) -> None:
        super().__init__()
        self._pod_id_for_netns = pod_id_for_netns

    def sample(self) -> None:
        ctx = self.ctx
        proc = ctx.processes.proc
        now = ctx.clock.now_ns()
        rows = self.buffer(NETWORK_STATS.name)
        accepts = ctx.process_filter.accepts
        seen: set[int] = set()
        for pid in procfs.iter_pids(proc):
            inode = procfs.netns_inode(pid, proc)
            if inode is None or inode in seen or not accepts(pid):
                continue
            try:
                text = (proc / str(pid) / "net" / "dev").read_text()
            except OSError:
                continue
            seen.add(inode)
            s = sum_interfaces(procfs.parse_net_dev(text))
            rows.append(
                (
                    now,
                    self._pod_id_for_netns(inode),
                    s.rx_bytes,
                    s.rx_packets,
                    s.rx_errors,
                    s.rx_drops,
                    s.tx_bytes,
                    s.tx_packets,
                    s.tx_errors,
                    s.tx_drops,
                )
            )
