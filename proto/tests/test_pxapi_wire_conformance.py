"""Our public protos must describe the same wire format as the ones the official pxapi ships.

pxapi 0.9.0 lives in a throwaway venv (its protobuf/grpcio pins clash with ours, and its
descriptors would collide with ours in one descriptor pool). The same dump function runs there,
over pxapi's ``_pb2`` modules, and here, over ours; every attribute that reaches the wire or the
generated API is compared. Everything pxapi ships must exist in ours, identical; we may add more.
"""

from __future__ import annotations

import inspect
import json
import textwrap
from typing import Any

import pytest
from pyxie_testing.pxapi_env import run_in_pxapi

# pxapi's module -> ours. gogoproto is left out on purpose: its options never reach the wire.
MODULE_PAIRS: dict[str, str] = {
    "pxapi.proto.uuid_pb2": "pyxie_proto.uuidpb.uuid_pb2",
    "pxapi.proto.vizierapi_pb2": "pyxie_proto.api.vizierpb.vizierapi_pb2",
    "pxapi.proto.cloudapi_pb2": "pyxie_proto.api.cloudpb.cloudapi_pb2",
    "pxapi.proto.vis_pb2": "pyxie_proto.api.vispb.vis_pb2",
    "pxapi.proto.vizier_types_pb2": "pyxie_proto.api.vizierconfigpb.vizier_types_pb2",
}


def dump_descriptors(module_names: list[str]) -> dict[str, dict[str, Any]]:
    """Describe every message, enum and service of the given ``_pb2`` modules as plain data.

    Self-contained (stdlib + protobuf only, nothing from this file) because its source is also
    run inside the pxapi venv, under an older protobuf. It walks ``FileDescriptorProto`` copies
    rather than descriptor objects, whose attribute API differs between protobuf releases.
    """
    import importlib

    from google.protobuf import descriptor_pb2

    field_proto = descriptor_pb2.FieldDescriptorProto
    type_names = {value: name[len("TYPE_") :].lower() for name, value in field_proto.Type.items()}
    label_names = {
        value: name[len("LABEL_") :].lower() for name, value in field_proto.Label.items()
    }

    messages: dict[str, Any] = {}
    enums: dict[str, Any] = {}
    services: dict[str, Any] = {}

    def merged(ranges: list[tuple[int, int]]) -> list[list[int]]:
        # "reserved 1, 2;" and "reserved 1 to 2;" reserve the same numbers in different ranges,
        # so compare the merged half-open intervals.
        result: list[list[int]] = []
        for start, end in sorted(ranges):
            if result and start <= result[-1][1]:
                result[-1][1] = max(result[-1][1], end)
            else:
                result.append([start, end])
        return result

    def add_enum(scope: str, enum: Any) -> None:
        # Enum reserved ranges include their end, message ones do not; normalise to half-open.
        enums[f"{scope}.{enum.name}"] = {
            "values": {value.name: value.number for value in enum.value},
            "reserved_ranges": merged([(r.start, r.end + 1) for r in enum.reserved_range]),
            "reserved_names": sorted(enum.reserved_name),
        }

    def add_message(scope: str, message: Any) -> None:
        full_name = f"{scope}.{message.name}"
        fields: dict[str, Any] = {}
        for field in message.field:
            # A proto3 `optional` field sits in a synthetic oneof; that is presence, not a oneof.
            in_real_oneof = field.HasField("oneof_index") and not field.proto3_optional
            fields[field.name] = {
                "number": field.number,
                "type": type_names[field.type],
                "label": label_names[field.label],
                "type_name": field.type_name.lstrip("."),
                "oneof": message.oneof_decl[field.oneof_index].name if in_real_oneof else None,
                "proto3_optional": field.proto3_optional,
                # [packed = false] on a proto3 repeated scalar changes its encoding.
                "packed": field.options.packed if field.options.HasField("packed") else None,
            }
        messages[full_name] = {
            "fields": fields,
            "map_entry": message.options.map_entry,
            "reserved_ranges": merged([(r.start, r.end) for r in message.reserved_range]),
            "reserved_names": sorted(message.reserved_name),
        }
        for nested in message.nested_type:
            add_message(full_name, nested)
        for enum in message.enum_type:
            add_enum(full_name, enum)

    for module_name in module_names:
        file_proto = descriptor_pb2.FileDescriptorProto()
        importlib.import_module(module_name).DESCRIPTOR.CopyToProto(file_proto)
        scope = file_proto.package
        for message in file_proto.message_type:
            add_message(scope, message)
        for enum in file_proto.enum_type:
            add_enum(scope, enum)
        for service in file_proto.service:
            services[f"{scope}.{service.name}"] = {
                method.name: {
                    "input": method.input_type.lstrip("."),
                    "output": method.output_type.lstrip("."),
                    "client_streaming": method.client_streaming,
                    "server_streaming": method.server_streaming,
                }
                for method in service.method
            }
    return {"messages": messages, "enums": enums, "services": services}


