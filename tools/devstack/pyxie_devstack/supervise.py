"""Process groups, one detached supervisor per group that restarts what exits.

A group is a set of processes started together. ``start_group`` writes the group's spec (0600:
it carries each process's environment, secrets included, so nothing secret ever appears on a
command line), also renders it as a Procfile for people to read, and starts ``python -m
pyxie_devstack supervise <spec>`` in a session of its own. The supervisor restarts each process
that exits on its own, with exponential backoff, while the rest of the group keeps running (the
kubelet's rule, not honcho's "one exits, all stop"); ``<group>.status.json`` counts the restarts.
Each process's output goes to ``<logs>/<process>.log``, the supervisor's to
``<logs>/<group>.supervisor.log``.

Each command runs as ``sh -c 'echo {pid record} > <pid file>; exec <argv>'``: the shell records
its own pid and then becomes the program, so ``down`` can find and stop any process even after
its supervisor was killed outright.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pyxie_devstack._errors import DevstackError, StartError
from pyxie_devstack._process import pid_alive, read_pid_file, stop_pid_group, wait_group_gone

__all__ = [
    "CRASH_LOOP_RESTARTS",
    "GroupSpec",
    "ProcessSpec",
    "check_processes",
    "crash_looping",
    "ensure_group",
    "group_running",
    "process_pid",
    "process_restarts",
    "require_running",
    "restart_process",
    "run_group",
    "spec_changed",
    "start_group",
    "stop_group",
]

# How long a group's processes get between the supervisor's SIGTERM and its SIGKILL; stop_group
# waits a little longer for the supervisor before killing what is left.
_KILL_WAIT_S = 5.0
_GROUP_STOP_TIMEOUT_S = 10.0
# Restart backoff (the kubelet's shape, shorter for a dev stack): 1 s doubling up to 30 s, back
# to 1 s once a process stayed up for a minute.
_BACKOFF_START_S = 1.0
_BACKOFF_MAX_S = 30.0
_STABLE_AFTER_S = 60.0
# A process that exited this many times in a row without staying up is crash-looping: `up`
# reports it instead of waiting for its readiness.
CRASH_LOOP_RESTARTS = 3
_SUPERVISOR_START_TIMEOUT_S = 10.0
_POLL_S = 0.05


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    # Run inside this named network namespace (`ip netns exec`); "" = the host's.
    netns: str = ""
    cwd: str = ""

    def final_argv(self) -> list[str]:
        if self.netns:
            return ["ip", "netns", "exec", self.netns, *self.argv]
        return list(self.argv)


@dataclass(frozen=True)
class GroupSpec:
    name: str
    processes: tuple[ProcessSpec, ...]
    run_dir: Path  # spec, Procfile and pid files
    log_dir: Path

    @property
    def spec_path(self) -> Path:
        return self.run_dir / f"{self.name}.json"

    @property
    def procfile_path(self) -> Path:
        return self.run_dir / f"{self.name}.Procfile"

    @property
    def supervisor_pid_path(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def status_path(self) -> Path:
        return self.run_dir / f"{self.name}.status.json"

    @property
    def supervisor_log_path(self) -> Path:
        return self.log_dir / f"{self.name}.supervisor.log"

    def process_pid_path(self, process: str) -> Path:
        return self.run_dir / f"{self.name}.{process}.pid"

    def shell_command(self, process: ProcessSpec) -> str:
        # `ip netns exec` execs its command without forking, so after `exec` the recorded pid
        # runs the program itself (read_pid_file checks that argv[0]).
        program = json.dumps(process.argv[0])
        pid_file = shlex.quote(str(self.process_pid_path(process.name)))
        record = f'printf \'{{"pid": %d, "program": %s}}\' "$$" {shlex.quote(program)}'
        return f"{record} > {pid_file}; exec {shlex.join(process.final_argv())}"

    def to_json(self) -> str:
        raw: dict[str, Any] = {
            "name": self.name,
            "run_dir": str(self.run_dir),
            "log_dir": str(self.log_dir),
            "processes": [asdict(p) | {"argv": list(p.argv)} for p in self.processes],
        }
        return json.dumps(raw, indent=2)

    @classmethod
    def from_json(cls, text: str) -> GroupSpec:
        raw = json.loads(text)
        processes = tuple(
            ProcessSpec(
                name=p["name"],
                argv=tuple(p["argv"]),
                env=dict(p["env"]),
                netns=p.get("netns", ""),
                cwd=p.get("cwd", ""),
            )
            for p in raw["processes"]
        )
        return cls(raw["name"], processes, Path(raw["run_dir"]), Path(raw["log_dir"]))

    def procfile(self) -> str:
        """The group as a Procfile (environment left out: it may hold secrets)."""
        lines = [f"# group {self.name}; environment in {self.spec_path.name} (0600)"]
        lines += [f"{p.name}: {shlex.join(p.final_argv())}" for p in self.processes]
        return "\n".join(lines) + "\n"


@dataclass
class _Child:
    """One supervised process: its current incarnation and its restart history."""

    spec: ProcessSpec
    popen: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    delay_s: float = 0.0
    next_start: float = 0.0
    last_exit: int | None = None

    def status(self) -> dict[str, Any]:
        return {
            "pid": self.popen.pid if self.popen is not None else None,
            "restarts": self.restarts,
            "last_exit": self.last_exit,
        }


class _Supervisor:
    """Runs a group's processes and restarts each one that exits, on its own, with backoff.

    As the kubelet does for a pod's containers: a process that exits is started again after a
    delay that doubles with every quick exit (``_BACKOFF_START_S`` up to ``_BACKOFF_MAX_S``) and
    falls back to the shortest once the process ran ``_STABLE_AFTER_S``. The others keep running.
    Each process writes straight to its own log file (no pipes through the supervisor, so a
    grandchild holding a pipe can never keep the supervisor waiting).
    """

    def __init__(self, spec: GroupSpec) -> None:
        self.spec = spec
        self.children = [_Child(p) for p in spec.processes]
        self.stopping = False
        self._base_env = dict(os.environ)

    def say(self, text: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        with open(self.spec.supervisor_log_path, "a", encoding="utf-8") as log:
            log.write(f"{stamp} [{self.spec.name}] {text}\n")

    def _write_status(self) -> None:
        status = {c.spec.name: c.status() for c in self.children}
        tmp = self.spec.status_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(status))
        tmp.replace(self.spec.status_path)

    def _start(self, child: _Child) -> None:
        process = child.spec
        log_path = self.spec.log_dir / f"{process.name}.log"
        with open(log_path, "ab") as log:
            child.popen = subprocess.Popen(
                ["/bin/sh", "-c", self.spec.shell_command(process)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._base_env | dict(process.env),
                cwd=process.cwd or None,
                start_new_session=True,
                close_fds=True,
            )
        child.started_at = time.monotonic()
        self.say(f"{process.name} started (pid {child.popen.pid})")
        self._write_status()

    def _reap(self, child: _Child) -> None:
        popen = child.popen
        if popen is None or popen.poll() is None:
            return
        # Whatever the process left behind in its session goes with it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(popen.pid, signal.SIGKILL)
        child.popen = None
        child.last_exit = popen.returncode
        ran_s = time.monotonic() - child.started_at
        if ran_s >= _STABLE_AFTER_S or child.delay_s == 0.0:
            child.delay_s = _BACKOFF_START_S
        else:
            child.delay_s = min(child.delay_s * 2, _BACKOFF_MAX_S)
        child.restarts += 1
        child.next_start = time.monotonic() + child.delay_s
        self.say(
            f"{child.spec.name} exited with status {popen.returncode} after {ran_s:.1f}s; "
            f"restart {child.restarts} in {child.delay_s:.0f}s"
        )
        self._write_status()

    def run(self) -> int:
        for child in self.children:
            self._start(child)
        while not self.stopping:
            for child in self.children:
                if self.stopping:
                    break
                self._reap(child)
                if child.popen is None and time.monotonic() >= child.next_start:
                    self._start(child)
            time.sleep(_POLL_S * 2)
        self.stop_all()
        return 0

    def stop_all(self) -> None:
        live = [c.popen for c in self.children if c.popen is not None]
        for popen in live:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + _KILL_WAIT_S
        while any(p.poll() is None for p in live) and time.monotonic() < deadline:
            time.sleep(_POLL_S)
        for popen in live:
            # SIGKILL the whole session: the leader if overdue and anything it left behind.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(popen.pid, signal.SIGKILL)
            popen.wait()
            # SIGKILL lands asynchronously: `down` returns once nothing of the session is left.
            wait_group_gone(popen.pid, _KILL_WAIT_S)
        for child in self.children:
            if child.popen is not None:
                self.say(f"{child.spec.name} stopped (status {child.popen.returncode})")
                child.last_exit = child.popen.returncode
                child.popen = None
        self._write_status()


def run_group(spec_path: Path, *, detach: bool = False) -> int:
    """The supervisor's body (``python -m pyxie_devstack supervise``).

    With ``detach`` it first forks and lets the parent exit, so whoever started it can reap
    that parent at once and the supervisor lives on in a session of its own.
    """
    spec = GroupSpec.from_json(spec_path.read_text())
    if detach:
        if os.fork() != 0:
            os._exit(0)
        os.setsid()
    own_argv0 = Path("/proc/self/cmdline").read_bytes().split(b"\0", 1)[0].decode()
    spec.log_dir.mkdir(parents=True, exist_ok=True)
    supervisor = _Supervisor(spec)

    def on_signal(signum: int, _frame: object) -> None:
        supervisor.stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    spec.supervisor_pid_path.write_text(json.dumps({"pid": os.getpid(), "program": own_argv0}))
    try:
        return supervisor.run()
    finally:
        supervisor.stop_all()
        spec.supervisor_pid_path.unlink(missing_ok=True)


def _private_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)  # an older file keeps its mode through O_TRUNC


def group_running(spec: GroupSpec) -> bool:
    return read_pid_file(spec.supervisor_pid_path) is not None


def process_pid(spec: GroupSpec, process: str) -> int | None:
    return read_pid_file(spec.process_pid_path(process))


def process_restarts(spec: GroupSpec) -> dict[str, int]:
    """How often the supervisor restarted each process of the group (0 when never)."""
    try:
        raw = json.loads(spec.status_path.read_text())
    except (OSError, ValueError):
        raw = {}
    counts: dict[str, int] = {}
    for process in spec.processes:
        entry = raw.get(process.name) if isinstance(raw, dict) else None
        counts[process.name] = int(entry.get("restarts", 0)) if isinstance(entry, dict) else 0
    return counts


def crash_looping(spec: GroupSpec) -> list[str]:
    """Processes that are down and were restarted ``CRASH_LOOP_RESTARTS`` times or more."""
    restarts = process_restarts(spec)
    return [
        name
        for name in check_processes(spec)
        if restarts.get(name, 0) >= CRASH_LOOP_RESTARTS or not group_running(spec)
    ]


def spec_changed(spec: GroupSpec) -> bool:
    """True when the group runs from a spec other than ``spec`` (new ports, addresses, env)."""
    try:
        return spec.spec_path.read_text() != spec.to_json()
    except OSError:
        return True


def ensure_group(spec: GroupSpec) -> int:
    """Start the group, or restart it when it runs from another spec; the supervisor's pid.

    A running group with a process down is left alone: its supervisor restarts that process.
    """
    if group_running(spec) and spec_changed(spec):
        stop_group(spec)
    return start_group(spec)


def start_group(spec: GroupSpec) -> int:
    """Start the group's supervisor (detached) unless it runs; return the supervisor's pid."""
    running = read_pid_file(spec.supervisor_pid_path)
    if running is not None:
        return running
    spec.run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    spec.log_dir.mkdir(parents=True, exist_ok=True)
    _private_write(spec.spec_path, spec.to_json())
    spec.procfile_path.write_text(spec.procfile())
    for process in spec.processes:
        spec.process_pid_path(process.name).unlink(missing_ok=True)
    spec.supervisor_pid_path.unlink(missing_ok=True)
    spec.status_path.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "pyxie_devstack", "supervise", "--detach", str(spec.spec_path)]
    log_path = spec.log_dir / f"{spec.name}.supervisor.log"
    with open(log_path, "ab") as log:
        launcher = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            timeout=_SUPERVISOR_START_TIMEOUT_S,
            check=False,
        )
    if launcher.returncode != 0:
        raise StartError(
            f"supervisor of {spec.name} failed ({launcher.returncode}); see {log_path}"
        )
    deadline = time.monotonic() + _SUPERVISOR_START_TIMEOUT_S
    while time.monotonic() < deadline:
        supervisor = read_pid_file(spec.supervisor_pid_path)
        # Started = running now, or already exited and scheduled for a restart (a process that
        # exits at once spends most of its time in backoff, with no pid to see).
        restarts = process_restarts(spec)
        if supervisor is not None and all(
            process_pid(spec, p.name) is not None or restarts.get(p.name, 0) > 0
            for p in spec.processes
        ):
            return supervisor
        time.sleep(_POLL_S)
    raise StartError(
        f"the processes of group {spec.name} did not start within "
        f"{_SUPERVISOR_START_TIMEOUT_S:.0f}s; see {log_path}"
    )


def stop_group(spec: GroupSpec, timeout_s: float = _GROUP_STOP_TIMEOUT_S) -> bool:
    """Stop the supervisor (it stops its processes), then anything left; True if it ran."""
    supervisor = read_pid_file(spec.supervisor_pid_path)
    if supervisor is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(supervisor, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while pid_alive(supervisor) and time.monotonic() < deadline:
            time.sleep(_POLL_S)
    leftovers = False
    for process in spec.processes:
        pid = process_pid(spec, process.name)
        if pid is not None:
            leftovers = True
            # Each command runs as a session leader, so its pid is its group id.
            stop_pid_group(pid, signal.SIGTERM, timeout_s)
        spec.process_pid_path(process.name).unlink(missing_ok=True)
    if supervisor is not None and pid_alive(supervisor):
        stop_pid_group(supervisor, signal.SIGKILL, timeout_s)
    spec.supervisor_pid_path.unlink(missing_ok=True)
    return supervisor is not None or leftovers


def restart_process(
    spec: GroupSpec,
    name: str,
    *,
    grace_s: float = _KILL_WAIT_S,
    timeout_s: float = _BACKOFF_START_S + _GROUP_STOP_TIMEOUT_S,
) -> int:
    """Restart one process of a running group; returns its new pid.

    SIGTERM to the process's session; one that is still there after ``grace_s`` (it ignores
    or traps SIGTERM) gets SIGKILL, as the kubelet does after a pod's grace period. The
    supervisor reaps it and starts it again (its first restart waits ``_BACKOFF_START_S``).
    """
    old = process_pid(spec, name)
    if old is None:
        raise DevstackError(f"{name} of group {spec.name} is not running")
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(old, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while pid_alive(old) and time.monotonic() < deadline:
        time.sleep(_POLL_S)
    if pid_alive(old):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(old, signal.SIGKILL)
        wait_group_gone(old, grace_s)
    deadline = time.monotonic() + grace_s + timeout_s
    while True:
        pid = process_pid(spec, name)
        if pid is not None and pid != old:
            return pid
        if time.monotonic() >= deadline:
            raise StartError(f"{name} of group {spec.name} did not come back after its restart")
        time.sleep(_POLL_S)


def check_processes(spec: GroupSpec, names: Sequence[str] | None = None) -> list[str]:
    """Names of the group's processes that are not running."""
    wanted = names if names is not None else [p.name for p in spec.processes]
    return [name for name in wanted if process_pid(spec, name) is None]


def require_running(spec: GroupSpec) -> None:
    down = check_processes(spec)
    if down:
        logs = ", ".join(str(spec.log_dir / f"{name}.log") for name in down)
        raise DevstackError(f"{', '.join(down)} of group {spec.name} exited; see {logs}")
