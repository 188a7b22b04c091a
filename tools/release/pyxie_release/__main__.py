"""`python -m pyxie_release`: make keys, run a local registry, build, serve and verify releases.

    python -m pyxie_release keys --dir KEYS
    python -m pyxie_release registry --storage DIR [--port 5000]
    python -m pyxie_release build --version 1.2.0 --registry 127.0.0.1:5000 --repo REPO --keys KEYS
    python -m pyxie_release serve --repo REPO [--port 8090]
    python -m pyxie_release refresh-timestamp --repo REPO --keys KEYS
    python -m pyxie_release verify --repository-url URL --trusted-root ROOT.json \\
        --registry HOST:PORT --public-key cosign.pub --cache-dir DIR [--version V] [--running V]

`verify` prints the verified release as JSON (exit 0) or the refusal reason (exit 3).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import signal
import sys
import threading

from pyxie_release.build import (
    SERVICES,
    build_cli_wheel,
    build_release,
    local_image_sources,
)
from pyxie_release.keys import ReleaseKeys
from pyxie_release.registry import RegistryError, start_registry, write_tiny_image
from pyxie_release.repository import ReleaseRepository, serve_repository
from pyxie_release.verify import UpdateRefused, verify_release


def _wait_for_signal() -> None:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()


def _keys(args: argparse.Namespace) -> int:
    keys = ReleaseKeys.load_or_create(pathlib.Path(args.dir))
    print(f"image-signing key: {keys.image.private_path} (public: {keys.image.public_path})")
    for role, signers in keys.roles.signers.items():
        print(f"{role}: {', '.join(s.public_key.keyid[:16] for s in signers)}")
    return 0


def _registry(args: argparse.Namespace) -> int:
    registry = start_registry(pathlib.Path(args.storage), args.port)
    print(f"registry {registry.address} (pid {registry.process.pid})", flush=True)
    try:
        _wait_for_signal()
    finally:
        registry.stop()
    return 0


def _serve(args: argparse.Namespace) -> int:
    with serve_repository(pathlib.Path(args.repo), args.port) as url:
        print(f"release repository {url}", flush=True)
        _wait_for_signal()
    return 0


def _build(args: argparse.Namespace) -> int:
    keys = ReleaseKeys.load_or_create(pathlib.Path(args.keys))
    repository = ReleaseRepository(pathlib.Path(args.repo), keys.roles)
    work_dir = pathlib.Path(args.work_dir or pathlib.Path(args.repo).parent / "release-work")
    services = tuple(args.only.split(",")) if args.only else SERVICES
    if args.tiny_images:
        images = {
            name: write_tiny_image(work_dir / "tiny" / f"{name}-{args.version}", name, args.version)
            for name in services
        }
    else:
        images = local_image_sources(args.images_version, services)
    if not images:
        print("build: no images found (run `make images` or pass --tiny-images)", file=sys.stderr)
        return 2
    wheel = pathlib.Path(args.cli_wheel) if args.cli_wheel else None
    if wheel is None and not args.no_cli_wheel:
        wheel = build_cli_wheel(work_dir / "wheels")
    manifest = build_release(
        version=args.version,
        registry=args.registry,
        repository=repository,
        keys=keys,
        images=images,
        work_dir=work_dir,
        cli_wheel=wheel,
    )
    sys.stdout.write(manifest.to_json().decode())
    print(f"release {manifest.version}: {len(manifest.images)} signed images published")
    return 0


def _refresh(args: argparse.Namespace) -> int:
    keys = ReleaseKeys.load(pathlib.Path(args.keys))
    ReleaseRepository(pathlib.Path(args.repo), keys.roles).refresh_timestamp()
    print("timestamp refreshed")
    return 0


def _verify(args: argparse.Namespace) -> int:
    try:
        release = verify_release(
            repository_url=args.repository_url,
            trusted_root=pathlib.Path(args.trusted_root),
            cache_dir=pathlib.Path(args.cache_dir),
            registry=args.registry,
            version=args.version,
            running_version=args.running,
            signing_public_key=pathlib.Path(args.public_key).read_bytes(),
        )
    except UpdateRefused as exc:
        print(f"update refused: {exc.reason}", file=sys.stderr)
        return 3
    print(json.dumps(dataclasses.asdict(release), indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pyxie_release", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("keys", help="create (or show) the release keys")
    p.add_argument("--dir", required=True)
    p.set_defaults(run=_keys)
    p = sub.add_parser("registry", help="run docker-registry on 127.0.0.1 until SIGTERM")
    p.add_argument("--storage", required=True)
    p.add_argument("--port", type=int, default=None)
    p.set_defaults(run=_registry)
    p = sub.add_parser("serve", help="serve a release repository over HTTP until SIGTERM")
    p.add_argument("--repo", required=True)
    p.add_argument("--port", type=int, default=0)
    p.set_defaults(run=_serve)
    p = sub.add_parser("build", help="push signed images and publish a release")
    p.add_argument("--version", required=True)
    p.add_argument("--registry", required=True, help="host:port of the registry")
    p.add_argument("--repo", required=True, help="the TUF repository directory")
    p.add_argument("--keys", required=True, help="the keys directory (created when missing)")
    p.add_argument("--images-version", default="0.1.0", help="tag of the `make images` images")
    p.add_argument("--only", help="comma-separated services (default: every image found)")
    p.add_argument("--tiny-images", action="store_true", help="one-file test images")
    p.add_argument("--cli-wheel", help="the px wheel (default: built with uv build)")
    p.add_argument("--no-cli-wheel", action="store_true")
    p.add_argument("--work-dir")
    p.set_defaults(run=_build)
    p = sub.add_parser("refresh-timestamp", help="re-sign the timestamp (it expires daily)")
    p.add_argument("--repo", required=True)
    p.add_argument("--keys", required=True)
    p.set_defaults(run=_refresh)
    p = sub.add_parser("verify", help="verify a release as an operator would")
    p.add_argument("--repository-url", required=True)
    p.add_argument("--trusted-root", required=True)
    p.add_argument("--cache-dir", required=True)
    p.add_argument("--registry", required=True)
    p.add_argument("--public-key", required=True)
    p.add_argument("--version")
    p.add_argument("--running")
    p.set_defaults(run=_verify)
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except (RegistryError, FileNotFoundError) as exc:
        print(f"pyxie_release: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    raise SystemExit(main())
