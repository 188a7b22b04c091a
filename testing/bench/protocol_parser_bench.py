"""Micro-benchmark of the protocol parsers, each against a reference decoder of its protocol.

Run: uv run --all-packages python testing/bench/protocol_parser_bench.py [exchanges]

HTTP/1.1 (pyxie HttpParser vs http.client) and HTTP/2 + gRPC (pyxie Http2Parser vs the h2
library's building blocks hyperframe + hpack, which frame and HPACK-decode both directions but
neither pair streams nor render rows), AMQP (pyxie AmqpParser vs pika's frame decoder over the
same pika-encoded frames) and NATS (pyxie NatsParser over both directions vs nats-py's client
parser over the server's MSG stream only), CQL (pyxie CqlParser over both directions vs
cassandra-driver's own ProtocolHandler.decode_message over the responses, rows decoded) and
MongoDB (pyxie MongoParser over pymongo-encoded OP_MSG requests and bson replies vs pymongo's own
decoding of the same messages: bson.decode of each document, json_util relaxed extended JSON, no
pairing) and Kafka (pyxie KafkaParser, framing + pairing by correlation id + JSON bodies, vs
kafka-python's own decoders of the same frames, which neither pair nor render). Each section
ends with our rate over the reference's.

HTTP/1.1:
The same byte stream (requests and JSON responses with Content-Length, delivered in 4 KiB chunks
the way a socket tracer sees them) is parsed by our parser and, as the baseline, by the standard
library's response parser (`http.client.HTTPResponse.begin()` + `read()`) over the responses.
The baseline parses only responses; ours frames both directions and pairs them, so the ratio is
conservative. The last line is the ratio of our records/s to the baseline's responses/s.
"""

from __future__ import annotations

import bisect
import http.client
import io
import json
import sys
import time

import h2.config
import h2.connection
import h2.events
import hpack
import hyperframe.frame
from pyxie_stirling.protocols import Direction, Protocol, Role, make_parser

CHUNK = 4096


def build_stream(exchanges: int) -> tuple[bytes, bytes, list[int], list[int]]:
    """Both byte streams and, per exchange, the end offsets of its request and response."""
    requests = bytearray()
    responses = bytearray()
    req_ends: list[int] = []
    resp_ends: list[int] = []
    for i in range(exchanges):
        requests += (
            f"GET /api/items/{i}?verbose=1 HTTP/1.1\r\nHost: svc.local\r\nUser-Agent: bench/1.0\r\n"
            f"Accept: application/json\r\nX-Request-Id: {i:08x}\r\n\r\n"
        ).encode()
        body = json.dumps({"id": i, "name": f"item-{i}", "tags": ["a", "b", "c"], "ok": True})
        responses += (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nServer: bench\r\n"
            f"Date: Mon, 01 Jan 2024 00:00:00 GMT\r\nContent-Length: {len(body)}\r\n\r\n{body}"
        ).encode()
        req_ends.append(len(requests))
        resp_ends.append(len(responses))
    return bytes(requests), bytes(responses), req_ends, resp_ends


def interleave(
    requests: bytes, responses: bytes, req_ends: list[int], resp_ends: list[int]
) -> list[tuple[Direction, bytes]]:
    """Causal order, as a tracer sees it: a response chunk only after the requests it answers."""
    out: list[tuple[Direction, bytes]] = []
    sent = 0
    for start in range(0, len(responses), CHUNK):
        end = min(len(responses), start + CHUNK)
        last_exchange = min(bisect.bisect_left(resp_ends, end), len(req_ends) - 1)
        need = req_ends[last_exchange]
        while sent < need:
            out.append((Direction.EGRESS, requests[sent : min(need, sent + CHUNK)]))
            sent = min(need, sent + CHUNK)
        out.append((Direction.INGRESS, responses[start:end]))
    return out


def run_ours(stream: list[tuple[Direction, bytes]], *, rows: bool) -> int:
    parser = make_parser(Protocol.HTTP, Role.CLIENT)
    count = 0
    for ts, (direction, data) in enumerate(stream):
        parser.feed(direction, data, ts)
        records = parser.records()
        if rows:
            for record in records:
                record.to_row()
        count += len(records)
    return count


class _KeepAliveFile(io.BytesIO):
    def close(self) -> None:  # HTTPResponse closes its file after each body; keep the stream
        pass


class _Sock:
    def __init__(self, data: bytes) -> None:
        self._fp = _KeepAliveFile(data)

    def makefile(self, mode: str) -> io.BytesIO:
        return self._fp


