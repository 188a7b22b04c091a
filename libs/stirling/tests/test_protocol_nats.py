"""NATS: captured nats-py <-> nats-server bytes and hand-made streams -> nats_events.beta rows."""

from __future__ import annotations

import json
from pathlib import Path

from pyxie_stirling.protocols import Direction, NatsParser, Protocol, Role, infer_protocol

EGRESS, INGRESS = Direction.EGRESS, Direction.INGRESS
DATA = Path(__file__).parent / "data"


def _captured(name: str) -> list[tuple[Direction, bytes]]:
    out = []
    for line in (DATA / name).read_text().splitlines():
        if not line.startswith("#"):
            arrow, hexdata = line.split()
            out.append((EGRESS if arrow == ">" else INGRESS, bytes.fromhex(hexdata)))
    return out


def _rows(parser: NatsParser, chunks: list[tuple[Direction, bytes]]) -> list[tuple[str, str, str]]:
    for ts, (direction, data) in enumerate(chunks, start=1):
        parser.feed(direction, data, ts)
    parser.close()
    return [(r.to_row()["cmd"], r.to_row()["body"], r.to_row()["resp"]) for r in parser.records()]  # type: ignore[misc]


HPUB_BODY = (
    '{"subject":"orders.created","reply-to":"inbox.1",'
    '"headers":"NATS/1.0\\r\\ntraceparent: 00-abc-def-01","payload":"second"}'
)
HMSG_BODY = (
    '{"subject":"orders.created","sid":"1","reply-to":"inbox.1",'
    '"headers":"NATS/1.0\\r\\ntraceparent: 00-abc-def-01","payload":"second"}'
)


def _check_session(rows: list[tuple[str, str, str]], ack: str) -> None:
    assert [r[0] for r in rows] == [
        "INFO", "CONNECT", "PING", "INFO", "SUB", "PUB", "MSG", "HPUB", "HMSG", "PING", "UNSUB",
    ]  # fmt: skip
    info = json.loads(rows[0][1])
    assert info["proto"] == 1 and "server_id" in info
    connect = json.loads(rows[1][1])
    assert connect["name"] == "pyxie-test" and connect["lang"] == "python3"
    assert rows[1][2] == ack
    assert rows[2] == ("PING", "", "PONG")
    assert rows[4] == ("SUB", '{"subject":"orders.created","queue group":"workers","sid":"1"}', ack)
    assert rows[5] == ("PUB", '{"subject":"orders.created","payload":"{\\"order_id\\":7}"}', ack)
    assert rows[6] == (
        "MSG",
        '{"subject":"orders.created","sid":"1","payload":"{\\"order_id\\":7}"}',
        "",
    )
    assert rows[7] == ("HPUB", HPUB_BODY, ack)
    assert rows[8] == ("HMSG", HMSG_BODY, "")
    assert rows[9] == ("PING", "", "PONG")
    assert rows[10][:2] == ("UNSUB", '{"sid":"1"}')


def test_captured_session_gives_exact_rows() -> None:
    chunks = _captured("nats_client.txt")
    assert infer_protocol(chunks[0][1], INGRESS, Role.CLIENT) is Protocol.NATS
    assert infer_protocol(chunks[1][1], EGRESS, Role.CLIENT) is Protocol.NATS
    parser = NatsParser(Role.CLIENT)
    _check_session(_rows(parser, chunks), "")
    assert parser.parse_errors == 0


def test_verbose_session_pairs_plus_ok_with_the_client_messages() -> None:
    parser = NatsParser(Role.CLIENT)
    _check_session(_rows(parser, _captured("nats_client_verbose.txt")), "+OK")
    assert parser.parse_errors == 0


def test_server_side_and_unknown_role_see_the_same_rows() -> None:
    swapped = [(INGRESS if d is EGRESS else EGRESS, b) for d, b in _captured("nats_client.txt")]
    _check_session(_rows(NatsParser(Role.SERVER), swapped), "")
    # Unknown role: the first chunk (INFO) is the server's.
    _check_session(_rows(NatsParser(Role.UNKNOWN), _captured("nats_client.txt")), "")


def test_err_payload_split_across_chunks_and_truncation() -> None:
    parser = NatsParser(Role.CLIENT, max_body_bytes=8)
    parser.feed(EGRESS, b'CONNECT {"verbose":true}\r\n', 1)
    parser.feed(INGRESS, b"+OK\r\n", 2)
    parser.feed(EGRESS, b"PUB a.b 20\r\n0123456789", 3)
    parser.feed(EGRESS, b"abcdefghij\r\n", 4)
    parser.feed(INGRESS, b"-ERR 'Permissions Violation for Publish to \"a.b\"'\r\n", 5)
    rows = _rows(parser, [])
    assert rows == [
        ("CONNECT", '{"verbose":true}', "+OK"),
        (
            "PUB",
            '{"subject":"a.b","payload":"01234567... [TRUNCATED]"}',
            "-ERR 'Permissions Violation for Publish to \"a.b\"'",
        ),
    ]


def test_lost_bytes_resync_at_the_next_command() -> None:
    parser = NatsParser(Role.CLIENT)
    parser.feed(EGRESS, b"PUB a 3\r\nabc\r\n", 1)
    parser.feed(EGRESS, b"PUB b 3\r\nxyz\r\n", 3, lost_bytes=7)
    parser.feed(EGRESS, b"c\r\nSUB s 2\r\n", 4, lost_bytes=5)
    rows = _rows(parser, [])
    assert rows == [
        ("PUB", '{"subject":"a","payload":"abc"}', ""),
        ("PUB", '{"subject":"b","payload":"xyz"}', ""),
        ("SUB", '{"subject":"s","sid":"2"}', ""),
    ]
    assert parser.parse_errors == 2


def test_garbage_is_counted_and_skipped() -> None:
    parser = NatsParser(Role.CLIENT)
    parser.feed(EGRESS, b"HELLO there\r\nSUB s 1\r\nPUB x notanumber\r\nPING\r\n", 1)
    parser.feed(INGRESS, b"PONG\r\n", 2)
    assert _rows(parser, []) == [("SUB", '{"subject":"s","sid":"1"}', ""), ("PING", "", "PONG")]
    assert parser.parse_errors == 2


def test_redis_lookalike_replies_alone_make_no_rows() -> None:
    parser = NatsParser(Role.CLIENT)
    parser.feed(INGRESS, b"+OK\r\n-ERR unknown command 'FOO'\r\nPONG\r\n", 1)
    assert _rows(parser, []) == []


def test_inference_of_nats_and_not_of_lookalikes() -> None:
    assert infer_protocol(b"SUB foo 1\r\n", EGRESS, Role.CLIENT) is Protocol.NATS
    assert infer_protocol(b"PUB foo 2\r\nhi\r\n", EGRESS, Role.CLIENT) is Protocol.NATS
    assert infer_protocol(b"PUB foo 9\r\nhi\r\n", EGRESS, Role.CLIENT) is None
    assert infer_protocol(b'INFO {"x":1}\r\n', INGRESS, Role.CLIENT) is None
