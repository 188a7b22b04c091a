"""The /proc parsers on this machine's real /proc and on the awkward cases of the format."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pyxie_stirling import procfs


def test_parse_pid_stat_reads_this_process() -> None:
    stat = procfs.parse_pid_stat(Path(f"/proc/{os.getpid()}/stat").read_text())
    assert stat.pid == os.getpid()
    assert stat.ppid == os.getppid()
    assert stat.num_threads >= 1
    assert stat.start_time_ticks > 0
    assert stat.vsize_bytes > 0 and stat.rss_pages > 0


def test_parse_pid_stat_handles_parentheses_and_spaces_in_the_command() -> None:
    fields = " ".join(str(n) for n in range(3, 53)).replace("3", "S", 1)
    stat = procfs.parse_pid_stat(f"42 (a) (b c)) {fields}")
    assert stat.comm == "a) (b c)"
    assert stat.state == "S"
    assert (stat.minor_faults, stat.major_faults) == (10, 12)
    assert (stat.utime_ticks, stat.stime_ticks) == (14, 15)
    assert (stat.num_threads, stat.start_time_ticks, stat.vsize_bytes, stat.rss_pages) == (
        20,
        22,
        23,
        24,
    )


def test_parse_pid_stat_rejects_garbage_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="stat"):
        procfs.parse_pid_stat("hello")


def test_parse_pid_io_reads_this_process() -> None:
    io = procfs.parse_pid_io(Path(f"/proc/{os.getpid()}/io").read_text())
    assert io.rchar > 0


def test_parse_pid_io_names_a_missing_key() -> None:
    with pytest.raises(ValueError, match="write_bytes"):
        procfs.parse_pid_io("rchar: 1\nwchar: 2\nread_bytes: 3\n")


def test_parse_net_dev_reads_this_machine_and_keeps_loopback() -> None:
    devices = procfs.parse_net_dev(Path("/proc/net/dev").read_text())
    assert "lo" in devices
    assert all(d.rx_bytes >= 0 and d.tx_packets >= 0 for d in devices.values())


def test_parse_net_dev_maps_columns() -> None:
    text = (
        "Inter-|   Receive    |  Transmit\n"
        " face |bytes packets errs drop fifo frame compressed multicast|bytes ...\n"
        "  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
    )
    eth0 = procfs.parse_net_dev(text)["eth0"]
    assert eth0 == procfs.NetDevStats(1, 2, 3, 4, 9, 10, 11, 12)


def test_netns_inode_is_shared_with_the_parent_process() -> None:
    assert procfs.netns_inode(os.getpid()) == procfs.netns_inode(os.getppid())
    assert procfs.netns_inode(2**22 + 12345) is None
