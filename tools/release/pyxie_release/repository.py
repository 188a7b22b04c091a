"""The release repository: TUF metadata and targets in a directory, served over HTTP.

Layout (consistent snapshots, so a client never sees a half-written release):

    metadata/<N>.root.json, root.json (the newest root, for first-time clients)
    metadata/<N>.targets.json, <N>.snapshot.json, timestamp.json
    targets/<dir>/<sha256>.<name>      every version of every target, by hash

Roles, keys and thresholds are those of `pyxie_release.keys` (`ROLE_KEYS`, `ROLE_THRESHOLDS`);
expiry periods are `EXPIRY`. Every publish bumps targets, snapshot and timestamp together.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import http.server
import pathlib
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

from securesystemslib.signer._crypto_signer import CryptoSigner
from securesystemslib.signer._signer import Signer
from tuf.api._payload import MetaFile, Root, Snapshot, TargetFile, Targets, Timestamp
from tuf.api.metadata import Metadata
from tuf.api.serialization.json import JSONSerializer

from pyxie_release.keys import ROLE_THRESHOLDS, RoleKeys

EXPIRY = {
    "root": datetime.timedelta(days=365),
    "targets": datetime.timedelta(days=90),
    "snapshot": datetime.timedelta(days=7),
    "timestamp": datetime.timedelta(days=1),
}
_VERSIONED = re.compile(r"^(\d+)\.(root|targets|snapshot)\.json$")
_T = TypeVar("_T", Root, Targets, Snapshot, Timestamp)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


class ReleaseRepository:
    """A TUF repository directory and the keys that sign it."""

    def __init__(self, path: pathlib.Path, keys: RoleKeys) -> None:
        self.path = path
        self.keys = keys

    @property
    def metadata_dir(self) -> pathlib.Path:
        return self.path / "metadata"

    @property
    def targets_dir(self) -> pathlib.Path:
        return self.path / "targets"

    @property
    def trusted_root(self) -> pathlib.Path:
        """The first root: what a client ships as its trust anchor."""
        return self.metadata_dir / "1.root.json"

    def exists(self) -> bool:
        return self.trusted_root.is_file()

    # -- reading ---------------------------------------------------------------------------

    def _latest_version(self, role: str) -> int:
        versions = [
            int(match.group(1))
            for item in self.metadata_dir.iterdir()
            if (match := _VERSIONED.match(item.name)) and match.group(2) == role
        ]
        return max(versions, default=0)

    def load(self, role: str, cls: type[_T]) -> Metadata[_T]:
        if role == "timestamp":
            path = self.metadata_dir / "timestamp.json"
        else:
            path = self.metadata_dir / f"{self._latest_version(role)}.{role}.json"
        metadata = Metadata[Any].from_file(str(path))
        if not isinstance(metadata.signed, cls):
            raise ValueError(f"{path} does not hold {role} metadata")
        return metadata

    def target_names(self) -> list[str]:
        return sorted(self.load("targets", Targets).signed.targets)

    def target_paths(self, name: str) -> list[pathlib.Path]:
        """The files in the repository that hold target `name` (one per hash)."""
        info = self.load("targets", Targets).signed.targets[name]
        directory, _, base = name.rpartition("/")
        return [
            self.targets_dir / directory / f"{digest}.{base}" for digest in info.hashes.values()
        ]

    # -- writing ---------------------------------------------------------------------------

    def _write(
        self,
        metadata: Metadata[Any],
        signers: Sequence[Signer],
        filename: str,
        *,
        also: str | None = None,
    ) -> None:
        metadata.signatures.clear()
        for signer in signers:
            metadata.sign(signer, append=True)
        self.metadata_dir.mkdir(parents=True, exist_ok=True)
        serializer = JSONSerializer(compact=False)
        metadata.to_file(str(self.metadata_dir / filename), serializer)
        if also is not None:
            metadata.to_file(str(self.metadata_dir / also), serializer)

    def init(self) -> None:
        """Create root v1 (every role's keys and threshold) and empty targets/snapshot/timestamp."""
        root = Root(expires=_now() + EXPIRY["root"], consistent_snapshot=True)
        for role, signers in self.keys.signers.items():
            for signer in signers:
                root.add_key(signer.public_key, role)
            root.roles[role].threshold = ROLE_THRESHOLDS[role]
        self._write(Metadata(root), self.keys.signers["root"], "1.root.json", also="root.json")
        targets = Targets(expires=_now() + EXPIRY["targets"])
        self._write(Metadata(targets), self.keys.signers["targets"], "1.targets.json")
        self._snapshot_and_timestamp()

    def add_targets(
        self,
        files: Mapping[str, bytes],
        *,
        targets_signers: Sequence[Signer] | None = None,
        snapshot_signers: Sequence[Signer] | None = None,
        timestamp_signers: Sequence[Signer] | None = None,
        timestamp_expires: datetime.datetime | None = None,
    ) -> None:
        """Publish `files` (target name -> content): new targets, snapshot and timestamp.

        The signer overrides exist for the attack scenarios (a wrong or revoked key, an
        expired timestamp); a real release uses the repository's keys."""
        previous = self.load("targets", Targets)
        targets = previous.signed
        targets.version += 1
        targets.expires = _now() + EXPIRY["targets"]
        for name, data in files.items():
            info = TargetFile.from_data(name, data, ["sha256"])
            targets.targets[name] = info
            directory, _, base = name.rpartition("/")
            folder = self.targets_dir / directory
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{info.hashes['sha256']}.{base}").write_bytes(data)
        self._write(
            Metadata(targets),
            targets_signers or self.keys.signers["targets"],
            f"{targets.version}.targets.json",
        )
        self._snapshot_and_timestamp(
            snapshot_signers=snapshot_signers,
            timestamp_signers=timestamp_signers,
            timestamp_expires=timestamp_expires,
        )

    def _snapshot_and_timestamp(
        self,
        *,
        snapshot_signers: Sequence[Signer] | None = None,
        timestamp_signers: Sequence[Signer] | None = None,
        timestamp_expires: datetime.datetime | None = None,
    ) -> None:
        targets_version = self._latest_version("targets")
        snapshot_version = self._latest_version("snapshot") + 1
        snapshot = Snapshot(
            version=snapshot_version,
            expires=_now() + EXPIRY["snapshot"],
            meta={"targets.json": MetaFile(version=targets_version)},
        )
        self._write(
            Metadata(snapshot),
            snapshot_signers or self.keys.signers["snapshot"],
            f"{snapshot_version}.snapshot.json",
        )
        self.refresh_timestamp(signers=timestamp_signers, expires=timestamp_expires)

    def refresh_timestamp(
        self,
        *,
        signers: Sequence[Signer] | None = None,
        expires: datetime.datetime | None = None,
    ) -> None:
        """A new timestamp for the current snapshot (run at least daily: it expires in a day)."""
        path = self.metadata_dir / "timestamp.json"
        version = 1
        if path.exists():
            version = Metadata[Timestamp].from_file(str(path)).signed.version + 1
        timestamp = Timestamp(
            version=version,
            expires=expires or _now() + EXPIRY["timestamp"],
            snapshot_meta=MetaFile(version=self._latest_version("snapshot")),
        )
        self._write(
            Metadata(timestamp), signers or self.keys.signers["timestamp"], "timestamp.json"
        )

    def rotate_role(self, role: str, new_signers: Sequence[Signer]) -> None:
        """A new root with `role`'s keys replaced (the old ones revoked), signed by root."""
        root_md = self.load("root", Root)
        root = root_md.signed
        for keyid in list(root.roles[role].keyids):
            root.revoke_key(keyid, role)
        for signer in new_signers:
            root.add_key(signer.public_key, role)
        root.version += 1
        root.expires = _now() + EXPIRY["root"]
        self.keys.signers[role] = [s for s in new_signers if isinstance(s, CryptoSigner)]
        self._write(
            Metadata(root), self.keys.signers["root"], f"{root.version}.root.json", also="root.json"
        )


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@contextlib.contextmanager
def serve_repository(path: pathlib.Path, port: int = 0) -> Iterator[str]:
    """Serve `path` over HTTP on 127.0.0.1 (a free port unless given); yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, name="release-repo", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
