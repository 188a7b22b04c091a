"""Run pytest inside ``bazel test`` the way the workspace runs it (``make test-fast``).

The working directory becomes this workspace's runfiles root, so the root ``pyproject.toml``
(pytest's configuration: importlib import mode, ``filterwarnings = error``, the markers) and the
root ``conftest.py`` apply as they do outside Bazel. The arguments are the paths to test; only
the fast suite's markers are selected. Results go to Bazel's JUnit XML file.
"""

from __future__ import annotations

import os
import sys

import pytest

FAST_MARKERS = "not root and not bpf and not slow and not e2e"


def main(argv: list[str]) -> int:
    workspace = os.path.join(os.environ["TEST_SRCDIR"], os.environ["TEST_WORKSPACE"])
    os.chdir(workspace)
    scratch = os.environ.get("TEST_TMPDIR", "")
    if scratch:
        # Tests and the servers they start write caches and state under HOME and TMPDIR.
        os.environ["HOME"] = os.environ.get("HOME") or scratch
        os.environ["TMPDIR"] = scratch
    args = [
        "-c",
        "pyproject.toml",
        "--rootdir",
        workspace,
        "-p",
        "no:cacheprovider",
        "-q",
        "-m",
        FAST_MARKERS,
    ]
    junit = os.environ.get("XML_OUTPUT_FILE")
    if junit:
        args.append(f"--junitxml={junit}")
    return int(pytest.main([*args, *argv]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
