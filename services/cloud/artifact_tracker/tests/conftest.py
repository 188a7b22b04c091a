"""Fixtures of the artifact tracker tests: a directory served over HTTP."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest
from pyxie_release.repository import serve_repository


@pytest.fixture
def served_dir(tmp_path: pathlib.Path) -> Iterator[tuple[pathlib.Path, str]]:
    """(directory, base URL) of a directory served by a real HTTP server."""
    directory = tmp_path / "www"
    directory.mkdir()
    with serve_repository(directory) as url:
        yield directory, url