def run_baseline(responses: bytes, exchanges: int) -> int:
    sock = _Sock(responses)
    count = 0
    for _ in range(exchanges):
        response = http.client.HTTPResponse(sock)  # type: ignore[arg-type]
        response.begin()
        response.read()
        count += 1
    return count


def timed(fn: object, *args: object, **kwargs: object) -> tuple[int, float]:
    best = float("inf")
    count = 0
    for _ in range(3):
        start = time.perf_counter()
        count = fn(*args, **kwargs)  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return count, best


PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def build_grpc_stream(calls: int) -> list[tuple[Direction, bytes]]:
    """Client-side chunks of ``calls`` unary gRPC calls on one h2c connection (h2-encoded)."""
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    server = h2.connection.H2Connection(
        h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
    )
    client.initiate_connection()
    server.initiate_connection()
    out: list[tuple[Direction, bytes]] = []

    def pump() -> None:
        for _ in range(2):
            data = client.data_to_send()
            if data:
                out.append((Direction.EGRESS, data))
                _ack(server, server.receive_data(data))
            data = server.data_to_send()
            if data:
                out.append((Direction.INGRESS, data))
                _ack(client, client.receive_data(data))

    pump()
    for i in range(calls):
        sid = client.get_next_available_stream_id()
        client.send_headers(
            sid,
            [
                (":method", "POST"),
                (":scheme", "http"),
                (":path", "/shop.Orders/GetProduct"),
                (":authority", "orders:8081"),
                ("content-type", "application/grpc"),
                ("te", "trailers"),
                ("traceparent", f"00-{i:032x}-{i:016x}-01"),
            ],
        )
        client.send_data(sid, b"\0\0\0\0\x02\x08" + bytes([i % 100]), end_stream=True)
        pump()
        server.send_headers(sid, [(":status", "200"), ("content-type", "application/grpc")])
        reply = b"\x08" + bytes([i % 100]) + b"\x12\x06teapot\x18\xe8\x07"
        server.send_data(sid, b"\0" + len(reply).to_bytes(4, "big") + reply)
        server.send_headers(sid, [("grpc-status", "0"), ("grpc-message", "")], end_stream=True)
        pump()
    return out


def _ack(conn: h2.connection.H2Connection, events: list[h2.events.Event]) -> list[h2.events.Event]:
    for event in events:
        if isinstance(event, h2.events.DataReceived) and event.stream_id is not None:
            conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
    return events


def run_ours_h2(stream: list[tuple[Direction, bytes]]) -> int:
    parser = make_parser(Protocol.HTTP2, Role.CLIENT)
    count = 0
    for ts, (direction, data) in enumerate(stream):
        parser.feed(direction, data, ts)
        for record in parser.records():
            record.to_row()
            count += 1
    return count


def run_h2_reference(stream: list[tuple[Direction, bytes]]) -> int:
    # hyperframe frames + hpack decoders, one per direction (h2's own building blocks).
    buffers = {Direction.EGRESS: bytearray(), Direction.INGRESS: bytearray()}
    decoders = {Direction.EGRESS: hpack.Decoder(), Direction.INGRESS: hpack.Decoder()}
    count = 0
    for direction, data in stream:
        buf = buffers[direction]
        buf += data
        if direction is Direction.EGRESS and buf.startswith(PREFACE):
            del buf[: len(PREFACE)]
        pos = 0
        while len(buf) - pos >= 9:
            frame, length = hyperframe.frame.Frame.parse_frame_header(
                memoryview(buf)[pos : pos + 9]
            )
            if len(buf) - pos - 9 < length:
                break
            frame.parse_body(memoryview(buf)[pos + 9 : pos + 9 + length])
            pos += 9 + length
            if isinstance(frame, hyperframe.frame.HeadersFrame):
                decoders[direction].decode(frame.data)
            if direction is Direction.INGRESS and "END_STREAM" in frame.flags:
                count += 1
        del buf[:pos]
    return count


