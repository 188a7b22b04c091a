"""Supervised process groups: pid records, per-process logs, restarts, stopping, secrets."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyxie_devstack._process import pid_alive
from pyxie_devstack.supervise import (
    GroupSpec,
    ProcessSpec,
    crash_looping,
    ensure_group,
    group_running,
    process_pid,
    process_restarts,
    restart_process,
    start_group,
    stop_group,
)

_SLEEPER = (
    sys.executable,
    "-c",
    "import os, sys, time; print('hello from', os.environ['WHO'], flush=True); time.sleep(300)",
)


def _wait_until(condition, timeout_s: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def group(tmp_path: Path) -> Iterator[GroupSpec]:
    spec = GroupSpec(
        "pair",
        (
            ProcessSpec("one", _SLEEPER, {"WHO": "one", "PL_SECRET": "s3cret-value"}),
            ProcessSpec("two", _SLEEPER, {"WHO": "two"}),
        ),
        tmp_path / "run",
        tmp_path / "logs",
    )
    yield spec
    stop_group(spec)


def test_group_runs_each_process_with_its_own_env_and_log(group: GroupSpec) -> None:
    start_group(group)
    assert group_running(group)
    pids = {p.name: process_pid(group, p.name) for p in group.processes}
    assert all(pids.values()) and len(set(pids.values())) == 2
    for name in ("one", "two"):
        log = group.log_dir / f"{name}.log"
        assert _wait_until(lambda log=log: log.is_file() and "hello from" in log.read_text())
        assert f"hello from {name}" in log.read_text()
    # The recorded pid is the program itself (the shell exec'd into it).
    one = pids["one"]
    assert one is not None
    assert Path(f"/proc/{one}/cmdline").read_bytes().split(b"\0")[0] == sys.executable.encode()


def test_secrets_stay_out_of_command_lines_and_readable_files(group: GroupSpec) -> None:
    start_group(group)
    assert group.spec_path.stat().st_mode & 0o777 == 0o600
    assert "s3cret-value" not in group.procfile_path.read_text()
    pid = process_pid(group, "one")
    assert pid is not None
    assert b"s3cret-value" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    assert b"PL_SECRET=s3cret-value" in Path(f"/proc/{pid}/environ").read_bytes()


def test_starting_a_running_group_again_changes_nothing(group: GroupSpec) -> None:
    first = start_group(group)
    pid = process_pid(group, "one")
    assert start_group(group) == first
    assert process_pid(group, "one") == pid


def test_a_process_that_dies_is_restarted_alone_and_counted(group: GroupSpec) -> None:
    start_group(group)
    one, two = process_pid(group, "one"), process_pid(group, "two")
    assert one is not None and two is not None
    os.kill(one, signal.SIGKILL)
    assert _wait_until(lambda: process_pid(group, "one") not in (None, one))
    # The other process of the group never stopped, and the restart is counted.
    assert process_pid(group, "two") == two and pid_alive(two)
    assert group_running(group)
    assert process_restarts(group) == {"one": 1, "two": 0}
    assert "one exited with status -9" in group.supervisor_log_path.read_text()


def test_a_crash_looping_process_backs_off(tmp_path: Path) -> None:
    spec = GroupSpec(
        "loop",
        (ProcessSpec("quitter", (sys.executable, "-c", "raise SystemExit(3)")),),
        tmp_path / "run",
        tmp_path / "logs",
    )
    try:
        start_group(spec)
        assert _wait_until(lambda: process_restarts(spec)["quitter"] >= 2)
        log = spec.supervisor_log_path.read_text()
        assert "restart 1 in 1s" in log and "restart 2 in 2s" in log
        assert _wait_until(lambda: crash_looping(spec) == ["quitter"])
    finally:
        stop_group(spec)


def test_ensure_group_restarts_a_group_whose_spec_changed(group: GroupSpec) -> None:
    first = start_group(group)
    assert ensure_group(group) == first  # same spec: left alone
    changed = GroupSpec(
        group.name,
        (group.processes[0], ProcessSpec("two", _SLEEPER, {"WHO": "two, moved"})),
        group.run_dir,
        group.log_dir,
    )
    second = ensure_group(changed)
    assert second != first and not pid_alive(first)
    two = process_pid(changed, "two")
    assert two is not None
    assert b"WHO=two, moved" in Path(f"/proc/{two}/environ").read_bytes()


def test_a_supervisor_whose_children_were_killed_first_stops_on_sigterm(group: GroupSpec) -> None:
    supervisor = start_group(group)
    for process in group.processes:
        pid = process_pid(group, process.name)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
    os.kill(supervisor, signal.SIGTERM)
    # Gone well before stop_group's SIGKILL fallback (10 s) would be needed.
    assert _wait_until(lambda: not pid_alive(supervisor), timeout_s=8.0)
    assert not group_running(group)


def test_stop_group_stops_everything_and_forgets_the_pids(group: GroupSpec) -> None:
    start_group(group)
    pids = [process_pid(group, p.name) for p in group.processes]
    assert stop_group(group)
    assert not group_running(group)
    assert [pid for pid in pids if pid is not None and pid_alive(pid)] == []
    assert not stop_group(group)  # nothing left to stop


def test_processes_of_a_killed_supervisor_are_still_stopped(group: GroupSpec) -> None:
    supervisor = start_group(group)
    pids = [process_pid(group, p.name) for p in group.processes]
    os.kill(supervisor, signal.SIGKILL)
    assert _wait_until(lambda: not pid_alive(supervisor))
    # The children run in sessions of their own and survive their supervisor.
    assert all(pid is not None and pid_alive(pid) for pid in pids)
    assert stop_group(group)
    assert [pid for pid in pids if pid is not None and pid_alive(pid)] == []


# Ignores SIGTERM (as a wedged server would), and leaves a child in its session that traps it.
_STUBBORN = (
    sys.executable,
    "-c",
    "import signal, subprocess, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "subprocess.Popen(['/bin/sh', '-c', \"trap '' TERM; sleep 300\"])\n"
    "print('ready', flush=True)\n"
    "time.sleep(300)\n",
)


@pytest.fixture
def stubborn(tmp_path: Path) -> Iterator[GroupSpec]:
    spec = GroupSpec(
        "stubborn",
        (
            ProcessSpec("wedged", _STUBBORN, {}),
            ProcessSpec("fine", _SLEEPER, {"WHO": "fine"}),
        ),
        tmp_path / "run",
        tmp_path / "logs",
    )
    yield spec
    stop_group(spec)


def _session_members(sid: int) -> list[int]:
    """Live processes of a session (zombies excluded)."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            # state ppid pgrp session: a zombie is dead (init reaps what its parent left).
            if int(fields[3]) == sid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


