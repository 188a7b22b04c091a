"""The committed ``*_pb2*`` files must be exactly what protoc makes from the committed sources."""

from __future__ import annotations

from pathlib import Path

from pyxie_protogen import find_proto_root, stale_files


def test_committed_generated_code_matches_a_fresh_protoc_run() -> None:
    proto_root = find_proto_root(Path(__file__).parent)

    report = stale_files(proto_root)

    assert report.clean, "generated code is out of date; run `make proto`:\n" + "\n".join(
        report.lines()
    )
