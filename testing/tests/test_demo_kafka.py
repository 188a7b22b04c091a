"""The demo shop's Kafka (its own test broker, a producer, a consumer group) and the broker
itself (pyxie_testing.wire.kafka_server) driven by kafka-python."""

from __future__ import annotations

import json
import socket
import struct
import time

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from pyxie_testing.demo._grpc import new_traceparent
from pyxie_testing.wire.kafka_server import BROKER_API_VERSIONS, KafkaServer

pytestmark = pytest.mark.slow


def test_order_records_go_through_the_shops_own_kafka_broker() -> None:
    from pyxie_testing.demo._kafka import OrderRecords

    records = OrderRecords()
    try:
        for i in range(3):
            records.publish(i, "buyer@example.com", new_traceparent())
        deadline = time.monotonic() + 30
        while records.consumed < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert records.consumed == 3
    finally:
        records.close()
    assert records._server.returncode is not None  # the broker child is gone


def test_broker_serves_produce_fetch_offsets_and_a_consumer_group() -> None:
    with KafkaServer() as server:
        boot = f"127.0.0.1:{server.port}"
        producer = KafkaProducer(bootstrap_servers=boot, client_id="t-producer")
        offsets = [
            producer.send("t", json.dumps({"n": i}).encode(), headers=[("h", b"v")])
            .get(timeout=10)
            .offset
            for i in range(3)
        ]
        producer.close()
        assert offsets == [0, 1, 2]

        consumer = KafkaConsumer(
            bootstrap_servers=boot, auto_offset_reset="earliest", enable_auto_commit=False
        )
        partition = TopicPartition("t", 0)
        consumer.assign([partition])
        assert consumer.end_offsets([partition]) == {partition: 3}
        consumer.seek(partition, 1)
        got: list[tuple[int, bytes, list[tuple[str, bytes]]]] = []
        deadline = time.monotonic() + 10
        while len(got) < 2 and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                got += [(r.offset, r.value, r.headers) for r in batch]
        consumer.close()
        assert got == [(1, b'{"n": 1}', [("h", b"v")]), (2, b'{"n": 2}', [("h", b"v")])]

        group = KafkaConsumer(
            "t", bootstrap_servers=boot, group_id="g", auto_offset_reset="earliest"
        )
        seen = 0
        deadline = time.monotonic() + 20
        while seen < 3 and time.monotonic() < deadline:
            seen += sum(len(b) for b in group.poll(timeout_ms=200).values())
        group.commit()
        assert group.committed(partition) == 3
        group.close()
        assert seen == 3


def _frame(message: object, corr: int) -> bytes:
    message.with_header(correlation_id=corr, client_id="raw")  # type: ignore[attr-defined]
    return bytes(message.encode(header=True, framed=True))  # type: ignore[attr-defined]


def _read_frame(sock: socket.socket) -> bytes:
    data = b""
    while len(data) < 4 or len(data) < 4 + struct.unpack(">i", data[:4])[0]:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    return data


def test_broker_answers_versions_as_a_kafka_2_8_broker() -> None:
    from kafka.protocol.metadata import ApiVersionsRequest, ApiVersionsResponse
    from kafka.protocol.producer import ProduceRequest

    with KafkaServer() as server, socket.create_connection(("127.0.0.1", server.port)) as sock:
        # ApiVersions v4 is newer than 2.8's v3: error 35 and the version list, in v0 format.
        sock.sendall(
            _frame(
                ApiVersionsRequest[4](client_software_name="raw", client_software_version="1"), 7
            )
        )
        answer = ApiVersionsResponse.decode(_read_frame(sock), version=4, header=True, framed=True)
        assert answer.header.correlation_id == 7
        assert answer.error_code == 35
        ranges = {k.api_key: (k.min_version, k.max_version) for k in answer.api_keys}
        assert ranges == BROKER_API_VERSIONS
        # A Produce version it does not advertise: the broker drops the connection.
        request = ProduceRequest[10](transactional_id=None, acks=1, timeout_ms=100, topic_data=[])
        sock.sendall(_frame(request, 8))
        assert _read_frame(sock) == b""
