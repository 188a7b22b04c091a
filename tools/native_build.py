"""Build the socket tracer's hand-written C extension modules (optional, like mypyc's).

Run: uv run --all-packages python tools/native_build.py [--out DIR]
(`make mypyc` builds them in place together with the mypyc-compiled modules)

NATIVE maps each extension's module name to its C source inside the stirling package. Each is
compiled by the C compiler with the Python headers of the interpreter running this script, into
``<module>.<EXT_SUFFIX>`` beside its source (in place) or under ``--out DIR`` (paths kept relative
to the package root, for tests that build a private copy). The C sources use only the CPython C
API: no third-party headers or libraries.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_ROOT = ROOT / "libs" / "stirling"

# module name -> C source, relative to PACKAGE_ROOT.
NATIVE = {
    "pyxie_stirling.protocols._http_native": "pyxie_stirling/protocols/_http_native.c",
}


def ext_suffix() -> str:
    return sysconfig.get_config_var("EXT_SUFFIX") or ".so"


def target_path(module: str, out_root: Path) -> Path:
    """Where ``module``'s extension goes under ``out_root`` (a directory holding the package)."""
    return out_root.joinpath(*module.split(".")).with_name(module.rsplit(".", 1)[-1] + ext_suffix())


def compiler() -> list[str]:
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    argv = shlex.split(cc)
    if shutil.which(argv[0]) is None:
        raise SystemExit(f"native_build: no C compiler {argv[0]!r} (Debian: apt install gcc)")
    return argv


def build_one(module: str, out_root: Path = PACKAGE_ROOT) -> Path:
    """Compile one extension of NATIVE; returns the path of the built module."""
    source = PACKAGE_ROOT / NATIVE[module]
    include = sysconfig.get_paths()["include"]
    if not (Path(include) / "Python.h").exists():
        raise SystemExit(
            f"native_build: no Python.h in {include} (Debian: apt install python3-dev)"
        )
    target = target_path(module, out_root)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".tmp")
    argv = [
        *compiler(),
        "-O2",
        "-fPIC",
        "-shared",
        "-std=c11",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-Wno-unused-parameter",
        "-Wno-missing-field-initializers",
        "-fno-strict-aliasing",
        f"-I{include}",
        str(source),
        "-o",
        str(partial),
    ]
    subprocess.run(argv, check=True)
    partial.replace(target)  # never leave a half-written module where Python would import it
    return target


def build_all(out_root: Path = PACKAGE_ROOT) -> list[Path]:
    return [build_one(module, out_root) for module in NATIVE]


def built_files() -> list[Path]:
    """The in-place extension modules of NATIVE that exist."""
    return [p for p in (target_path(m, PACKAGE_ROOT) for m in NATIVE) if p.exists()]


def sources() -> list[str]:
    """The C sources, relative to the package directory (for the compiled-sources manifest)."""
    return [str(Path(source).relative_to("pyxie_stirling")) for source in NATIVE.values()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=PACKAGE_ROOT,
        help="directory that holds the pyxie_stirling package tree (default: in place)",
    )
    args = parser.parse_args()
    for path in build_all(args.out):
        print(f"built {path}")


if __name__ == "__main__":
    main()
