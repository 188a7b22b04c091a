"""Connection tracking from synthetic kernel events (built with the ctypes mirror) to rows."""

from __future__ import annotations

import pytest
from pyxie_stirling.socket_tracer import ConnTracker, format_addr, load_protocol_layer
from pyxie_stirling.socket_tracer._events import ControlEvent, DataEventHeader

TGID = 4242
FD = 7
GEN = 1000
UPID = bytes(range(16))

REQUEST = b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
RESPONSE = b"HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhowdy"


def control(kind: int, *, role: int = 1, fd: int = FD, gen: int = GEN, tgid: int = TGID) -> bytes:
    ev = ControlEvent(
        kind=kind,
        tgid=tgid,
        pid=tgid,
        fd=fd,
        timestamp_ns=gen,
        generation=gen,
        family=2,
        remote_port=8080,
        local_port=5555,
        role=role,
    )
    ev.remote_addr[:4] = [10, 1, 2, 3]
    ev.local_addr[:4] = [127, 0, 0, 1]
    return bytes(ev)


def data(
    direction: int,
    payload: bytes,
    position: int,
    ts: int,
    *,
    msg_size: int | None = None,
    encrypted: bool = False,
    tgid: int = TGID,
) -> bytes:
    header = DataEventHeader(
        kind=1,
        tgid=tgid,
        pid=tgid,
        fd=FD,
        timestamp_ns=ts,
        generation=GEN,
        position=position,
        msg_size=len(payload) if msg_size is None else msg_size,
        captured=len(payload),
        direction=direction,
        encrypted=int(encrypted),
        source_call=1,
    )
    return bytes(header) + payload


@pytest.fixture
def tracker() -> ConnTracker:
    return ConnTracker(
        load_protocol_layer(), upid_of=lambda tgid: UPID, to_wall_ns=lambda ns: ns + 10**18
    )


def test_a_client_exchange_becomes_one_http_row_with_common_columns_and_latency(
    tracker: ConnTracker,
) -> None:
    tracker.handle_raw(control(2))
    tracker.handle_raw(data(0, REQUEST, 0, 2000))
    tracker.handle_raw(data(1, RESPONSE, 0, 5000))
    rows = tracker.collect_records(0)
    assert len(rows) == 1
    table, row = rows[0]
    assert table == "http_events"
    assert row["req_method"] == "GET" and row["req_path"] == "/hello"
    assert row["resp_status"] == 201 and row["resp_body"] == "howdy"
    assert row["upid"] == UPID
    assert (row["remote_addr"], row["remote_port"]) == ("10.1.2.3", 8080)
    assert (row["local_addr"], row["local_port"]) == ("127.0.0.1", 5555)
    assert row["trace_role"] == 1 and row["encrypted"] is False
    assert row["latency"] == 3000
    assert row["time_"] == 10**18 + 5000
    assert tracker.collect_records(0) == []


def test_conn_stats_counts_opens_closes_and_bytes_per_endpoint(tracker: ConnTracker) -> None:
    tracker.handle_raw(control(2))
    tracker.handle_raw(data(0, REQUEST, 0, 2000))
    tracker.handle_raw(data(1, RESPONSE, 0, 5000))
    tracker.handle_raw(control(3))
    (row,) = tracker.conn_stats_rows(123)
    (_, upid, addr, port, role, family, protocol, ssl, opened, closed, active, sent, recv) = row
    assert (upid, addr, port, role, family) == (UPID, "10.1.2.3", 8080, 1, 2)
    assert (protocol, ssl) == (1, False)
    assert (opened, closed, active) == (1, 1, 0)
    assert (sent, recv) == (len(REQUEST), len(RESPONSE))
    # Reported once more after the last change, then forgotten.
    assert tracker.conn_stats_rows(124) == []


def test_a_body_larger_than_the_capture_is_accounted_as_lost_bytes(tracker: ConnTracker) -> None:
    body = b"x" * 10000
    response = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10000\r\n\r\n" + body
    )
    tracker.handle_raw(control(2))
    tracker.handle_raw(data(0, REQUEST, 0, 1))
    tracker.handle_raw(data(1, response[:4096], 0, 2, msg_size=len(response)))
    tracker.handle_raw(data(0, REQUEST, len(REQUEST), 3))
    tracker.handle_raw(data(1, RESPONSE, len(response), 4))
    rows = [row for _, row in tracker.collect_records(0)]
    assert [r["resp_status"] for r in rows] == [200, 201]
    assert rows[0]["resp_body_size"] == 10000
    assert str(rows[0]["resp_body"]).startswith("x" * 512)


