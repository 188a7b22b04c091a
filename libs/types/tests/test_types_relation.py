import pyarrow as pa
import pytest
from pyxie_types import UPID, Column, DataType, Relation, SemanticType, TableSchema
from pyxie_types.tables import ALL_TABLES, HTTP_EVENTS, table_by_name


def test_relation_round_trips_through_arrow_schema_and_proto() -> None:
    rel = Relation.of(
        Column("time_", DataType.TIME64NS, SemanticType.ST_TIME_NS),
        Column("upid", DataType.UINT128, SemanticType.ST_UPID, "process"),
        ("latency", DataType.INT64),
    )
    assert Relation.from_arrow_schema(rel.arrow_schema()) == rel
    assert Relation.from_proto(rel.to_proto()) == rel


def test_duplicate_column_names_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate column name 'a'"):
        Relation.of(("a", DataType.INT64), ("a", DataType.STRING))


def test_unknown_column_error_lists_the_available_columns() -> None:
    with pytest.raises(KeyError, match="available columns: time_, upid"):
        HTTP_EVENTS.relation.index("nope")


def test_pixie_table_column_counts_match_the_reference() -> None:
    counts = {t.name: len(t.columns) for t in ALL_TABLES}
    assert counts["http_events"] == 22
    assert counts["process_stats"] == 13
    assert counts["conn_stats"] == 13
    assert counts["network_stats"] == 10
    assert counts["pgsql_events"] == 12
    assert counts["dns_events"] == 13
    assert counts["nats_events.beta"] == 11
    assert counts["amqp_events"] == 17
    assert counts["mongodb_events"] == 13
    assert counts["mux_events"] == 10
    assert counts["cql_events"] == 13
    assert counts["kafka_events.beta"] == 13
    assert table_by_name("http_events").relation.column("latency").semantic_type is (
        SemanticType.ST_DURATION_NS
    )


def test_table_schema_round_trips_through_proto() -> None:
    assert TableSchema.from_proto(HTTP_EVENTS.to_proto()) == HTTP_EVENTS


def test_time_column_must_be_time64ns() -> None:
    with pytest.raises(ValueError, match="must be TIME64NS"):
        TableSchema("t", Relation.of(("time_", DataType.INT64)))


def test_upid_packs_asid_pid_and_start_time_like_pixie() -> None:
    upid = UPID(asid=7, pid=1234, start_time_ticks=99)
    assert upid.value >> 64 == (7 << 32) | 1234
    assert UPID.from_bytes(upid.to_bytes()) == upid
    assert str(upid) == "7:1234:99"
    assert pa.array([upid.to_bytes()], pa.binary(16)).type.byte_width == 16
