"""Kafka -> ``kafka_events.beta`` rows (API key, client id, request and response as JSON).

Framing: every message is a 4-byte big-endian size, then a header. A request header holds
``api_key`` (int16), ``api_version`` (int16), ``correlation_id`` (int32) and ``client_id``
(nullable int16-length string), plus tagged fields in flexible versions (header v2); a response
header holds only the correlation id (plus tagged fields when the API version is flexible, except
ApiVersions, whose response header is never flexible). Responses are paired with requests by
correlation id within the connection; the request's key and version decode the response. A
Produce with ``acks == 0`` has no response: its row is emitted at once, without latency.

``req_body`` and ``resp``: the message's fields as a JSON object, keys named as in the Kafka
protocol schemas (snake_case), in schema order, only the fields present in that version:

* strings, integers and booleans as they are (null strings as ``null``), UUIDs (topic ids) as
  hex strings, byte fields (group metadata, assignments) as their size in bytes;
* record sets (``records`` in Produce requests and Fetch responses) as
  ``{"size": bytes, "record_count": records in the batches}``;
* arrays of structs as lists of objects, at most 32 entries each (the rest counted in a
  ``"<field>_more"`` key beside the list).

Decoded APIs (every version up to Kafka 4.x's): Produce, Fetch, ListOffsets, Metadata,
OffsetCommit, OffsetFetch, FindCoordinator, JoinGroup, Heartbeat, LeaveGroup, SyncGroup,
ApiVersions, InitProducerId. Other API keys still make rows with their key and client id and
empty bodies. Of a frame over 256 KiB (a big fetch) only the first 256 KiB are kept: the fields
they hold are shown, with ``"truncated":true`` at the top and in a cut record set (whose
``record_count`` then covers the batches seen; ``size`` is the whole set's). JSON longer than
1 KiB is cut like every string column. A body that does not decode (a version newer than known,
malformed bytes) is left empty and counted in ``parse_errors``.

Example Produce request: ``{"transactional_id":null,"acks":-1,"timeout_ms":30000,
"topic_data":[{"name":"orders","partition_data":[{"index":0,"records":{"size":84,
"record_count":1}}]}]}``; its response ``{"responses":[{"name":"orders","partition_responses":
[{"index":0,"error_code":0,"base_offset":5,...}]}],"throttle_time_ms":0}``.

Resync: after a capture gap or a malformed frame, the request side waits for a chunk that
starts with a plausible request header (as inference checks it); the response side for a
frame whose correlation id is one the parser waits for.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from ._common import (
    DEFAULT_STRING_LIMIT,
    MAX_BUFFER_BYTES,
    MAX_PENDING_REQUESTS,
    ByteStream,
    ConnectionParser,
    Protocol,
    Record,
    Role,
    json_compact,
    truncate,
)

__all__ = [
    "API_MAX_VERSIONS",
    "KafkaParser",
    "KafkaRecord",
    "decode_body",
    "looks_like_kafka_request",
]

# Client-facing API keys and the highest version any broker up to Kafka 4.x accepts.
API_MAX_VERSIONS: dict[int, int] = {
    0: 13, 1: 18, 2: 11, 3: 13, 8: 10, 9: 10, 10: 6, 11: 9, 12: 4, 13: 5, 14: 5, 15: 6, 16: 5,
    17: 1, 18: 4, 19: 7, 20: 6, 21: 2, 22: 6, 23: 4, 24: 5, 25: 4, 26: 5, 28: 5, 29: 3, 30: 3,
    31: 3, 32: 4, 33: 2, 34: 2, 35: 5, 36: 2, 37: 3, 38: 3, 39: 2, 40: 2, 41: 3, 42: 2, 43: 2,
    44: 1, 45: 1, 46: 0, 47: 0, 48: 1, 49: 1, 50: 0, 51: 0, 55: 2, 57: 2, 60: 2, 61: 0, 65: 0,
    66: 2, 68: 1, 69: 1, 74: 1, 75: 0, 76: 1, 77: 1, 80: 1, 81: 0, 83: 0, 84: 0, 85: 1, 86: 0,
    87: 1, 88: 0, 89: 0, 90: 1, 91: 0, 92: 0,
}  # fmt: skip
# First flexible version (compact strings/arrays, tagged fields) per API key.
_FLEXIBLE_FROM: dict[int, int] = {
    0: 9, 1: 12, 2: 6, 3: 9, 8: 8, 9: 6, 10: 3, 11: 6, 12: 4, 13: 4, 14: 4, 15: 5, 16: 3,
    17: 99, 18: 3, 19: 5, 20: 4, 21: 2, 22: 2, 23: 4, 24: 3, 25: 3, 26: 3, 28: 3, 29: 2, 30: 2,
    31: 2, 32: 4, 33: 2, 34: 2, 35: 2, 36: 2, 37: 2, 38: 2, 39: 2, 40: 2, 41: 2, 42: 2, 43: 2,
    44: 1, 45: 0, 46: 0, 47: 99, 48: 1, 49: 1, 50: 0, 51: 0,
}  # fmt: skip
_API_VERSIONS = 18
_PRODUCE = 0
MAX_FRAME = 64 * 1024 * 1024  # brokers refuse more (socket.request.max.bytes is 100 MiB)
# Bytes of one frame kept for decoding; the rest (record data) is skipped unseen.
_KEEP = 256 * 1024
_MAX_ITEMS = 32
_MAX_CLIENT_ID = 1024


class _Short(Exception):
    """The frame ended (or was cut) before the field did."""


# -- a small schema language: a field is (name, type, first version, last version) ------------
# type: i8 i16 i32 i64 bool str bytes records uuid, "[i32]"-style arrays of scalars, or a tuple
# of fields for an array of structs.
_F = tuple[str, "str | tuple[_F, ...]", int, int]
_ALL = 99


def _f(name: str, kind: str | tuple[_F, ...], lo: int = 0, hi: int = _ALL) -> _F:
    return (name, kind, lo, hi)


_PRODUCE_REQ = (
    _f("transactional_id", "str", 3),
    _f("acks", "i16"),
    _f("timeout_ms", "i32"),
    _f(
        "topic_data",
        (
            _f("name", "str", 0, 12),
            _f("topic_id", "uuid", 13),
            _f("partition_data", (_f("index", "i32"), _f("records", "records"))),
        ),
    ),
)
_PRODUCE_RESP = (
    _f(
        "responses",
        (
            _f("name", "str", 0, 12),
            _f("topic_id", "uuid", 13),
            _f(
                "partition_responses",
                (
                    _f("index", "i32"),
                    _f("error_code", "i16"),
                    _f("base_offset", "i64"),
                    _f("log_append_time_ms", "i64", 2),
                    _f("log_start_offset", "i64", 5),
                    _f(
                        "record_errors",
                        (_f("batch_index", "i32"), _f("batch_index_error_message", "str")),
                        8,
                    ),
                    _f("error_message", "str", 8),
                ),
            ),
        ),
    ),
    _f("throttle_time_ms", "i32", 1),
)
_FETCH_REQ = (
    _f("replica_id", "i32", 0, 14),
    _f("max_wait_ms", "i32"),
    _f("min_bytes", "i32"),
    _f("max_bytes", "i32", 3),
    _f("isolation_level", "i8", 4),
    _f("session_id", "i32", 7),
    _f("session_epoch", "i32", 7),
    _f(
        "topics",
        (
            _f("topic", "str", 0, 12),
            _f("topic_id", "uuid", 13),
            _f(
                "partitions",
                (
                    _f("partition", "i32"),
                    _f("current_leader_epoch", "i32", 9),
                    _f("fetch_offset", "i64"),
                    _f("last_fetched_epoch", "i32", 12),
                    _f("log_start_offset", "i64", 5),
                    _f("partition_max_bytes", "i32"),
                ),
            ),
        ),
    ),
    _f(
        "forgotten_topics_data",
        (_f("topic", "str", 7, 12), _f("topic_id", "uuid", 13), _f("partitions", "[i32]")),
        7,
    ),
    _f("rack_id", "str", 11),
)
_FETCH_RESP = (
    _f("throttle_time_ms", "i32", 1),
    _f("error_code", "i16", 7),
    _f("session_id", "i32", 7),
    _f(
        "responses",
        (
            _f("topic", "str", 0, 12),
            _f("topic_id", "uuid", 13),
            _f(
                "partitions",
                (
                    _f("partition_index", "i32"),
                    _f("error_code", "i16"),
                    _f("high_watermark", "i64"),
                    _f("last_stable_offset", "i64", 4),
                    _f("log_start_offset", "i64", 5),
                    _f(
                        "aborted_transactions",
                        (_f("producer_id", "i64"), _f("first_offset", "i64")),
                        4,
                    ),
                    _f("preferred_read_replica", "i32", 11),
                    _f("records", "records"),
                ),
            ),
        ),
    ),
)
_LIST_OFFSETS_REQ = (
    _f("replica_id", "i32"),
    _f("isolation_level", "i8", 2),
    _f(
        "topics",
        (
            _f("name", "str"),
            _f(
                "partitions",
                (
                    _f("partition_index", "i32"),
                    _f("current_leader_epoch", "i32", 4),
                    _f("timestamp", "i64"),
                    _f("max_num_offsets", "i32", 0, 0),
                ),
            ),
        ),
    ),
    _f("timeout_ms", "i32", 10),
)
_LIST_OFFSETS_RESP = (
    _f("throttle_time_ms", "i32", 2),
    _f(
        "topics",
        (
            _f("name", "str"),
            _f(
                "partitions",
                (
                    _f("partition_index", "i32"),
                    _f("error_code", "i16"),
                    _f("old_style_offsets", "[i64]", 0, 0),
                    _f("timestamp", "i64", 1),
                    _f("offset", "i64", 1),
                    _f("leader_epoch", "i32", 4),
                ),
            ),
        ),
    ),
)
_METADATA_REQ = (
    _f("topics", (_f("topic_id", "uuid", 10), _f("name", "str"))),
    _f("allow_auto_topic_creation", "bool", 4),
    _f("include_cluster_authorized_operations", "bool", 8, 10),
    _f("include_topic_authorized_operations", "bool", 8),
)
_METADATA_RESP = (
    _f("throttle_time_ms", "i32", 3),
    _f(
        "brokers",
        (_f("node_id", "i32"), _f("host", "str"), _f("port", "i32"), _f("rack", "str", 1)),
    ),
    _f("cluster_id", "str", 2),
    _f("controller_id", "i32", 1),
    _f(
        "topics",
        (
            _f("error_code", "i16"),
            _f("name", "str"),
            _f("topic_id", "uuid", 10),
            _f("is_internal", "bool", 1),
            _f(
                "partitions",
                (
                    _f("error_code", "i16"),
                    _f("partition_index", "i32"),
                    _f("leader_id", "i32"),
                    _f("leader_epoch", "i32", 7),
                    _f("replica_nodes", "[i32]"),
                    _f("isr_nodes", "[i32]"),
                    _f("offline_replicas", "[i32]", 5),
                ),
            ),
            _f("topic_authorized_operations", "i32", 8),
        ),
    ),
    _f("cluster_authorized_operations", "i32", 8, 10),
    _f("error_code", "i16", 13),
)
_OFFSET_COMMIT_REQ = (
    _f("group_id", "str"),
    _f("generation_id_or_member_epoch", "i32", 1),
    _f("member_id", "str", 1),
    _f("group_instance_id", "str", 7),
    _f("retention_time_ms", "i64", 2, 4),
    _f(
        "topics",
        (
            _f("name", "str", 0, 9),
            _f("topic_id", "uuid", 10),
            _f(
                "partitions",
                (
                    _f("partition_index", "i32"),
                    _f("committed_offset", "i64"),
                    _f("committed_leader_epoch", "i32", 6),
                    _f("commit_timestamp", "i64", 1, 1),
                    _f("committed_metadata", "str"),
                ),
            ),
        ),
    ),
)
_OFFSET_COMMIT_RESP = (
    _f("throttle_time_ms", "i32", 3),
    _f(
        "topics",
        (
            _f("name", "str", 0, 9),
            _f("topic_id", "uuid", 10),
            _f("partitions", (_f("partition_index", "i32"), _f("error_code", "i16"))),
        ),
    ),
)
_OFFSET_FETCH_REQ = (
    _f("group_id", "str", 0, 7),
    _f("topics", (_f("name", "str"), _f("partition_indexes", "[i32]")), 0, 7),
    _f(
        "groups",
        (
            _f("group_id", "str"),
            _f("member_id", "str", 9),
            _f("member_epoch", "i32", 9),
            _f(
                "topics",
                (
                    _f("name", "str", 0, 9),
                    _f("topic_id", "uuid", 10),
                    _f("partition_indexes", "[i32]"),
                ),
            ),
        ),
        8,
    ),
    _f("require_stable", "bool", 7),
)
_OFFSET_FETCH_PARTITION = (
    _f("partition_index", "i32"),
    _f("committed_offset", "i64"),
    _f("committed_leader_epoch", "i32", 5),
    _f("metadata", "str"),
    _f("error_code", "i16"),
)
_OFFSET_FETCH_RESP = (
    _f("throttle_time_ms", "i32", 3),
    _f("topics", (_f("name", "str"), _f("partitions", _OFFSET_FETCH_PARTITION)), 0, 7),
    _f("error_code", "i16", 2, 7),
    _f(
        "groups",
        (
            _f("group_id", "str"),
            _f(
                "topics",
                (
                    _f("name", "str", 0, 9),
                    _f("topic_id", "uuid", 10),
                    _f("partitions", _OFFSET_FETCH_PARTITION),
                ),
            ),
            _f("error_code", "i16"),
        ),
        8,
    ),
)
_FIND_COORDINATOR_REQ = (
    _f("key", "str", 0, 3),
    _f("key_type", "i8", 1),
    _f("coordinator_keys", "[str]", 4),
)
_FIND_COORDINATOR_RESP = (
    _f("throttle_time_ms", "i32", 1),
    _f("error_code", "i16", 0, 3),
    _f("error_message", "str", 1, 3),
    _f("node_id", "i32", 0, 3),
    _f("host", "str", 0, 3),
    _f("port", "i32", 0, 3),
    _f(
        "coordinators",
        (
            _f("key", "str"),
            _f("node_id", "i32"),
            _f("host", "str"),
            _f("port", "i32"),
            _f("error_code", "i16"),
            _f("error_message", "str"),
        ),
        4,
    ),
)
_JOIN_GROUP_REQ = (
    _f("group_id", "str"),
    _f("session_timeout_ms", "i32"),
    _f("rebalance_timeout_ms", "i32", 1),
    _f("member_id", "str"),
    _f("group_instance_id", "str", 5),
    _f("protocol_type", "str"),
    _f("protocols", (_f("name", "str"), _f("metadata", "bytes"))),
    _f("reason", "str", 8),
)
_JOIN_GROUP_RESP = (
    _f("throttle_time_ms", "i32", 2),
    _f("error_code", "i16"),
    _f("generation_id", "i32"),
    _f("protocol_type", "str", 7),
    _f("protocol_name", "str"),
    _f("leader", "str"),
    _f("skip_assignment", "bool", 9),
    _f("member_id", "str"),
    _f(
        "members",
        (_f("member_id", "str"), _f("group_instance_id", "str", 5), _f("metadata", "bytes")),
    ),
)
_SYNC_GROUP_REQ = (
    _f("group_id", "str"),
    _f("generation_id", "i32"),
    _f("member_id", "str"),
    _f("group_instance_id", "str", 3),
    _f("protocol_type", "str", 5),
    _f("protocol_name", "str", 5),
    _f("assignments", (_f("member_id", "str"), _f("assignment", "bytes"))),
)
_SYNC_GROUP_RESP = (
    _f("throttle_time_ms", "i32", 1),
    _f("error_code", "i16"),
    _f("protocol_type", "str", 5),
    _f("protocol_name", "str", 5),
    _f("assignment", "bytes"),
)
_HEARTBEAT_REQ = (
    _f("group_id", "str"),
    _f("generation_id", "i32"),
    _f("member_id", "str"),
    _f("group_instance_id", "str", 3),
)
_HEARTBEAT_RESP = (_f("throttle_time_ms", "i32", 1), _f("error_code", "i16"))
_LEAVE_GROUP_REQ = (
    _f("group_id", "str"),
    _f("member_id", "str", 0, 2),
    _f(
        "members",
        (_f("member_id", "str"), _f("group_instance_id", "str"), _f("reason", "str", 5)),
        3,
    ),
)
_LEAVE_GROUP_RESP = (
    _f("throttle_time_ms", "i32", 1),
    _f("error_code", "i16"),
    _f(
        "members",
        (_f("member_id", "str"), _f("group_instance_id", "str"), _f("error_code", "i16")),
        3,
    ),
)
_API_VERSIONS_REQ = (
    _f("client_software_name", "str", 3),
    _f("client_software_version", "str", 3),
)
_API_VERSIONS_RESP = (
    _f("error_code", "i16"),
    _f("api_keys", (_f("api_key", "i16"), _f("min_version", "i16"), _f("max_version", "i16"))),
    _f("throttle_time_ms", "i32", 1),
)

_INIT_PRODUCER_ID_REQ = (
    _f("transactional_id", "str"),
    _f("transaction_timeout_ms", "i32"),
    _f("producer_id", "i64", 3),
    _f("producer_epoch", "i16", 3),
    _f("enable2_pc", "bool", 6),
    _f("keep_prepared_txn", "bool", 6),
)
_INIT_PRODUCER_ID_RESP = (
    _f("throttle_time_ms", "i32"),
    _f("error_code", "i16"),
    _f("producer_id", "i64"),
    _f("producer_epoch", "i16"),
    _f("ongoing_txn_producer_id", "i64", 6),
    _f("ongoing_txn_producer_epoch", "i16", 6),
)

# api key -> (request fields, response fields)
_SCHEMAS: dict[int, tuple[tuple[_F, ...], tuple[_F, ...]]] = {
    0: (_PRODUCE_REQ, _PRODUCE_RESP),
    1: (_FETCH_REQ, _FETCH_RESP),
    2: (_LIST_OFFSETS_REQ, _LIST_OFFSETS_RESP),
    3: (_METADATA_REQ, _METADATA_RESP),
    8: (_OFFSET_COMMIT_REQ, _OFFSET_COMMIT_RESP),
    9: (_OFFSET_FETCH_REQ, _OFFSET_FETCH_RESP),
    10: (_FIND_COORDINATOR_REQ, _FIND_COORDINATOR_RESP),
    11: (_JOIN_GROUP_REQ, _JOIN_GROUP_RESP),
    12: (_HEARTBEAT_REQ, _HEARTBEAT_RESP),
    13: (_LEAVE_GROUP_REQ, _LEAVE_GROUP_RESP),
    14: (_SYNC_GROUP_REQ, _SYNC_GROUP_RESP),
    18: (_API_VERSIONS_REQ, _API_VERSIONS_RESP),
    22: (_INIT_PRODUCER_ID_REQ, _INIT_PRODUCER_ID_RESP),
}


_INTS = {
    1: struct.Struct(">b"),
    2: struct.Struct(">h"),
    4: struct.Struct(">i"),
    8: struct.Struct(">q"),
}
# Field codes of a compiled schema.
_I8, _I16, _I32, _I64, _BOOL, _STR, _UUID, _BYTES, _RECORDS, _SCALARS, _STRUCTS = range(11)
_CODES = {
    "i8": _I8, "i16": _I16, "i32": _I32, "i64": _I64, "bool": _BOOL, "str": _STR,
    "uuid": _UUID, "bytes": _BYTES, "records": _RECORDS,
}  # fmt: skip
_WIDTH = {_I8: 1, _I16: 2, _I32: 4, _I64: 8, _BOOL: 1}
_WIDTHS = (1, 2, 4, 8)
_Plan = tuple[tuple[str, int, object], ...]
_PLANS: dict[tuple[int, int], _Plan] = {}


def _plan(fields: tuple[_F, ...], version: int) -> _Plan:
    """The fields present in ``version`` as (name, code, element code or sub-plan), cached."""
    key = (id(fields), version)
    plan = _PLANS.get(key)
    if plan is None:
        out: list[tuple[str, int, object]] = []
        for name, kind, lo, hi in fields:
            if not lo <= version <= hi:
                continue
            if isinstance(kind, tuple):
                out.append((name, _STRUCTS, _plan(kind, version)))
            elif kind.startswith("["):
                out.append((name, _SCALARS, _CODES[kind[1:-1]]))
            else:
                out.append((name, _CODES[kind], None))
        plan = _PLANS[key] = tuple(out)
    return plan


class _Reader:
    __slots__ = ("data", "end", "flexible", "pos")

    def __init__(self, data: bytes, pos: int, flexible: bool) -> None:
        self.data = data
        self.end = len(data)
        self.pos = pos
        self.flexible = flexible

    def skip(self, n: int) -> int:
        """Move past ``n`` bytes; their start."""
        start = self.pos
        if n < 0 or start + n > self.end:
            raise _Short
        self.pos = start + n
        return start

    def signed(self, n: int) -> int:
        start = self.pos
        if start + n > self.end:
            raise _Short
        self.pos = start + n
        value: int = _INTS[n].unpack_from(self.data, start)[0]
        return value

    def uvarint(self) -> int:
        data = self.data
        value = shift = 0
        while True:
            if self.pos >= self.end or shift > 28:
                raise _Short
            byte = data[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7

    def length(self, wide: int) -> int:
        """A length prefix: compact (uvarint N+1, 0 null) or ``wide`` bytes (-1 null); -1 null."""
        if self.flexible:
            return self.uvarint() - 1
        return self.signed(wide)

    def skip_tags(self) -> None:
        if not self.flexible:
            return
        for _ in range(self.uvarint()):
            self.uvarint()
            self.skip(self.uvarint())


def _record_count(data: bytes, pos: int, end: int) -> int:
    """Records in a message set: v2 batches carry their count, v0/v1 messages count one each."""
    count = 0
    while pos + 17 <= end:
        size = int.from_bytes(data[pos + 8 : pos + 12], "big")
        magic = data[pos + 16]
        if size < (49 if magic >= 2 else 14):
            break  # not a message (sets end with a partial message, or this is not one)
        if magic >= 2:
            if pos + 61 > end:
                break
            count += int.from_bytes(data[pos + 57 : pos + 61], "big")
        else:
            count += 1
        pos += 12 + size
    return count


def _scalar(r: _Reader, code: int, out: dict[str, object] | None = None, name: str = "") -> object:
    width = _WIDTH.get(code)
    if width is not None:
        value = r.signed(width)
        return value != 0 if code == _BOOL else value
    if code == _UUID:
        start = r.skip(16)
        return r.data[start : start + 16].hex()
    n = r.length(2 if code == _STR else 4)
    if n < 0:
        return None
    if code == _RECORDS and r.pos + n > r.end and out is not None:
        # A frame cut in its record data (a big fetch): count what is visible, then stop.
        seen = _record_count(r.data, r.pos, r.end)
        out[name] = {"size": n, "record_count": seen, "truncated": True}
        raise _Short
    start = r.skip(n)
    if code == _STR:
        return r.data[start : start + n].decode("utf-8", "replace")
    if code == _BYTES:
        return n
    return {"size": n, "record_count": _record_count(r.data, start, start + n)}


def _struct(r: _Reader, plan: _Plan, out: dict[str, object]) -> dict[str, object]:
    """Fill ``out`` (already linked into its parent, so a cut frame leaves a partial tree)."""
    for name, code, sub in plan:
        if code <= _I64:
            out[name] = r.signed(_WIDTHS[code])
            continue
        if code < _SCALARS:
            out[name] = _scalar(r, code, out, name)
            continue
        n = r.length(4)
        if n < 0:
            out[name] = None
            continue
        if n > r.end - r.pos:
            raise _Short  # every entry takes at least a byte
        items: list[object] = []
        out[name] = items
        if n > _MAX_ITEMS:
            out[name + "_more"] = n - _MAX_ITEMS
        for i in range(n):
            if code == _STRUCTS:
                item: dict[str, object] = {}
                if i < _MAX_ITEMS:
                    items.append(item)
                _struct(r, sub, item)  # type: ignore[arg-type]
            else:
                value = _scalar(r, sub)  # type: ignore[arg-type]
                if i < _MAX_ITEMS:
                    items.append(value)
    r.skip_tags()
    return out


def _flexible(api_key: int, api_version: int) -> bool:
    return api_version >= _FLEXIBLE_FROM.get(api_key, 99)


def decode_body(
    api_key: int,
    api_version: int,
    is_request: bool,
    data: bytes,
    pos: int = 0,
    *,
    cut: bool = False,
) -> dict[str, object] | None:
    """The fields of the body in ``data[pos:]``; None if unknown, short or with bytes left.

    ``cut``: ``data`` is only the head of the message (the rest was not kept): the fields it
    holds are returned, with ``"truncated": true``.
    """
    schema = _SCHEMAS.get(api_key)
    if schema is None or api_version > API_MAX_VERSIONS.get(api_key, -1):
        return None
    fields = schema[0] if is_request else schema[1]
    flexible = _flexible(api_key, api_version)
    # A broker answers an ApiVersions version it does not know with error 35 in v0 format.
    if (
        api_key == _API_VERSIONS
        and not is_request
        and int.from_bytes(data[pos : pos + 2], "big", signed=True) == 35
    ):
        api_version, flexible = 0, False
    reader = _Reader(data, pos, flexible)
    body: dict[str, object] = {}
    try:
        _struct(reader, _plan(fields, api_version), body)
    except RecursionError:
        return None
    except _Short:
        if not cut:
            return None
        body["truncated"] = True
        return body
    return body if reader.pos == len(data) else None


def _request_header(data: bytes | bytearray, pos: int = 4) -> tuple[int, int, int, int] | None:
    """(api_key, api_version, correlation_id, end of client_id) of a plausible request header."""
    if len(data) < pos + 10:
        return None
    api_key = int.from_bytes(data[pos : pos + 2], "big", signed=True)
    version = int.from_bytes(data[pos + 2 : pos + 4], "big", signed=True)
    corr = int.from_bytes(data[pos + 4 : pos + 8], "big", signed=True)
    if api_key not in API_MAX_VERSIONS or not 0 <= version <= API_MAX_VERSIONS[api_key]:
        return None
    if corr < 0:
        return None
    n = int.from_bytes(data[pos + 8 : pos + 10], "big", signed=True)
    if n < -1 or n > _MAX_CLIENT_ID:
        return None
    end = pos + 10 + max(n, 0)
    if n > 0:
        client_id = bytes(data[pos + 10 : end])
        if len(client_id) < n:
            # The chunk ends inside the client id: judge the part we have.
            client_id = bytes(data[pos + 10 :])
        try:
            decoded = client_id.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if not all(c.isprintable() for c in decoded):
            return None
    return api_key, version, corr, end


def looks_like_kafka_request(data: bytes) -> bool:
    """A chunk that starts with a Kafka request: size matching the data, known key/version,
    a printable client id, and (in flexible versions) a tagged-field count of zero or more."""
    if len(data) < 14:
        return False
    size = int.from_bytes(data[:4], "big", signed=True)
    if size < 10 or size > MAX_FRAME:
        return False
    # Clients write a request in one go; the chunk is the whole frame, or pipelined frames.
    if size + 4 > len(data):
        return False
    header = _request_header(data)
    if header is None or header[3] > size + 4:
        return False
    rest = len(data) - size - 4
    if rest and rest >= 14:
        return _request_header(data, size + 4 + 4) is not None
    return rest == 0


@dataclass(slots=True)
class KafkaRecord(Record):
    request_timestamp_ns: int
    response_timestamp_ns: int
    req_cmd: int
    client_id: str
    req_body: str
    resp: str

    def to_row(self) -> dict[str, object]:
        return {
            "req_cmd": self.req_cmd,
            "client_id": self.client_id,
            "req_body": self.req_body,
            "resp": self.resp,
        }


KafkaRecord.table_name = "kafka_events.beta"  # not in the dataclass: mypyc/mypyc#1122


@dataclass(slots=True)
class _Pending:
    api_key: int
    api_version: int
    client_id: str
    req_body: str
    ts: int


@dataclass(slots=True)
class _Frame:
    """A frame being collected: its head is kept (up to _KEEP bytes, or up to the first gap in
    its bytes), the rest skipped."""

    size: int  # body bytes after the size field
    ts: int
    head: bytearray
    seen: int = 0  # body bytes consumed (kept, skipped or lost)
    frozen: bool = False  # a gap: keep no more bytes
    end_ts: int = 0


def _json(body: dict[str, object] | None) -> str:
    if body is None:
        return ""
    return truncate(json_compact(body), DEFAULT_STRING_LIMIT)


class KafkaParser(ConnectionParser):
    protocol: ClassVar[Protocol] = Protocol.KAFKA
    table_name: ClassVar[str] = "kafka_events.beta"
    # What stirling_error says about this parser's parse errors.
    error_note: ClassVar[str] = (
        "Kafka bytes lost between frames or a malformed frame: resynchronised at the next "
        "request (responses at a correlation id a request waits for)"
    )

    def __init__(self, role: Role, *, max_body_bytes: int = 512) -> None:
        super().__init__(role, max_body_bytes=max_body_bytes)
        self._streams = {True: ByteStream(), False: ByteStream()}
        self._frames: dict[bool, _Frame | None] = {True: None, False: None}
        self._lost = {True: False, False: False}
        self._pending: dict[int, _Pending] = {}

    def _looks_like_request(self, data: bytes) -> bool:
        return _request_header(data) is not None

    def _feed(self, is_request: bool, data: bytes, timestamp_ns: int, lost_bytes: int) -> None:
        stream = self._streams[is_request]
        frame = self._frames[is_request]
        if lost_bytes > 0:
            if frame is not None and not stream.buf:
                # The gap is inside the frame being collected (a syscall bigger than the
                # capture): its head ends there and the frame completes when its size is seen.
                frame.frozen = True
                frame.seen += lost_bytes
                frame.end_ts = timestamp_ns
                if frame.seen >= frame.size:
                    past = frame.seen > frame.size
                    self._complete(is_request, frame)
                    if past:  # the gap ran on past this frame: framing is lost
                        self._lost[is_request] = True
            else:
                self.parse_errors += 1
                stream.clear()
                self._frames[is_request] = None
                self._lost[is_request] = True
        if self._lost[is_request]:
            if is_request and not looks_like_kafka_request(data):
                return
            if not is_request:
                stream.append(data, timestamp_ns)
                if not self._resync_responses(stream):
                    return
                self._lost[is_request] = False
                self._parse(is_request, stream)
                return
            self._lost[is_request] = False
        stream.append(data, timestamp_ns)
        self._parse(is_request, stream)

    def _resync_responses(self, stream: ByteStream) -> bool:
        """Drop bytes up to a frame whose correlation id a request waits for."""
        buf = stream.buf
        for pos in range(max(0, len(buf) - 7)):
            size = int.from_bytes(buf[pos : pos + 4], "big", signed=True)
            corr = int.from_bytes(buf[pos + 4 : pos + 8], "big", signed=True)
            if 4 <= size <= MAX_FRAME and corr in self._pending:
                stream.consume(pos)
                return True
        keep = min(len(buf), 7)
        stream.consume(len(buf) - keep)
        if len(buf) > MAX_BUFFER_BYTES:
            stream.clear()
        return False

    def _parse(self, is_request: bool, stream: ByteStream) -> None:
        buf = stream.buf
        while buf:
            frame = self._frames[is_request]
            if frame is None:
                if len(buf) < 4:
                    return
                size = int.from_bytes(buf[:4], "big", signed=True)
                if size < 4 or size > MAX_FRAME:
                    self._garbage(is_request, stream)
                    return
                if size <= _KEEP and len(buf) >= 4 + size:
                    # The whole frame is here (the usual case): no copy into a _Frame.
                    start_ts, end_ts = stream.ts_at(0), stream.ts_at(3 + size)
                    head = bytes(buf[4 : 4 + size])
                    stream.consume(4 + size)
                    if is_request:
                        self._request(head, start_ts)
                    else:
                        self._response(head, size, end_ts)
                    continue
                frame = _Frame(size, stream.ts_at(0), bytearray())
                self._frames[is_request] = frame
                stream.consume(4)
                continue
            want = 0 if frame.frozen else min(frame.size, _KEEP) - len(frame.head)
            if want > 0:
                take = min(want, len(buf))
                frame.head += buf[:take]
                frame.end_ts = stream.ts_at(take - 1)
                stream.consume(take)
                frame.seen += take
                if take < want:
                    return
            rest = frame.size - frame.seen
            if rest > 0:
                take = min(rest, len(buf))
                frame.end_ts = stream.ts_at(take - 1)
                stream.consume(take)
                frame.seen += take
                if take < rest:
                    return
            self._complete(is_request, frame)

    def _complete(self, is_request: bool, frame: _Frame) -> None:
        self._frames[is_request] = None
        head = bytes(frame.head)
        if is_request:
            self._request(head, frame.ts, len(head) < frame.size)
        else:
            self._response(head, frame.size, frame.end_ts or frame.ts)

    def _garbage(self, is_request: bool, stream: ByteStream) -> None:
        self.parse_errors += 1
        stream.clear()
        self._frames[is_request] = None
        self._lost[is_request] = True

    def _request(self, head: bytes, ts: int, cut: bool = False) -> None:
        header = _request_header(b"\0\0\0\0" + head)
        if header is None:
            self.parse_errors += 1
            self._lost[True] = True
            return
        api_key, version, corr, end = header
        end -= 4
        n = int.from_bytes(head[8:10], "big", signed=True)
        client_id = head[10:end].decode("utf-8", "replace") if n > 0 else ""
        body_pos = end
        body: dict[str, object] | None = None
        try:
            if _flexible(api_key, version):
                reader = _Reader(head, body_pos, True)
                reader.skip_tags()
                body_pos = reader.pos
        except _Short:
            body_pos = -1
        if body_pos >= 0:
            body = decode_body(api_key, version, True, head, body_pos, cut=cut)
        if body is None and api_key in _SCHEMAS:
            self.parse_errors += 1
        req_json = _json(body)
        client_id = truncate(client_id, DEFAULT_STRING_LIMIT)
        if api_key == _PRODUCE and body is not None and body.get("acks") == 0:
            self._emit(KafkaRecord(ts, 0, api_key, client_id, req_json, ""))
            return
        if len(self._pending) >= MAX_PENDING_REQUESTS:
            self._pending.pop(next(iter(self._pending)))
            self.dropped_requests += 1
        self._pending[corr] = _Pending(api_key, version, client_id, req_json, ts)

    def _response(self, head: bytes, size: int, ts: int) -> None:
        if len(head) < 4:
            self.parse_errors += 1
            return
        corr = int.from_bytes(head[:4], "big", signed=True)
        pending = self._pending.pop(corr, None)
        if pending is None:
            self.unmatched_responses += 1
            return
        pos = 4
        body: dict[str, object] | None = None
        try:
            if _flexible(pending.api_key, pending.api_version) and pending.api_key != _API_VERSIONS:
                reader = _Reader(head, pos, True)
                reader.skip_tags()
                pos = reader.pos
        except _Short:
            pos = -1
        if pos >= 0:
            body = decode_body(
                pending.api_key, pending.api_version, False, head, pos, cut=len(head) < size
            )
        if body is None and pending.api_key in _SCHEMAS and len(head) == size:
            self.parse_errors += 1
        self._emit(
            KafkaRecord(
                pending.ts, ts, pending.api_key, pending.client_id, pending.req_body, _json(body)
            )
        )

    # -- housekeeping ---------------------------------------------------------------------------

    def _expire(self, cutoff_ns: int) -> None:
        for corr, pending in list(self._pending.items()):
            if pending.ts < cutoff_ns:
                del self._pending[corr]
                self.dropped_requests += 1
        for is_request, stream in self._streams.items():
            if len(stream.buf) > MAX_BUFFER_BYTES:
                stream.clear()
                self._frames[is_request] = None
                self._lost[is_request] = True

    def _on_close(self) -> None:
        self.dropped_requests += len(self._pending)

    def _reset(self) -> None:
        for side in (True, False):
            self._streams[side].clear()
            self._frames[side] = None
            self._lost[side] = False
        self._pending.clear()
