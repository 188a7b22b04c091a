"""vis.json specs: which exec functions to run and with which argument values.

Pixie's clients turn a vis spec into ``ExecuteScriptRequest.exec_funcs``: every global function
and every widget with its own ``func``; argument values come from the variables (user-supplied
or their defaults) and always travel as strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import VisSpecError

__all__ = ["ExecFunc", "exec_funcs_from_vis", "variable_values"]


@dataclass(frozen=True)
class ExecFunc:
    """One function a vis spec asks to run: arguments arrive as strings."""

    func_name: str
    arg_values: Mapping[str, str]
    output_table_prefix: str


def _malformed(err: Exception) -> VisSpecError:
    # A vis spec comes with the script, from whoever runs it: a missing key or a wrong type
    # is the script's error, reported as such (never a KeyError out of the broker).
    what = f"missing key {err}" if isinstance(err, KeyError) else str(err)
    return VisSpecError(f"vis spec is malformed: {what}")


def variable_values(vis: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, str]:
    """Each variable's value: the override, else its default, else ''."""
    try:
        return _variable_values(vis, overrides)
    except (KeyError, TypeError, AttributeError) as err:
        raise _malformed(err) from None


def _variable_values(vis: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, str]:
    declared = {str(v["name"]): v for v in vis.get("variables", [])}
    unknown = set(overrides) - set(declared)
    if unknown:
        raise VisSpecError(
            f"unknown script argument(s) {', '.join(sorted(unknown))}; the script takes: "
            f"{', '.join(declared) or '(none)'}"
        )
    values: dict[str, str] = {}
    for name, spec in declared.items():
        if name in overrides:
            values[name] = overrides[name]
        else:
            values[name] = str(spec.get("defaultValue", ""))
    return values


def _func_args(func: Mapping[str, Any], values: Mapping[str, str]) -> dict[str, str]:
    args: dict[str, str] = {}
    for arg in func.get("args", []):
        if "variable" in arg:
            variable = str(arg["variable"])
            if variable not in values:
                raise VisSpecError(
                    f"vis spec: argument {arg['name']!r} of {func['name']!r} uses undeclared "
                    f"variable {variable!r}"
                )
            args[str(arg["name"])] = values[variable]
        else:
            args[str(arg["name"])] = str(arg.get("value", ""))
    return args


def exec_funcs_from_vis(
    vis: Mapping[str, Any], overrides: Mapping[str, str] | None = None
) -> list[ExecFunc]:
    """The exec functions of a vis spec; VisSpecError for a spec that is not one."""
    if not isinstance(vis, Mapping):
        raise VisSpecError("vis spec is malformed: not a JSON object")
    try:
        return _exec_funcs(vis, overrides)
    except (KeyError, TypeError, AttributeError) as err:
        raise _malformed(err) from None


def _exec_funcs(vis: Mapping[str, Any], overrides: Mapping[str, str] | None) -> list[ExecFunc]:
    values = variable_values(vis, overrides or {})
    funcs: list[ExecFunc] = []
    for global_func in vis.get("globalFuncs", []):
        func = global_func["func"]
        funcs.append(
            ExecFunc(str(func["name"]), _func_args(func, values), str(global_func["outputName"]))
        )
    for index, widget in enumerate(vis.get("widgets", [])):
        func = widget.get("func")
        if func is None:
            continue
        output = str(widget.get("name") or f"widget_{index}")
        funcs.append(ExecFunc(str(func["name"]), _func_args(func, values), output))
    return funcs
