"""The image registry side of a release: a local `docker-registry`, pushes, and reads.

`LocalRegistry` runs Debian's `docker-registry` (distribution 2.8) on 127.0.0.1 with its own
storage directory and stops it afterwards. `push_image` copies an image to a registry with
`skopeo copy` (the containers/image library that `podman push` uses) and signs it.

Signatures are in cosign's sigstore format, stored as an OCI attachment: the tag
`sha256-<hex>.sig` in the image's repository names an OCI manifest whose layers (media type
`application/vnd.dev.cosign.simplesigning.v1+json`) are simple-signing payloads
`{"critical": {"identity": {"docker-reference": ...}, "image": {"docker-manifest-digest": ...},
"type": "cosign container image signature"}, "optional": null}`, each with an annotation
`dev.cosignproject.cosign/signature`: the base64 ECDSA-P256/SHA-256 signature of the payload.
That is what `podman push --sign-by-sigstore-private-key` writes with `use-sigstore-attachments`;
Debian builds podman and skopeo with sigstore signing disabled ("Debian-local change: sigstore
disabled"), so `sign_image` writes the same attachment through the distribution API itself.
`RegistryClient` reads and writes manifests and blobs (plain HTTP unless given as
`https://host`).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import gzip
import hashlib
import io
import json
import os
import pathlib
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from pyxie_release.keys import SigningKey, decrypt_cosign_key

MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)


class RegistryError(Exception):
    """The registry could not be reached or answered something unexpected."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclasses.dataclass
class LocalRegistry:
    """A running `docker-registry`; `address` is `127.0.0.1:<port>`."""

    storage: pathlib.Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def blob_root(self) -> pathlib.Path:
        return self.storage / "docker" / "registry" / "v2" / "blobs"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_registry(storage: pathlib.Path, port: int | None = None) -> LocalRegistry:
    """Start `docker-registry` serving `storage` on 127.0.0.1 (a free port unless given)."""
    binary = shutil.which("docker-registry")
    if binary is None:
        raise RegistryError("docker-registry is not installed (tools/setup_deploy.sh installs it)")
    storage.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    config = storage / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    log = (storage / "registry.log").open("ab")
    process = subprocess.Popen(
        [binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    log.close()
    registry = LocalRegistry(storage, port, process)
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://{registry.address}/v2/", timeout=2):
                return registry
        except (urllib.error.URLError, OSError) as exc:
            if process.poll() is not None or time.monotonic() > deadline:
                registry.stop()
                raise RegistryError(f"docker-registry did not start: {exc}") from exc
            time.sleep(0.1)


@contextlib.contextmanager
def running_registry(storage: pathlib.Path, port: int | None = None) -> Iterator[LocalRegistry]:
    registry = start_registry(storage, port)
    try:
        yield registry
    finally:
        registry.stop()


def push_image(
    source: str,
    registry: str,
    repository: str,
    tag: str,
    *,
    signing_key: SigningKey | None,
    work_dir: pathlib.Path,
) -> str:
    """Copy `source` (a containers transport reference: `containers-storage:...`, `oci:DIR:tag`)
    to `registry/repository:tag`, signed with `signing_key` (None: unsigned). Returns the
    manifest digest (`sha256:...`) as stored in the registry."""
    host = registry.removeprefix("http://").removeprefix("https://")
    work_dir.mkdir(parents=True, exist_ok=True)
    digest_file = work_dir / f"{repository.replace('/', '_')}-{tag}.digest"
    command = ["skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--digestfile"]
    command += [str(digest_file), source, f"docker://{host}/{repository}:{tag}"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RegistryError(f"pushing {source} failed: {result.stderr.strip()}")
    digest = digest_file.read_text().strip()
    if signing_key is not None:
        sign_image(RegistryClient(registry), repository, digest, signing_key, tag=tag)
    return digest


SIGNATURE_LAYER_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
SIGNATURE_TYPE = "cosign container image signature"


def signature_tag(digest: str) -> str:
    """The tag cosign (and containers/image) store an image's signatures under."""
    return digest.replace(":", "-") + ".sig"


def signature_payload(docker_reference: str, digest: str) -> bytes:
    return json.dumps(
        {
            "critical": {
                "identity": {"docker-reference": docker_reference},
                "image": {"docker-manifest-digest": digest},
                "type": SIGNATURE_TYPE,
            },
            "optional": None,
        },
        separators=(",", ":"),
    ).encode()


def sign_image(
    client: RegistryClient, repository: str, digest: str, key: SigningKey, *, tag: str | None = None
) -> None:
    """Sign `repository@digest` with `key`: the attachment is added to the `.sig` tag (an
    existing signature there is kept, as cosign does)."""
    private = decrypt_cosign_key(key.private_path.read_bytes(), key.password_path.read_bytes())
    host = client.registry.removeprefix("http://").removeprefix("https://")
    reference = f"{host}/{repository}" + (f":{tag}" if tag else "")
    payload = signature_payload(reference, digest)
    signature = private.sign(payload, ec.ECDSA(hashes.SHA256()))
    layer = {
        "mediaType": SIGNATURE_LAYER_TYPE,
        "digest": client.put_blob(repository, payload),
        "size": len(payload),
        "annotations": {SIGNATURE_ANNOTATION: base64.b64encode(signature).decode()},
    }
    existing = client.manifest(repository, signature_tag(digest))
    layers = json.loads(existing)["layers"] if existing else []
    layers.append(layer)
    config = json.dumps(
        {
            "architecture": "",
            "os": "",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [item["digest"] for item in layers]},
        }
    ).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": client.put_blob(repository, config),
            "size": len(config),
        },
        "layers": layers,
    }
    client.put_manifest(
        repository, signature_tag(digest), json.dumps(manifest).encode(), str(manifest["mediaType"])
    )


