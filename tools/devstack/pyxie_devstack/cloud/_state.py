"""What a running cloud devstack leaves under ``<state_dir>/cloud/`` for its clients.

``endpoints.json`` (where each service listens), ``tls/`` (the local CA ``ca.crt`` that clients
trust, and the servers' certificates), ``jwt_signing_key`` and ``database_key`` (0600: the cloud
JWT key and the at-rest key), ``bootstrap.json`` (0600: the demo org's admin credentials, API key
and deploy key). The devstack writes them; clients read them with :mod:`pyxie_client.local`,
re-exported here for the devstack's own use.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path

from pyxie_client.local import (
    Bootstrap,
    CloudEndpoints,
    ca_cert_path,
    cloud_dir,
    read_bootstrap,
    read_cloud_endpoints,
    tls_dir,
)

from pyxie_devstack._errors import DevstackError

__all__ = [
    "Bootstrap",
    "CloudEndpoints",
    "ca_cert_path",
    "cloud_dir",
    "ensure_secret",
    "read_bootstrap",
    "read_cloud_endpoints",
    "tls_dir",
    "write_private_json",
]

# 32 random bytes: the HS256 key as 64 hex characters, the at-rest key as base64 (AES-256).
_SECRET_BYTES = 32


def write_private_json(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    scratch = path.with_suffix(".tmp")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(value, handle, indent=2)
    os.chmod(scratch, 0o600)
    scratch.replace(path)  # atomic: a reader never sees half a file


def ensure_secret(path: Path, kind: str) -> str:
    """A 0600 secret kept across restarts: ``hex`` (JWT key) or ``base64`` (at-rest key)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise DevstackError(
                f"{path} is readable by others (mode {mode:o}); chmod 600 it"
            ) from None
        return path.read_text().strip()
    raw = secrets.token_bytes(_SECRET_BYTES)
    text = raw.hex() if kind == "hex" else base64.b64encode(raw).decode()
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return text
