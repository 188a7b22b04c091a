"""pyxie-scripts: the bundled PxL scripts and libraries, as data, with a small loader.

    list_scripts()                       # ["px/agent_status", "px/dns_data", ...]
    script = load_script("px/http_data") # .pxl source, parsed vis.json, manifest.yaml
    exec_funcs_from_vis(script.vis, {"start_time": "-10m"})  # what ExecuteScript runs
    library_sources()                    # {"pxviews": source}: modules scripts may import

A script is ``px/<name>/`` holding ``<name>.pxl``, an optional ``vis.json`` and
``manifest.yaml``. Nothing here compiles or executes PxL, so ``px`` lists and sends scripts
without the compiler or the engine installed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from .errors import ScriptError, ScriptNotFoundError, VisSpecError
from .vis import ExecFunc, exec_funcs_from_vis, variable_values

__all__ = [
    "ExecFunc",
    "Script",
    "ScriptError",
    "ScriptNotFoundError",
    "VisSpecError",
    "exec_funcs_from_vis",
    "library_sources",
    "list_scripts",
    "load_script",
    "variable_values",
]


@dataclass(frozen=True)
class Script:
    name: str  # e.g. "px/http_data"
    pxl: str
    vis: dict[str, Any] | None = None
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def short(self) -> str:
        return str(self.manifest.get("short", ""))

    @property
    def long(self) -> str:
        return str(self.manifest.get("long", ""))


def _root() -> Any:
    return resources.files(__package__) / "px"


def list_scripts() -> list[str]:
    """Names of the bundled scripts, as ``px/<name>``, sorted."""
    return sorted(
        f"px/{entry.name}"
        for entry in _root().iterdir()
        if entry.is_dir() and (entry / f"{entry.name}.pxl").is_file()
    )


def load_script(name: str) -> Script:
    """A bundled script by ``px/<name>`` (or bare ``<name>``)."""
    short = name.removeprefix("px/")
    directory = _root() / short
    pxl_file = directory / f"{short}.pxl"
    if "/" in short or not pxl_file.is_file():
        raise ScriptNotFoundError(
            f"no bundled script {name!r}; available: {', '.join(list_scripts())}"
        )
    vis_file = directory / "vis.json"
    manifest_file = directory / "manifest.yaml"
    vis = json.loads(vis_file.read_text(encoding="utf-8")) if vis_file.is_file() else None
    manifest: dict[str, Any] = {}
    if manifest_file.is_file():
        manifest = yaml.safe_load(manifest_file.read_text(encoding="utf-8")) or {}
    return Script(f"px/{short}", pxl_file.read_text(encoding="utf-8"), vis, manifest)


def library_sources() -> dict[str, str]:
    """The builtin PxL modules scripts may import (``import pxviews``), by module name."""
    root = resources.files(__package__) / "lib"
    return {
        entry.name.removesuffix(".pxl"): entry.read_text(encoding="utf-8")
        for entry in root.iterdir()
        if entry.name.endswith(".pxl")
    }
