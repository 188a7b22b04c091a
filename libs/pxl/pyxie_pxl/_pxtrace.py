"""The ``pxtrace`` module: tracepoint mutations (Pixie's dynamic tracing).

A script deploys probes and reads their tables in one go::

    import pxtrace
    import px

    @pxtrace.probe("/usr/local/bin/app:compute")
    def probe_fn():
        return [{"n": pxtrace.ArgExpr("n")},
                {"result": pxtrace.RetExpr("$0")},
                {"latency": pxtrace.FunctionLatency()}]

    pxtrace.UpsertTracepoint("compute_probe", "compute_table", probe_fn, None, "5m")
    px.display(px.DataFrame("compute_table"))

``UpsertTracepoint(name, table_name, probe_fn, target, ttl)``: ``probe_fn`` is a
``@pxtrace.probe`` function, a bpftrace program string or ``pxtrace.TraceProgram(...)``;
``target`` is ``pxtrace.UPID(...)`` / ``px.uint128(...)`` / a UPID string, ``pxtrace.PodProcess``,
``pxtrace.SharedObject``, ``pxtrace.kprobe()`` (kernel programs) or ``None`` (the binary the
probe names; kernel for bpftrace); ``ttl`` a duration string ("5m") or nanoseconds. Calls with
one name add tables to one deployment. ``DeleteTracepoint(name)`` removes a deployment.

Evaluating these records mutations; the compiler returns them with the plan and the broker
registers them with the metadata service before it runs the rest of the script.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from pyxie_proto.vizier.messagespb import messages_pb2
from pyxie_types import DataType
from pyxie_types.tracepoints import (
    TracepointSpecError,
    bpftrace_fields,
    check_bpftrace_program,
    check_column_name,
    check_identifier,
    check_symbol,
)

from ._time import parse_duration
from ._values import BuiltinFunction, Loc, ModuleValue, PCall, PLit, UserFunction

__all__ = [
    "MutationPlan",
    "ProbeDecorator",
    "ProbeFunction",
    "make_pxtrace_module",
]

# Pixie's default when a script gives no ttl.
_DEFAULT_TTL_NS = 10 * 60 * 10**9
_KERNEL_VERSION_CHARS = set("0123456789.")


class _Caller(Protocol):
    def call_user(
        self, func: UserFunction, args: list[Any], kwargs: dict[str, Any], loc: Loc
    ) -> Any: ...


@dataclass
class MutationPlan:
    """Tracepoints a script deploys (in order of first mention) and the names it deletes."""

    deployments: list[messages_pb2.TracepointDeployment] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.deployments or self.deletes)

    @property
    def table_names(self) -> list[str]:
        return [p.table_name for d in self.deployments for p in d.programs]


@dataclass(frozen=True, slots=True)
class _ArgExpr:
    name: str


@dataclass(frozen=True, slots=True)
class _RetExpr:
    expr: str


@dataclass(frozen=True, slots=True)
class _FunctionLatency:
    pass


@dataclass(frozen=True, slots=True)
class _TraceProgram:
    program: str
    min_kernel: str
    max_kernel: str


@dataclass(frozen=True, slots=True)
class _Target:
    target: messages_pb2.TracepointTarget


@dataclass(frozen=True, slots=True)
class ProbeDecorator:
    """``@pxtrace.probe("[binary:]symbol")`` before it wraps its function."""

    binary: str
    symbol: str

    def decorate(self, func: UserFunction, loc: Loc) -> ProbeFunction:
        if func.node.args.args:
            raise loc.error(f"probe function {func.node.name}() must take no arguments")
        return ProbeFunction(self, func)


@dataclass(frozen=True, slots=True)
class ProbeFunction:
    decorator: ProbeDecorator
    func: UserFunction


def _string(value: Any, what: str, loc: Loc) -> str:
    if isinstance(value, PLit) and value.data_type is DataType.STRING:
        return str(value.value)
    raise loc.error(f"{what} must be a string")


def _bind(
    name: str,
    params: list[str],
    args: list[Any],
    kwargs: dict[str, Any],
    loc: Loc,
    required: int,
) -> dict[str, Any]:
    if len(args) > len(params):
        raise loc.error(f"pxtrace.{name}() takes at most {len(params)} arguments")
    bound = dict(zip(params, args, strict=False))
    for key, value in kwargs.items():
        if key not in params:
            raise loc.error(f"pxtrace.{name}() got an unexpected keyword argument '{key}'")
        if key in bound:
            raise loc.error(f"pxtrace.{name}() got multiple values for argument '{key}'")
        bound[key] = value
    missing = [p for p in params[:required] if p not in bound]
    if missing:
        raise loc.error(f"pxtrace.{name}() missing argument(s): {', '.join(missing)}")
    return bound


def _upid(text: str, loc: Loc) -> messages_pb2.TracepointTarget:
    parts = text.split(":")
    try:
        asid, pid, start = (int(p) for p in parts)
    except ValueError:
        raise loc.error(
            f"UPID {text!r} must be asid:pid:start_time_ticks (as px.upid_to_string prints it)"
        ) from None
    value = ((asid << 32 | pid) << 64) | start
    target = messages_pb2.TracepointTarget()
    target.upid.high = value >> 64
    target.upid.low = value & (2**64 - 1)
    return target


def _target(value: Any, loc: Loc) -> messages_pb2.TracepointTarget | None:
    if value is None:
        return None
    if isinstance(value, _Target):
        return value.target
    if isinstance(value, PLit) and value.data_type is DataType.STRING:
        return _upid(str(value.value), loc)
    if isinstance(value, PCall) and value.name == "uint128" and len(value.args) == 1:
        return _upid(_string(value.args[0], "px.uint128()'s argument", loc), loc)
    raise loc.error(
        "the tracepoint target must be pxtrace.UPID(...), px.uint128(...), "
        "pxtrace.PodProcess(...), pxtrace.SharedObject(...), pxtrace.kprobe() or None"
    )


def _ttl(value: Any, loc: Loc) -> int:
    if value is None:
        return _DEFAULT_TTL_NS
    if isinstance(value, PLit) and value.data_type is DataType.STRING:
        parsed = parse_duration(str(value.value))
        if parsed is None or parsed <= 0:
            raise loc.error(f"ttl {value.value!r} is not a positive duration such as '5m'")
        return parsed
    if isinstance(value, PLit) and value.data_type is DataType.INT64 and int(value.value) > 0:
        return int(value.value)
    raise loc.error("ttl must be a duration string such as '5m' or nanoseconds")


def _check(loc: Loc, check: Any, *args: Any) -> Any:
    try:
        return check(*args)
    except TracepointSpecError as err:
        raise loc.error(str(err)) from None


def _kernel_bound(value: Any, what: str, loc: Loc) -> str:
    if value is None:
        return ""
    text = _string(value, what, loc)
    if text and (set(text) - _KERNEL_VERSION_CHARS or text.startswith(".")):
        raise loc.error(f"{what} {text!r} must be a kernel version such as '5.10'")
    return text


class _Tracer:
    def __init__(self, caller: _Caller) -> None:
        self._caller = caller
        self.plan = MutationPlan()

    # ------------------------------------------------------------ probe outputs

    def probe(self, args: list[Any], kwargs: dict[str, Any], loc: Loc) -> ProbeDecorator:
        bound = _bind("probe", ["symbol"], args, kwargs, loc, required=1)
        text = _string(bound["symbol"], "pxtrace.probe()'s symbol", loc)
        binary, sep, symbol = text.rpartition(":")
        if sep and not binary.startswith("/"):
            raise loc.error(
                f"pxtrace.probe({text!r}): the binary before ':' must be an absolute path"
            )
        _check(loc, check_symbol, symbol)
        return ProbeDecorator(binary, symbol)

    def arg_expr(self, args: list[Any], kwargs: dict[str, Any], loc: Loc) -> _ArgExpr:
        bound = _bind("ArgExpr", ["expr"], args, kwargs, loc, required=1)
        name = _string(bound["expr"], "pxtrace.ArgExpr()'s argument", loc)
        if "." in name or "[" in name:
            raise loc.error(
                f"pxtrace.ArgExpr({name!r}): struct fields and indexing are not supported; "
                "name a whole argument"
            )
        _check(loc, check_identifier, name, "argument name")
        return _ArgExpr(name)

    def ret_expr(self, args: list[Any], kwargs: dict[str, Any], loc: Loc) -> _RetExpr:
        bound = _bind("RetExpr", ["expr"], args, kwargs, loc, required=1)
        expr = _string(bound["expr"], "pxtrace.RetExpr()'s argument", loc)
        if expr != "$0":
            raise loc.error(
                f"pxtrace.RetExpr({expr!r}): only '$0' (the whole return value) is supported"
            )
        return _RetExpr(expr)

    def latency(self, args: list[Any], kwargs: dict[str, Any], loc: Loc) -> _FunctionLatency:
        _bind("FunctionLatency", [], args, kwargs, loc, required=0)
        return _FunctionLatency()

    # ------------------------------------------------------------ programs and targets

    def trace_program(self, args: list[Any], kwargs: dict[str, Any], loc: Loc) -> _TraceProgram:
        bound = _bind(
            "TraceProgram", ["program", "min_kernel", "max_kernel"], args, kwargs, loc, required=1
        )
        return _TraceProgram(
            _string(bound["program"], "pxtrace.TraceProgram()'s program", loc),
            _kernel_bound(bound.get("min_kernel"), "min_kernel", loc),
            _kernel_bound(bound.get("max_kernel"), "max_kernel", loc),
        )

    def upid_target(self, args: list[Any], kwargs: dict[str, Any], loc: Loc) -> _Target:
        bound = _bind("UPID", ["upid"], args, kwargs, loc, required=1)
        return _Target(_upid(_string(bound["upid"], "pxtrace.UPID()'s argument", loc), loc))

    def pod_process(self, args: list[Any], kwargs: dict[str, Any], loc: Loc) -> _Target:
        bound = _bind(
            "PodProcess", ["pod_name", "container_name", "process_name"], args, kwargs, loc, 1
        )
        pod = _string(bound["pod_name"], "pxtrace.PodProcess()'s pod_name", loc)
        if pod.count("/") != 1:
            raise loc.error(f"pod_name {pod!r} must be '<namespace>/<pod>'")
        container = bound.get("container_name")
        process = bound.get("process_name")
        target = messages_pb2.TracepointTarget(
            pod_process=messages_pb2.TracepointTarget.PodProcess(
                pod=pod,
                container="" if container is None else _string(container, "container_name", loc),
                process="" if process is None else _string(process, "process_name", loc),
            )
        )
        return _Target(target)

    def shared_object(self, args: list[Any], kwargs: dict[str, Any], loc: Loc) -> _Target:
        bound = _bind("SharedObject", ["name", "upid"], args, kwargs, loc, required=2)
        name = _string(bound["name"], "pxtrace.SharedObject()'s name", loc)
        upid = _target(bound["upid"], loc)
        if upid is None or upid.WhichOneof("target") != "upid":
            raise loc.error("pxtrace.SharedObject(name, upid) needs the UPID of a process")
        target = messages_pb2.TracepointTarget(
            shared_object=messages_pb2.TracepointTarget.SharedObject(name=name, upid=upid.upid)
        )
        return _Target(target)

    def kprobe(self, args: list[Any], kwargs: dict[str, Any], loc: Loc) -> _Target:
        _bind("kprobe", [], args, kwargs, loc, required=0)
        return _Target(messages_pb2.TracepointTarget(kernel=True))

    # ------------------------------------------------------------ mutations

    def upsert(self, args: list[Any], kwargs: dict[str, Any], loc: Loc) -> None:
        bound = _bind(
            "UpsertTracepoint",
            ["name", "table_name", "probe_fn", "target", "ttl"],
            args,
            kwargs,
            loc,
            required=3,
        )
        name = _string(bound["name"], "the tracepoint name", loc)
        _check(loc, check_identifier, name, "tracepoint name")
        table = _string(bound["table_name"], "the table name", loc)
        _check(loc, check_identifier, table, "table name")
        target = _target(bound.get("target"), loc)
        ttl_ns = _ttl(bound.get("ttl"), loc)
        program = self._program(bound["probe_fn"], table, loc)
        if target is None:
            if program.HasField("probe"):
                if not program.probe.binary:
                    raise loc.error(
                        "a probe without a target must name its binary: "
                        "@pxtrace.probe('/path/to/binary:symbol')"
                    )
                target = messages_pb2.TracepointTarget(binary_path=program.probe.binary)
            else:
                target = messages_pb2.TracepointTarget(kernel=True)
        elif program.HasField("bpftrace") and target.WhichOneof("target") != "kernel":
            # bpftrace programs name their own probes (uprobe:/path:func, tracepoint:...).
            raise loc.error("a bpftrace program's target must be pxtrace.kprobe() or None")
        if table in self.plan.table_names:
            raise loc.error(f"table {table!r} is already written by another tracepoint")
        for deployment in self.plan.deployments:
            if deployment.name == name:
                if deployment.target != target or deployment.ttl_ns != ttl_ns:
                    raise loc.error(
                        f"tracepoint {name!r} is upserted twice with a different target or ttl"
                    )
                deployment.programs.append(program)
                return
        self.plan.deployments.append(
            messages_pb2.TracepointDeployment(
                name=name, ttl_ns=ttl_ns, target=target, programs=[program]
            )
        )

    def delete(self, args: list[Any], kwargs: dict[str, Any], loc: Loc) -> None:
        bound = _bind("DeleteTracepoint", ["name"], args, kwargs, loc, required=1)
        name = _string(bound["name"], "the tracepoint name", loc)
        _check(loc, check_identifier, name, "tracepoint name")
        if name not in self.plan.deletes:
            self.plan.deletes.append(name)

    def _program(self, value: Any, table: str, loc: Loc) -> messages_pb2.TracepointProgram:
        if isinstance(value, PLit) and value.data_type is DataType.STRING:
            value = _TraceProgram(str(value.value), "", "")
        if isinstance(value, _TraceProgram):
            _check(loc, check_bpftrace_program, value.program)
            _check(loc, bpftrace_fields, value.program)
            return messages_pb2.TracepointProgram(
                table_name=table,
                bpftrace=messages_pb2.BPFTraceProgram(
                    program=value.program,
                    min_kernel=value.min_kernel,
                    max_kernel=value.max_kernel,
                ),
            )
        if isinstance(value, ProbeFunction):
            return messages_pb2.TracepointProgram(
                table_name=table, probe=self._probe_outputs(value, loc)
            )
        if isinstance(value, UserFunction):
            raise loc.error(
                f"{value.node.name}() is not a probe: decorate it with @pxtrace.probe('symbol')"
            )
        raise loc.error(
            "probe_fn must be a @pxtrace.probe function, a bpftrace program string or "
            "pxtrace.TraceProgram(...)"
        )

    def _probe_outputs(self, probe: ProbeFunction, loc: Loc) -> messages_pb2.FunctionProbe:
        result = self._caller.call_user(probe.func, [], {}, loc)
        items = result if isinstance(result, list | tuple) else [result]
        spec = messages_pb2.FunctionProbe(
            symbol=probe.decorator.symbol, binary=probe.decorator.binary
        )
        where = f"probe function {probe.func.node.name}()"
        if not items:
            raise loc.error(f"{where} returns no columns")
        columns: set[str] = set()
        for item in items:
            if not isinstance(item, dict) or len(item) != 1:
                raise loc.error(
                    f"{where} must return a list of one-entry dicts "
                    "[{'col': pxtrace.ArgExpr('x')}, ...]"
                )
            ((key, expr),) = item.items()
            column = _check(loc, check_column_name, str(key))
            if column in columns:
                raise loc.error(f"{where} returns column {column!r} twice")
            columns.add(column)
            output = messages_pb2.ProbeOutput(column=column)
            if isinstance(expr, _ArgExpr):
                output.arg = expr.name
            elif isinstance(expr, _RetExpr):
                output.ret = expr.expr
            elif isinstance(expr, _FunctionLatency):
                output.latency = True
            else:
                raise loc.error(
                    f"{where}: column {column!r} must be pxtrace.ArgExpr, pxtrace.RetExpr or "
                    "pxtrace.FunctionLatency"
                )
            spec.outputs.append(output)
        return spec


def make_pxtrace_module(caller: _Caller) -> tuple[ModuleValue, MutationPlan]:
    """The module a script imports, and the plan its calls fill."""
    tracer = _Tracer(caller)
    functions = {
        "probe": tracer.probe,
        "ArgExpr": tracer.arg_expr,
        "RetExpr": tracer.ret_expr,
        "FunctionLatency": tracer.latency,
        "TraceProgram": tracer.trace_program,
        "UPID": tracer.upid_target,
        "PodProcess": tracer.pod_process,
        "SharedObject": tracer.shared_object,
        "kprobe": tracer.kprobe,
        "UpsertTracepoint": tracer.upsert,
        "DeleteTracepoint": tracer.delete,
    }
    attrs: dict[str, Any] = {
        name: BuiltinFunction(f"pxtrace.{name}", impl) for name, impl in functions.items()
    }
    return ModuleValue("pxtrace", attrs), tracer.plan
