"""A throwaway virtualenv holding Pixie's official ``pxapi`` client.

pxapi pins old grpcio/protobuf releases, so it must never enter the workspace lock. Tests that
need the official client (wire conformance, JWE interop, end-to-end) run code inside this venv
as a subprocess. The venv is built once per machine under the user's cache directory and reused.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import venv
from pathlib import Path

__all__ = ["PXAPI_VERSION", "pxapi_python", "run_in_pxapi"]

PXAPI_VERSION = "0.9.0"


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return (
        Path(base) / "pyxie" / f"pxapi-{PXAPI_VERSION}-py{sys.version_info[0]}{sys.version_info[1]}"
    )


def pxapi_python() -> Path:
    """Return the python executable of a venv with ``pxapi==0.9.0``, building it if needed."""
    root = _cache_root()
    python = root / "bin" / "python"
    marker = root / ".complete"
    if marker.exists():
        return python
    root.parent.mkdir(parents=True, exist_ok=True)
    # Several pytest processes may ask at once; one builds, the others wait on the lock.
    with open(str(root) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            venv.EnvBuilder(with_pip=True, clear=True).create(root)
            subprocess.run(
                [
                    str(python),
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    f"pxapi=={PXAPI_VERSION}",
                ],
                check=True,
            )
            marker.touch()
    return python


def run_in_pxapi(code: str, stdin: bytes | None = None, timeout: float = 120) -> bytes:
    """Run ``code`` with the pxapi venv's interpreter; return its stdout, raise on failure."""
    proc = subprocess.run(
        [str(pxapi_python()), "-c", code],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        stderr = proc.stderr.decode(errors="replace")
        raise RuntimeError(f"pxapi venv code failed (exit {proc.returncode}):\n{stderr}")
    return proc.stdout
