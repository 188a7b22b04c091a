"""Byte-level checks of the public messages whose numbering clients depend on most."""

from __future__ import annotations

import uuid

from pyxie_proto.api.cloudpb import cloudapi_pb2
from pyxie_proto.api.vizierpb import vizierapi_pb2 as vpb
from pyxie_proto.uuidpb import uuid_pb2

TABLE_ID = "20000000-0000-0000-0000-000000000001"


def _metadata_response() -> vpb.ExecuteScriptResponse:
    relation = vpb.Relation(
        columns=[
            vpb.Relation.ColumnInfo(column_name="time_", column_type=vpb.TIME64NS),
            vpb.Relation.ColumnInfo(
                column_name="upid", column_type=vpb.UINT128, column_semantic_type=vpb.ST_UPID
            ),
            vpb.Relation.ColumnInfo(column_name="ok", column_type=vpb.BOOLEAN),
            vpb.Relation.ColumnInfo(column_name="n", column_type=vpb.INT64),
            vpb.Relation.ColumnInfo(column_name="lat", column_type=vpb.FLOAT64),
            vpb.Relation.ColumnInfo(column_name="body", column_type=vpb.STRING),
        ]
    )
    return vpb.ExecuteScriptResponse(
        query_id="q1",
        meta_data=vpb.QueryMetadata(relation=relation, name="http", id=TABLE_ID),
    )


def _data_response() -> vpb.ExecuteScriptResponse:
    batch = vpb.RowBatchData(
        table_id=TABLE_ID,
        num_rows=2,
        eow=True,
        eos=True,
        cols=[
            vpb.Column(time64ns_data=vpb.Time64NSColumn(data=[1_700_000_000_000_000_000, 1])),
            vpb.Column(
                uint128_data=vpb.UInt128Column(
                    data=[vpb.UInt128(low=456, high=123), vpb.UInt128(low=1, high=2**64 - 1)]
                )
            ),
            vpb.Column(boolean_data=vpb.BooleanColumn(data=[True, False])),
            vpb.Column(int64_data=vpb.Int64Column(data=[-5, 2**62])),
            vpb.Column(float64_data=vpb.Float64Column(data=[1.5, -0.25])),
            vpb.Column(string_data=vpb.StringColumn(data=[b"foo", b"\x9f"])),
        ],
    )
    return vpb.ExecuteScriptResponse(query_id="q1", data=vpb.QueryData(batch=batch))


def test_metadata_and_data_responses_survive_a_round_trip() -> None:
    for response in (_metadata_response(), _data_response()):
        decoded = vpb.ExecuteScriptResponse.FromString(response.SerializeToString())

        assert decoded == response

    decoded = vpb.ExecuteScriptResponse.FromString(_data_response().SerializeToString())
    assert decoded.WhichOneof("result") == "data"
    cols = decoded.data.batch.cols
    assert [col.WhichOneof("col_data") for col in cols] == [
        "time64ns_data",
        "uint128_data",
        "boolean_data",
        "int64_data",
        "float64_data",
        "string_data",
    ]
    assert list(cols[3].int64_data.data) == [-5, 2**62]
    assert list(cols[5].string_data.data) == [b"foo", b"\x9f"]


def test_uint128_puts_low_in_field_1_and_high_in_field_2() -> None:
    # tag 0x08 = field 1 varint, tag 0x10 = field 2 varint.
    assert vpb.UInt128(low=1, high=2).SerializeToString() == b"\x08\x01\x10\x02"


def test_execute_script_response_numbers_data_3_and_metadata_4() -> None:
    data = vpb.ExecuteScriptResponse(data=vpb.QueryData(encrypted_batch=b"x")).SerializeToString()
    meta = vpb.ExecuteScriptResponse(meta_data=vpb.QueryMetadata(id="t")).SerializeToString()

    # Field 3 / field 4, length-delimited (wire type 2): tags 0x1a and 0x22.
    assert data == b"\x1a\x03\x1a\x01x"
    assert meta == b"\x22\x03\x1a\x01t"


def test_query_data_numbers_batch_1_stats_2_encrypted_batch_3() -> None:
    query_data = vpb.QueryData(
        batch=vpb.RowBatchData(eos=True),
        execution_stats=vpb.QueryExecutionStats(records_processed=7),
        encrypted_batch=b"e",
    )

    assert query_data.SerializeToString() == (
        b"\x0a\x02\x20\x01"  # 1 batch { 4 eos: true }
        b"\x12\x02\x18\x07"  # 2 execution_stats { 3 records_processed: 7 }
        b"\x1a\x01e"  # 3 encrypted_batch
    )
    # Independent fields, not a oneof: all three survive together.
    decoded = vpb.QueryData.FromString(query_data.SerializeToString())
    assert decoded.batch.eos and decoded.execution_stats.records_processed == 7
    assert decoded.encrypted_batch == b"e"


def test_row_batch_table_id_is_field_5_and_status_skips_reserved_3() -> None:
    assert vpb.RowBatchData(table_id="t").SerializeToString() == b"\x2a\x01t"
    status = vpb.Status(code=3, error_details=[vpb.ErrorDetails()])
    assert status.SerializeToString() == b"\x08\x03\x22\x00"


def test_uuidpb_splits_big_endian_into_high_bits_2_and_low_bits_3() -> None:
    value = uuid.UUID("00112233-4455-6677-8899-aabbccddeeff")
    message = uuid_pb2.UUID(high_bits=value.int >> 64, low_bits=value.int & (2**64 - 1))

    assert message.high_bits == 0x0011223344556677
    assert message.SerializeToString().hex() == "10f7ccd5a2b4c6c80818ffddf7e6bcd7eacc8801"


def test_cluster_info_keeps_pixies_camel_case_heartbeat_field() -> None:
    info = cloudapi_pb2.ClusterInfo(lastHeartbeatNs=5, status=cloudapi_pb2.CS_HEALTHY)

    assert info.SerializeToString() == b"\x10\x01\x18\x05"
