"""``same_files.py GENERATED COMMITTED REL...``: each REL under GENERATED equals it under COMMITTED.

Run by ``bazel test`` to show that the protobuf code the build generates is the committed code.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    generated, committed, *relatives = argv
    os.chdir(Path(os.environ["TEST_SRCDIR"], os.environ["TEST_WORKSPACE"]))
    if not relatives:
        print("no files to compare")
        return 1
    differing = [
        rel
        for rel in relatives
        if Path(generated, rel).read_bytes() != Path(committed, rel).read_bytes()
    ]
    for rel in differing:
        print(f"stale: {committed}/{rel} differs from what protoc generates now")
    print(f"{len(relatives) - len(differing)}/{len(relatives)} generated files match")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