def compare_dumps(theirs: dict[str, dict[str, Any]], ours: dict[str, dict[str, Any]]) -> list[str]:
    """List every way ``ours`` fails to match ``theirs``; things only we have are allowed."""
    differences: list[str] = []

    def walk(path: str, expected: Any, actual: Any) -> None:
        if isinstance(expected, dict) and isinstance(actual, dict):
            for key in sorted(expected):
                if key not in actual:
                    differences.append(f"{path}.{key}: missing in ours (pxapi: {expected[key]!r})")
                else:
                    walk(f"{path}.{key}", expected[key], actual[key])
        elif expected != actual:
            differences.append(f"{path}: pxapi has {expected!r}, ours has {actual!r}")

    for kind in ("messages", "enums", "services"):
        walk(kind, theirs[kind], ours[kind])
    # Enum values and fields are compared both ways: an extra enum value or an extra field
    # in a message pxapi knows would change what pxapi sees on the wire.
    for name, message in theirs["messages"].items():
        for extra in sorted(
            set(ours["messages"].get(name, {}).get("fields", {})) - set(message["fields"])
        ):
            differences.append(f"messages.{name}.fields.{extra}: only in ours")
    for name, enum in theirs["enums"].items():
        for extra in sorted(
            set(ours["enums"].get(name, {}).get("values", {})) - set(enum["values"])
        ):
            differences.append(f"enums.{name}.values.{extra}: only in ours")
    return differences


def _dump_pxapi() -> dict[str, dict[str, Any]]:
    source = textwrap.dedent(inspect.getsource(dump_descriptors))
    code = (
        f"from typing import Any\n{source}\n"
        "import json, sys\n"
        f"json.dump(dump_descriptors({list(MODULE_PAIRS)!r}), sys.stdout)\n"
    )
    dumped: dict[str, dict[str, Any]] = json.loads(run_in_pxapi(code))
    return dumped


@pytest.mark.slow
def test_public_protos_match_pxapi_descriptors_exactly() -> None:
    theirs = _dump_pxapi()
    ours = dump_descriptors(list(MODULE_PAIRS.values()))
    # Guard against a vacuous pass: pxapi 0.9.0 ships 202 messages (nested and map entries
    # included), 15 enums and 14 services across these five files.
    assert len(theirs["messages"]) >= 200
    assert len(theirs["services"]) == 14
    assert "px.api.vizierpb.VizierService" in theirs["services"]

    differences = compare_dumps(theirs, ours)

    print(
        f"compared {len(theirs['messages'])} messages, {len(theirs['enums'])} enums, "
        f"{len(theirs['services'])} services; {len(differences)} differences"
    )
    for difference in differences:
        print("  " + difference)
    assert differences == [], f"{len(differences)} wire differences from pxapi:\n" + "\n".join(
        differences
    )


def test_comparison_reports_renumbered_fields_missing_enum_values_and_extra_fields() -> None:
    theirs = dump_descriptors(["pyxie_proto.api.vizierpb.vizierapi_pb2"])
    ours = json.loads(json.dumps(theirs))
    ours["messages"]["px.api.vizierpb.UInt128"]["fields"]["low"]["number"] = 2
    del ours["enums"]["px.api.vizierpb.DataType"]["values"]["UINT128"]
    ours["messages"]["px.api.vizierpb.Status"]["fields"]["details"] = {"number": 3}

    differences = compare_dumps(theirs, ours)

    assert differences == [
        "messages.px.api.vizierpb.UInt128.fields.low.number: pxapi has 1, ours has 2",
        "enums.px.api.vizierpb.DataType.values.UINT128: missing in ours (pxapi: 3)",
        "messages.px.api.vizierpb.Status.fields.details: only in ours",
    ]


def test_reserved_numbers_compare_as_sets_not_as_declarations() -> None:
    dumped = dump_descriptors(["pyxie_proto.api.cloudpb.cloudapi_pb2"])

    # Declared as "reserved 1, 2;", i.e. two one-number ranges.
    assert dumped["messages"]["px.cloudapi.VizierConfigUpdate"]["reserved_ranges"] == [[1, 3]]
