"""The guard against stale mypyc-compiled modules (tools/mypyc_build.py writes its manifest)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from pyxie_stirling._mypyc_guard import MANIFEST_NAME, StaleCompiledModulesError, check


def _package(tmp_path: Path) -> Path:
    (tmp_path / "protocols").mkdir()
    source = tmp_path / "protocols" / "_http.py"
    source.write_text("X = 1\n")
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    (tmp_path / MANIFEST_NAME).write_text(f"{digest}  protocols/_http.py\n")
    return tmp_path


def test_pure_python_has_no_manifest_and_passes(tmp_path: Path) -> None:
    check(tmp_path)


def test_sources_unchanged_since_the_build_pass(tmp_path: Path) -> None:
    check(_package(tmp_path))


def test_a_source_edited_after_the_build_refuses_to_import(tmp_path: Path) -> None:
    package = _package(tmp_path)
    (package / "protocols" / "_http.py").write_text("X = 2\n")
    with pytest.raises(StaleCompiledModulesError, match=r"protocols/_http\.py.*make mypyc"):
        check(package)


def test_a_compiled_source_that_was_deleted_counts_as_stale(tmp_path: Path) -> None:
    package = _package(tmp_path)
    (package / "protocols" / "_http.py").unlink()
    with pytest.raises(StaleCompiledModulesError):
        check(package)


def test_the_build_manifest_in_this_checkout_matches_its_sources() -> None:
    # After `make mypyc` this checks the real build; in pure Python there is no manifest.
    import pyxie_stirling

    check(Path(pyxie_stirling.__file__).parent)
