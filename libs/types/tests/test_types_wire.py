"""row_batch_bytes (Arrow buffers -> wire bytes) against the protobuf encoder, value for value."""

import pyarrow as pa
import pytest
from pyxie_proto.api.vizierpb import vizierapi_pb2 as vpb
from pyxie_types import UPID, DataType, Relation
from pyxie_types.rowbatch import row_batch_bytes, row_batch_from_vizier, row_batch_to_vizier

RELATION = Relation.of(
    ("b", DataType.BOOLEAN),
    ("i", DataType.INT64),
    ("u", DataType.UINT128),
    ("f", DataType.FLOAT64),
    ("s", DataType.STRING),
    ("t", DataType.TIME64NS),
)


def _edge_batch() -> pa.RecordBatch:
    # Varint boundaries, negative ints (10-byte varints), zero halves of UINT128 (omitted
    # fields), empty and multi-byte strings, a string longer than a 2-byte varint length.
    ints = [0, 1, 127, 128, 16383, 16384, 2**63 - 1, -1, -(2**63), 300]
    upids = [
        UPID(0, 0, 0).to_bytes(),
        UPID(1, 2, 3).to_bytes(),
        UPID(2**31, 2**32 - 1, 2**64 - 1).to_bytes(),
        UPID(0, 0, 5).to_bytes(),
        UPID(7, 0, 0).to_bytes(),
    ] * 2
    strings = ["", "a", "héllo", "x" * 200, "y" * 20_000, "", "\x00", "z", "é" * 64, "end"]
    return pa.RecordBatch.from_arrays(
        [
            pa.array([True, False] * 5),
            pa.array(ints, pa.int64()),
            pa.array(upids, pa.binary(16)),
            pa.array([0.0, -0.0, 1.5, float("inf"), float("-inf"), 1e-300, 2.0, 3.0, 4.0, 5.0]),
            pa.array(strings),
            pa.array(ints, pa.int64()).cast(pa.timestamp("ns")),
        ],
        schema=RELATION.arrow_schema(),
    )


@pytest.mark.parametrize(("offset", "length"), [(0, 10), (3, 5), (9, 1), (4, 0)])
@pytest.mark.parametrize(("eow", "eos"), [(False, False), (True, True), (True, False)])
def test_bytes_are_the_protobuf_encoders_bytes(
    offset: int, length: int, eow: bool, eos: bool
) -> None:
    batch = _edge_batch().slice(offset, length)
    expected = row_batch_to_vizier(batch, RELATION, "table-1", eow=eow, eos=eos)
    raw = row_batch_bytes(batch, RELATION, "table-1", eow=eow, eos=eos)
    assert vpb.RowBatchData.FromString(raw) == expected
    assert raw == expected.SerializeToString()
    assert row_batch_from_vizier(vpb.RowBatchData.FromString(raw), RELATION).equals(batch)


def test_nulls_and_a_wrong_column_count_are_refused() -> None:
    batch = _edge_batch()
    with pytest.raises(ValueError, match="columns"):
        row_batch_bytes(batch, Relation.of(("b", DataType.BOOLEAN)), "t")
    holes = pa.RecordBatch.from_arrays(
        [pa.array([1, None], pa.int64())], schema=Relation.of(("i", DataType.INT64)).arrow_schema()
    )
    with pytest.raises(ValueError, match="nulls"):
        row_batch_bytes(holes, Relation.of(("i", DataType.INT64)), "t")


def test_dictionary_and_large_string_columns_encode_as_plain_strings() -> None:
    relation = Relation.of(("s", DataType.STRING), ("i", DataType.INT64))
    values = ["a", "bb", "a", "", "ccc"]
    plain = pa.RecordBatch.from_arrays(
        [pa.array(values), pa.array([1, 2, 3, 4, 5], pa.int64())],
        schema=relation.arrow_schema(),
    )
    expected = row_batch_to_vizier(plain, relation, "t").SerializeToString()
    for strings in (pa.array(values).dictionary_encode(), pa.array(values, pa.large_string())):
        odd = pa.RecordBatch.from_arrays(
            [strings, pa.array([1, 2, 3, 4, 5], pa.int64())], names=["s", "i"]
        )
        assert row_batch_bytes(odd.slice(1, 3), relation, "t") == row_batch_bytes(
            plain.slice(1, 3), relation, "t"
        )
        assert row_batch_bytes(odd, relation, "t") == expected
