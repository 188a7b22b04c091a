"""Render a chart with real Helm (the tool venv) and return its objects."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

__all__ = ["KubeError", "RenderError", "charts_dir", "helm_python", "render", "repo_root"]

Obj = dict[str, Any]


class KubeError(Exception):
    """A deploy step failed; the message says what to do."""


class RenderError(KubeError):
    """The chart refused the values (schema) or failed to render."""


def repo_root() -> Path:
    """The checkout holding ``k8s/charts`` (``PYXIE_REPO`` overrides; else searched upward)."""
    override = os.environ.get("PYXIE_REPO")
    if override:
        return Path(override)
    for start in (Path.cwd(), Path(__file__).resolve()):
        for candidate in (start, *start.parents):
            if (candidate / "k8s" / "charts").is_dir() and (candidate / "deploy").is_dir():
                return candidate
    raise KubeError(
        "cannot find Pyxie's charts (k8s/charts): run from a Pyxie checkout or set PYXIE_REPO"
    )


def charts_dir() -> Path:
    return repo_root() / "k8s" / "charts"


def helm_python() -> Path:
    override = os.environ.get("PYXIE_HELM_PYTHON")
    python = Path(override) if override else repo_root() / ".tools" / "helm-venv" / "bin" / "python"
    if not python.exists():
        raise KubeError(
            f"Helm's tool venv is missing ({python}): run `bash deploy/helm/setup.sh` "
            "(or tools/setup_deploy.sh)"
        )
    return python


def render(chart: str, values: Obj, *, namespace: str, release: str = "pyxie") -> list[Obj]:
    """Objects of ``k8s/charts/<chart>`` rendered with ``values`` (schema checked first)."""
    root = repo_root()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(values, handle)
        values_path = handle.name
    try:
        proc = subprocess.run(
            [
                str(helm_python()),
                str(root / "deploy" / "helm" / "render.py"),
                str(charts_dir() / chart),
                "--name",
                release,
                "--namespace",
                namespace,
                "--values",
                values_path,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        os.unlink(values_path)
    if proc.returncode != 0:
        # Helm's message names the offending value; the values file path is noise.
        message = proc.stderr.strip().replace(f"{charts_dir() / chart}: {chart}:", "").strip()
        if message.startswith("- at"):
            message = f"invalid values for the {chart} chart:\n{message}"
        raise RenderError(message or f"rendering {chart} failed (exit {proc.returncode})")
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]
