"""What a local Pyxie stack (the devstack) leaves under its state directory, read for clients.

The devstack writes these files; ``px`` and other clients only read them, so reading lives here
and a client never needs the devstack (and the PostgreSQL, etcd and NATS binaries it brings):

* ``<state_dir>/vizier/endpoints.json``: where the standalone vizier's services listen.
* ``<state_dir>/vizier/jwt_signing_key`` (mode 0600): the vizier's HS256 key, from which a
  client mints a short-lived service token.
* ``<state_dir>/cloud/endpoints.json``, ``<state_dir>/cloud/tls/ca.crt``: the cloud's services
  and the local CA their certificates chain to.
* ``<state_dir>/cloud/bootstrap.json`` (0600): the demo org's admin credentials and keys.

The state directory is ``PL_STATE_DIR``, else ``$XDG_STATE_HOME/pyxie``, else
``~/.local/state/pyxie``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ._errors import ClientError

__all__ = [
    "STATE_DIR_ENV",
    "Bootstrap",
    "CloudEndpoints",
    "LocalStackError",
    "NodeRecord",
    "VizierEndpoints",
    "ca_cert_path",
    "cloud_dir",
    "cloud_endpoints_path",
    "default_state_dir",
    "read_bootstrap",
    "read_cloud_endpoints",
    "read_signing_key",
    "read_vizier_endpoints",
    "signing_key_path",
    "state_dir",
    "tls_dir",
    "vizier_dir",
    "vizier_endpoints_path",
]

STATE_DIR_ENV = "PL_STATE_DIR"


class LocalStackError(ClientError):
    """A local stack's file is missing, unreadable or not private enough."""


# ---- the state directory ----------------------------------------------------------------------


def default_state_dir(environ: Mapping[str, str]) -> Path:
    """``$XDG_STATE_HOME/pyxie``, else ``~/.local/state/pyxie`` (XDG base directory spec)."""
    xdg = environ.get("XDG_STATE_HOME", "")
    # The spec says relative XDG paths are invalid and must be ignored.
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "state"
    return base / "pyxie"


def state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The local stack's state directory (``environ`` defaults to the process environment)."""
    env = os.environ if environ is None else environ
    raw = env.get(STATE_DIR_ENV, "")
    return Path(raw).expanduser().absolute() if raw else default_state_dir(env)


def _read_private(path: Path, missing: str) -> str:
    """A 0600 file's text; refuses one that others can read (it holds a secret)."""
    try:
        mode = path.stat().st_mode & 0o777
        text = path.read_text().strip()
    except FileNotFoundError:
        raise LocalStackError(missing) from None
    except OSError as exc:
        raise LocalStackError(f"cannot read {path}: {exc.strerror}") from None
    if mode & 0o077:
        raise LocalStackError(f"{path} is readable by others (mode {mode:o}); chmod 600 it")
    return text


# ---- the standalone vizier --------------------------------------------------------------------


def vizier_dir(state: Path) -> Path:
    return state / "vizier"


def signing_key_path(state: Path) -> Path:
    return vizier_dir(state) / "jwt_signing_key"


def vizier_endpoints_path(state: Path) -> Path:
    return vizier_dir(state) / "endpoints.json"


def read_signing_key(state: Path) -> str:
    """The standalone vizier's HS256 signing key (the file must be mode 0600)."""
    path = signing_key_path(state)
    return _read_private(
        path,
        f"no vizier signing key at {path}: start the stack with "
        "`python -m pyxie_devstack vizier up` (or pass a token)",
    )


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


def read_vizier_endpoints(state: Path) -> VizierEndpoints:
    path = vizier_endpoints_path(state)
    try:
        return VizierEndpoints.from_json(path.read_text())
    except FileNotFoundError:
        raise LocalStackError(
            f"no standalone vizier recorded under {path.parent}: start one with "
            "`python -m pyxie_devstack vizier up` (or `make demo`)"
        ) from None
    except (ValueError, TypeError, AttributeError) as exc:
        raise LocalStackError(f"{path} is unreadable ({exc}); run `vizier up` again") from None


# ---- the cloud --------------------------------------------------------------------------------


def cloud_dir(state: Path) -> Path:
    return state / "cloud"


def tls_dir(state: Path) -> Path:
    return cloud_dir(state) / "tls"


def ca_cert_path(state: Path) -> Path:
    """The local CA that the cloud's server certificates chain to."""
    return tls_dir(state) / "ca.crt"


def cloud_endpoints_path(state: Path) -> Path:
    return cloud_dir(state) / "endpoints.json"


@dataclass(frozen=True)
class CloudEndpoints:
    api: str
    api_http: str
    auth: str
    vzmgr: str
    vzconn: str
    nats: str
    domain: str
    # Empty in state files written before the artifact tracker joined the cloud devstack.
    artifact_tracker: str = ""
    # The plugin service (PluginService, cron-script sync); "" in endpoints recorded before it.
    plugin: str = ""

    @classmethod
    def from_json(cls, text: str) -> CloudEndpoints:
        return cls(**json.loads(text))


def read_cloud_endpoints(state: Path) -> CloudEndpoints:
    path = cloud_endpoints_path(state)
    try:
        return CloudEndpoints.from_json(path.read_text())
    except FileNotFoundError:
        raise LocalStackError(
            f"no cloud recorded under {path.parent}: start it with "
            "`python -m pyxie_devstack cloud up`"
        ) from None
    except (ValueError, TypeError) as exc:
        raise LocalStackError(f"{path} is unreadable ({exc}); run `cloud up` again") from None


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


def read_bootstrap(state: Path) -> Bootstrap:
    path = cloud_dir(state) / "bootstrap.json"
    text = _read_private(path, f"no {path}: run `python -m pyxie_devstack cloud up`")
    try:
        return Bootstrap(**json.loads(text))
    except (ValueError, TypeError) as exc:
        raise LocalStackError(f"{path} is unreadable ({exc}); run `cloud up` again") from None
