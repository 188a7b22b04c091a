"""The guard against stale mypyc-compiled modules (tools/mypyc_build.py writes its manifest), and
the compiled-or-pure status the PEM logs at start."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from pyxie_stirling._mypyc_guard import (
    HOT_MODULES,
    MANIFEST_NAME,
    MypycStatus,
    StaleCompiledModulesError,
    check,
    main,
    status,
)


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


# -- status(): compiled or pure, as the PEM logs it at start -------------------------------------

# numpy's core is an extension module wherever numpy installs; json is pure Python everywhere.
EXTENSION = "numpy._core._multiarray_umath"


def test_status_tells_extension_modules_from_python_sources() -> None:
    result = status(("json", EXTENSION))
    assert result == MypycStatus(compiled=(EXTENSION,), pure=("json",))
    assert result.mode == "mixed"
    assert status(("json",)).mode == "pure"
    assert status((EXTENSION,)).mode == "compiled"


def test_status_of_an_unknown_module_raises() -> None:
    with pytest.raises(ModuleNotFoundError):
        status(("pyxie_stirling.no_such_module",))


def test_the_hot_modules_are_compiled_exactly_when_make_mypyc_built_them() -> None:
    # Pure Python here (no manifest) unless `make mypyc` ran: then every hot module is compiled.
    import pyxie_stirling

    built = (Path(pyxie_stirling.__file__).parent / MANIFEST_NAME).exists()
    result = pyxie_stirling.mypyc_status()
    assert set(result.compiled) | set(result.pure) == set(HOT_MODULES)
    assert result.mode == ("compiled" if built else "pure")


def test_require_compiled_exits_1_unless_every_hot_module_is_compiled(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import pyxie_stirling

    compiled = pyxie_stirling.mypyc_status().mode == "compiled"
    assert main([]) == 0
    assert main(["--require-compiled"]) == (0 if compiled else 1)
    out = capsys.readouterr().out
    assert out.startswith(f"pyxie_stirling: {'compiled' if compiled else 'pure'};")
