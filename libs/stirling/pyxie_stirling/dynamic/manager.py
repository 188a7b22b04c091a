"""The PEM's tracepoint manager (Pixie's TracepointManager + dynamic_tracer/dynamic_bpftrace).

`deploy(id, deployment)` resolves the target on this node, builds every program of the
deployment (refusing unsafe ones before anything loads), creates the tables in the store and
starts the programs; `remove(id)` stops them (their tables and rows stay queryable). States go
to `report(id, state, code, message)`: PENDING, RUNNING, FAILED (with a gRPC code) or
TERMINATED. Each deployment and each refusal is audit-logged.
"""

from __future__ import annotations

import platform
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Protocol

from pyxie_proto.vizier.messagespb import messages_pb2
from pyxie_types import UPID, TableSchema
from pyxie_types.tracepoints import (
    TracepointSpecError,
    UnsafeProgramError,
    bpftrace_table_schema,
    check_bpftrace_program,
    check_identifier,
    check_symbol,
)

from ..core import Clock, ProcessResolver
from ._codegen import generate_probe
from ._dwarf import has_symbol, read_signature
from ._runners import BPFTraceRunner, RowSink, Runner, UprobeRunner

__all__ = ["DynamicTracer", "ReportFn", "TableRegistry", "TargetResolver", "TracepointError"]

ReportFn = Callable[[str, int, int, str], None]
_S = messages_pb2.TracepointState
# gRPC status codes carried in TracepointInfoUpdate.
INVALID_ARGUMENT: Final = 3
NOT_FOUND: Final = 5
FAILED_PRECONDITION: Final = 9
RESOURCE_EXHAUSTED: Final = 8
INTERNAL: Final = 13
# Each deployment holds BPF programs or a bpftrace process on the node: a mutation key must not
# be able to exhaust the node with them.
DEFAULT_MAX_DEPLOYMENTS: Final = 32


class TracepointError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class TableRegistry(RowSink, Protocol):
    def schemas(self) -> dict[str, TableSchema]: ...

    def add_table(self, schema: TableSchema, max_bytes: int | None = None) -> object: ...


class TargetResolver(Protocol):
    """Pids of this node's processes in a pod ("<ns>/<pod>"), optionally one container."""

    def pod_pids(self, pod: str, container: str) -> list[int]: ...


AuditFn = Callable[..., object]


@dataclass
class _Deployment:
    name: str
    runners: list[Runner] = field(default_factory=list)
    states: dict[str, str] = field(default_factory=dict)
    failed: str = ""


def _kernel_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def _exe(pid: int) -> Path:
    try:
        return Path(f"/proc/{pid}/exe").resolve(strict=True)
    except OSError:
        raise TracepointError(NOT_FOUND, f"process {pid} is gone") from None


def _mapped_library(pid: int, name: str) -> Path:
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        raise TracepointError(NOT_FOUND, f"process {pid} is gone") from None
    for line in maps.splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) == 6 and parts[5].startswith("/"):
            path = Path(parts[5])
            if path.name == name or path.name.startswith(f"{name}.") or str(path) == name:
                return path
    raise TracepointError(NOT_FOUND, f"process {pid} maps no shared object {name!r}")


def _target_starts(target: messages_pb2.TracepointTarget) -> dict[int, int]:
    kind = target.WhichOneof("target")
    upid_proto = (
        target.upid
        if kind == "upid"
        else target.shared_object.upid
        if kind == "shared_object"
        else None
    )
    if upid_proto is None:
        return {}
    upid = UPID.from_int(upid_proto.high << 64 | upid_proto.low)
    return {upid.pid: upid.start_time_ticks}


