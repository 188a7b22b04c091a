"""A one-broker Kafka server for tests and the demo, built on kafka-python's protocol structs.

No Kafka broker can be installed here (not on PyPI or Debian as a runnable server), so this
speaks the broker side of the wire protocol with ``kafka.protocol``'s own request decoders and
response encoders. It advertises the API versions of a Kafka 2.8 broker for the APIs it serves,
so kafka-python negotiates the flexible versions (compact strings, tagged fields) of Produce v9,
Fetch v12, Metadata v11, ... and, asking ApiVersions v4 first, gets the UNSUPPORTED_VERSION answer
a 2.8 broker gives and retries with v3.

Served: ApiVersions, Metadata (topics are created on first use), Produce (v2 record batches are
appended with offsets assigned), ListOffsets, Fetch (long-polls up to ``max_wait_ms``),
InitProducerId, and one-broker consumer groups: FindCoordinator, JoinGroup (MEMBER_ID_REQUIRED
first, as Kafka 2.2+ does), SyncGroup, Heartbeat, OffsetCommit, OffsetFetch, LeaveGroup. Every
connection is served in order by its own thread, as a broker does.

Run as a program (``python -m pyxie_testing.wire.kafka_server [port]``) it prints its port.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import sys
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from kafka.protocol.consumer import (
    FetchRequest,
    FetchResponse,
    HeartbeatRequest,
    HeartbeatResponse,
    JoinGroupRequest,
    JoinGroupResponse,
    LeaveGroupRequest,
    LeaveGroupResponse,
    ListOffsetsRequest,
    ListOffsetsResponse,
    OffsetCommitRequest,
    OffsetCommitResponse,
    OffsetFetchRequest,
    OffsetFetchResponse,
    SyncGroupRequest,
    SyncGroupResponse,
)
from kafka.protocol.metadata import (
    ApiVersionsRequest,
    ApiVersionsResponse,
    FindCoordinatorRequest,
    FindCoordinatorResponse,
    MetadataRequest,
    MetadataResponse,
)
from kafka.protocol.producer import (
    InitProducerIdRequest,
    InitProducerIdResponse,
    ProduceRequest,
    ProduceResponse,
)

__all__ = ["BROKER_API_VERSIONS", "KafkaServer"]

# Kafka 2.8's version ranges for the APIs served here.
BROKER_API_VERSIONS: dict[int, tuple[int, int]] = {
    0: (0, 9),  # Produce
    1: (0, 12),  # Fetch
    2: (0, 6),  # ListOffsets
    3: (0, 11),  # Metadata
    8: (0, 8),  # OffsetCommit
    9: (0, 7),  # OffsetFetch
    10: (0, 3),  # FindCoordinator
    11: (0, 7),  # JoinGroup
    12: (0, 4),  # Heartbeat
    13: (0, 4),  # LeaveGroup
    14: (0, 5),  # SyncGroup
    18: (0, 3),  # ApiVersions
    22: (0, 4),  # InitProducerId
}
_API: dict[int, tuple[Any, Any]] = {
    0: (ProduceRequest, ProduceResponse),
    1: (FetchRequest, FetchResponse),
    2: (ListOffsetsRequest, ListOffsetsResponse),
    3: (MetadataRequest, MetadataResponse),
    8: (OffsetCommitRequest, OffsetCommitResponse),
    9: (OffsetFetchRequest, OffsetFetchResponse),
    10: (FindCoordinatorRequest, FindCoordinatorResponse),
    11: (JoinGroupRequest, JoinGroupResponse),
    12: (HeartbeatRequest, HeartbeatResponse),
    13: (LeaveGroupRequest, LeaveGroupResponse),
    14: (SyncGroupRequest, SyncGroupResponse),
    18: (ApiVersionsRequest, ApiVersionsResponse),
    22: (InitProducerIdRequest, InitProducerIdResponse),
}
NONE, UNKNOWN_TOPIC, UNSUPPORTED_VERSION, MEMBER_ID_REQUIRED = 0, 3, 35, 79
ILLEGAL_GENERATION, UNKNOWN_MEMBER, REBALANCE_IN_PROGRESS = 22, 25, 27
NODE_ID = 0
CLUSTER_ID = "pyxie-kafka-test"


@dataclass
class _Partition:
    batches: list[tuple[int, int, bytes]] = field(default_factory=list)  # (base, end, batch)
    end_offset: int = 0


@dataclass
class _Group:
    generation: int = 0
    protocol: str = ""
    leader: str = ""
    members: dict[str, bytes] = field(default_factory=dict)  # member id -> subscription
    assignments: dict[str, bytes] = field(default_factory=dict)
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)


class KafkaServer:
    """One broker (node 0) on 127.0.0.1; topics get ``partitions`` partitions on first use."""

    def __init__(self, port: int = 0, *, partitions: int = 1) -> None:
        self.partitions = partitions
        self._listener = socket.create_server(("127.0.0.1", port))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Condition()
        self._topics: dict[str, list[_Partition]] = {}
        self._topic_ids: dict[str, uuid.UUID] = {}
        self._groups: dict[str, _Group] = {}
        self._conns: list[socket.socket] = []
        self._closed = False
        self._next_producer_id = 1000
        self._thread = threading.Thread(target=self._accept, name="kafka-server", daemon=True)
        self._thread.start()

    # -- lifecycle ------------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._lock.notify_all()
            conns = list(self._conns)
        self._listener.close()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        self._thread.join(5)

    def __enter__(self) -> KafkaServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                if self._closed:
                    conn.close()
                    return
                self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            while True:
                head = _recv_exactly(conn, 4)
                if head is None:
                    return
                frame = _recv_exactly(conn, struct.unpack(">i", head)[0])
                if frame is None:
                    return
                reply = self._handle(frame)
                if reply is not None:
                    conn.sendall(reply)
        except Exception:  # a malformed or unsupported request: a broker drops the connection
            return
        finally:
            with self._lock:
                if conn in self._conns:
                    self._conns.remove(conn)
            conn.close()

    # -- requests -------------------------------------------------------------------------------

    def _handle(self, frame: bytes) -> bytes | None:
        api_key, version, corr = struct.unpack(">hhi", frame[:8])
        if api_key == 18 and version > BROKER_API_VERSIONS[18][1]:
            # As a broker does: error 35 and the version list, in the v0 format.
            return self._encode(
                ApiVersionsResponse, 0, corr, self._api_versions(UNSUPPORTED_VERSION)
            )
        request_class, response_class = _API[api_key]
        lo, hi = BROKER_API_VERSIONS[api_key]
        if not lo <= version <= hi:
            raise OSError(f"api {api_key} v{version} not advertised")
        request = request_class.decode(frame, version=version, header=True)
        handler = getattr(self, f"_api_{api_key}")
        body = handler(request, version)
        if body is None:
            return None
        return self._encode(response_class, version, corr, body)

    @staticmethod
    def _encode(response_class: Any, version: int, corr: int, body: dict[str, Any]) -> bytes:
        response = response_class[version](**_fields(response_class, response_class._struct, body))
        response.with_header(correlation_id=corr)
        return bytes(response.encode(header=True, framed=True))

    def _api_versions(self, error: int) -> dict[str, Any]:
        keys = [
            {"api_key": key, "min_version": lo, "max_version": hi}
            for key, (lo, hi) in sorted(BROKER_API_VERSIONS.items())
        ]
        return {"error_code": error, "api_keys": keys, "throttle_time_ms": 0}

    def _api_18(self, request: Any, version: int) -> dict[str, Any]:
        return self._api_versions(NONE)

    def _partitions(self, topic: str) -> list[_Partition]:
        if topic not in self._topics:
            self._topics[topic] = [_Partition() for _ in range(self.partitions)]
            self._topic_ids[topic] = uuid.uuid4()
        return self._topics[topic]

    def _api_3(self, request: Any, version: int) -> dict[str, Any]:
        with self._lock:
            if request.topics is None:
                names = sorted(self._topics)
            else:
                names = [t.name for t in request.topics]
            topics = []
            for name in names:
                parts = self._partitions(name)
                topics.append(
                    {
                        "error_code": NONE,
                        "name": name,
                        "topic_id": self._topic_ids[name],
                        "is_internal": False,
                        "partitions": [
                            {
                                "error_code": NONE,
                                "partition_index": i,
                                "leader_id": NODE_ID,
                                "leader_epoch": 0,
                                "replica_nodes": [NODE_ID],
                                "isr_nodes": [NODE_ID],
                                "offline_replicas": [],
                            }
                            for i in range(len(parts))
                        ],
                        "topic_authorized_operations": -2147483648,
                    }
                )
        return {
            "throttle_time_ms": 0,
            "brokers": [{"node_id": NODE_ID, "host": "127.0.0.1", "port": self.port, "rack": None}],
            "cluster_id": CLUSTER_ID,
            "controller_id": NODE_ID,
            "topics": topics,
            "cluster_authorized_operations": -2147483648,
        }

    def _api_22(self, request: Any, version: int) -> dict[str, Any]:
        with self._lock:
            producer_id = self._next_producer_id
            self._next_producer_id += 1
        return {
            "throttle_time_ms": 0,
            "error_code": NONE,
            "producer_id": producer_id,
            "producer_epoch": 0,
        }

    def _api_0(self, request: Any, version: int) -> dict[str, Any] | None:
        responses = []
        with self._lock:
            for topic in request.topic_data:
                parts = self._partitions(topic.name)
                results = []
                for pdata in topic.partition_data:
                    if not 0 <= pdata.index < len(parts):
                        results.append(_produce_result(pdata.index, UNKNOWN_TOPIC, -1))
                        continue
                    part = parts[pdata.index]
                    base = part.end_offset
                    for batch in _batches(bytes(pdata.records or b"")):
                        count = struct.unpack(">i", batch[23:27])[0] + 1  # last offset delta
                        start = part.end_offset
                        part.batches.append(
                            (start, start + count, struct.pack(">q", start) + batch[8:])
                        )
                        part.end_offset += count
                    results.append(_produce_result(pdata.index, NONE, base))
                responses.append({"name": topic.name, "partition_responses": results})
            self._lock.notify_all()
        if request.acks == 0:
            return None
        return {"responses": responses, "throttle_time_ms": 0}

    def _api_2(self, request: Any, version: int) -> dict[str, Any]:
        topics = []
        with self._lock:
            for topic in request.topics:
                parts = self._partitions(topic.name)
                out = []
                for p in topic.partitions:
                    part = parts[p.partition_index] if p.partition_index < len(parts) else None
                    if part is None:
                        out.append(
                            {"partition_index": p.partition_index, "error_code": UNKNOWN_TOPIC}
                        )
                        continue
                    offset = 0 if p.timestamp == -2 else part.end_offset
                    out.append(
                        {
                            "partition_index": p.partition_index,
                            "error_code": NONE,
                            "old_style_offsets": [offset],
                            "timestamp": -1,
                            "offset": offset,
                            "leader_epoch": 0,
                        }
                    )
                topics.append({"name": topic.name, "partitions": out})
        return {"throttle_time_ms": 0, "topics": topics}

    def _api_1(self, request: Any, version: int) -> dict[str, Any]:
        deadline_s = max(0, request.max_wait_ms) / 1000

        def ready() -> bool:
            for topic in request.topics:
                parts = self._topics.get(topic.topic, [])
                for p in topic.partitions:
                    if p.partition < len(parts) and parts[p.partition].end_offset > p.fetch_offset:
                        return True
            return self._closed

        with self._lock:
            self._lock.wait_for(ready, timeout=deadline_s)
            responses = []
            for topic in request.topics:
                parts = self._partitions(topic.topic)
                out = []
                for p in topic.partitions:
                    if not 0 <= p.partition < len(parts):
                        out.append(_fetch_result(p.partition, UNKNOWN_TOPIC, -1, b""))
                        continue
                    part = parts[p.partition]
                    data = b""
                    for _start, end, batch in part.batches:
                        if end > p.fetch_offset and (
                            not data or len(data) + len(batch) <= p.partition_max_bytes
                        ):
                            data += batch
                    out.append(_fetch_result(p.partition, NONE, part.end_offset, data))
                responses.append({"topic": topic.topic, "partitions": out})
        return {"throttle_time_ms": 0, "error_code": NONE, "session_id": 0, "responses": responses}

    # -- consumer groups ------------------------------------------------------------------------

    def _api_10(self, request: Any, version: int) -> dict[str, Any]:
        return {
            "throttle_time_ms": 0,
            "error_code": NONE,
            "error_message": None,
            "node_id": NODE_ID,
            "host": "127.0.0.1",
            "port": self.port,
        }

    def _api_11(self, request: Any, version: int) -> dict[str, Any]:
        with self._lock:
            group = self._groups.setdefault(request.group_id, _Group())
            member_id = request.member_id
            protocol = request.protocols[0].name if request.protocols else ""
            if not member_id and version >= 4:
                # Kafka 2.2+: a new member first learns its id, then joins with it.
                return _join_result(
                    MEMBER_ID_REQUIRED, -1, "", "", f"{request.header.client_id}-{uuid.uuid4()}", []
                )
            if not member_id:
                member_id = f"member-{uuid.uuid4()}"
            metadata = bytes(request.protocols[0].metadata) if request.protocols else b""
            group.members = {m: meta for m, meta in group.members.items() if m != member_id}
            group.members[member_id] = metadata
            group.generation += 1
            group.protocol = protocol
            group.leader = next(iter(group.members))
            group.assignments.clear()
            members = []
            if member_id == group.leader:
                members = [
                    {"member_id": m, "group_instance_id": None, "metadata": meta}
                    for m, meta in group.members.items()
                ]
            return _join_result(NONE, group.generation, protocol, group.leader, member_id, members)

    def _api_14(self, request: Any, version: int) -> dict[str, Any]:
        with self._lock:
            group = self._groups.get(request.group_id)
            if group is None or request.member_id not in group.members:
                return _sync_result(UNKNOWN_MEMBER, b"")
            if request.generation_id != group.generation:
                return _sync_result(ILLEGAL_GENERATION, b"")
            for a in request.assignments:
                group.assignments[a.member_id] = bytes(a.assignment)
            self._lock.notify_all()
            self._lock.wait_for(lambda: request.member_id in group.assignments or self._closed, 5)
            result = _sync_result(NONE, group.assignments.get(request.member_id, b""))
            result["protocol_type"] = "consumer"
            result["protocol_name"] = group.protocol
            return result

    def _api_12(self, request: Any, version: int) -> dict[str, Any]:
        with self._lock:
            group = self._groups.get(request.group_id)
            if group is None or request.member_id not in group.members:
                error = UNKNOWN_MEMBER
            elif request.generation_id != group.generation:
                error = REBALANCE_IN_PROGRESS
            else:
                error = NONE
        return {"throttle_time_ms": 0, "error_code": error}

    def _api_13(self, request: Any, version: int) -> dict[str, Any]:
        with self._lock:
            group = self._groups.get(request.group_id)
            leaving = [request.member_id] if version < 3 else [m.member_id for m in request.members]
            if group is not None:
                for member in leaving:
                    group.members.pop(member, None)
        return {
            "throttle_time_ms": 0,
            "error_code": NONE,
            "members": [
                {"member_id": m, "group_instance_id": None, "error_code": NONE} for m in leaving
            ],
        }

    def _api_8(self, request: Any, version: int) -> dict[str, Any]:
        topics = []
        with self._lock:
            group = self._groups.setdefault(request.group_id, _Group())
            for topic in request.topics:
                out = []
                for p in topic.partitions:
                    group.offsets[(topic.name, p.partition_index)] = p.committed_offset
                    out.append({"partition_index": p.partition_index, "error_code": NONE})
                topics.append({"name": topic.name, "partitions": out})
        return {"throttle_time_ms": 0, "topics": topics}

    def _api_9(self, request: Any, version: int) -> dict[str, Any]:
        with self._lock:
            group = self._groups.setdefault(request.group_id, _Group())
            wanted = (
                [(t.name, list(t.partition_indexes)) for t in request.topics]
                if request.topics is not None
                else [(t, [p]) for (t, p) in group.offsets]
            )
            topics = [
                {
                    "name": name,
                    "partitions": [
                        {
                            "partition_index": p,
                            "committed_offset": group.offsets.get((name, p), -1),
                            "committed_leader_epoch": -1,
                            "metadata": "",
                            "error_code": NONE,
                        }
                        for p in parts
                    ],
                }
                for name, parts in wanted
            ]
        return {"throttle_time_ms": 0, "topics": topics, "error_code": NONE}


def _fields(owner: Any, struct_field: Any, values: dict[str, Any]) -> dict[str, Any]:
    """Plain dicts (and lists of them) as the protocol's nested data classes (names the schema
    does not know are dropped; fields outside the encoded version are ignored by the encoder)."""
    known = {f.name: f for f in struct_field._fields}
    out: dict[str, Any] = {}
    for name, value in values.items():
        fld = known.get(name)
        if fld is None:
            continue
        if fld.is_struct() or fld.is_struct_array():
            data_class = fld.data_class if fld.has_data_class() else getattr(owner, fld.type_str)
            if fld.is_struct_array():
                value = [data_class(**_fields(data_class, fld, v)) for v in value]
            elif value is not None:
                value = data_class(**_fields(data_class, fld, value))
        out[name] = value
    return out


def _recv_exactly(conn: socket.socket, n: int) -> bytes | None:
    data = bytearray()
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def _batches(records: bytes) -> list[bytes]:
    """The v2 record batches of a produced message set."""
    out = []
    pos = 0
    while pos + 12 <= len(records):
        size = struct.unpack(">i", records[pos + 8 : pos + 12])[0]
        out.append(records[pos : pos + 12 + size])
        pos += 12 + size
    return out


def _produce_result(index: int, error: int, base: int) -> dict[str, Any]:
    return {
        "index": index,
        "error_code": error,
        "base_offset": base,
        "log_append_time_ms": -1,
        "log_start_offset": 0,
        "record_errors": [],
        "error_message": None,
    }


def _fetch_result(index: int, error: int, high_watermark: int, data: bytes) -> dict[str, Any]:
    return {
        "partition_index": index,
        "error_code": error,
        "high_watermark": high_watermark,
        "last_stable_offset": high_watermark,
        "log_start_offset": 0,
        "aborted_transactions": [],
        "preferred_read_replica": -1,
        "records": data,
    }


def _join_result(
    error: int, generation: int, protocol: str, leader: str, member_id: str, members: list[Any]
) -> dict[str, Any]:
    return {
        "throttle_time_ms": 0,
        "error_code": error,
        "generation_id": generation,
        "protocol_type": "consumer",
        "protocol_name": protocol,
        "leader": leader,
        "member_id": member_id,
        "members": members,
    }


def _sync_result(error: int, assignment: bytes) -> dict[str, Any]:
    return {"throttle_time_ms": 0, "error_code": error, "assignment": assignment}


def main() -> None:
    server = KafkaServer(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    print(server.port, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


if __name__ == "__main__":
    main()
