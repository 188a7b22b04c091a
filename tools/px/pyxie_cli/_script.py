"""Which PxL to run and with which exec functions: bundled scripts, files, script arguments.

Script arguments follow the Pixie CLI: everything after ``--`` is ``--name value`` or
``--name=value`` for a variable the script's vis spec declares. Values are checked against the
variable's type here (so a typo fails before anything is sent), then travel as strings in
``ExecuteScriptRequest.exec_funcs``, where the compiler parses them by the function's annotations.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyxie_proto.api.vizierpb import vizierapi_pb2 as vpb
from pyxie_scripts import (
    ScriptNotFoundError,
    VisSpecError,
    exec_funcs_from_vis,
    list_scripts,
    load_script,
)

__all__ = [
    "CliUsageError",
    "ResolvedScript",
    "parse_script_args",
    "resolve_script",
]


class CliUsageError(Exception):
    """Bad command-line input: the message says what was wrong and what is accepted."""


@dataclass(frozen=True)
class ResolvedScript:
    name: str
    pxl: str
    vis: Mapping[str, Any] | None

    def variables(self) -> dict[str, Mapping[str, Any]]:
        if self.vis is None:
            return {}
        return {str(v["name"]): v for v in self.vis.get("variables", [])}

    def exec_funcs(
        self, overrides: Mapping[str, str]
    ) -> list[vpb.ExecuteScriptRequest.FuncToExecute]:
        """The vis spec's functions with argument values (override, else default)."""
        if self.vis is None:
            if overrides:
                raise CliUsageError(
                    f"{self.name} has no vis spec, so it takes no script arguments "
                    f"(got {', '.join('--' + k for k in overrides)})"
                )
            return []
        try:
            funcs = exec_funcs_from_vis(self.vis, overrides)
        except VisSpecError as exc:
            raise CliUsageError(str(exc)) from None
        return [
            vpb.ExecuteScriptRequest.FuncToExecute(
                func_name=func.func_name,
                output_table_prefix=func.output_table_prefix,
                arg_values=[
                    vpb.ExecuteScriptRequest.FuncToExecute.ArgValue(name=name, value=value)
                    for name, value in func.arg_values.items()
                ],
            )
            for func in funcs
        ]


def resolve_script(name: str | None, file: str | None, vis_file: str | None) -> ResolvedScript:
    """A bundled script by name (``px/http_data``) or a ``.pxl`` file (vis.json beside it)."""
    if (name is None) == (file is None):
        raise CliUsageError("give a bundled script name (e.g. px/http_data) or -f FILE, not both")
    vis: Mapping[str, Any] | None
    if file is not None:
        path = Path(file)
        try:
            pxl = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CliUsageError(f"cannot read {file}: {exc.strerror or exc}") from None
        vis_path = Path(vis_file) if vis_file else path.with_name("vis.json")
        if vis_file and not vis_path.is_file():
            raise CliUsageError(f"vis spec {vis_file} not found")
        vis = _read_vis(vis_path) if vis_path.is_file() else None
        return ResolvedScript(str(path), pxl, vis)
    assert name is not None
    try:
        script = load_script(name)
    except ScriptNotFoundError:
        raise CliUsageError(
            f"no bundled script {name!r}; `px scripts list` shows them "
            f"({', '.join(list_scripts()[:5])}, ...)"
        ) from None
    vis = _read_vis(Path(vis_file)) if vis_file else script.vis
    return ResolvedScript(script.name, script.pxl, vis)


def _read_vis(path: Path) -> Mapping[str, Any]:
    try:
        vis = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CliUsageError(f"cannot read vis spec {path}: {exc}") from None
    if not isinstance(vis, dict):
        raise CliUsageError(f"vis spec {path} is not a JSON object")
    return vis


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _check_value(name: str, spec: Mapping[str, Any], value: str) -> str:
    kind = str(spec.get("type", "PX_STRING"))
    if kind == "PX_INT64":
        try:
            int(value)
        except ValueError:
            raise CliUsageError(f"--{name} takes an integer, got {value!r}") from None
    elif kind == "PX_FLOAT64":
        try:
            float(value)
        except ValueError:
            raise CliUsageError(f"--{name} takes a number, got {value!r}") from None
    elif kind == "PX_BOOLEAN":
        if value.lower() not in _TRUE | _FALSE:
            raise CliUsageError(f"--{name} takes true or false, got {value!r}")
        return "true" if value.lower() in _TRUE else "false"
    valid = spec.get("validValues")
    if valid and value not in [str(v) for v in valid]:
        raise CliUsageError(f"--{name} must be one of {', '.join(map(str, valid))}; got {value!r}")
    return value


def parse_script_args(script: ResolvedScript, argv: Sequence[str]) -> dict[str, str]:
    """``--name value`` / ``--name=value`` pairs for the script's declared variables."""
    declared = script.variables()
    values: dict[str, str] = {}
    index = 0
    while index < len(argv):
        token = argv[index]
        if not token.startswith("--") or token == "--":
            raise CliUsageError(f"script arguments look like --name value; got {token!r}")
        name, sep, value = token[2:].partition("=")
        spec = declared.get(name)
        if spec is None:
            accepted = ", ".join(f"--{v}" for v in declared) or "none"
            raise CliUsageError(f"{script.name} has no argument --{name} (it takes: {accepted})")
        if not sep:
            is_flag = str(spec.get("type")) == "PX_BOOLEAN" and (
                index + 1 == len(argv) or argv[index + 1].startswith("--")
            )
            if is_flag:
                value = "true"
            elif index + 1 < len(argv):
                index += 1
                value = argv[index]
            else:
                raise CliUsageError(f"--{name} needs a value")
        if name in values:
            raise CliUsageError(f"--{name} given twice")
        values[name] = _check_value(name, spec, value)
        index += 1
    return values
