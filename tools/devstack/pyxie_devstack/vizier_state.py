"""What a running standalone vizier leaves under ``<state_dir>/vizier/`` for its clients.

The devstack writes ``endpoints.json`` (where each service listens) and ``jwt_signing_key``
(the shared HS256 key, mode 0600: readable only by the user who started the stack). Clients read
them with :mod:`pyxie_client.local`, re-exported here for the devstack's own use.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pyxie_client.local import (
    NodeRecord,
    VizierEndpoints,
    read_signing_key,
    signing_key_path,
    vizier_dir,
    vizier_endpoints_path,
)
from pyxie_client.local import read_vizier_endpoints as read_endpoints

__all__ = [
    "NodeRecord",
    "VizierEndpoints",
    "ensure_signing_key",
    "read_endpoints",
    "read_signing_key",
    "signing_key_path",
    "vizier_dir",
    "write_endpoints",
]

# 32 random bytes as 64 hex characters: the HS256 minimum is 32 bytes of key text.
_KEY_RANDOM_BYTES = 32


def ensure_signing_key(state_dir: Path) -> str:
    """The stack's signing key, generated (0600) on first use and kept across restarts."""
    path = signing_key_path(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_signing_key(state_dir)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(_KEY_RANDOM_BYTES))
    return read_signing_key(state_dir)


def write_endpoints(state_dir: Path, endpoints: VizierEndpoints) -> None:
    path = vizier_endpoints_path(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    scratch = path.with_suffix(".tmp")
    scratch.write_text(endpoints.to_json())
    scratch.replace(path)  # atomic: a reader never sees half a file
