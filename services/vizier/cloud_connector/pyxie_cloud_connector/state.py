"""The vizier's identity as the cloud issued it: id, name and JWT signing key (mode 0600).

Registration with the deploy key happens once; the cloud returns the vizier's JWT signing key
that one time only, so it is written to disk before anything else uses it. Later starts read it
back. A state file readable by others is refused, as a leaked key lets anyone act as the vizier.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

from pyxie_crypto.tls import write_private_file
from pyxie_jwt import InvalidSigningKeyError, SigningKey

__all__ = ["StateError", "VizierIdentity", "load_identity", "save_identity"]


class StateError(Exception):
    """The state file exists but cannot be used."""


@dataclass(frozen=True)
class VizierIdentity:
    vizier_id: str
    vizier_name: str
    signing_key: SigningKey


def load_identity(path: Path) -> VizierIdentity | None:
    """The saved identity, or None before the first registration."""
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        return None
    if mode & 0o077:
        raise StateError(f"{path} is readable by others (mode {mode:o}); chmod 600 it")
    try:
        data = json.loads(path.read_text())
        identity = VizierIdentity(
            vizier_id=str(uuid.UUID(data["vizier_id"])),
            vizier_name=str(data["vizier_name"]),
            signing_key=SigningKey(str(data["jwt_signing_key"])),
        )
    except (OSError, ValueError, KeyError, TypeError, InvalidSigningKeyError) as exc:
        raise StateError(f"{path} is not a usable cloud connector state file: {exc}") from None
    return identity


def save_identity(path: Path, identity: VizierIdentity, *, key_file: Path | None = None) -> None:
    """Write the state file (and the bare key file for the other services), both 0600."""
    key_text = identity.signing_key.reveal_text()
    document = {
        "vizier_id": identity.vizier_id,
        "vizier_name": identity.vizier_name,
        "jwt_signing_key": key_text,
    }
    write_private_file(path, (json.dumps(document, indent=2) + "\n").encode())
    if key_file is not None:
        write_private_file(key_file, key_text.encode())
