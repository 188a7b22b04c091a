"""``px.export`` and the ``px.otel`` / ``px.plugin`` modules: OpenTelemetry export from PxL.

``px.export(df, px.otel.Data(resource={...}, data=[...], endpoint=px.otel.Endpoint(...)))``
adds an ``OTelExportSinkOp`` over ``df``. Column arguments (``df.latency``) name columns of the
exported frame; they are checked when ``px.export`` sees the frame, and each error points at the
line and column where the argument was written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyxie_types import DataType

from ._context import EvalContext
from ._values import NOWHERE, BuiltinFunction, DataFrameValue, Loc, ModuleValue, PCol, PLit
from .ir import OTelAttr, OTelExportSinkOp, OTelExportSpec, OTelMetricSpec, OTelSpanSpec

__all__ = ["OTelDefaults", "make_otel_modules"]

_NUMERIC = (DataType.INT64, DataType.FLOAT64)
_ATTRIBUTE_TYPES = (DataType.STRING, DataType.INT64, DataType.FLOAT64, DataType.BOOLEAN)
# Pixie's default window of a plugin script run outside a plugin.
_DEFAULT_WINDOW_NS = 30 * 1_000_000_000
SPAN_KINDS = {
    "SPAN_KIND_UNSPECIFIED": 0,
    "SPAN_KIND_INTERNAL": 1,
    "SPAN_KIND_SERVER": 2,
    "SPAN_KIND_CLIENT": 3,
    "SPAN_KIND_PRODUCER": 4,
    "SPAN_KIND_CONSUMER": 5,
}


@dataclass(frozen=True)
class OTelDefaults:
    """What the caller supplies: a plugin's endpoint, its time window and the export limits."""

    url: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    insecure: bool = False
    timeout_s: int = 0
    plugin_start_ns: int | None = None
    plugin_end_ns: int | None = None
    max_export_bytes: int = 0
    org_id: str = ""


@dataclass(frozen=True, eq=False)
class _Endpoint:
    url: str
    headers: tuple[tuple[str, str], ...]
    insecure: bool
    timeout_s: int


@dataclass(frozen=True, eq=False)
class _Container:
    """A Gauge / Summary / Span waiting for the frame it is exported with."""

    kind: str
    args: dict[str, Any]
    loc: Loc


@dataclass(frozen=True, eq=False)
class _Data:
    resource: dict[str, Any]
    data: list[_Container]
    endpoint: _Endpoint | None
    loc: Loc = field(default=NOWHERE)


def _bind(
    name: str, params: list[str], args: list[Any], kwargs: dict[str, Any], loc: Loc, required: int
) -> dict[str, Any]:
    if len(args) > len(params):
        raise loc.error(f"{name}() takes at most {len(params)} arguments")
    bound = dict(zip(params, args, strict=False))
    for key, value in kwargs.items():
        if key not in params:
            raise loc.error(f"{name}() got an unexpected keyword argument '{key}'")
        if key in bound:
            raise loc.error(f"{name}() got multiple values for argument '{key}'")
        bound[key] = value
    for param in params[:required]:
        if param not in bound:
            raise loc.error(f"{name}() missing required argument '{param}'")
    return bound


def _where(value: Any, loc: Loc) -> Loc:
    value_loc = getattr(value, "loc", None)
    if isinstance(value_loc, Loc) and value_loc.line > 0:
        return value_loc
    return loc


def _string(fn: str, what: str, value: Any, loc: Loc, default: str | None = None) -> str:
    if value is None and default is not None:
        return default
    if isinstance(value, PLit) and value.data_type is DataType.STRING:
        return str(value.value)
    raise _where(value, loc).error(f"{fn}(): {what} must be a string constant")


def _string_dict(fn: str, what: str, value: Any, loc: Loc) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise loc.error(f"{fn}(): {what} must be a dict of string: string")
    return tuple((k, _string(fn, f"{what}[{k!r}]", v, loc)) for k, v in value.items())


