"""How the store divides its byte budget among tables (Pixie's pem_manager rules)."""

from __future__ import annotations

import pytest
from pyxie_table_store import (
    BudgetError,
    StoreBudget,
    TableExistsError,
    TableStore,
    UnknownTableError,
)
from pyxie_types import DataType, Relation, TableSchema
from pyxie_types.tables import ALL_TABLES, HTTP_EVENTS, PROCESS_STATS

MIB = 1024 * 1024


def test_pixie_defaults_split_the_budget_with_reserved_tables_and_equal_shares() -> None:
    store = TableStore.from_schemas(ALL_TABLES)
    limits = {name: s.max_bytes for name, s in store.stats().items()}

    total = 1280 * MIB
    http = total * 40 // 100
    assert limits["http_events"] == http == 536_870_912
    assert limits["stirling_error"] == limits["probe_status"] == MIB
    assert limits["proc_exit_events"] == 10 * MIB
    others = [
        name
        for name in limits
        if name not in {"http_events", "stirling_error", "probe_status", "proc_exit_events"}
    ]
    # Every other table (the count grows as protocols are added) gets an equal share of the rest.
    assert len(others) == len(ALL_TABLES) - 4
    share = (total - http - 2 * MIB - 10 * MIB) // len(others)
    assert {limits[name] for name in others} == {share}
    assert sum(limits.values()) <= total


def test_http_events_compacts_into_bigger_cold_batches() -> None:
    store = TableStore.from_schemas([HTTP_EVENTS, PROCESS_STATS])
    assert store.table("http_events").compacted_batch_bytes == 256 * 1024
    assert store.table("process_stats").compacted_batch_bytes == 64 * 1024


def test_budget_smaller_than_reserved_tables_is_a_startup_error() -> None:
    # 1 MB total cannot hold proc_exit_events' fixed 10 MiB.
    budget = StoreBudget(data_limit_mb=1)
    with pytest.raises(BudgetError, match=r"remainder would be -\d+ bytes"):
        TableStore.from_schemas(ALL_TABLES, budget)


def test_explicit_max_bytes_overrides_the_share_and_counts_against_the_budget() -> None:
    budget = StoreBudget(data_limit_mb=100)
    store = TableStore.from_schemas(
        [HTTP_EVENTS, PROCESS_STATS, *_plain_tables(2)], budget, max_bytes={"http_events": 10 * MIB}
    )
    stats = store.stats()
    assert stats["http_events"].max_bytes == 10 * MIB
    assert stats["process_stats"].max_bytes == (100 - 10) * MIB // 3
    assert stats["plain_0"].max_bytes == stats["process_stats"].max_bytes


def test_adding_a_table_later_reshares_the_remainder(events_schema: TableSchema) -> None:
    store = TableStore(StoreBudget(data_limit_mb=10))
    first = store.add_table(events_schema)
    assert first.max_bytes == 10 * MIB
    store.add_table(_plain_tables(1)[0])
    assert first.max_bytes == 5 * MIB
    assert store.table("plain_0").max_bytes == 5 * MIB


def test_failed_registration_changes_nothing(events_schema: TableSchema) -> None:
    store = TableStore(StoreBudget(data_limit_mb=10))
    store.add_table(events_schema)
    with pytest.raises(BudgetError):
        store.add_table(_plain_tables(1)[0], max_bytes=11 * MIB)
    assert "plain_0" not in store
    assert store.table("test_events").max_bytes == 10 * MIB


def test_duplicate_table_is_refused(events_schema: TableSchema) -> None:
    store = TableStore()
    store.add_table(events_schema)
    with pytest.raises(TableExistsError, match="test_events"):
        store.add_table(events_schema)


def test_unknown_table_error_lists_known_tables(events_schema: TableSchema) -> None:
    store = TableStore()
    store.add_table(events_schema)
    with pytest.raises(KeyError) as info:
        store.table("nope")
    assert isinstance(info.value, UnknownTableError)
    assert str(info.value) == "no table 'nope'; known tables: test_events"


def test_schemas_returns_registered_declarations(events_schema: TableSchema) -> None:
    store = TableStore.from_schemas([events_schema, HTTP_EVENTS])
    assert store.schemas() == {"test_events": events_schema, "http_events": HTTP_EVENTS}


def test_budget_rejects_nonsense_settings() -> None:
    with pytest.raises(BudgetError, match="http_events_percent"):
        StoreBudget(http_events_percent=140)
    with pytest.raises(BudgetError, match="data_limit_mb"):
        StoreBudget(data_limit_mb=0)


def _plain_tables(count: int) -> list[TableSchema]:
    return [
        TableSchema(f"plain_{i}", Relation.of(("a", DataType.INT64)), time_column="")
        for i in range(count)
    ]
