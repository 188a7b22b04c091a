"""Which HTTP/1 parser `make_parser` hands the socket tracer: the native C one when it is built
(unless PYXIE_NATIVE_HTTP=0), else the Python one; and what the compiled-status line says.

Each case runs in a fresh interpreter: the choice is made once, when the protocols package is
imported. A private build of the C module (tools/native_build.py) is found under its package name
by a finder put first on sys.meta_path, as if `make mypyc` had built it in place.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from stirling_native_support import build_private

MODULE = "pyxie_stirling.protocols._http_native"

_PROBE = f"""
import importlib.abc, importlib.util, json, sys
path = sys.argv[1]

class PrivateBuild(importlib.abc.MetaPathFinder):
    def find_spec(self, name, target_path=None, target=None):
        if name == {MODULE!r}:
            return importlib.util.spec_from_file_location(name, path)
        return None

if path:
    sys.meta_path.insert(0, PrivateBuild())
from pyxie_stirling import mypyc_status
from pyxie_stirling.protocols import Direction, Protocol, Role, make_parser, native_http_status
parser = make_parser(Protocol.HTTP, Role.SERVER, max_body_bytes=64)
parser.feed(Direction.INGRESS, b"GET /x HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n", 1)
parser.feed(Direction.EGRESS, b"HTTP/1.1 204 No Content\\r\\n\\r\\n", 2)
rows = [record.to_row() for record in parser.records()]
print(json.dumps({{
    "class": type(parser).__module__ + "." + type(parser).__qualname__,
    "status": native_http_status(),
    "rows": rows,
    "native_compiled": {MODULE!r} in mypyc_status().compiled,
}}))
"""


@pytest.fixture(scope="module")
def native_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_private(tmp_path_factory.mktemp("native"))


def _probe(preload: Path | None, **env: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(preload or "")],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return result


def test_make_parser_uses_the_native_parser_when_it_is_built(native_build: Path) -> None:
    native = _probe(native_build, PYXIE_NATIVE_HTTP="1")
    python = _probe(native_build, PYXIE_NATIVE_HTTP="0")
    assert native["class"] == f"{MODULE}.HttpParser"
    assert str(native["status"]).startswith("HTTP/1 parser: native (")
    assert native["native_compiled"] is True
    assert python["class"] == "pyxie_stirling.protocols._http.HttpParser"
    assert python["status"] == "HTTP/1 parser: Python (PYXIE_NATIVE_HTTP=0)"
    # The same exchange gives the same row either way.
    assert native["rows"] == python["rows"]
    assert len(native["rows"]) == 1  # type: ignore[arg-type]


def test_without_the_native_module_the_python_parser_runs_and_says_why() -> None:
    built = Path(importlib.util.find_spec("pyxie_stirling").origin or "").parent  # type: ignore[union-attr]
    if list((built / "protocols").glob("_http_native*.so")):
        pytest.skip("the native module is built in place (make mypyc)")
    result = _probe(None)
    assert result["class"] == "pyxie_stirling.protocols._http.HttpParser"
    assert result["status"] == (
        "HTTP/1 parser: Python (the native module is not built: make mypyc)"
    )
    assert result["native_compiled"] is False
