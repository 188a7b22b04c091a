"""pyxie_protogen on a small throwaway proto tree: generation, and what --check reports."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyxie_protogen import (
    ProtogenError,
    find_proto_root,
    main,
    proto_sources,
    stale_files,
    write_generated,
)

_PING = """syntax = "proto3";
package demo.pingpb;
import "google/protobuf/timestamp.proto";
import "pyxie_proto/common/id.proto";
message Ping { demo.common.Id id = 1; google.protobuf.Timestamp at = 2; }
service Pinger { rpc Send(Ping) returns (Ping); }
"""
_ID = """syntax = "proto3";
package demo.common;
message Id { string value = 1; }
"""


@pytest.fixture
def proto_root(tmp_path: Path) -> Path:
    root = tmp_path / "repo" / "proto"
    for package, name, text in (("pingpb", "ping.proto", _PING), ("common", "id.proto", _ID)):
        directory = root / "pyxie_proto" / package
        directory.mkdir(parents=True)
        (directory / name).write_text(text)
        (directory / "__init__.py").write_text("")
    (root / "pyxie_proto" / "__init__.py").write_text("")
    return root


def test_generation_writes_all_four_outputs_beside_each_source(proto_root: Path) -> None:
    touched = write_generated(proto_root)

    assert touched == [
        "pyxie_proto/common/id_pb2.py",
        "pyxie_proto/common/id_pb2.pyi",
        "pyxie_proto/common/id_pb2_grpc.py",
        "pyxie_proto/common/id_pb2_grpc.pyi",
        "pyxie_proto/pingpb/ping_pb2.py",
        "pyxie_proto/pingpb/ping_pb2.pyi",
        "pyxie_proto/pingpb/ping_pb2_grpc.py",
        "pyxie_proto/pingpb/ping_pb2_grpc.pyi",
    ]
    ping = (proto_root / "pyxie_proto/pingpb/ping_pb2.py").read_text()
    assert "from pyxie_proto.common import id_pb2" in ping


def test_regenerating_an_unchanged_tree_touches_nothing(proto_root: Path) -> None:
    write_generated(proto_root)

    assert write_generated(proto_root) == []
    assert stale_files(proto_root).clean


def test_check_lists_edited_missing_and_orphaned_files_and_changes_nothing(
    proto_root: Path,
) -> None:
    write_generated(proto_root)
    edited = proto_root / "pyxie_proto/pingpb/ping_pb2.py"
    edited.write_text(edited.read_text() + "# hand edit\n")
    (proto_root / "pyxie_proto/common/id_pb2.pyi").unlink()
    orphan = proto_root / "pyxie_proto/common/gone_pb2.py"
    orphan.write_text("")
    (proto_root / "pyxie_proto/pingpb/__init__.py").unlink()

    report = stale_files(proto_root)

    assert report.changed == ("pyxie_proto/pingpb/ping_pb2.py",)
    assert report.missing == ("pyxie_proto/common/id_pb2.pyi",)
    assert report.orphaned == ("pyxie_proto/common/gone_pb2.py",)
    assert report.packages_without_init == ("pyxie_proto/pingpb/__init__.py",)
    assert orphan.exists()
    assert edited.read_text().endswith("# hand edit\n")


def test_check_exit_code_is_one_when_stale_and_zero_after_regenerating(
    proto_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--check", "--proto-root", str(proto_root)]) == 1
    assert "missing:  pyxie_proto/pingpb/ping_pb2.py" in capsys.readouterr().err

    assert main(["--proto-root", str(proto_root)]) == 0
    assert main(["--check", "--proto-root", str(proto_root)]) == 0


def test_regeneration_deletes_outputs_whose_source_was_removed(proto_root: Path) -> None:
    write_generated(proto_root)
    (proto_root / "pyxie_proto/pingpb/ping.proto").unlink()

    touched = write_generated(proto_root)

    assert sorted(touched) == [
        "pyxie_proto/pingpb/ping_pb2.py",
        "pyxie_proto/pingpb/ping_pb2.pyi",
        "pyxie_proto/pingpb/ping_pb2_grpc.py",
        "pyxie_proto/pingpb/ping_pb2_grpc.pyi",
    ]
    assert not (proto_root / "pyxie_proto/pingpb/ping_pb2.py").exists()
    assert proto_sources(proto_root) == ["pyxie_proto/common/id.proto"]


def test_a_broken_proto_fails_with_protocs_message(proto_root: Path) -> None:
    (proto_root / "pyxie_proto/common/id.proto").write_text('syntax = "proto3";\nmessage {')

    with pytest.raises(ProtogenError, match="protoc failed"):
        write_generated(proto_root)


def test_proto_root_is_found_from_a_directory_below_it(proto_root: Path) -> None:
    assert find_proto_root(proto_root / "pyxie_proto" / "pingpb") == proto_root
