"""`VizierService.GenerateOTelScript`: a display script turned into an OpenTelemetry export.

The script is compiled against the vizier's schemas to learn each displayed table's columns;
its text is then rewritten:

* every `px.DataFrame(..., start_time=...)` reads the plugin's window instead
  (`start_time=px.plugin.start_time, end_time=px.plugin.end_time`);
* every `px.display(df, 'name')` becomes a call of a generated `_otel_export_<n>(df)` that
  exports the table: numeric columns as gauges named `<table>.<column>`, `service` (or the
  table name) as `service.name`, pod / namespace / node / container columns as resource
  attributes and the other string columns as data point attributes.

Tables without a TIME64NS `time_` column cannot become data points and are left out (named in
a comment); a script with no exportable table is refused. The result compiles with a plugin's
endpoint (the script names none, so each plugin supplies its own).
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass

from pyxie_types import DataType, Relation

__all__ = ["ExportableTable", "OTelScriptError", "generate_otel_script"]

_RESOURCE_COLUMNS = {
    "pod": "k8s.pod.name",
    "namespace": "k8s.namespace.name",
    "node": "k8s.node.name",
    "container": "k8s.container.name",
}
_ATTRIBUTE_TYPES = (DataType.STRING, DataType.BOOLEAN)
_VALUE_TYPES = (DataType.INT64, DataType.FLOAT64)


class OTelScriptError(ValueError):
    """The script cannot be turned into an export script (the message says why)."""


@dataclass(frozen=True)
class ExportableTable:
    name: str
    relation: Relation


def _is_px_call(node: ast.AST, name: str) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == name
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "px"
    )


def _export_function(index: int, table: ExportableTable) -> str | None:
    relation = table.relation
    names = set(relation.names)
    if "time_" not in names or relation.column("time_").data_type is not DataType.TIME64NS:
        return None
    resource = {"service.name": "df.service" if "service" in names else repr(table.name)}
    for column, key in _RESOURCE_COLUMNS.items():
        if column in names and relation.column(column).data_type is DataType.STRING:
            resource[key] = f"df.{column}"
    used = {"service", *_RESOURCE_COLUMNS, "time_"}
    attributes = {
        c.name: f"df.{c.name}"
        for c in relation
        if c.name not in used and c.data_type in _ATTRIBUTE_TYPES and c.name.isidentifier()
    }
    values = [
        c.name
        for c in relation
        if c.name != "time_" and c.data_type in _VALUE_TYPES and c.name.isidentifier()
    ]
    if not values:
        return None
    attrs = ", ".join(f"{k!r}: {v}" for k, v in attributes.items())
    gauges = "\n".join(
        f"            px.otel.metric.Gauge(name={f'{table.name}.{v}'!r}, value=df.{v}, "
        f"attributes={{{attrs}}}),"
        for v in values
    )
    res = ", ".join(f"{k!r}: {v}" for k, v in resource.items())
    return (
        f"def _otel_export_{index}(df):\n"
        f"    px.export(df, px.otel.Data(\n"
        f"        resource={{{res}}},\n"
        f"        data=[\n{gauges}\n        ],\n"
        f"    ))\n"
    )


class _Rewrite(ast.NodeTransformer):
    def __init__(self, exported: dict[str, int]) -> None:
        self.exported = exported
        self.display_index = 0
        self.names: list[str] = []

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if _is_px_call(node, "DataFrame"):
            keywords = [k for k in node.keywords if k.arg not in ("start_time", "end_time")]
            args = node.args[:2]  # table, select; the window comes from the plugin
            keywords.append(ast.keyword("start_time", _plugin_attr("start_time")))
            keywords.append(ast.keyword("end_time", _plugin_attr("end_time")))
            return ast.Call(node.func, args, keywords)
        return node

    def visit_Expr(self, node: ast.Expr) -> ast.AST:
        self.generic_visit(node)
        call = node.value
        if not _is_px_call(call, "display"):
            return node
        assert isinstance(call, ast.Call)
        frame = call.args[0] if call.args else None
        name_node = call.args[1] if len(call.args) > 1 else None
        for keyword in call.keywords:
            if keyword.arg == "out":
                frame = keyword.value
            elif keyword.arg == "name":
                name_node = keyword.value
        name = (
            name_node.value
            if isinstance(name_node, ast.Constant) and isinstance(name_node.value, str)
            else "output"
        )
        self.display_index += 1
        if frame is None or name not in self.exported:
            return ast.Pass()
        call_export = ast.Call(ast.Name(f"_otel_export_{self.exported[name]}"), [frame], [])
        return ast.Expr(call_export)


def _plugin_attr(name: str) -> ast.Attribute:
    return ast.Attribute(ast.Attribute(ast.Name("px"), "plugin"), name)


def generate_otel_script(source: str, tables: Sequence[ExportableTable]) -> str:
    """The export script for ``source`` whose displayed tables are ``tables``."""
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise OTelScriptError(f"the script does not parse: {err.msg} (line {err.lineno})") from None
    functions: list[str] = []
    exported: dict[str, int] = {}
    skipped: list[str] = []
    for index, table in enumerate(tables):
        text = _export_function(index, table)
        if text is None:
            skipped.append(table.name)
            continue
        exported[table.name] = index
        functions.append(text)
    if not exported:
        raise OTelScriptError(
            "no displayed table can be exported: each needs a TIME64NS 'time_' column and at "
            "least one INT64 or FLOAT64 column"
        )
    rewritten = _Rewrite(exported).visit(tree)
    ast.fix_missing_locations(rewritten)
    body = ast.unparse(rewritten)
    header = [
        "# OpenTelemetry export script generated by Pyxie's GenerateOTelScript.",
        "# The endpoint and time window come from the plugin that runs it.",
    ]
    if skipped:
        header.append(f"# Not exported (no time_ column or no numeric column): {skipped}")
    imports = "import px\n"
    return "\n".join(header) + "\n" + imports + "\n\n".join(functions) + "\n" + body + "\n"