@dataclasses.dataclass(frozen=True)
class RegistryClient:
    """Reads from a registry's distribution API (`host:port`, or `https://host`)."""

    registry: str
    timeout: float = 30.0

    @property
    def base(self) -> str:
        if self.registry.startswith(("http://", "https://")):
            return self.registry.rstrip("/")
        return f"http://{self.registry}"

    def _get(self, path: str, accept: tuple[str, ...] = ()) -> bytes | None:
        request = urllib.request.Request(f"{self.base}/v2/{path}")
        if accept:
            request.add_header("Accept", ", ".join(accept))
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body: bytes = response.read()
                return body
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise RegistryError(f"registry {self.registry} answered {exc.code} for {path}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise RegistryError(f"cannot reach registry {self.registry}: {exc}") from exc

    def _send(self, method: str, url: str, body: bytes, content_type: str) -> str:
        request = urllib.request.Request(url, data=body, method=method)
        request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                location: str = response.headers.get("Location", "")
                return location
        except urllib.error.HTTPError as exc:
            message = f"registry {self.registry} answered {exc.code} to {method}"
            raise RegistryError(message) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise RegistryError(f"cannot reach registry {self.registry}: {exc}") from exc

    def put_blob(self, repository: str, data: bytes) -> str:
        """Upload a blob (monolithic upload); returns its digest."""
        digest = sha256_digest(data)
        location = self._send(
            "POST", f"{self.base}/v2/{repository}/blobs/uploads/", b"", "application/octet-stream"
        )
        if location.startswith("/"):
            location = self.base + location
        separator = "&" if "?" in location else "?"
        self._send("PUT", f"{location}{separator}digest={digest}", data, "application/octet-stream")
        return digest

    def mount_blob(self, repository: str, digest: str, source: str) -> bool:
        """Cross-repository mount of `source`'s blob `digest` (no data moves); False when the
        registry did not mount it."""
        url = f"{self.base}/v2/{repository}/blobs/uploads/?mount={digest}&from={source}"
        request = urllib.request.Request(url, data=b"", method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return int(response.status) == 201
        except (urllib.error.URLError, OSError):
            return False

    def put_manifest(self, repository: str, reference: str, data: bytes, media_type: str) -> None:
        self._send("PUT", f"{self.base}/v2/{repository}/manifests/{reference}", data, media_type)

    def manifest(self, repository: str, reference: str) -> bytes | None:
        return self._get(f"{repository}/manifests/{reference}", MANIFEST_TYPES)

    def blob(self, repository: str, digest: str) -> bytes | None:
        return self._get(f"{repository}/blobs/{digest}")

    def tags(self, repository: str) -> list[str]:
        body = self._get(f"{repository}/tags/list")
        if body is None:
            return []
        tags: list[str] = json.loads(body).get("tags") or []
        return tags


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def write_tiny_image(directory: pathlib.Path, name: str, content: str) -> str:
    """Write a one-layer OCI image (a single text file) as an OCI layout in `directory`;
    returns its `oci:` reference. Used for tests and scenarios: no base image needed."""
    directory.mkdir(parents=True, exist_ok=True)
    blobs = directory / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)

    def put(data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return f"sha256:{digest}"

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        payload = content.encode()
        info = tarfile.TarInfo(f"etc/{name}.txt")
        info.size = len(payload)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(payload))
    diff_id = "sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()
    layer = gzip.compress(raw.getvalue(), mtime=0)
    layer_digest = put(layer)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Labels": {"org.opencontainers.image.title": name}},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        }
    ).encode()
    config_digest = put(config)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest,
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layer_digest,
                    "size": len(layer),
                }
            ],
        }
    ).encode()
    manifest_digest = put(manifest)
    (directory / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": manifest_digest,
                "size": len(manifest),
                "annotations": {"org.opencontainers.image.ref.name": "latest"},
            }
        ],
    }
    (directory / "index.json").write_text(json.dumps(index))
    os.sync()
    return f"oci:{directory}:latest"