def build_amqp_stream(messages: int) -> list[tuple[Direction, bytes]]:
    """Publish + deliver + ack per message and a Queue.Declare round trip every 10, pika-encoded."""
    import pika.frame
    import pika.spec

    def method(channel: int, m: object) -> bytes:
        return bytes(pika.frame.Method(channel, m).marshal())

    props = pika.spec.BasicProperties(content_type="application/json", headers={"tp": "00-1"})
    out: list[tuple[Direction, bytes]] = [(Direction.EGRESS, b"AMQP\x00\x00\x09\x01")]
    for i in range(messages):
        body = b'{"order_id":%d}' % i
        if i % 10 == 0:
            out.append((Direction.EGRESS, method(1, pika.spec.Queue.Declare(queue="orders"))))
            out.append((Direction.INGRESS, method(1, pika.spec.Queue.DeclareOk("orders", i, 1))))
        publish = method(1, pika.spec.Basic.Publish(routing_key="orders"))
        header = bytes(pika.frame.Header(1, len(body), props).marshal())
        out.append((Direction.EGRESS, publish + header + bytes(pika.frame.Body(1, body).marshal())))
        deliver = method(1, pika.spec.Basic.Deliver("ctag", i + 1, False, "", "orders"))
        out.append(
            (Direction.INGRESS, deliver + header + bytes(pika.frame.Body(1, body).marshal()))
        )
        out.append((Direction.EGRESS, method(1, pika.spec.Basic.Ack(i + 1))))
    return out


def run_ours_generic(protocol: Protocol, stream: list[tuple[Direction, bytes]]) -> int:
    parser = make_parser(protocol, Role.CLIENT)
    count = 0
    for ts, (direction, data) in enumerate(stream):
        parser.feed(direction, data, ts)
        for record in parser.records():
            record.to_row()
            count += 1
    return count


def run_pika_reference(stream: list[tuple[Direction, bytes]]) -> int:
    import pika.frame

    count = 0
    for _, data in stream:
        pos = 0
        while pos < len(data):
            used, frame = pika.frame.decode_frame(data[pos:])
            if not used:
                break
            pos += used
            if frame is not None:
                count += 1
    return count


def bench_amqp(messages: int) -> None:
    stream = build_amqp_stream(messages)
    n_ours, t_ours = timed(run_ours_generic, Protocol.AMQP, stream)
    n_ref, t_ref = timed(run_pika_reference, stream)
    mb = sum(len(d) for _, d in stream) / 1e6
    print(f"\nAMQP: {messages} published+delivered messages, stream {mb:.1f} MB (best of 3)")
    print(f"pyxie AmqpParser, frames+pair+to_row: {len(stream) / t_ours:>10,.0f} chunks/s"
          f" ({n_ours} rows)")  # fmt: skip
    print(f"pika.frame.decode_frame (reference):  {len(stream) / t_ref:>10,.0f} chunks/s"
          f" ({n_ref} frames)")  # fmt: skip
    print(f"ratio pyxie/pika: {t_ref / t_ours:.2f}")


def build_nats_stream(messages: int) -> list[tuple[Direction, bytes]]:
    out: list[tuple[Direction, bytes]] = [
        (Direction.INGRESS, b'INFO {"server_id":"bench","proto":1,"headers":true}\r\n'),
        (Direction.EGRESS, b'CONNECT {"verbose":false,"lang":"bench"}\r\nSUB orders 1\r\n'),
    ]
    for i in range(messages):
        body = b'{"order_id":%d}' % i
        out.append((Direction.EGRESS, b"PUB orders %d\r\n%s\r\n" % (len(body), body)))
        out.append((Direction.INGRESS, b"MSG orders 1 %d\r\n%s\r\n" % (len(body), body)))
    return out


def run_nats_reference(stream: list[tuple[Direction, bytes]]) -> int:
    import asyncio

    from nats.protocol.parser import Parser

    class _Client:
        count = 0

        async def _process_msg(self, *args: object) -> None:
            self.count += 1

        async def _process_info(self, *args: object) -> None:
            pass

        async def _process_ping(self) -> None:
            pass

        async def _process_pong(self) -> None:
            pass

        async def _process_err(self, *args: object) -> None:
            pass

    async def run() -> int:
        client = _Client()
        parser = Parser(client)
        for direction, data in stream:
            if direction is Direction.INGRESS:
                await parser.parse(data)
        return client.count

    return asyncio.run(run())


def bench_nats(messages: int) -> None:
    stream = build_nats_stream(messages)
    n_ours, t_ours = timed(run_ours_generic, Protocol.NATS, stream)
    n_ref, t_ref = timed(run_nats_reference, stream)
    print(f"\nNATS: {messages} PUB + {messages} MSG (best of 3)")
    print(f"pyxie NatsParser, both directions + to_row: {n_ours / t_ours:>10,.0f} rows/s")
    print(f"nats-py Parser, server MSGs (reference):    {n_ref / t_ref:>10,.0f} msgs/s")
    print(f"ratio pyxie/nats-py: {(n_ours / t_ours) / (n_ref / t_ref):.2f}")


