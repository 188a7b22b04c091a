"""What a running cloud devstack leaves under ``<state_dir>/cloud/`` for its clients.

``endpoints.json`` (where each service listens), ``tls/`` (the local CA ``ca.crt`` that clients
trust, and the servers' certificates), ``jwt_signing_key`` and ``database_key`` (0600: the cloud
JWT key and the at-rest key), ``bootstrap.json`` (0600: the demo org's admin credentials, API key
and deploy key).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

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


def cloud_dir(state_dir: Path) -> Path:
    return state_dir / "cloud"


def tls_dir(state_dir: Path) -> Path:
    return cloud_dir(state_dir) / "tls"


def ca_cert_path(state_dir: Path) -> Path:
    return tls_dir(state_dir) / "ca.crt"


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


@dataclass(frozen=True)
class CloudEndpoints:
    api: str
    api_http: str
    auth: str
    vzmgr: str
    vzconn: str
    nats: str
    domain: str

    @classmethod
    def from_json(cls, text: str) -> CloudEndpoints:
        return cls(**json.loads(text))


def read_cloud_endpoints(state_dir: Path) -> CloudEndpoints:
    path = cloud_dir(state_dir) / "endpoints.json"
    try:
        return CloudEndpoints.from_json(path.read_text())
    except FileNotFoundError:
        raise DevstackError(
            f"no cloud recorded under {path.parent}: start it with "
            "`python -m pyxie_devstack cloud up`"
        ) from None
    except (ValueError, TypeError) as exc:
        raise DevstackError(f"{path} is unreadable ({exc}); run `cloud up` again") from None


@dataclass(frozen=True)
class Bootstrap:
    """The demo org made by ``cloud up``: its admin and the keys to use it."""

    org_name: str
    org_id: str
    email: str
    password: str
    user_id: str
    api_key: str
    deploy_key: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def read_bootstrap(state_dir: Path) -> Bootstrap:
    path = cloud_dir(state_dir) / "bootstrap.json"
    try:
        return Bootstrap(**json.loads(path.read_text()))
    except FileNotFoundError:
        raise DevstackError(f"no {path}: run `python -m pyxie_devstack cloud up`") from None
