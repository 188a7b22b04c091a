"""Child process plumbing: own process group, parent-death signal, log files, clean stop.

Every server runs as the leader of a new session, so stopping it can signal the whole group
(PostgreSQL backends included). Three layers make sure nothing outlives its owner:

* ``stop()`` sends the graceful signal, waits, then SIGKILLs the group;
* an ``atexit`` hook stops whatever is still running when the interpreter exits normally or on
  an uncaught exception;
* the kernel's parent-death signal (``PR_SET_PDEATHSIG``) covers the owner being killed outright.
  It fires when the *thread* that spawned the child exits, so it is set only for children
  started from the main thread.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import errno
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from pyxie_devstack._errors import AlreadyRunningError

__all__ = [
    "ManagedProcess",
    "UserNamespace",
    "free_port",
    "make_preexec",
    "pid_alive",
    "port_is_free",
    "read_pid_file",
    "stop_pid_group",
]

_PR_SET_PDEATHSIG = 1
_CLONE_NEWUSER = 0x10000000
_POLL_INTERVAL_S = 0.05


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port the kernel considers free right now (another process may still take it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the servers themselves do: connections of a stopped server lingering in TIME_WAIT
        # must not make its port look taken.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); it is dead for our purposes.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


class UserNamespace:
    """Run a child as ``inside_uid`` in a new user namespace, mapped to our own (root) uid.

    PostgreSQL refuses to run with euid 0. Inside the namespace it sees an ordinary uid, while
    on the host its files stay owned by the invoking user and it needs no path permissions the
    invoking user lacks. Creating the namespace needs no privilege beyond what root has, but some
    container runtimes forbid it; :meth:`available` probes that once.
    """

    _probe: bool | None = None

    def __init__(self, inside_uid: int, inside_gid: int) -> None:
        self.inside_uid = inside_uid
        self.inside_gid = inside_gid

    def wrap(self, argv: Sequence[str]) -> list[str]:
        """``argv`` run through util-linux ``unshare``, which maps our uid to ``inside_uid``.

        The namespace is made by a program rather than by Python code between fork and exec:
        a forked child of a process with other threads (gRPC's, in tests) must not run Python.
        ``unshare`` execs the command in place, so the pid stays the command's.
        """
        return [
            "unshare",
            "--user",
            f"--map-user={self.inside_uid}",
            f"--map-group={self.inside_gid}",
            "--",
            *argv,
        ]

    @classmethod
    def available(cls) -> bool:
        if cls._probe is None:
            probe = cls(65534, 65534)
            try:
                result = subprocess.run(
                    probe.wrap(["/bin/sh", "-c", "test $(id -u) = 65534"]),
                    check=False,
                    capture_output=True,
                    timeout=30,
                )
            except (OSError, subprocess.SubprocessError):
                cls._probe = False
            else:
                cls._probe = result.returncode == 0
        return cls._probe


# Loaded here, not in a forked child: dlopen after fork can deadlock on a lock another thread
# of the parent held at fork time.
_LIBC = ctypes.CDLL(None, use_errno=True)


def make_preexec(death_signal: int | None, parent_pid: int) -> Callable[[], None] | None:
    """A pre-exec hook that makes the child die with its owner, or None when not wanted."""
    if death_signal is None:
        return None

    def preexec() -> None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, int(death_signal))
        if os.getppid() != parent_pid:  # the owner died before prctl took effect
            os._exit(1)

    return preexec


_LIVE: set[ManagedProcess] = set()
_LIVE_LOCK = threading.Lock()


def _stop_all_at_exit() -> None:
    with _LIVE_LOCK:
        live = list(_LIVE)
    for process in live:
        with contextlib.suppress(Exception):
            process.stop()


atexit.register(_stop_all_at_exit)


def read_pid_file(path: Path) -> int | None:
    """The pid recorded in ``path`` if that process is still the same program, else None."""
    try:
        record = json.loads(path.read_text())
        pid, program = int(record["pid"]), str(record["program"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not pid_alive(pid):
        return None
    try:
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0].decode()
    except OSError:
        return None
    # A recycled pid running something else must never be signalled.
    return pid if argv0 == program else None


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        # fields: state ppid pgrp ...
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def wait_group_gone(pgid: int, timeout_s: float) -> None:
    # SIGKILL is delivered asynchronously: wait until the members have really exited, so a
    # caller that checks right after stop() finds nothing left.
    deadline = time.monotonic() + timeout_s
    while _group_members(pgid) and time.monotonic() < deadline:
        time.sleep(_POLL_INTERVAL_S)


def stop_pid_group(pid: int, graceful: int, timeout_s: float) -> None:
    """Stop a session leader we did not spawn (``down``): graceful signal, then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, graceful)
    deadline = time.monotonic() + timeout_s
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(_POLL_INTERVAL_S)
    if _group_members(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        wait_group_gone(pid, timeout_s)


class ManagedProcess:
    """One server process: spawned into its own session, logged to a file, stopped cleanly."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        log_path: Path,
        pid_path: Path,
        graceful_signal: int = signal.SIGTERM,
        stop_timeout_s: float = 15.0,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        userns: UserNamespace | None = None,
        user: int | None = None,
        group: int | None = None,
    ) -> None:
        self.argv = list(argv)
        self.log_path = log_path
        self.pid_path = pid_path
        self.graceful_signal = graceful_signal
        self.stop_timeout_s = stop_timeout_s
        self._env = dict(env) if env is not None else None
        self._cwd = cwd
        self._userns = userns
        self._user = user
        self._group = group
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None else None

    def start(self) -> None:
        stale = read_pid_file(self.pid_path)
        if stale is not None:
            raise AlreadyRunningError(
                f"{Path(self.argv[0]).name} from an earlier run is still running (pid {stale}) "
                f"and owns {self.pid_path.parent}; stop it with `python -m pyxie_devstack down` "
                "or choose another PL_STATE_DIR"
            )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        in_main_thread = threading.current_thread() is threading.main_thread()
        death_signal = self.graceful_signal if in_main_thread else None
        with open(self.log_path, "ab") as log:
            log.write(f"\n==== {time.strftime('%Y-%m-%dT%H:%M:%S')} {self.argv}\n".encode())
            log.flush()
            self._popen = subprocess.Popen(
                self._userns.wrap(self.argv) if self._userns else self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env,
                cwd=self._cwd,
                start_new_session=True,
                user=self._user,
                group=self._group,
                preexec_fn=make_preexec(death_signal, os.getpid()),
            )
        with _LIVE_LOCK:
            _LIVE.add(self)
        self.pid_path.write_text(json.dumps({"pid": self._popen.pid, "program": self.argv[0]}))

    def exited(self) -> bool:
        """True once the process has exited; does not reap it, so its pid stays reserved."""
        if self._popen is None or self._popen.returncode is not None:
            return True
        try:
            info = os.waitid(os.P_PID, self._popen.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        return info is not None

    def _wait_exited(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while not self.exited():
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_INTERVAL_S)
        return True

    def stop(self) -> int | None:
        """Stop the process and everything in its group; return its exit status."""
        popen = self._popen
        if popen is None:
            return None
        if popen.returncode is None:
            if not self.exited():
                with contextlib.suppress(ProcessLookupError):
                    popen.send_signal(self.graceful_signal)
                self._wait_exited(self.stop_timeout_s)
            # The leader is dead or overdue but not reaped yet, so its pgid cannot have been
            # recycled: SIGKILL takes the leader (if overdue) and any children it left.
            try:
                os.killpg(popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            except PermissionError as exc:  # pragma: no cover - only if the group changed owner
                if exc.errno != errno.EPERM:
                    raise
            popen.wait()
            wait_group_gone(popen.pid, self.stop_timeout_s)
        with _LIVE_LOCK:
            _LIVE.discard(self)
        with contextlib.suppress(FileNotFoundError):
            if read_pid_file(self.pid_path) in (None, popen.pid):
                self.pid_path.unlink()
        return popen.returncode

    def log_tail(self, max_lines: int = 30) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(lines[-max_lines:])
