"""Compile the socket tracer's hot pure-Python modules with mypyc, in place (optional).

It also builds the hand-written C modules of tools/native_build.py (the native HTTP/1 parser),
into the same manifest, so "compiled" means both everywhere (tests, the PEM image).

Run: uv run --all-packages python tools/mypyc_build.py [--clean] [--copy-to DIR]
(or `make mypyc` / `make mypyc-clean`)

The modules in MODULES are translated to C by mypyc and built into extension modules placed next
to their .py files (``_http.cpython-311-x86_64-linux-gnu.so`` beside ``_http.py``); CPython's
importer prefers an extension module over the source in the same directory, so the compiled code
is used from then on by everything that imports the package from this checkout. The modules share
one runtime library, ``pyxie_stirling/_compiled__mypyc*.so``. ``--clean`` removes every built file
and the build directory, which restores pure Python. The .py files stay the source of truth: edit
them, then build again (a stale extension module would shadow the edit, so the build refuses to
leave one behind: it always rebuilds every module of the list).

Needs a C compiler and the Python headers of the interpreter running it (Debian: gcc,
python3-dev; pyenv/uv-managed Pythons ship their headers). mypyc ships in the mypy wheel (a dev
dependency). The compiled modules also need ``mypy_extensions`` at runtime (``mypyc_attr`` lets
interpreted protocol parsers subclass the compiled base classes); it is a dependency of
pyxie-stirling.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import sysconfig
from pathlib import Path

import native_build  # tools/native_build.py: the hand-written C modules, built with these

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_ROOT = ROOT / "libs" / "stirling"
BUILD_DIR = ROOT / "build" / "mypyc"
# One shared runtime library for the group, inside the package (a top-level module would need
# libs/stirling on sys.path, which a wheel install does not give).
GROUP = "pyxie_stirling._compiled"
# sha256 of each compiled source; pyxie_stirling/_mypyc_guard.py refuses stale builds with it.
MANIFEST = PACKAGE_ROOT / "pyxie_stirling" / "_compiled_sources.txt"

# Relative to PACKAGE_ROOT; a directory stands for its *.py files. Compiled as one group, so calls
# between them are native calls. The protocol parsers are compiled as a whole package: their
# record and parser classes subclass _common's Record and ConnectionParser, and an interpreted
# class cannot subclass a compiled one (nor can a dataclass, as the records are).
MODULES = [
    "pyxie_stirling/protocols",
    "pyxie_stirling/socket_tracer/_conntrack.py",
    # Record decoding; its ctypes mirror lives in _event_structs.py, which stays interpreted
    # (mypyc's C for ctypes.Structure subclasses does not build).
    "pyxie_stirling/socket_tracer/_events.py",
]


def module_paths(entries: list[str]) -> list[str]:
    """Source files of ``entries`` (files or directories) relative to PACKAGE_ROOT, sorted."""
    paths: list[str] = []
    for entry in entries:
        path = Path(entry) if Path(entry).is_absolute() else PACKAGE_ROOT / entry
        if not path.exists() and Path(entry).exists():
            path = Path(entry).resolve()  # given relative to the current directory
        files = sorted(path.glob("*.py")) if path.is_dir() else [path]
        for file in files:
            if not file.is_file():
                raise SystemExit(f"mypyc_build: no such module file: {file}")
            paths.append(str(file.resolve().relative_to(PACKAGE_ROOT)))
    return paths


def built_files() -> list[Path]:
    """Every extension module (and mypyc C output) this build may have left in the package."""
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    found: list[Path] = []
    package = PACKAGE_ROOT / "pyxie_stirling"
    found += sorted(package.glob("_compiled__mypyc*.so"))
    found += native_build.built_files()
    for source in package.rglob("*.py"):
        stem = source.with_suffix("")
        found += [p for p in stem.parent.glob(stem.name + ".*.so") if p.is_file()]
        ext = stem.with_name(stem.name + suffix)
        if ext.exists() and ext not in found:
            found.append(ext)
    return found


def clean() -> None:
    for path in built_files():
        path.unlink()
        print(f"removed {path.relative_to(ROOT)}")
    if MANIFEST.exists():
        MANIFEST.unlink()
        print(f"removed {MANIFEST.relative_to(ROOT)}")
    if BUILD_DIR.exists():
        shutil.rmtree(BUILD_DIR)
        print(f"removed {BUILD_DIR.relative_to(ROOT)}/")


def build(modules: list[str], opt_level: str) -> None:
    try:
        import setuptools  # noqa: F401 - mypycify builds setuptools Extensions
        from mypyc.build import mypycify
    except ImportError as exc:
        raise SystemExit(
            f"mypyc_build: {exc} (`uv sync --all-packages`: mypy is a dev dep)"
        ) from exc
    include = sysconfig.get_paths()["include"]
    if not (Path(include) / "Python.h").exists():
        raise SystemExit(f"mypyc_build: no Python.h in {include} (Debian: apt install python3-dev)")
    if shutil.which(os.environ.get("CC", "cc")) is None:
        raise SystemExit("mypyc_build: no C compiler (Debian: apt install gcc)")
    clean()  # never leave an extension module of an older source behind
    from setuptools import setup

    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    # Hashed before compiling, so an edit made during the build makes the result stale.
    manifest = "".join(
        f"{hashlib.sha256((PACKAGE_ROOT / m).read_bytes()).hexdigest()}  "
        f"{Path(m).relative_to('pyxie_stirling')}\n"
        for m in [*modules, *native_build.NATIVE.values()]
    )
    os.chdir(PACKAGE_ROOT)  # module names follow from paths relative to the package root
    extensions = mypycify(
        [
            *modules,
            *("--config-file", str(ROOT / "pyproject.toml")),
            *("--cache-dir", str(BUILD_DIR / "mypy_cache")),
        ],
        opt_level=opt_level,
        target_dir=str(BUILD_DIR / "c"),
        group_name=GROUP,
    )
    setup(
        name="pyxie-stirling-mypyc",
        ext_modules=extensions,
        script_args=[
            "build_ext",
            "--inplace",
            "--build-temp",
            str(BUILD_DIR / "temp"),
            "--build-lib",
            str(BUILD_DIR / "lib"),
        ],
    )
    native_build.build_all()
    MANIFEST.write_text(manifest)
    for path in built_files():
        print(f"built {path.relative_to(ROOT)}")
    print(
        f"wrote {MANIFEST.relative_to(ROOT)} (sources of {len(modules)} compiled modules"
        f" and {len(native_build.NATIVE)} C modules)"
    )


def copy_to(target: Path) -> None:
    """Copy the built extension modules and the manifest to ``target``, paths kept relative to
    the package root (``target/pyxie_stirling/protocols/_http.<EXT_SUFFIX>``): the PEM image's
    build stage lays them over the installed wheel this way."""
    files = built_files()
    if not files or not MANIFEST.exists():
        raise SystemExit("mypyc_build: nothing built to copy")
    for path in [*files, MANIFEST]:
        dest = target / path.relative_to(PACKAGE_ROOT)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest)
        print(f"copied {path.relative_to(ROOT)} -> {dest}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--clean", action="store_true", help="remove the compiled modules")
    parser.add_argument("--opt-level", default="3", help="C optimisation level (default 3)")
    parser.add_argument(
        "--copy-to",
        type=Path,
        metavar="DIR",
        help="after building, copy the extension modules and manifest into DIR",
    )
    parser.add_argument(
        "modules",
        nargs="*",
        help="module files or directories (default: MODULES)",
    )
    args = parser.parse_args()
    if args.clean:
        clean()
        return
    build(module_paths(args.modules or MODULES), args.opt_level)
    if args.copy_to is not None:
        copy_to(args.copy_to)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