def _ready(spec: GroupSpec, name: str) -> bool:
    log = spec.log_dir / f"{name}.log"
    return log.exists() and "ready" in log.read_text()


def test_a_process_that_ignores_sigterm_is_killed_and_reaped_on_restart(
    stubborn: GroupSpec,
) -> None:
    start_group(stubborn)
    assert _wait_until(lambda: _ready(stubborn, "wedged"))
    old = process_pid(stubborn, "wedged")
    assert old is not None and len(_session_members(old)) >= 2  # the leader and its child
    fine = process_pid(stubborn, "fine")
    new = restart_process(stubborn, "wedged", grace_s=1.0)
    assert new != old
    # SIGKILLed with everything in its session, and reaped by the supervisor (its parent, still
    # running): not even a zombie is left.
    assert _wait_until(lambda: not Path(f"/proc/{old}").exists())
    assert _wait_until(lambda: _session_members(old) == [])
    assert process_pid(stubborn, "fine") == fine  # the rest of the group kept running
    log = (stubborn.log_dir / "stubborn.supervisor.log").read_text()
    assert f"wedged exited with status {-signal.SIGKILL}" in log


def test_down_sigkills_what_ignores_sigterm_and_leaves_nothing(stubborn: GroupSpec) -> None:
    supervisor = start_group(stubborn)
    assert _wait_until(lambda: _ready(stubborn, "wedged"))
    sessions = [process_pid(stubborn, p.name) for p in stubborn.processes]
    assert stop_group(stubborn)
    assert not pid_alive(supervisor)
    assert [s for s in sessions if s is not None and _session_members(s)] == []
    log = (stubborn.log_dir / "stubborn.supervisor.log").read_text()
    assert f"wedged stopped (status {-signal.SIGKILL})" in log
    assert not group_running(stubborn)