def test_a_gap_in_positions_resynchronises_on_the_next_message(tracker: ConnTracker) -> None:
    tracker.handle_raw(control(2))
    tracker.handle_raw(data(0, REQUEST, 0, 1))
    # The response event was lost (ring buffer full); the next exchange still parses.
    tracker.handle_raw(data(0, REQUEST, len(REQUEST), 3))
    tracker.handle_raw(data(1, RESPONSE, len(RESPONSE), 4))
    tracker.handle_raw(data(0, REQUEST, 2 * len(REQUEST), 5))
    tracker.handle_raw(data(1, RESPONSE, 2 * len(RESPONSE), 6))
    rows = [row for _, row in tracker.collect_records(0, flush=True)]
    assert rows and rows[-1]["resp_status"] == 201
    assert tracker.lost_bytes == len(RESPONSE)


def test_tls_plaintext_replaces_the_ciphertext_stream_and_marks_rows_encrypted(
    tracker: ConnTracker,
) -> None:
    tracker.handle_raw(control(2))
    tracker.handle_raw(data(0, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(60), 0, 1))
    tracker.handle_raw(data(0, REQUEST, 0, 2, encrypted=True))
    tracker.handle_raw(data(1, b"\x17\x03\x03\x00\x20" + bytes(32), 500, 3))  # ignored
    tracker.handle_raw(data(1, RESPONSE, 0, 4, encrypted=True))
    (item,) = tracker.collect_records(0)
    assert item[1]["encrypted"] is True and item[1]["req_path"] == "/hello"
    (row,) = tracker.conn_stats_rows(0)
    assert row[6:8] == (1, True)  # the protocol inside TLS, flagged ssl (as Pixie)


def test_a_server_connection_pairs_ingress_requests_with_egress_responses(
    tracker: ConnTracker,
) -> None:
    tracker.handle_raw(control(2, role=2))
    tracker.handle_raw(data(1, REQUEST, 0, 10))
    tracker.handle_raw(data(0, RESPONSE, 0, 25))
    ((_, row),) = tracker.collect_records(0)
    assert row["trace_role"] == 2 and row["latency"] == 15


def test_unparseable_traffic_yields_conn_stats_but_no_protocol_rows(tracker: ConnTracker) -> None:
    tracker.handle_raw(control(2))
    for i in range(6):
        tracker.handle_raw(data(0, b"\x00\x01garbage" * 3, i * 27, i))
    assert tracker.collect_records(0, flush=True) == []
    (row,) = tracker.conn_stats_rows(0)
    assert row[6] == 0 and row[11] == 6 * 27


def _muting_tracker(muted: list[tuple[int, int, int]]) -> ConnTracker:
    """A tracker whose mute requests (tgid, fd, generation) land in ``muted``."""
    return ConnTracker(
        load_protocol_layer(),
        upid_of=lambda tgid: UPID,
        to_wall_ns=lambda ns: ns,
        on_uninteresting=lambda *conn: muted.append(conn),
    )


def test_a_connection_no_parser_can_read_is_muted_once_and_its_bytes_come_with_the_close() -> None:
    muted: list[tuple[int, int, int]] = []
    tracker = _muting_tracker(muted)
    tracker.handle_batch([control(2)])
    garbage = b"\x00\x01garbage" * 3
    tracker.handle_batch([data(0, garbage, i * 27, i) for i in range(3)])
    assert muted == []  # three attempts: inference has one more chunk to look at
    tracker.handle_batch([data(0, garbage, i * 27, i) for i in range(3, 6)])
    assert muted == [(TGID, FD, GEN)] and tracker.muted_conns == 1
    # The kernel then only counts: 10 000 bytes more each way reach no data event.
    close = ControlEvent.from_buffer_copy(control(3))
    close.bytes_sent = 6 * 27 + 10_000
    close.bytes_recv = 10_000
    tracker.handle_batch([bytes(close)])
    (row,) = tracker.conn_stats_rows(0)
    assert row[8:13] == (1, 1, 0, 6 * 27 + 10_000, 10_000)  # open, close, active, sent, recv
    assert muted == [(TGID, FD, GEN)]