def _column(
    fn: str,
    what: str,
    value: Any,
    frame: DataFrameValue,
    loc: Loc,
    types: tuple[DataType, ...],
) -> str:
    """The name of the exported frame's column ``value`` refers to, of one of ``types``."""
    where = _where(value, loc)
    if not isinstance(value, PCol):
        raise where.error(
            f"{fn}(): {what} must be a column of the exported DataFrame (df.<column>); assign "
            "an expression to a column first"
        )
    relation = frame.op.relation
    if value.name not in relation:
        raise where.error(
            f"{fn}(): {what}: column {value.name!r} not found in the exported DataFrame; "
            f"available columns: {', '.join(relation.names)}"
        )
    data_type = relation.column(value.name).data_type
    if data_type not in types:
        wanted = " or ".join(t.name for t in types)
        raise where.error(
            f"{fn}(): {what} must be a {wanted} column, column {value.name!r} is {data_type.name}"
        )
    return value.name


def _attributes(
    fn: str, what: str, value: Any, frame: DataFrameValue, loc: Loc
) -> tuple[OTelAttr, ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise loc.error(f"{fn}(): {what} must be a dict of name: column or string")
    out: list[OTelAttr] = []
    for name, item in value.items():
        if isinstance(item, PLit) and item.data_type is DataType.STRING:
            out.append(OTelAttr(name, str(item.value), False))
        else:
            column = _column(fn, f"{what}[{name!r}]", item, frame, loc, _ATTRIBUTE_TYPES)
            out.append(OTelAttr(name, column, True))
    return tuple(out)


def _time_column(fn: str, frame: DataFrameValue, loc: Loc) -> str:
    relation = frame.op.relation
    if "time_" not in relation or relation.column("time_").data_type is not DataType.TIME64NS:
        raise loc.error(
            f"{fn}(): the exported DataFrame needs a TIME64NS column 'time_' for the data "
            f"points' timestamps; available columns: {', '.join(relation.names)}"
        )
    return "time_"


def _metric(item: _Container, frame: DataFrameValue) -> OTelMetricSpec:
    loc, args = item.loc, item.args
    if item.kind == "gauge":
        fn = "px.otel.metric.Gauge"
        return OTelMetricSpec(
            name=_string(fn, "name", args.get("name"), loc),
            kind="gauge",
            time_column=_time_column(fn, frame, loc),
            attributes=_attributes(fn, "attributes", args.get("attributes"), frame, loc),
            description=_string(fn, "description", args.get("description"), loc, ""),
            unit=_string(fn, "unit", args.get("unit"), loc, ""),
            value_column=_column(fn, "value", args.get("value"), frame, loc, _NUMERIC),
        )
    fn = "px.otel.metric.Summary"
    quantiles_arg = args.get("quantile_values")
    if not isinstance(quantiles_arg, dict) or not quantiles_arg:
        raise loc.error(f"{fn}(): quantile_values must be a dict of quantile: column")
    quantiles: list[tuple[float, str]] = []
    for key, column in quantiles_arg.items():
        try:
            quantile = float(key)
        except ValueError:
            quantile = -1.0
        if not 0.0 <= quantile <= 1.0:
            raise loc.error(f"{fn}(): quantile {key!r} must be a number between 0 and 1")
        quantiles.append(
            (quantile, _column(fn, f"quantile_values[{key}]", column, frame, loc, _NUMERIC))
        )
    sum_arg = args.get("sum")
    return OTelMetricSpec(
        name=_string(fn, "name", args.get("name"), loc),
        kind="summary",
        time_column=_time_column(fn, frame, loc),
        attributes=_attributes(fn, "attributes", args.get("attributes"), frame, loc),
        description=_string(fn, "description", args.get("description"), loc, ""),
        unit=_string(fn, "unit", args.get("unit"), loc, ""),
        value_column=_column(fn, "count", args.get("count"), frame, loc, _NUMERIC),
        sum_column="" if sum_arg is None else _column(fn, "sum", sum_arg, frame, loc, _NUMERIC),
        quantiles=tuple(quantiles),
    )


def _span(item: _Container, frame: DataFrameValue) -> OTelSpanSpec:
    fn, loc, args = "px.otel.trace.Span", item.loc, item.args
    name_arg = args.get("name")
    if isinstance(name_arg, PLit) and name_arg.data_type is DataType.STRING:
        name = OTelAttr("", str(name_arg.value), False)
    else:
        name = OTelAttr("", _column(fn, "name", name_arg, frame, loc, (DataType.STRING,)), True)

    def optional_id(key: str) -> str:
        value = args.get(key)
        if value is None:
            return ""
        return _column(fn, key, value, frame, loc, (DataType.STRING,))

    kind_arg = args.get("kind")
    kind = 2
    if kind_arg is not None:
        if not (isinstance(kind_arg, PLit) and kind_arg.data_type is DataType.INT64):
            raise _where(kind_arg, loc).error(
                f"{fn}(): kind must be a px.otel.trace.SPAN_KIND_* constant"
            )
        kind = int(kind_arg.value)
        if kind not in SPAN_KINDS.values():
            raise _where(kind_arg, loc).error(f"{fn}(): kind {kind} is not an OTLP span kind")
    time_types = (DataType.TIME64NS,)
    return OTelSpanSpec(
        name=name,
        start_time_column=_column(fn, "start_time", args.get("start_time"), frame, loc, time_types),
        end_time_column=_column(fn, "end_time", args.get("end_time"), frame, loc, time_types),
        attributes=_attributes(fn, "attributes", args.get("attributes"), frame, loc),
        trace_id_column=optional_id("trace_id"),
        span_id_column=optional_id("span_id"),
        parent_span_id_column=optional_id("parent_span_id"),
        kind=kind,
    )


def make_otel_modules(ev: EvalContext, defaults: Any) -> dict[str, Any]:
    """``px.export``, ``px.otel`` and ``px.plugin``; ``defaults()`` gives the OTelDefaults."""

    def endpoint(args: list[Any], kwargs: dict[str, Any], loc: Loc) -> _Endpoint:
        fn = "px.otel.Endpoint"
        bound = _bind(fn, ["url", "headers", "insecure", "timeout"], args, kwargs, loc, 1)
        url = _string(fn, "url", bound["url"], loc)
        if not url:
            raise loc.error(f"{fn}(): url must not be empty")
        insecure = bound.get("insecure")
        if insecure is not None and not (
            isinstance(insecure, PLit) and insecure.data_type is DataType.BOOLEAN
        ):
            raise _where(insecure, loc).error(f"{fn}(): insecure must be True or False")
        timeout = bound.get("timeout")
        if timeout is not None and not (
            isinstance(timeout, PLit) and timeout.data_type is DataType.INT64 and timeout.value > 0
        ):
            raise _where(timeout, loc).error(f"{fn}(): timeout must be a positive integer (s)")
        return _Endpoint(
            url,
            _string_dict(fn, "headers", bound.get("headers"), loc),
            bool(insecure.value) if insecure is not None else False,
            int(timeout.value) if timeout is not None else 0,
        )

    def container(kind: str, fn: str, params: list[str], required: int) -> BuiltinFunction:
        def impl(args: list[Any], kwargs: dict[str, Any], loc: Loc) -> _Container:
            return _Container(kind, _bind(fn, params, args, kwargs, loc, required), loc)

        return BuiltinFunction(fn, impl)

    def data(args: list[Any], kwargs: dict[str, Any], loc: Loc) -> _Data:
        fn = "px.otel.Data"
        bound = _bind(fn, ["resource", "data", "endpoint"], args, kwargs, loc, 2)
        resource = bound["resource"]
        if not isinstance(resource, dict):
            raise loc.error(f"{fn}(): resource must be a dict of attribute name: column or string")
        if "service.name" not in resource:
            raise loc.error(
                f"{fn}(): resource must set 'service.name' (every OTel resource names its service)"
            )
        items = bound["data"]
        if not isinstance(items, list | tuple) or not items:
            raise loc.error(
                f"{fn}(): data must be a non-empty list of px.otel.metric.Gauge, "
                "px.otel.metric.Summary or px.otel.trace.Span"
            )
        for item in items:
            if not isinstance(item, _Container):
                raise loc.error(
                    f"{fn}(): data holds something other than px.otel.metric.Gauge, "
                    "px.otel.metric.Summary or px.otel.trace.Span"
                )
        target = bound.get("endpoint")
        if target is not None and not isinstance(target, _Endpoint):
            raise loc.error(f"{fn}(): endpoint must be a px.otel.Endpoint(...)")
        return _Data(resource, list(items), target, loc)

    def export(args: list[Any], kwargs: dict[str, Any], loc: Loc) -> None:
        bound = _bind("px.export", ["out", "export_spec"], args, kwargs, loc, 2)
        frame = bound["out"]
        if not isinstance(frame, DataFrameValue):
            raise loc.error("px.export() needs a DataFrame as its first argument")
        spec = bound["export_spec"]
        if not isinstance(spec, _Data):
            raise loc.error("px.export() needs a px.otel.Data(...) as its second argument")
        given: OTelDefaults = defaults()
        target = spec.endpoint
        if target is None:
            if not given.url:
                raise spec.loc.error(
                    "px.otel.Data(): no endpoint: pass endpoint=px.otel.Endpoint(url=...) or run "
                    "the script with a plugin's OTel export configuration"
                )
            target = _Endpoint(given.url, given.headers, given.insecure, given.timeout_s)
        resource = _attributes("px.otel.Data", "resource", spec.resource, frame, spec.loc)
        metrics = tuple(_metric(i, frame) for i in spec.data if i.kind != "span")
        spans = tuple(_span(i, frame) for i in spec.data if i.kind == "span")
        export_spec = OTelExportSpec(
            url=target.url,
            headers=target.headers,
            insecure=target.insecure,
            timeout_s=target.timeout_s or given.timeout_s,
            resource=resource,
            metrics=metrics,
            spans=spans,
            max_export_bytes=given.max_export_bytes,
            org_id=given.org_id,
        )
        node = ev.build(lambda: OTelExportSinkOp((frame.op,), spec=export_spec), loc)
        ev.add_export(node)
        return None

    def plugin_times() -> tuple[int, int]:
        given: OTelDefaults = defaults()
        end = given.plugin_end_ns if given.plugin_end_ns is not None else ev.now_ns
        start = given.plugin_start_ns
        if start is None:
            start = end - _DEFAULT_WINDOW_NS
        return start, end

    def plugin_lookup(name: str, loc: Loc) -> Any:
        start, end = plugin_times()
        if name == "start_time":
            return PLit(start, DataType.TIME64NS, loc=loc)
        if name == "end_time":
            return PLit(end, DataType.TIME64NS, loc=loc)
        raise loc.error(f"module 'px.plugin' has no attribute '{name}'")

    trace_attrs: dict[str, Any] = {
        "Span": container(
            "span",
            "px.otel.trace.Span",
            [
                "name",
                "start_time",
                "end_time",
                "trace_id",
                "span_id",
                "parent_span_id",
                "attributes",
                "kind",
            ],
            3,
        ),
    }
    for kind_name, value in SPAN_KINDS.items():
        trace_attrs[kind_name] = PLit(value, DataType.INT64)
    otel = ModuleValue(
        "px.otel",
        {
            "Data": BuiltinFunction("px.otel.Data", data),
            "Endpoint": BuiltinFunction("px.otel.Endpoint", endpoint),
            "metric": ModuleValue(
                "px.otel.metric",
                {
                    "Gauge": container(
                        "gauge",
                        "px.otel.metric.Gauge",
                        ["name", "value", "description", "attributes", "unit"],
                        2,
                    ),
                    "Summary": container(
                        "summary",
                        "px.otel.metric.Summary",
                        [
                            "name",
                            "count",
                            "sum",
                            "quantile_values",
                            "description",
                            "attributes",
                            "unit",
                        ],
                        4,
                    ),
                },
            ),
            "trace": ModuleValue("px.otel.trace", trace_attrs),
        },
    )
    return {
        "export": BuiltinFunction("export", export),
        "otel": otel,
        "plugin": ModuleValue("px.plugin", {}, plugin_lookup),
    }
