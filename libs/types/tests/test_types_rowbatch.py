import pyarrow as pa
import pytest
from pyxie_types import UPID, DataType, Relation
from pyxie_types.rowbatch import (
    relation_from_vizier,
    relation_to_vizier,
    row_batch_from_vizier,
    row_batch_to_vizier,
)
from pyxie_types.tables import HTTP_EVENTS


def _batch(relation: Relation) -> pa.RecordBatch:
    upids = [UPID(1, 2, 3).to_bytes(), UPID(2**31, 2**32 - 1, 2**64 - 1).to_bytes()]
    return pa.RecordBatch.from_arrays(
        [
            pa.array([True, False]),
            pa.array([-(2**63), 2**63 - 1], pa.int64()),
            pa.array(upids, pa.binary(16)),
            pa.array([1.5, float("inf")]),
            pa.array(["héllo", "x" * 100_000]),
            pa.array([0, 1_700_000_000_123_456_789], pa.int64()).cast(pa.timestamp("ns")),
        ],
        schema=relation.arrow_schema(),
    )


RELATION = Relation.of(
    ("b", DataType.BOOLEAN),
    ("i", DataType.INT64),
    ("u", DataType.UINT128),
    ("f", DataType.FLOAT64),
    ("s", DataType.STRING),
    ("t", DataType.TIME64NS),
)


def test_row_batch_round_trips_every_type_through_the_public_wire_format() -> None:
    batch = _batch(RELATION)
    encoded = row_batch_to_vizier(batch, RELATION, "table-1", eow=True, eos=True)
    wire = type(encoded).FromString(encoded.SerializeToString())
    assert wire.num_rows == 2 and wire.eos and wire.eow and wire.table_id == "table-1"
    assert list(wire.cols[4].string_data.data) == ["héllo".encode(), b"x" * 100_000]
    assert wire.cols[2].uint128_data.data[0].high == (1 << 32) | 2
    assert wire.cols[2].uint128_data.data[0].low == 3
    assert row_batch_from_vizier(wire, RELATION).equals(batch)


def test_sliced_uint128_columns_encode_the_slice_only() -> None:
    batch = _batch(RELATION).slice(1, 1)
    wire = row_batch_to_vizier(batch, RELATION, "t")
    assert wire.cols[2].uint128_data.data[0].low == 2**64 - 1


def test_empty_batch_encodes_with_zero_rows() -> None:
    empty = _batch(RELATION).slice(0, 0)
    wire = row_batch_to_vizier(empty, RELATION, "t", eos=True)
    assert wire.num_rows == 0
    assert row_batch_from_vizier(wire, RELATION).num_rows == 0


def test_decoding_rejects_a_column_of_the_wrong_kind() -> None:
    wire = row_batch_to_vizier(_batch(RELATION), RELATION, "t")
    swapped = Relation.of(*[(c.name, DataType.INT64) for c in RELATION])
    with pytest.raises(ValueError, match="column holds boolean_data but the relation says INT64"):
        row_batch_from_vizier(wire, swapped)


def test_relation_round_trips_through_the_public_relation() -> None:
    assert relation_from_vizier(relation_to_vizier(HTTP_EVENTS.relation)) == HTTP_EVENTS.relation
