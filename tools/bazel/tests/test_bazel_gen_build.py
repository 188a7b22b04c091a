"""tools/bazel/gen_build.py: BUILD.bazel files generated from each member's pyproject and tests."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

_BAZEL = Path(__file__).resolve().parents[1]


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"pyxie_bazel_{name}", _BAZEL / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


gen_build = _load("gen_build")
dist_info = _load("dist_info")


def test_the_committed_build_files_are_fresh() -> None:
    assert gen_build.stale() == [], "run `python3 tools/bazel/gen_build.py` and commit"


@pytest.mark.parametrize(
    ("source", "fast"),
    [
        ("def test_a(): pass\n", True),
        ("import pytest\npytestmark = pytest.mark.slow\ndef test_a(): pass\n", False),
        (
            "import pytest\npytestmark = [pytest.mark.root, pytest.mark.bpf]\ndef test_a(): pass\n",
            False,
        ),
        ("import pytest\npytestmark = pytest.mark.asyncio\nasync def test_a(): pass\n", True),
        # Per-test marks are left to pytest -m at run time.
        ("import pytest\n@pytest.mark.slow\ndef test_a(): pass\n", True),
        ("class TestThing:\n    def test_a(self): pass\n", True),
        ("def helper(): pass\n", False),
    ],
)
def test_a_module_is_fast_unless_marked_heavy_as_a_whole(source: str, fast: bool) -> None:
    assert gen_build._is_fast(source) is fast


def _write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


def _workspace(root: Path) -> None:
    _write(
        root,
        "pyproject.toml",
        """
        [tool.uv.workspace]
        members = ["libs/*", "services/*/*", "tools/*"]
        exclude = ["tools/bazel"]
        """,
    )
    _write(root, "tools/bazel/gen_build.py", "")
    _write(
        root,
        "libs/a/pyproject.toml",
        """
        [project]
        name = "pyxie-a"
        version = "1.2.0"
        dependencies = ["pyarrow>=18"]
        """,
    )
    _write(root, "libs/a/pyxie_a/__init__.py", "")
    _write(
        root,
        "services/x/svc/pyproject.toml",
        """
        [project]
        name = "pyxie-svc"
        version = "0.1.0"
        dependencies = ["pyxie-a", "grpcio"]
        [project.scripts]
        svc = "pyxie_svc.main:main"
        """,
    )
    _write(root, "services/x/svc/pyxie_svc/__init__.py", "")
    _write(root, "services/x/svc/tests/svc_support.py", "import pyxie_b\n")
    _write(root, "services/x/svc/tests/test_svc.py", "import pyxie_svc\ndef test_a(): pass\n")
    _write(
        root,
        "services/x/svc/tests/test_svc_slow.py",
        "import pytest\npytestmark = pytest.mark.e2e\ndef test_b(): pass\n",
    )
    _write(
        root,
        "libs/b/pyproject.toml",
        '[project]\nname = "pyxie-b"\nversion = "0.1.0"\n',
    )
    _write(root, "libs/b/pyxie_b/__init__.py", "")
    _write(root, "libs/b/tests/test_b.py", "import pytest\npytestmark = pytest.mark.slow\n")


def test_members_targets_and_deps_come_from_pyproject_and_tests(tmp_path: Path) -> None:
    _workspace(tmp_path)
    members = gen_build.load_members(tmp_path)
    assert [m.path for m in members] == ["libs/a", "libs/b", "services/x/svc"]
    svc = members[2]
    text = gen_build.render(svc, members)
    assert 'name = "pyxie_svc"' in text
    assert '"//libs/a:pyxie_a"' in text  # declared in pyproject
    assert 'outs = ["pyxie_svc-0.1.0.dist-info/METADATA"]' in text
    # One binary for the service, one per console script.
    assert 'py_binary(\n    name = "svc",' in text and text.count("py_binary(") == 2
    # The fast suite: one of two test files; its deps include what the test files mention.
    assert "1 of 2 test files" in text
    test_part = text[text.index('name = "fast_tests"') :]
    assert '"//libs/b:pyxie_b"' in test_part and '":pyxie_svc"' in test_part
    # A member whose every test module is marked slow gets no py_test.
    assert "fast_tests" not in gen_build.render(members[1], members)


def test_check_reports_stale_and_orphaned_files(tmp_path: Path) -> None:
    _workspace(tmp_path)
    for path, text in gen_build.expected_files(tmp_path).items():
        path.write_text(text)
    assert gen_build.stale(tmp_path) == []
    (tmp_path / "libs/a/BUILD.bazel").write_text(gen_build.HEADER + "# edited by hand\n")
    _write(tmp_path, "libs/gone/BUILD.bazel", gen_build.HEADER)
    _write(tmp_path, "tools/bazel/BUILD.bazel", "# hand-written, not generated\n")
    assert gen_build.stale(tmp_path) == ["libs/a/BUILD.bazel", "libs/gone/BUILD.bazel (orphaned)"]


def test_dist_info_shows_requirements_and_extras(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "pyproject.toml",
        """
        [project]
        name = "pyxie-cli"
        version = "0.1.0"
        requires-python = ">=3.11"
        dependencies = ["pyxie-client", "pyarrow>=18"]
        [project.optional-dependencies]
        devstack = ["pyxie-devstack"]
        """,
    )
    assert dist_info.metadata(tmp_path / "pyproject.toml").splitlines() == [
        "Metadata-Version: 2.1",
        "Name: pyxie-cli",
        "Version: 0.1.0",
        "Requires-Python: >=3.11",
        "Requires-Dist: pyxie-client",
        "Requires-Dist: pyarrow>=18",
        "Provides-Extra: devstack",
        'Requires-Dist: pyxie-devstack; extra == "devstack"',
    ]