def build_cql_stream(exchanges: int) -> list[tuple[Direction, bytes]]:
    """QUERY (SELECT, 3 rows back) and prepared EXECUTE (INSERT, VOID back) alternating,
    requests encoded by cassandra-driver, responses by the CQL test server's encoder."""
    from cassandra import ConsistencyLevel
    from cassandra.protocol import ExecuteMessage, ProtocolHandler, QueryMessage
    from pyxie_testing.wire import cql_server as srv

    columns = [("id", srv._INT), ("product_id", srv._INT), ("quantity", srv._INT)]
    columns.append(("email", srv._TEXT))
    rows = [
        [(t, i if t is srv._INT else f"b{i}@example.com") for _, t in columns] for i in range(3)
    ]
    rows_body = srv._rows_body(("shop", "orders"), columns, rows)
    void_body = (1).to_bytes(4, "big")
    out = []
    for i in range(exchanges):
        stream_id = i % 1024
        if i % 2:
            values = [(7).to_bytes(4, "big"), (3).to_bytes(4, "big"), b"\0\0\0\1", b"a@x.com"]
            msg: object = ExecuteMessage(b"\x12" * 16, values, ConsistencyLevel.ONE)
            body = void_body
        else:
            msg = QueryMessage("SELECT * FROM shop.orders WHERE id = 1", ConsistencyLevel.ONE)
            body = rows_body
        request = ProtocolHandler.encode_message(msg, stream_id, 4, None, False)
        out.append((Direction.EGRESS, bytes(request)))
        out.append((Direction.INGRESS, srv._frame(stream_id, srv.RESULT, body)))
    return out


def run_cql_reference(stream: list[tuple[Direction, bytes]]) -> int:
    from cassandra.protocol import ProtocolHandler

    count = 0
    for direction, data in stream:
        if direction is not Direction.INGRESS:
            continue
        flags, opcode = data[1], data[4]
        stream_id = int.from_bytes(data[2:4], "big", signed=True)
        ProtocolHandler.decode_message(4, {}, stream_id, flags, opcode, data[9:], None, None)
        count += 1
    return count


def build_mongo_stream(exchanges: int) -> list[tuple[Direction, bytes]]:
    """Per exchange an insert (kind 1 document sequence) or a find, and its reply."""
    import struct

    import bson
    import pymongo.message
    from bson.codec_options import DEFAULT_CODEC_OPTIONS

    def reply(response_to: int, doc: dict[str, object]) -> bytes:
        payload = struct.pack("<I", 0) + b"\x00" + bson.encode(doc)
        return struct.pack("<iiii", 16 + len(payload), 1, response_to, 2013) + payload

    out: list[tuple[Direction, bytes]] = []
    order = {"order_id": 1, "email": "buyer@example.com", "qty": 2, "price": 4.5}
    for i in range(exchanges):
        if i % 2:
            command: dict[str, object] = {"insert": "orders", "documents": [{**order, "n": i}]}
            answer: dict[str, object] = {"n": 1, "ok": 1.0}
        else:
            command = {"find": "orders", "filter": {"order_id": i}, "limit": 5}
            batch = [{**order, "_id": bson.ObjectId(), "n": n} for n in range(3)]
            answer = {"cursor": {"firstBatch": batch, "id": 0, "ns": "shop.orders"}, "ok": 1.0}
        request_id, data, _, _ = pymongo.message._op_msg(
            0, command, "shop", None, DEFAULT_CODEC_OPTIONS
        )
        out.append((Direction.EGRESS, data))
        out.append((Direction.INGRESS, reply(request_id, answer)))
    return out


def run_mongo_reference(stream: list[tuple[Direction, bytes]]) -> int:
    import bson
    from bson import json_util

    count = 0
    for _, data in stream:
        pos, end = 21, len(data)
        while pos < end:  # kind 0 body, then any kind 1 document sequences
            size = int.from_bytes(data[pos : pos + 4], "little")
            json_util.dumps(bson.decode(data[pos : pos + size]),
                            json_options=json_util.RELAXED_JSON_OPTIONS)  # fmt: skip
            pos += size
            if pos < end and data[pos] == 1:
                seq_end = pos + 1 + int.from_bytes(data[pos + 1 : pos + 5], "little")
                docs_at = data.index(b"\0", pos + 5) + 1
                for doc in bson.decode_all(data[docs_at:seq_end]):
                    json_util.dumps(doc, json_options=json_util.RELAXED_JSON_OPTIONS)
                pos = seq_end
        count += 1
    return count


