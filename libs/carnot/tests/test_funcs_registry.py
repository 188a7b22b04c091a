"""Registry-wide guarantees of the builtin scalar functions and table functions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pyxie_carnot import funcs, udtfs
from pyxie_carnot.builtins import new_registry
from pyxie_carnot.registry import FunctionKind, Registry, RegistryError
from pyxie_types import DataType

REFERENCE = Path("/work/shared/reference/pxl-language.md")
UDA_NAMES = {"count", "sum", "mean", "min", "max", "any", "quantiles"}


def _builtins() -> Registry:
    registry = Registry()
    funcs.register_all(registry)
    udtfs.register_all(registry)
    return registry


def test_every_scalar_and_udtf_has_a_docstring_with_an_example() -> None:
    registry = _builtins()
    for udf in registry.scalars():
        assert udf.doc.strip(), udf.signature
        assert "Example:" in udf.doc, udf.signature
    for udtf in registry.udtfs():
        assert "Example:" in udtf.doc, udtf.name


def test_registering_builtins_twice_is_refused() -> None:
    registry = _builtins()
    with pytest.raises(RegistryError, match="already registered"):
        funcs.register_all(registry)
    with pytest.raises(RegistryError, match="already registered"):
        udtfs.register_all(registry)


def test_duplicate_overload_is_refused_but_new_overload_is_accepted() -> None:
    registry = _builtins()
    add = registry.lookup_scalar("add", (DataType.INT64, DataType.INT64))
    with pytest.raises(RegistryError, match=re.escape("add(INT64, INT64)")):
        registry.register_scalar("add", add.arg_types, add.return_type, add.fn, "dup. Example: x")
    registry.register_scalar(
        "add", (DataType.BOOLEAN, DataType.BOOLEAN), DataType.INT64, add.fn, "new. Example: x"
    )


def _tier_a_names() -> set[str]:
    text = REFERENCE.read_text()
    section = text[text.index("**Tier A: 44 named functions**") : text.index("**Tier B adds 9:**")]
    names = set(re.findall(r"\b_?[a-z][a-z0-9_]*[a-z0-9]\b", section.split("\n", 1)[1]))
    words = {"aggregates", "core", "and", "host", "introspection", "ctx", "lowering", "adds",
             "implicitly", "lookups", "process", "k8s", "plus", "the", "operator", "udfs", "sql",
             "strings", "regex", "dns", "json", "pxviews", "pod_name", "service_name",
             "namespace", "node_name", "container_name", "container_id", "cmdline", "pid",
             "pod_id", "udtfs"}  # fmt: skip
    names -= words
    names |= {"GetUDFList", "GetUDAList", "GetUDTFList", "GetTables", "GetSchemas"}
    for prop in ("pod_name", "service_name", "namespace", "node_name", "container_name",
                 "container_id", "cmdline", "pid", "pod_id"):  # fmt: skip
        names.add(f"upid_to_{prop}")
    for prop in ("pod_name", "namespace", "node_name", "service_name"):
        names.add(f"pod_id_to_{prop}")
    return names


def test_every_tier_a_function_is_registered() -> None:
    registry = new_registry()
    names = _tier_a_names()
    assert {"nslookup", "normalize_pgsql", "ip_to_pod_id", "_exec_hostname"} <= names
    have_udas = all(registry.kind_of(n) is FunctionKind.UDA for n in UDA_NAMES)
    expected = names if have_udas else names - UDA_NAMES
    missing = sorted(n for n in expected if registry.kind_of(n) is None)
    assert missing == []


def test_operator_functions_and_tier_b_c_extras_are_registered() -> None:
    registry = _builtins()
    for name in ("add", "subtract", "multiply", "divide", "modulo", "equal", "notEqual",
                 "greaterThan", "greaterThanEqual", "lessThan", "lessThanEqual", "logicalAnd",
                 "logicalOr", "logicalNot", "negate", "invert", "cql_opcode_name",
                 "kafka_api_key_name", "amqp_frame_type_name", "mux_frame_type_name", "atoi",
                 "pluck_array", "length", "split", "GetAgentStatus",
                 "redact_pii_best_effort"):  # fmt: skip
        assert registry.kind_of(name) is not None, name


def test_python_fallbacks_are_marked_per_row() -> None:
    registry = _builtins()
    per_row = {u.name for u in registry.scalars() if u.per_row}
    assert {"nslookup", "redact_pii_best_effort", "normalize_mysql", "normalize_pgsql"} <= per_row
    assert "add" not in per_row and "pluck" not in per_row
