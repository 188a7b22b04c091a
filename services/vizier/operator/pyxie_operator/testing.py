"""Test harness: a recorded Kubernetes API server, and a verifier standing in for a release repo.

``RecordedApi`` answers the Kubernetes REST paths it was given recorded objects for (JSON as a
real API server returned them), records every request (method, path, query, body) and answers
writes with the object written. It is a fake at a service boundary (the API server), because no
API server can run on this machine; the ``kubernetes`` client and everything above it are real.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from kubernetes import client as k8s
from pyxie_release.verify import UpdateRefused, VerifiedRelease

__all__ = ["FakeReleases", "RecordedApi", "Request", "recorded", "recorded_api"]

Obj = dict[str, Any]
RECORDED = Path(__file__).resolve().parents[1] / "tests" / "recorded"


def recorded(name: str) -> Obj:
    """A recorded API object from ``tests/recorded/<name>.json``."""
    return dict(json.loads((RECORDED / f"{name}.json").read_text()))


@dataclasses.dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    content_type: str
    body: Any


class RecordedApi:
    def __init__(self) -> None:
        self.objects: dict[str, Any] = {}
        self.requests: list[Request] = []

    def put(self, path: str, obj: Any) -> None:
        self.objects[path] = obj

    def writes(self, method: str | None = None) -> list[Request]:
        return [r for r in self.requests if r.method != "GET" and method in (None, r.method)]

    def handle(self, method: str, raw_path: str, content_type: str, body: bytes) -> tuple[int, Any]:
        parsed = urllib.parse.urlsplit(raw_path)
        query = dict(urllib.parse.parse_qsl(parsed.query))
        decoded = json.loads(body) if body else None
        self.requests.append(Request(method, parsed.path, query, content_type, decoded))
        if method == "GET":
            if parsed.path in self.objects:
                return 200, self.objects[parsed.path]
            return 404, {"kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404}
        if method == "DELETE":
            return 200, {"kind": "Status", "status": "Success"}
        return 200, decoded or {}


@contextmanager
def recorded_api() -> Iterator[tuple[RecordedApi, k8s.ApiClient]]:
    """A ``RecordedApi`` on 127.0.0.1:<free port> and a real ``kubernetes`` client for it."""
    api = RecordedApi()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            status, payload = api.handle(
                self.command,
                self.path,
                self.headers.get("Content-Type", ""),
                self.rfile.read(length) if length else b"",
            )
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PATCH = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    config = k8s.Configuration(host=f"http://127.0.0.1:{server.server_address[1]}")
    client = k8s.ApiClient(config)
    try:
        yield api, client
    finally:
        client.close()  # type: ignore[no-untyped-call]
        server.shutdown()
        server.server_close()
        thread.join()


class FakeReleases:
    """Stands in for the release repository: signed releases by version; anything else refused.

    Mirrors ``verify_release``'s contract (rollback and requested-image checks included) so
    the reconciler's handling of both outcomes is tested without a registry.
    """

    def __init__(self, releases: dict[str, VerifiedRelease]) -> None:
        self.releases = releases
        self.calls: list[tuple[str, str | None]] = []

    def __call__(
        self, version: str, running: str | None, requested: dict[str, str] | None
    ) -> VerifiedRelease:
        self.calls.append((version, running))
        release = self.releases.get(version)
        if release is None:
            raise UpdateRefused(f"release {version} is not in the signed targets")
        if running is not None and tuple(map(int, version.split("."))) < tuple(
            map(int, running.split("."))
        ):
            raise UpdateRefused(f"release {version} is older than the running {running}")
        for service, image in (requested or {}).items():
            if release.images.get(service) != image:
                raise UpdateRefused(f"{service} image {image} is not in the signed release")
        return release
