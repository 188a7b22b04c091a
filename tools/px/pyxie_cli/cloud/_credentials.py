"""Where ``px`` keeps its cloud credentials: ``<config dir>/auth.json``, mode 0600.

The config dir is ``$PX_CONFIG_DIR``, else ``~/.pyxie`` (Pixie's CLI uses ``~/.pixie``). The file
holds either a login token (``px auth login``) or an API key (``--api-key``), the cloud address
and the CA that the cloud's certificate chains to.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["CloudCredentials", "CredentialsError", "auth_file", "load", "save"]


class CredentialsError(Exception):
    """No usable credentials: the user must log in."""


@dataclass(frozen=True)
class CloudCredentials:
    cloud_addr: str
    token: str = ""
    api_key: str = ""
    expires_at: int = 0  # Unix seconds; 0 for an API key
    ca_cert: str = ""  # path of a PEM CA; empty = the system's roots

    def metadata(self) -> list[tuple[str, str]]:
        if self.api_key:
            return [("pixie-api-key", self.api_key)]
        if self.token:
            return [("authorization", f"bearer {self.token}")]
        raise CredentialsError("not logged in: run `px auth login`")


def auth_file(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("PX_CONFIG_DIR", "")
    directory = Path(base).expanduser() if base else Path.home() / ".pyxie"
    return directory / "auth.json"


def save(credentials: CloudCredentials, path: Path | None = None) -> Path:
    target = path or auth_file()
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    scratch = target.with_suffix(".tmp")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(asdict(credentials), handle, indent=2)
    os.chmod(scratch, 0o600)
    scratch.replace(target)
    return target


def load(path: Path | None = None) -> CloudCredentials:
    source = path or auth_file()
    try:
        mode = source.stat().st_mode & 0o777
        raw = json.loads(source.read_text())
    except FileNotFoundError:
        raise CredentialsError("not logged in: run `px auth login`") from None
    except ValueError as exc:
        raise CredentialsError(f"{source} is unreadable ({exc}); log in again") from None
    if mode & 0o077:
        raise CredentialsError(f"{source} is readable by others (mode {mode:o}); chmod 600 it")
    try:
        return CloudCredentials(**raw)
    except TypeError as exc:
        raise CredentialsError(f"{source} is not a px credentials file ({exc})") from None
