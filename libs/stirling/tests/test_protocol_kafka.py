"""Kafka: framing, correlation-id pairing, flexible versions, loss and resync -> kafka_events rows.

Bytes come from kafka-python itself: its protocol structs encode every request and response
version the parser knows, and tests/data/kafka_*.txt are kafka-python 3.0.12 sessions against
the test broker of pyxie_testing.wire.kafka_server.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kafka.protocol.consumer import FetchRequest, FetchResponse
from kafka.protocol.metadata import ApiVersionsRequest
from kafka.protocol.producer import ProduceRequest, ProduceResponse
from kafka.record.memory_records import MemoryRecordsBuilder
from pyxie_stirling.protocols import (
    Direction,
    KafkaParser,
    KafkaRecord,
    Protocol,
    Role,
    infer_protocol,
    infer_role,
    make_parser,
)
from pyxie_stirling.protocols._kafka import _SCHEMAS, decode_body, looks_like_kafka_request

EGRESS, INGRESS = Direction.EGRESS, Direction.INGRESS
DATA = Path(__file__).parent / "data"


def _load(name: str) -> list[tuple[Direction, bytes]]:
    out = []
    for line in (DATA / name).read_text().splitlines():
        if not line.startswith("#"):
            arrow, hexdata = line.split()
            out.append((EGRESS if arrow == ">" else INGRESS, bytes.fromhex(hexdata)))
    return out


def _run(name: str, role: Role = Role.CLIENT) -> tuple[KafkaParser, list[KafkaRecord]]:
    parser = KafkaParser(role)
    for ts, (direction, data) in enumerate(_load(name), start=1):
        if role is Role.SERVER:
            direction = INGRESS if direction is EGRESS else EGRESS
        parser.feed(direction, data, ts)
    records = [r for r in parser.records() if isinstance(r, KafkaRecord)]
    return parser, records


# -- every known API and version, encoded by kafka-python -----------------------------------


def _classes() -> dict[tuple[int, bool], Any]:
    import kafka.protocol.consumer as consumer
    import kafka.protocol.metadata as metadata
    import kafka.protocol.producer as producer

    out: dict[tuple[int, bool], Any] = {}
    for module in (producer, consumer, metadata):
        for name in module.__all__:
            cls = getattr(module, name)
            spec = getattr(cls, "_json", None)
            if isinstance(spec, dict) and spec.get("type") in ("request", "response"):
                out[(cls.API_KEY, spec["type"] == "request")] = cls
    return out


_SAMPLE = {
    "int8": 1,
    "int16": 2,
    "int32": 3,
    "int64": 4,
    "bool": True,
    "string": "abc",
    "uuid": uuid.UUID(int=7),
    "bytes": b"xyz",
    "bitfield": set(),
    "[]int32": [1, 2],
    "[]int64": [5],
    "[]string": ["k1", "k2"],
}


def _values(owner: Any, struct: Any, version: int) -> dict[str, Any]:
    """Every untagged field of ``struct`` in ``version``, arrays with two entries."""
    out: dict[str, Any] = {}
    for fld in struct._fields:
        if fld._tag is not None or not fld.for_version_q(version):
            continue
        if fld.is_struct() or fld.is_struct_array():
            data_class = fld.data_class if fld.has_data_class() else getattr(owner, fld.type_str)
            item = data_class(**_values(data_class, fld, version))
            out[fld.name] = [item, item] if fld.is_struct_array() else item
        elif fld.type_str == "records":
            out[fld.name] = _batch(2)
        else:
            out[fld.name] = _SAMPLE[fld.type_str]
    return out


def _batch(count: int) -> bytes:
    builder = MemoryRecordsBuilder(magic=2, compression_type=0, batch_size=1 << 20)
    for i in range(count):
        builder.append(timestamp=1_700_000_000_000, key=None, value=b"v%d" % i, headers=[])
    builder.close()
    return bytes(builder.buffer())


_CASES = [
    (key, is_request, version)
    for (key, is_request), cls in sorted(_classes().items())
    if key in _SCHEMAS
    for version in range(cls.max_version + 1)
]


@pytest.mark.parametrize(("key", "is_request", "version"), _CASES)
def test_every_version_kafka_python_encodes_decodes_to_its_last_byte(
    key: int, is_request: bool, version: int
) -> None:
    cls = _classes()[(key, is_request)]
    message = cls[version](**_values(cls, cls._struct, version))
    data = bytes(message.encode(version=version))
    body = decode_body(key, version, is_request, data)
    assert body is not None
    # Every byte is consumed: one byte more or less does not decode.
    assert decode_body(key, version, is_request, data + b"\0") is None
    if data:
        assert decode_body(key, version, is_request, data[:-1]) is None
    text = json.dumps(body)
    if "records" in text:
        assert '"record_count": 2' in text


# -- captured sessions ----------------------------------------------------------------------


def test_producer_session_rows() -> None:
    parser, records = _run("kafka_producer.txt")
    assert parser.parse_errors == parser.unmatched_responses == 0
    assert [r.req_cmd for r in records] == [18, 22, 3, 0, 0, 0]
    assert {r.client_id for r in records} == {"orders"}
    produce = [r for r in records if r.req_cmd == 0]
    for offset, record in enumerate(produce):
        req = json.loads(record.req_body)
        assert req["acks"] == -1
        assert req["topic_data"] == [
            {
                "name": "order-created",
                "partition_data": [{"index": 0, "records": {"size": 82, "record_count": 1}}],
            }
        ]
        resp = json.loads(record.resp)
        (partition,) = resp["responses"][0]["partition_responses"]
        assert (partition["error_code"], partition["base_offset"]) == (0, offset)
        assert record.response_timestamp_ns > record.request_timestamp_ns


def test_consumer_session_rows_show_high_watermark_and_record_count() -> None:
    parser, records = _run("kafka_consumer.txt")
    assert parser.parse_errors == 0
    assert [r.req_cmd for r in records] == [18, 3, 2, 1]
    fetch = json.loads(records[-1].resp)
    (partition,) = fetch["responses"][0]["partitions"]
    assert partition["high_watermark"] == 3
    assert partition["records"] == {"size": 246, "record_count": 3}
    assert json.loads(records[-1].req_body)["topics"][0]["partitions"][0]["fetch_offset"] == 0


def test_group_session_rows() -> None:
    parser, records = _run("kafka_group_coordinator.txt")
    assert parser.parse_errors == 0
    assert [r.req_cmd for r in records] == [18, 11, 11, 14, 11, 14, 9, 8, 8, 13]
    first_join = json.loads(records[1].resp)
    assert first_join["error_code"] == 79  # MEMBER_ID_REQUIRED, then the join with the id
    join = json.loads(records[2].resp)
    assert join["error_code"] == 0 and join["generation_id"] == 1
    assert join["leader"] == join["member_id"] == first_join["member_id"]
    sync = json.loads(records[3].req_body)
    assert sync["group_id"] == "mailers" and sync["generation_id"] == 1


def test_api_versions_fallback_decodes_the_v0_error_answer() -> None:
    parser, records = _run("kafka_bootstrap.txt")
    assert parser.parse_errors == 0
    first, second = (json.loads(r.resp) for r in records[:2])
    assert first["error_code"] == 35 and second["error_code"] == 0
    assert {"api_key": 1, "min_version": 0, "max_version": 12} in second["api_keys"]


def test_server_side_gives_the_same_rows() -> None:
    _, client = _run("kafka_producer.txt")
    _, server = _run("kafka_producer.txt", Role.SERVER)
    assert [r.to_row() for r in client] == [r.to_row() for r in server]


def test_byte_at_a_time_and_one_chunk_give_the_same_rows() -> None:
    chunks = _load("kafka_group_fetch.txt")
    parser = KafkaParser(Role.CLIENT)
    for ts, (direction, data) in enumerate(chunks, start=1):
        for i in range(len(data)):
            parser.feed(direction, data[i : i + 1], ts)
    _, whole = _run("kafka_group_fetch.txt")
    assert [r.to_row() for r in parser.records()] == [r.to_row() for r in whole]


# -- pipelining, acks=0, loss, resync -------------------------------------------------------


def _produce(corr: int, acks: int = -1, version: int = 9) -> bytes:
    return _produce_with(_batch(3), corr, acks, version)


def _produce_with(records: bytes, corr: int, acks: int = -1, version: int = 9) -> bytes:
    request = ProduceRequest[version](
        transactional_id=None,
        acks=acks,
        timeout_ms=1000,
        topic_data=[
            ProduceRequest.TopicProduceData(
                name="t",
                partition_data=[
                    ProduceRequest.TopicProduceData.PartitionProduceData(index=0, records=records)
                ],
            )
        ],
    )
    request.with_header(correlation_id=corr, client_id="pipeliner")
    return bytes(request.encode(header=True, framed=True))


def _produce_response(corr: int, base: int, version: int = 9) -> bytes:
    topic = ProduceResponse.TopicProduceResponse
    response = ProduceResponse[version](
        responses=[
            topic(
                name="t",
                partition_responses=[
                    topic.PartitionProduceResponse(
                        index=0,
                        error_code=0,
                        base_offset=base,
                        log_append_time_ms=-1,
                        log_start_offset=0,
                        record_errors=[],
                        error_message=None,
                    )
                ],
            )
        ],
        throttle_time_ms=0,
    )
    response.with_header(correlation_id=corr)
    return bytes(response.encode(header=True, framed=True))


def _offsets(parser: KafkaParser) -> list[tuple[int, int, int]]:
    out = []
    for r in parser.records():
        assert isinstance(r, KafkaRecord)
        resp = json.loads(r.resp)
        base = resp["responses"][0]["partition_responses"][0]["base_offset"]
        out.append((base, r.request_timestamp_ns, r.response_timestamp_ns))
    return out


def test_pipelined_requests_pair_by_correlation_id() -> None:
    parser = KafkaParser(Role.CLIENT)
    parser.feed(EGRESS, _produce(1) + _produce(2) + _produce(3), 10)
    both = _produce_response(1, 100) + _produce_response(2, 103)
    parser.feed(INGRESS, both[:7], 11)
    parser.feed(INGRESS, both[7:], 12)
    parser.feed(INGRESS, _produce_response(3, 106), 13)
    assert _offsets(parser) == [(100, 10, 12), (103, 10, 12), (106, 10, 13)]


def test_produce_with_acks_0_makes_a_row_at_once() -> None:
    parser = KafkaParser(Role.CLIENT)
    parser.feed(EGRESS, _produce(1, acks=0), 5)
    (record,) = parser.records()
    assert isinstance(record, KafkaRecord)
    assert (record.req_cmd, record.resp, record.response_timestamp_ns) == (0, "", 0)
    assert json.loads(record.req_body)["acks"] == 0


def test_a_gap_inside_a_request_keeps_its_row_with_the_head_decoded() -> None:
    parser = KafkaParser(Role.CLIENT)
    request = _produce(1)
    parser.feed(EGRESS, request[:40], 1)
    parser.feed(EGRESS, request[60:], 2, lost_bytes=20)  # 20 bytes of this frame lost
    parser.feed(EGRESS, _produce(2), 3)
    parser.feed(INGRESS, _produce_response(1, 0) + _produce_response(2, 3), 4)
    first, second = parser.records()
    assert isinstance(first, KafkaRecord) and isinstance(second, KafkaRecord)
    head = json.loads(first.req_body)
    assert (head["truncated"], head["acks"], head["topic_data"][0]["name"]) == (True, -1, "t")
    assert json.loads(second.req_body)["topic_data"][0]["name"] == "t"
    assert parser.parse_errors == parser.unmatched_responses == 0


def test_a_gap_between_frames_resyncs_at_the_next_request() -> None:
    parser = KafkaParser(Role.CLIENT)
    parser.feed(EGRESS, _produce(1), 1)
    parser.feed(EGRESS, _produce(2)[50:], 2, lost_bytes=50)  # the start of request 2 lost
    parser.feed(EGRESS, _produce(3), 3)
    parser.feed(INGRESS, b"".join(_produce_response(c, c) for c in (1, 2, 3)), 4)
    assert [o for o, _, _ in _offsets(parser)] == [1, 3]
    assert parser.parse_errors == 1
    assert parser.unmatched_responses == 1


def test_response_stream_joined_mid_frame_resyncs_on_a_waited_for_correlation_id() -> None:
    parser = KafkaParser(Role.CLIENT)
    parser.feed(EGRESS, _produce(7), 1)
    tail = _produce_response(6, 0)[9:]  # the end of a response we never saw begin
    parser.feed(INGRESS, tail, 2, lost_bytes=9)
    parser.feed(INGRESS, _produce_response(7, 42), 3)
    assert _offsets(parser) == [(42, 1, 3)]
    assert parser.parse_errors == 1


def test_connection_traced_from_its_middle_makes_no_garbage_rows() -> None:
    chunks = _load("kafka_consumer.txt")
    parser = KafkaParser(Role.CLIENT)
    # Start with a response (its request was before tracing began), then carry on.
    for ts, (direction, data) in enumerate(chunks[1:], start=1):
        parser.feed(direction, data, ts)
    records = parser.records()
    assert [r.to_row()["req_cmd"] for r in records] == [3, 2, 1]
    assert parser.unmatched_responses == 1


def test_big_fetch_response_keeps_its_head_and_the_next_pairs() -> None:
    fetch = FetchRequest[12](
        max_wait_ms=0,
        min_bytes=1,
        max_bytes=1 << 24,
        topics=[],
        forgotten_topics_data=[],
        rack_id="",
    )
    fetch.with_header(correlation_id=1, client_id="c")
    partition = FetchResponse.FetchableTopicResponse.PartitionData
    big = FetchResponse[12](
        throttle_time_ms=0,
        error_code=0,
        session_id=0,
        responses=[
            FetchResponse.FetchableTopicResponse(
                topic="t",
                partitions=[
                    partition(
                        partition_index=0,
                        error_code=0,
                        high_watermark=1,
                        last_stable_offset=1,
                        log_start_offset=0,
                        aborted_transactions=[],
                        preferred_read_replica=-1,
                        records=_batch(1) * 9000,
                    )
                ],
            )
        ],
    )
    big.with_header(correlation_id=1)
    response = bytes(big.encode(header=True, framed=True))
    parser = KafkaParser(Role.CLIENT)
    parser.feed(EGRESS, bytes(fetch.encode(header=True, framed=True)) + _produce(2), 1)
    step = 65536
    for n, i in enumerate(range(0, len(response), step)):
        if n == 5:
            continue  # a capture gap inside the record data past the kept head
        parser.feed(INGRESS, response[i : i + step], 2 + n, lost_bytes=step if n == 6 else 0)
    parser.feed(INGRESS, _produce_response(2, 9), 10**9)
    rows = [r.to_row() for r in parser.records()]
    assert [row["req_cmd"] for row in rows] == [1, 0]
    # Only the head of the response was kept: what it holds, marked truncated.
    resp = json.loads(str(rows[0]["resp"]))
    assert resp["truncated"] is True
    (part,) = resp["responses"][0]["partitions"]
    assert (part["high_watermark"], part["error_code"]) == (1, 0)
    assert part["records"]["truncated"] is True
    # The batches in the kept head are counted; the size is the whole record set's.
    assert 1000 < part["records"]["record_count"] < 9000
    assert part["records"]["size"] == len(_batch(1)) * 9000
    assert parser.parse_errors == 0


def _capture(parser: KafkaParser, direction: Direction, data: bytes, ts: int) -> None:
    """As the socket tracer feeds one syscall: at most 4 KiB captured, the rest as lost."""
    parser.feed(direction, data[:4096], ts)
    if len(data) > 4096:
        parser.feed(direction, b"", ts, lost_bytes=len(data) - 4096)


def test_syscalls_bigger_than_the_capture_give_rows_from_their_heads() -> None:
    parser = KafkaParser(Role.CLIENT)
    big = _produce_with(_batch(1) * 300, corr=1)  # ~20 KB in one send
    assert len(big) > 4096
    _capture(parser, EGRESS, big, 1)
    _capture(parser, INGRESS, _produce_response(1, 0), 2)
    _capture(parser, EGRESS, _produce(2), 3)
    _capture(parser, INGRESS, _produce_response(2, 300), 4)
    first, second = parser.records()
    assert isinstance(first, KafkaRecord) and isinstance(second, KafkaRecord)
    req = json.loads(first.req_body)
    assert req["truncated"] is True
    assert req["topic_data"][0]["partition_data"][0]["records"]["size"] == len(_batch(1)) * 300
    assert json.loads(first.resp)["responses"][0]["partition_responses"][0]["base_offset"] == 0
    assert json.loads(second.resp)["responses"][0]["partition_responses"][0]["base_offset"] == 300
    assert parser.parse_errors == 0


def test_a_gap_running_past_the_frame_loses_framing() -> None:
    parser = KafkaParser(Role.CLIENT)
    request = _produce(1)
    parser.feed(EGRESS, request[:30], 1)
    parser.feed(EGRESS, b"", 1, lost_bytes=len(request) - 30 + 10)  # 10 bytes of the next too
    parser.feed(EGRESS, b"tail-of-the-next", 2)
    parser.feed(EGRESS, _produce(2), 3)
    parser.feed(INGRESS, _produce_response(1, 0) + _produce_response(2, 3), 4)
    assert [r.request_timestamp_ns for r in parser.records()] == [1, 3]


def test_unanswered_requests_expire() -> None:
    parser = KafkaParser(Role.CLIENT)
    parser.feed(EGRESS, _produce(1), 1)
    parser.flush(now_ns=60 * 10**9)
    parser.feed(INGRESS, _produce_response(1, 0), 2)
    assert parser.records() == []
    assert parser.dropped_requests == 1 and parser.unmatched_responses == 1


# -- inference ------------------------------------------------------------------------------


def test_inference_from_requests_only() -> None:
    request = _produce(1)
    assert infer_protocol(request, EGRESS, Role.CLIENT) is Protocol.KAFKA
    assert infer_protocol(request, INGRESS, Role.SERVER) is Protocol.KAFKA
    assert infer_protocol(request, INGRESS, Role.UNKNOWN) is Protocol.KAFKA
    assert infer_role(Protocol.KAFKA, request, INGRESS) is Role.SERVER
    assert infer_protocol(request + _produce(2), EGRESS, Role.CLIENT) is Protocol.KAFKA
    # A response is only a size and a correlation id: not enough to say Kafka.
    assert infer_protocol(_produce_response(1, 0), INGRESS, Role.CLIENT) is None
    assert infer_protocol(request[:-1], EGRESS, Role.CLIENT) is None  # size mismatch
    bad_key = request[:4] + b"\x00\x63" + request[6:]  # api key 99
    assert not looks_like_kafka_request(bad_key)
    bad_version = request[:6] + b"\x00\x63" + request[8:]  # Produce v99
    assert not looks_like_kafka_request(bad_version)
    bad_client = request[:14] + b"\x01" + request[15:]  # a control character in the client id
    assert not looks_like_kafka_request(bad_client)
    api_versions = ApiVersionsRequest[3](
        client_software_name="kafka-python", client_software_version="3"
    )
    api_versions.with_header(correlation_id=0, client_id=None)
    assert looks_like_kafka_request(bytes(api_versions.encode(header=True, framed=True)))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=64), st.booleans()), max_size=20))
def test_random_chunks_never_break_the_parser(chunks: list[tuple[bool, bytes, bool]]) -> None:
    parser = make_parser(Protocol.KAFKA, Role.CLIENT)
    parser.feed(EGRESS, _produce(1), 0)
    for ts, (egress, data, lost) in enumerate(chunks, start=1):
        parser.feed(EGRESS if egress else INGRESS, data, ts, lost_bytes=3 if lost else 0)
    parser.flush(10**18)
    parser.close()
    for record in parser.records():
        record.to_row()
    assert parser.internal_errors == 0