class DynamicTracer:
    """Tracepoints of one PEM."""

    def __init__(
        self,
        store: TableRegistry,
        asid: Callable[[], int],
        report: ReportFn,
        *,
        targets: TargetResolver | None = None,
        audit: AuditFn | None = None,
        kernel_release: str | None = None,
        bpftrace: str | None = None,
        max_deployments: int = DEFAULT_MAX_DEPLOYMENTS,
    ) -> None:
        self._max_deployments = max_deployments
        self._store = store
        self._asid = asid
        self._report = report
        self._targets = targets
        self._audit = audit
        self._kernel = kernel_release or platform.release()
        self._bpftrace = bpftrace
        self._clock = Clock()
        self._lock = threading.Lock()
        self._deployments: dict[str, _Deployment] = {}

    @property
    def active(self) -> list[str]:
        with self._lock:
            return sorted(self._deployments)

    def deploy(self, tracepoint_id: str, deployment: messages_pb2.TracepointDeployment) -> None:
        with self._lock:
            if tracepoint_id in self._deployments:
                return  # a repeated request (re-registration): already running
            full = len(self._deployments) >= self._max_deployments
            tracked = _Deployment(deployment.name)
            if not full:
                self._deployments[tracepoint_id] = tracked
        if full:
            self._refuse(
                tracepoint_id,
                deployment,
                RESOURCE_EXHAUSTED,
                f"this node already runs {self._max_deployments} tracepoints; delete some first",
                "refused",
            )
            return
        self._report(tracepoint_id, _S.TRACEPOINT_STATE_PENDING, 0, "")
        try:
            runners = self._build(tracepoint_id, deployment, tracked)
        except UnsafeProgramError as err:
            self._refuse(tracepoint_id, deployment, INVALID_ARGUMENT, str(err), "refused")
            return
        except TracepointSpecError as err:
            self._refuse(tracepoint_id, deployment, INVALID_ARGUMENT, str(err), "failed")
            return
        except TracepointError as err:
            self._refuse(tracepoint_id, deployment, err.code, err.message, "failed")
            return
        tracked.runners = runners
        self._audit_event("applied", deployment, tracepoint_id)
        for runner in runners:
            runner.start()

    def _refuse(
        self,
        tracepoint_id: str,
        deployment: messages_pb2.TracepointDeployment,
        code: int,
        message: str,
        outcome: str,
    ) -> None:
        self._audit_event(outcome, deployment, tracepoint_id, reason=message)
        with self._lock:
            self._deployments.pop(tracepoint_id, None)
        self._report(tracepoint_id, _S.TRACEPOINT_STATE_FAILED, code, message)

    def _audit_event(
        self,
        outcome: str,
        deployment: messages_pb2.TracepointDeployment,
        tracepoint_id: str,
        *,
        reason: str = "",
    ) -> None:
        if self._audit is None:
            return
        self._audit(
            "tracepoint.deploy",
            outcome,
            actor="service:pem",
            target=deployment.name,
            reason=reason,
            tracepoint_id=tracepoint_id,
            tables=",".join(p.table_name for p in deployment.programs),
        )

    def remove(self, tracepoint_id: str) -> None:
        with self._lock:
            tracked = self._deployments.pop(tracepoint_id, None)
        if tracked is not None:
            for runner in tracked.runners:
                runner.stop()
        self._report(tracepoint_id, _S.TRACEPOINT_STATE_TERMINATED, 0, "")

    def stop(self) -> None:
        for tracepoint_id in self.active:
            with self._lock:
                tracked = self._deployments.pop(tracepoint_id, None)
            if tracked is not None:
                for runner in tracked.runners:
                    runner.stop()

    # ------------------------------------------------------------ building

    def _build(
        self,
        tracepoint_id: str,
        deployment: messages_pb2.TracepointDeployment,
        tracked: _Deployment,
    ) -> list[Runner]:
        check_identifier(deployment.name, "tracepoint name")
        if not deployment.programs:
            raise TracepointSpecError("the deployment has no programs")
        planned: list[tuple[TableSchema, Callable[[Callable[[str, str], None]], Runner]]] = []
        for program in deployment.programs:
            planned.append(self._plan(program, deployment.target))
        for schema, _ in planned:
            self._ensure_table(schema)
        runners = []
        for index, (schema, make) in enumerate(planned):
            key = f"{index}:{schema.name}"
            tracked.states[key] = "PENDING"
            runners.append(make(self._state_callback(tracepoint_id, tracked, key)))
        return runners

    def _plan(
        self, program: messages_pb2.TracepointProgram, target: messages_pb2.TracepointTarget
    ) -> tuple[TableSchema, Callable[[Callable[[str, str], None]], Runner]]:
        table = check_identifier(program.table_name, "table name")
        kind = program.WhichOneof("program")
        if kind == "bpftrace":
            spec = program.bpftrace
            # The read-only rule first: an unsafe program is refused whatever else it has.
            check_bpftrace_program(spec.program)
            self._check_kernel(spec.min_kernel, spec.max_kernel)
            schema = bpftrace_table_schema(table, spec.program)
            return schema, lambda on_state: BPFTraceRunner(
                spec.program,
                schema,
                self._store,
                on_state,
                clock=self._clock,
                executable=self._bpftrace,
            )
        if kind != "probe":
            raise TracepointSpecError(f"program for table {table!r} is empty")
        probe = program.probe
        check_symbol(probe.symbol)
        binary, pids = self._resolve(target, probe.binary)
        known_starts = _target_starts(target)
        if not binary.is_file():
            raise TracepointError(NOT_FOUND, f"binary {binary} does not exist on this node")
        if not has_symbol(binary, probe.symbol):
            raise TracepointError(NOT_FOUND, f"{binary} has no symbol {probe.symbol!r}")
        signature = read_signature(binary, probe.symbol)
        generated = generate_probe(probe, signature, table, filter_tgids=tuple(pids))
        resolver = ProcessResolver(self._asid())
        return generated.schema, lambda on_state: UprobeRunner(
            generated,
            binary,
            probe.symbol,
            self._store,
            resolver,
            on_state,
            clock=self._clock,
            known_starts=known_starts,
        )

    def _check_kernel(self, low: str, high: str) -> None:
        running = _kernel_tuple(self._kernel)
        if low and running < _kernel_tuple(low):
            raise TracepointError(
                FAILED_PRECONDITION, f"kernel {self._kernel} is older than min_kernel {low}"
            )
        if high and running > _kernel_tuple(high):
            raise TracepointError(
                FAILED_PRECONDITION, f"kernel {self._kernel} is newer than max_kernel {high}"
            )

    def _resolve(
        self, target: messages_pb2.TracepointTarget, binary: str
    ) -> tuple[Path, Sequence[int]]:
        """(binary to attach to, tgids to keep; empty = every process running it)."""
        kind = target.WhichOneof("target")
        if kind == "binary_path":
            return Path(target.binary_path), ()
        if kind == "upid":
            upid = UPID.from_int(target.upid.high << 64 | target.upid.low)
            if upid.asid != self._asid():
                raise TracepointError(NOT_FOUND, f"process {upid} does not run on this node")
            return (Path(binary) if binary else _exe(upid.pid)), (upid.pid,)
        if kind == "shared_object":
            upid = UPID.from_int(
                target.shared_object.upid.high << 64 | target.shared_object.upid.low
            )
            if upid.asid != self._asid():
                raise TracepointError(NOT_FOUND, f"process {upid} does not run on this node")
            return _mapped_library(upid.pid, target.shared_object.name), (upid.pid,)
        if kind == "pod_process":
            pod = target.pod_process
            if self._targets is None:
                raise TracepointError(FAILED_PRECONDITION, "this agent has no pod metadata")
            pids = [
                pid
                for pid in self._targets.pod_pids(pod.pod, pod.container)
                if not pod.process or pod.process in _cmdline(pid)
            ]
            if not pids:
                raise TracepointError(
                    NOT_FOUND, f"no process of pod {pod.pod!r} matches on this node"
                )
            paths = {Path(binary)} if binary else {_exe(pid) for pid in pids}
            if len(paths) != 1:
                raise TracepointError(
                    INVALID_ARGUMENT,
                    f"processes of pod {pod.pod!r} run different binaries "
                    f"({', '.join(sorted(map(str, paths)))}); name one with process_name",
                )
            return paths.pop(), pids
        raise TracepointError(INVALID_ARGUMENT, "a function probe needs a process target")

    def _ensure_table(self, schema: TableSchema) -> None:
        existing = self._store.schemas().get(schema.name)
        if existing is None:
            self._store.add_table(schema)
            return
        if existing.relation != schema.relation:
            raise TracepointError(
                FAILED_PRECONDITION,
                f"table {schema.name!r} already exists with other columns; pick another name",
            )

    def _state_callback(
        self, tracepoint_id: str, tracked: _Deployment, key: str
    ) -> Callable[[str, str], None]:
        def on_state(state: str, message: str) -> None:
            with self._lock:
                if self._deployments.get(tracepoint_id) is not tracked:
                    return  # removed meanwhile
                tracked.states[key] = state
                if state == "FAILED":
                    tracked.failed = message
                states = set(tracked.states.values())
            if "FAILED" in states:
                self._report(tracepoint_id, _S.TRACEPOINT_STATE_FAILED, INTERNAL, tracked.failed)
            elif states == {"RUNNING"}:
                self._report(tracepoint_id, _S.TRACEPOINT_STATE_RUNNING, 0, "")

        return on_state
