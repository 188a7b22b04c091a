"""Command line of pyxie-protogen."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pyxie_protogen._generate import ProtogenError, find_proto_root, stale_files, write_generated

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pyxie_protogen",
        description="Regenerate Python code for every .proto under proto/ (side by side).",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="change nothing; exit 1 listing generated files that are stale, missing or orphaned",
    )
    parser.add_argument(
        "--proto-root",
        type=Path,
        default=None,
        help="the proto/ directory (default: found above the current directory)",
    )
    args = parser.parse_args(argv)
    try:
        proto_root = args.proto_root.resolve() if args.proto_root else find_proto_root()
        if args.check:
            report = stale_files(proto_root)
            if report.clean:
                print(f"generated code under {proto_root} is up to date")
                return 0
            print(f"generated code under {proto_root} is out of date:", file=sys.stderr)
            for line in report.lines():
                print(f"  {line}", file=sys.stderr)
            print("run `make proto` and commit the result", file=sys.stderr)
            return 1
        touched = write_generated(proto_root)
    except ProtogenError as error:
        print(f"pyxie_protogen: {error}", file=sys.stderr)
        return 2
    for relative in touched:
        print(f"wrote {relative}" if (proto_root / relative).exists() else f"deleted {relative}")
    print(f"{len(touched)} generated files changed under {proto_root}")
    return 0