def bench_cql(exchanges: int) -> None:
    stream = build_cql_stream(exchanges)
    n_ours, t_ours = timed(run_ours_generic, Protocol.CQL, stream)
    n_ref, t_ref = timed(run_cql_reference, stream)
    assert n_ours == n_ref == exchanges, (n_ours, n_ref)
    print(f"\nCQL: {exchanges} QUERY/EXECUTE exchanges (best of 3)")
    print(f"pyxie CqlParser, both directions + pair + to_row: {n_ours / t_ours:>10,.0f} rows/s")
    print(f"cassandra-driver decode_message, responses:       {n_ref / t_ref:>10,.0f} msgs/s")
    print(f"ratio pyxie/cassandra-driver: {(n_ours / t_ours) / (n_ref / t_ref):.2f}")


def bench_mongodb(exchanges: int) -> None:
    stream = build_mongo_stream(exchanges)
    n_ours, t_ours = timed(run_ours_generic, Protocol.MONGO, stream)
    n_ref, t_ref = timed(run_mongo_reference, stream)
    assert n_ours == exchanges and n_ref == 2 * exchanges, (n_ours, n_ref)
    mb = sum(len(d) for _, d in stream) / 1e6
    print(f"\nMongoDB: {exchanges} OP_MSG exchanges, stream {mb:.1f} MB (best of 3)")
    print(f"pyxie MongoParser, frame+BSON+pair+to_row: {n_ours / t_ours:>10,.0f} exchanges/s")
    print(f"bson.decode + json_util (reference):       {n_ref / 2 / t_ref:>10,.0f} exchanges/s")
    print(f"ratio pyxie/pymongo: {t_ref / t_ours:.2f}")


def build_kafka_stream(exchanges: int) -> tuple[list[tuple[Direction, bytes]], list[object]]:
    """Produce v9 and Fetch v12 exchanges (flexible versions), kafka-python-encoded; and, per
    frame, the (class, version) that decodes it for the reference."""
    from kafka.protocol.consumer import FetchRequest, FetchResponse
    from kafka.protocol.producer import ProduceRequest, ProduceResponse
    from kafka.record.memory_records import MemoryRecordsBuilder

    builder = MemoryRecordsBuilder(magic=2, compression_type=0, batch_size=1 << 20)
    builder.append(timestamp=1_700_000_000_000, key=None, value=b'{"order_id":7}', headers=[])
    builder.close()
    batch = bytes(builder.buffer())
    produce_topic = ProduceRequest.TopicProduceData
    produce = ProduceRequest[9](
        transactional_id=None,
        acks=-1,
        timeout_ms=30000,
        topic_data=[
            produce_topic(
                name="order-created",
                partition_data=[produce_topic.PartitionProduceData(index=0, records=batch)],
            )
        ],
    )
    answer_topic = ProduceResponse.TopicProduceResponse
    produced = ProduceResponse[9](
        responses=[
            answer_topic(
                name="order-created",
                partition_responses=[
                    answer_topic.PartitionProduceResponse(
                        index=0, error_code=0, base_offset=5, log_append_time_ms=-1,
                        log_start_offset=0, record_errors=[], error_message=None,
                    )
                ],
            )
        ],
        throttle_time_ms=0,
    )  # fmt: skip
    fetch_topic = FetchRequest.FetchTopic
    fetch = FetchRequest[12](
        replica_id=-1, max_wait_ms=500, min_bytes=1, max_bytes=1 << 20, isolation_level=0,
        session_id=0, session_epoch=-1,
        topics=[fetch_topic(topic="order-created", partitions=[fetch_topic.FetchPartition(
            partition=0, current_leader_epoch=0, fetch_offset=5, last_fetched_epoch=-1,
            log_start_offset=-1, partition_max_bytes=1 << 20)])],
        forgotten_topics_data=[], rack_id="",
    )  # fmt: skip
    data_topic = FetchResponse.FetchableTopicResponse
    fetched = FetchResponse[12](
        throttle_time_ms=0, error_code=0, session_id=0,
        responses=[data_topic(topic="order-created", partitions=[data_topic.PartitionData(
            partition_index=0, error_code=0, high_watermark=6, last_stable_offset=6,
            log_start_offset=0, aborted_transactions=[], preferred_read_replica=-1,
            records=batch)])],
    )  # fmt: skip
    stream: list[tuple[Direction, bytes]] = []
    decoders: list[object] = []
    exchange = (
        (produce, ProduceRequest[9], produced, ProduceResponse[9]),
        (fetch, FetchRequest[12], fetched, FetchResponse[12]),
    )
    for i in range(exchanges):
        for request, request_class, response, response_class in exchange:
            request.with_header(correlation_id=i * 2, client_id="bench")
            response.with_header(correlation_id=i * 2)
            stream.append((Direction.EGRESS, bytes(request.encode(header=True, framed=True))))
            stream.append((Direction.INGRESS, bytes(response.encode(header=True, framed=True))))
            decoders += [request_class, response_class]
    return stream, decoders