def test_a_tls_socket_is_muted_but_its_plaintext_from_the_ssl_probes_is_still_parsed() -> None:
    muted: list[tuple[int, int, int]] = []
    tracker = _muting_tracker(muted)
    tracker.handle_raw(control(2))
    tracker.handle_raw(data(0, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(60), 0, 1))
    assert muted == [(TGID, FD, GEN)]
    tracker.handle_raw(data(0, REQUEST, 0, 2, encrypted=True))
    tracker.handle_raw(data(1, RESPONSE, 0, 4, encrypted=True))
    ((_, row),) = tracker.collect_records(0)
    assert row["req_path"] == "/hello" and row["encrypted"] is True


def test_a_malformed_record_in_a_batch_is_counted_and_the_rest_go_on(tracker: ConnTracker) -> None:
    tracker.handle_batch([control(2), b"\x01\x00\x00\x00short", data(0, REQUEST, 0, 2000)])
    tracker.handle_batch([data(1, RESPONSE, 0, 5000)])
    assert tracker.parse_failures == 1
    ((table, row),) = tracker.collect_records(0)
    assert table == "http_events" and row["resp_status"] == 201


def test_processes_outside_the_filter_are_dropped_and_reported_once() -> None:
    excluded: list[int] = []
    tracker = ConnTracker(
        load_protocol_layer(),
        upid_of=lambda tgid: UPID,
        to_wall_ns=lambda ns: ns,
        accepts_tgid=lambda tgid: tgid != 666,
        on_excluded_tgid=excluded.append,
    )
    tracker.handle_raw(control(2, tgid=666))
    tracker.handle_raw(data(0, REQUEST, 0, 1, tgid=666))
    assert tracker.connections == {} and excluded == [666]
    assert tracker.conn_stats_rows(0) == []


def test_data_for_a_connection_opened_before_tracing_is_adopted_with_its_role(
    tracker: ConnTracker,
) -> None:
    header = DataEventHeader(
        kind=1,
        tgid=TGID,
        pid=TGID,
        fd=FD,
        timestamp_ns=1,
        generation=GEN,
        position=900,
        msg_size=len(REQUEST),
        captured=len(REQUEST),
        direction=1,
        role=2,
        local_port=80,
    )
    tracker.handle_raw(bytes(header) + REQUEST)
    tracker.handle_raw(data(0, RESPONSE, 0, 2))
    ((_, row),) = tracker.collect_records(0)
    assert row["trace_role"] == 2 and row["local_port"] == 80


def test_format_addr_unmaps_ipv4_in_ipv6() -> None:
    assert format_addr(10, bytes(10) + b"\xff\xff" + bytes([127, 0, 0, 1])) == "127.0.0.1"
    assert format_addr(10, bytes(15) + b"\x01") == "::1"
    assert format_addr(0, bytes(16)) == ""


def test_parse_errors_are_collected_per_protocol_with_the_parsers_note(
    tracker: ConnTracker,
) -> None:
    # An HTTP/2 connection seen from its middle: a HEADERS frame of stream 5, no preface.
    frames = b"\x00\x00\x03\x01\x04\x00\x00\x00\x05\x82\x86\x84"
    tracker.handle_raw(control(2))
    tracker.handle_raw(data(0, frames, 0, GEN + 1))
    assert tracker.collect_records(0) == []
    errors = tracker.take_protocol_errors()
    assert list(errors) == [2]  # HTTP2
    count, note = errors[2]
    assert count == 1 and "start not seen" in note
    tracker.handle_raw(data(0, frames, len(frames), GEN + 2))
    tracker.collect_records(0)
    assert tracker.take_protocol_errors() == {}  # already reported, the parser is dead


