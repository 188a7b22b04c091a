"""What a running standalone vizier leaves under ``<state_dir>/vizier/`` for its clients.

``px`` reads this to find the local query broker and to mint a vizier token: the shared HS256
signing key is kept in ``jwt_signing_key`` (mode 0600, readable only by the user who started the
stack), and ``endpoints.json`` records where each service listens.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pyxie_devstack._errors import DevstackError

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


def vizier_dir(state_dir: Path) -> Path:
    return state_dir / "vizier"


def signing_key_path(state_dir: Path) -> Path:
    return vizier_dir(state_dir) / "jwt_signing_key"


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


def read_signing_key(state_dir: Path) -> str:
    path = signing_key_path(state_dir)
    try:
        mode = path.stat().st_mode & 0o777
        key = path.read_text().strip()
    except FileNotFoundError:
        raise DevstackError(
            f"no vizier signing key at {path}: start the stack with "
            "`python -m pyxie_devstack vizier up` (or pass a token)"
        ) from None
    if mode & 0o077:
        raise DevstackError(f"{path} is readable by others (mode {mode:o}); chmod 600 it")
    return key


@dataclass(frozen=True)
class NodeRecord:
    """One simulated node: its network namespace (empty = the host's) and address."""

    name: str
    netns: str
    ip: str


@dataclass(frozen=True)
class VizierEndpoints:
    broker: str
    metadata: str
    kelvin: str
    nats: str
    nodes: tuple[NodeRecord, ...] = field(default_factory=tuple)
    # False when the stack runs without network namespaces (not root): one node, the host.
    isolated_nodes: bool = False

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> VizierEndpoints:
        raw = json.loads(text)
        nodes = tuple(NodeRecord(**node) for node in raw.pop("nodes", []))
        return cls(nodes=nodes, **raw)


def _endpoints_path(state_dir: Path) -> Path:
    return vizier_dir(state_dir) / "endpoints.json"


def write_endpoints(state_dir: Path, endpoints: VizierEndpoints) -> None:
    path = _endpoints_path(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    scratch = path.with_suffix(".tmp")
    scratch.write_text(endpoints.to_json())
    scratch.replace(path)  # atomic: a reader never sees half a file


def read_endpoints(state_dir: Path) -> VizierEndpoints:
    path = _endpoints_path(state_dir)
    try:
        return VizierEndpoints.from_json(path.read_text())
    except FileNotFoundError:
        raise DevstackError(
            f"no standalone vizier recorded under {path.parent}: start one with "
            "`python -m pyxie_devstack vizier up` (or `make demo`)"
        ) from None
    except (ValueError, TypeError) as exc:
        raise DevstackError(f"{path} is unreadable ({exc}); run `vizier up` again") from None
