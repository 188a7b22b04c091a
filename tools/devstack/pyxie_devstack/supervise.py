"""Process groups supervised by honcho, one detached supervisor per group.

A group is a set of processes that live and die together (honcho's rule: when one exits, the
others are stopped). ``start_group`` writes the group's spec (0600: it carries each process's
environment, secrets included, so nothing secret ever appears on a command line), also renders
it as a Procfile for people to read, and starts ``python -m pyxie_devstack supervise <spec>`` in
a session of its own. That process runs honcho's ``Manager`` with a printer that writes each
process's output to ``<logs>/<process>.log``.

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
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from pyxie_devstack._errors import DevstackError, StartError
from pyxie_devstack._process import pid_alive, read_pid_file, stop_pid_group

__all__ = [
    "GroupSpec",
    "ProcessSpec",
    "group_running",
    "process_pid",
    "run_group",
    "start_group",
    "stop_group",
]

# How long a group's processes get between honcho's SIGTERM and its SIGKILL is honcho's own
# KILL_WAIT (5 s); we wait a little longer for the supervisor before killing what is left.
_GROUP_STOP_TIMEOUT_S = 10.0
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


class _PerProcessLogPrinter:
    """honcho printer: each process's lines to its own log file, honcho's own to the group's."""

    def __init__(self, log_dir: Path, group: str) -> None:
        self.log_dir = log_dir
        self.group = group
        self.width = 0  # honcho sets this; unused here
        self._files: dict[str, TextIO] = {}

    def _file(self, name: str) -> TextIO:
        handle = self._files.get(name)
        if handle is None:
            file_name = f"{self.group}.supervisor.log" if name == "system" else f"{name}.log"
            handle = open(self.log_dir / file_name, "a", encoding="utf-8")  # noqa: SIM115
            self._files[name] = handle
        return handle

    def write(self, message: Any) -> None:
        data = message.data
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
        handle = self._file(message.name or "system")
        if message.name == "system":
            stamp = message.time.strftime("%H:%M:%S") if isinstance(message.time, datetime) else ""
            text = f"{stamp} [{self.group}] {text}"
        handle.write(text if text.endswith("\n") else text + "\n")
        handle.flush()


def run_group(spec_path: Path, *, detach: bool = False) -> int:
    """The supervisor's body (``python -m pyxie_devstack supervise``): honcho runs the group.

    With ``detach`` it first forks and lets the parent exit, so whoever started it can reap
    that parent at once and the supervisor lives on in a session of its own.
    """
    from honcho.manager import Manager

    spec = GroupSpec.from_json(spec_path.read_text())
    if detach:
        if os.fork() != 0:
            os._exit(0)
        os.setsid()
    own_argv0 = Path("/proc/self/cmdline").read_bytes().split(b"\0", 1)[0].decode()
    spec.supervisor_pid_path.write_text(json.dumps({"pid": os.getpid(), "program": own_argv0}))
    spec.log_dir.mkdir(parents=True, exist_ok=True)
    manager = Manager(printer=_PerProcessLogPrinter(spec.log_dir, spec.name))
    base_env = dict(os.environ)
    for process in spec.processes:
        env = base_env | dict(process.env)
        manager.add_process(
            process.name, spec.shell_command(process), env=env, cwd=process.cwd or None
        )
    try:
        manager.loop()
    finally:
        spec.supervisor_pid_path.unlink(missing_ok=True)
    return int(manager.returncode or 0)


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
        if supervisor is not None and all(
            process_pid(spec, p.name) is not None for p in spec.processes
        ):
            return supervisor
        time.sleep(_POLL_S)
    raise StartError(
        f"the processes of group {spec.name} did not start within "
        f"{_SUPERVISOR_START_TIMEOUT_S:.0f}s; see {log_path}"
    )


def stop_group(spec: GroupSpec, timeout_s: float = _GROUP_STOP_TIMEOUT_S) -> bool:
    """Stop the supervisor (honcho stops its processes), then anything left; True if it ran."""
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
            # honcho starts each command as a session leader, so its pid is its group id.
            stop_pid_group(pid, signal.SIGTERM, timeout_s)
        spec.process_pid_path(process.name).unlink(missing_ok=True)
    if supervisor is not None and pid_alive(supervisor):
        stop_pid_group(supervisor, signal.SIGKILL, timeout_s)
    spec.supervisor_pid_path.unlink(missing_ok=True)
    return supervisor is not None or leftovers


def check_processes(spec: GroupSpec, names: Sequence[str] | None = None) -> list[str]:
    """Names of the group's processes that are not running."""
    wanted = names if names is not None else [p.name for p in spec.processes]
    return [name for name in wanted if process_pid(spec, name) is None]


def require_running(spec: GroupSpec) -> None:
    down = check_processes(spec)
    if down:
        logs = ", ".join(str(spec.log_dir / f"{name}.log") for name in down)
        raise DevstackError(f"{', '.join(down)} of group {spec.name} exited; see {logs}")