def test_a_server_that_reads_the_size_first_still_infers_and_parses_kafka(
    tracker: ConnTracker,
) -> None:
    # A Kafka ApiVersions v3 request (kafka-python, client id "orders") and its v0 answer; the
    # broker reads the 4-byte size, then the rest, as Kafka's own network layer does.
    request = bytes.fromhex(
        "00000026001200030000000200066f7264657273000d6b61666b612d707974686f6e07332e302e313200"
    )
    response = bytes.fromhex("0000000a00000002000000000000")
    tracker.handle_raw(control(2, role=2))
    tracker.handle_raw(data(1, request[:4], 0, 10))
    tracker.handle_raw(data(1, request[4:], 4, 11))
    tracker.handle_raw(data(0, response, 0, 30))
    ((table, row),) = tracker.collect_records(0)
    assert table == "kafka_events.beta"
    assert (row["req_cmd"], row["client_id"], row["latency"]) == (18, "orders", 20)
    assert row["req_body"] == (
        '{"client_software_name":"kafka-python","client_software_version":"3.0.12"}'
    )


# -- whole rows as tuples (the native HTTP/1 parser's row_values) --------------------------------


class _NativeHttpLayer:
    """The real protocol layer, but HTTP/1 connections get the native C parser."""

    def __init__(self, native: object) -> None:
        self._layer = load_protocol_layer()
        self._native = native
        self.directions = self._layer.directions

    def infer(self, data: bytes, direction: int, role: int, remote_port: int) -> int | None:
        return self._layer.infer(data, direction, role, remote_port)

    def infer_role(self, protocol: int, data: bytes, direction: int) -> int:
        return self._layer.infer_role(protocol, data, direction)

    def new_parser(self, protocol: int, role: int, max_body_bytes: int) -> object:
        from pyxie_stirling.protocols import Role

        assert protocol == 1
        return self._native.HttpParser(Role(role), max_body_bytes=max_body_bytes)  # type: ignore[attr-defined]


def _exchange(tracker: ConnTracker, role: int) -> None:
    # The request leaves a client (egress, 0) and reaches a server (ingress, 1).
    request_dir = 0 if role == 1 else 1
    tracker.handle_raw(control(2, role=role))
    tracker.handle_raw(data(request_dir, REQUEST, 0, 2000))
    tracker.handle_raw(data(1 - request_dir, RESPONSE, 0, 5000))


@pytest.mark.parametrize("role", [1, 2])
def test_native_records_become_tuples_in_the_tables_column_order_equal_to_the_dict_rows(
    tmp_path_factory: pytest.TempPathFactory, role: int
) -> None:
    from pyxie_stirling import RowBuffer
    from pyxie_types.tables import HTTP_EVENTS
    from stirling_native_support import http_native

    native = http_native(tmp_path_factory.mktemp("native"))
    columns = {HTTP_EVENTS.name: HTTP_EVENTS.relation.names}

    def tracker_of(row_columns: dict[str, tuple[str, ...]] | None) -> ConnTracker:
        return ConnTracker(
            _NativeHttpLayer(native),  # type: ignore[arg-type]
            upid_of=lambda tgid: UPID,
            to_wall_ns=lambda ns: ns + 10**18,
            row_columns=row_columns,
        )

    fast, slow = tracker_of(columns), tracker_of(None)
    _exchange(fast, role)
    _exchange(slow, role)
    ((table, row),) = fast.collect_records(0)
    ((slow_table, slow_row),) = slow.collect_records(0)
    assert table == slow_table == HTTP_EVENTS.name
    assert isinstance(row, tuple) and isinstance(slow_row, dict)
    assert dict(zip(HTTP_EVENTS.relation.names, row, strict=True)) == {
        name: slow_row.get(name, 0) for name in HTTP_EVENTS.relation.names
    }
    assert row[HTTP_EVENTS.relation.names.index("latency")] == 3000
    # Both kinds land as the same record batch.
    a, b = RowBuffer(HTTP_EVENTS), RowBuffer(HTTP_EVENTS)
    a.append(row)
    b.append_dict(slow_row)
    assert a.take_batch() == b.take_batch()


def test_a_table_whose_columns_differ_from_the_records_gets_dicts(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from stirling_native_support import http_native

    native = http_native(tmp_path_factory.mktemp("native"))
    tracker = ConnTracker(
        _NativeHttpLayer(native),  # type: ignore[arg-type]
        upid_of=lambda tgid: UPID,
        to_wall_ns=lambda ns: ns,
        row_columns={"http_events": ("time_", "upid")},  # another schema version
    )
    _exchange(tracker, 1)
    ((_, row),) = tracker.collect_records(0)
    assert isinstance(row, dict)
    assert row["req_path"] == "/hello"