def run_kafka_reference(stream: list[tuple[Direction, bytes]], decoders: list[object]) -> int:
    count = 0
    for (_, data), cls in zip(stream, decoders, strict=True):
        cls.decode(data, header=True, framed=True)  # type: ignore[attr-defined]
        count += 1
    return count


def bench_kafka(exchanges: int) -> None:
    stream, decoders = build_kafka_stream(exchanges)
    n_ours, t_ours = timed(run_ours_generic, Protocol.KAFKA, stream)
    n_ref, t_ref = timed(run_kafka_reference, stream, decoders)
    assert n_ours * 2 == n_ref == len(stream), (n_ours, n_ref)
    mb = sum(len(d) for _, d in stream) / 1e6
    print(f"\nKafka: {n_ours} Produce v9 + Fetch v12 exchanges, stream {mb:.1f} MB (best of 3)")
    print(f"pyxie KafkaParser, frame+pair+JSON+to_row: {len(stream) / t_ours:>10,.0f} frames/s")
    print(f"kafka-python decode (reference):           {len(stream) / t_ref:>10,.0f} frames/s")
    print(f"ratio pyxie/kafka-python: {t_ref / t_ours:.2f}")


def main() -> None:
    exchanges = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    bench_http1(exchanges)
    bench_http2(exchanges // 4)
    bench_amqp(exchanges // 4)
    bench_nats(exchanges)
    bench_cql(exchanges)
    bench_mongodb(exchanges // 4)
    bench_kafka(exchanges // 4)


def bench_http2(calls: int) -> None:
    stream = build_grpc_stream(calls)
    n_ours, t_ours = timed(run_ours_h2, stream)
    n_ref, t_ref = timed(run_h2_reference, stream)
    assert n_ours == n_ref == calls, (n_ours, n_ref)
    mb = sum(len(d) for _, d in stream) / 1e6
    print(f"\nHTTP/2 gRPC unary calls: {calls}, stream: {mb:.1f} MB (best of 3)")
    print(f"pyxie Http2Parser, frames+HPACK+pair+to_row: {n_ours / t_ours:>10,.0f} calls/s")
    print(f"hyperframe + hpack decode (reference):       {n_ref / t_ref:>10,.0f} calls/s")
    print(f"ratio pyxie/reference: {(n_ours / t_ours) / (n_ref / t_ref):.2f}")


def bench_http1(exchanges: int) -> None:
    requests, responses, req_ends, resp_ends = build_stream(exchanges)
    stream = interleave(requests, responses, req_ends, resp_ends)
    n_parse, t_parse = timed(run_ours, stream, rows=False)
    n_rows, t_rows = timed(run_ours, stream, rows=True)
    n_base, t_base = timed(run_baseline, responses, exchanges)
    assert n_parse == n_rows == n_base == exchanges, (n_parse, n_rows, n_base)
    mb = (len(requests) + len(responses)) / 1e6
    print(f"exchanges: {exchanges}, stream: {mb:.1f} MB in {CHUNK}-byte chunks (best of 3)")
    print(f"pyxie HttpParser, frame+pair:        {n_parse / t_parse:>10,.0f} records/s")
    print(f"pyxie HttpParser, frame+pair+to_row: {n_rows / t_rows:>10,.0f} records/s")
    print(f"http.client responses (baseline):    {n_base / t_base:>10,.0f} responses/s")
    print(f"ratio pyxie(frame+pair)/http.client: {(n_parse / t_parse) / (n_base / t_base):.2f}")


if __name__ == "__main__":
    main()
