"""Protocol code → name lookups (HTTP status, MySQL command, DNS rcode, gRPC status, ...).

Each is a table lookup applied once per distinct code. Unknown codes give "".
"""

from __future__ import annotations

import http
from collections.abc import Callable, Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pyxie_types import DataType, SemanticType

from ..context import FunctionContext
from ..registry import Registry
from ._arrow import Arg, map_distinct, norm

__all__ = ["register"]

_HTTP_MESSAGES: dict[int, str] = {s.value: s.phrase for s in http.HTTPStatus}

# conn_stats.protocol values (Stirling's traffic_protocol_t).
_PROTOCOLS = {
    0: "Unknown", 1: "HTTP", 2: "HTTP2", 3: "MySQL", 4: "CQL", 5: "PGSQL", 6: "DNS",
    7: "Redis", 8: "NATS", 9: "Mongo", 10: "Kafka", 11: "Mux", 12: "AMQP", 13: "TLS",
}  # fmt: skip

_MYSQL_COMMANDS = dict(enumerate((
    "Sleep", "Quit", "InitDB", "Query", "FieldList", "CreateDB", "DropDB", "Refresh",
    "Shutdown", "Statistics", "ProcessInfo", "Connect", "ProcessKill", "Debug", "Ping", "Time",
    "DelayedInsert", "ChangeUser", "BinlogDump", "TableDump", "ConnectOut", "RegisterSlave",
    "StmtPrepare", "StmtExecute", "StmtSendLongData", "StmtClose", "StmtReset", "SetOption",
    "StmtFetch", "Daemon", "BinlogDumpGTID", "ResetConnection",
)))  # fmt: skip

_DNS_RCODES = dict(enumerate((
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
    "NXRRSET", "NOTAUTH", "NOTZONE",
)))  # fmt: skip

_GRPC_CODES = dict(enumerate((
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
    "UNAUTHENTICATED",
)))  # fmt: skip

_CQL_OPCODES = {
    0x00: "Error", 0x01: "Startup", 0x02: "Ready", 0x03: "Authenticate", 0x05: "Options",
    0x06: "Supported", 0x07: "Query", 0x08: "Result", 0x09: "Prepare", 0x0A: "Execute",
    0x0B: "Register", 0x0C: "Event", 0x0D: "Batch", 0x0E: "AuthChallenge",
    0x0F: "AuthResponse", 0x10: "AuthSuccess",
}  # fmt: skip

_KAFKA_API_KEYS = dict(enumerate((
    "Produce", "Fetch", "ListOffsets", "Metadata", "LeaderAndIsr", "StopReplica",
    "UpdateMetadata", "ControlledShutdown", "OffsetCommit", "OffsetFetch", "FindCoordinator",
    "JoinGroup", "Heartbeat", "LeaveGroup", "SyncGroup", "DescribeGroups", "ListGroups",
    "SaslHandshake", "ApiVersions", "CreateTopics", "DeleteTopics", "DeleteRecords",
    "InitProducerId", "OffsetForLeaderEpoch", "AddPartitionsToTxn", "AddOffsetsToTxn", "EndTxn",
    "WriteTxnMarkers", "TxnOffsetCommit", "DescribeAcls", "CreateAcls", "DeleteAcls",
    "DescribeConfigs", "AlterConfigs", "AlterReplicaLogDirs", "DescribeLogDirs",
    "SaslAuthenticate", "CreatePartitions", "CreateDelegationToken", "RenewDelegationToken",
    "ExpireDelegationToken", "DescribeDelegationToken", "DeleteGroups", "ElectLeaders",
    "IncrementalAlterConfigs", "AlterPartitionReassignments", "ListPartitionReassignments",
    "OffsetDelete", "DescribeClientQuotas", "AlterClientQuotas",
    "DescribeUserScramCredentials", "AlterUserScramCredentials",
)))  # fmt: skip

_AMQP_FRAME_TYPES = {1: "Method", 2: "Header", 3: "Body", 8: "Heartbeat"}

# AMQP 0-9-1 methods by (class id, method id): "<Class><Method>" as in the spec's names.
_AMQP_CLASSES = {10: "Connection", 20: "Channel", 40: "Exchange", 50: "Queue", 60: "Basic",
                 85: "Confirm", 90: "Tx"}  # fmt: skip
_AMQP_METHODS: dict[tuple[int, int], str] = {
    (10, 10): "Start", (10, 11): "StartOk", (10, 20): "Secure", (10, 21): "SecureOk",
    (10, 30): "Tune", (10, 31): "TuneOk", (10, 40): "Open", (10, 41): "OpenOk",
    (10, 50): "Close", (10, 51): "CloseOk", (10, 60): "Blocked", (10, 61): "Unblocked",
    (20, 10): "Open", (20, 11): "OpenOk", (20, 20): "Flow", (20, 21): "FlowOk",
    (20, 40): "Close", (20, 41): "CloseOk",
    (40, 10): "Declare", (40, 11): "DeclareOk", (40, 20): "Delete", (40, 21): "DeleteOk",
    (40, 30): "Bind", (40, 31): "BindOk", (40, 40): "Unbind", (40, 51): "UnbindOk",
    (50, 10): "Declare", (50, 11): "DeclareOk", (50, 20): "Bind", (50, 21): "BindOk",
    (50, 30): "Purge", (50, 31): "PurgeOk", (50, 40): "Delete", (50, 41): "DeleteOk",
    (50, 50): "Unbind", (50, 51): "UnbindOk",
    (60, 10): "Qos", (60, 11): "QosOk", (60, 20): "Consume", (60, 21): "ConsumeOk",
    (60, 30): "Cancel", (60, 31): "CancelOk", (60, 40): "Publish", (60, 50): "Return",
    (60, 60): "Deliver", (60, 70): "Get", (60, 71): "GetOk", (60, 72): "GetEmpty",
    (60, 80): "Ack", (60, 90): "Reject", (60, 100): "RecoverAsync", (60, 110): "Recover",
    (60, 111): "RecoverOk", (60, 120): "Nack",
    (85, 10): "Select", (85, 11): "SelectOk",
    (90, 10): "Select", (90, 11): "SelectOk", (90, 20): "Commit", (90, 21): "CommitOk",
    (90, 30): "Rollback", (90, 31): "RollbackOk",
}  # fmt: skip
_AMQP_NAMES = {c * 1000 + m: _AMQP_CLASSES[c] + name for (c, m), name in _AMQP_METHODS.items()}


def _amqp_method_name(_: FunctionContext, class_id: Any, method_id: Any) -> Arg:
    # One code per (class, method) pair, then a lookup per distinct code.
    code = pc.add(pc.multiply(norm(class_id), 1000), norm(method_id))
    return map_distinct(lambda c: _AMQP_NAMES.get(c, ""), code, pa.string())


# Finagle Mux message types: T-messages positive, R-messages their negation.
_MUX_TYPES = {
    1: "Treq", -1: "Rreq", 2: "Tdispatch", -2: "Rdispatch", 64: "Tdrain", -64: "Rdrain",
    65: "Tping", -65: "Rping", 66: "Tdiscarded", -66: "Rdiscarded", 67: "Tlease",
    68: "Tinit", -68: "Rinit", -128: "Rerr", 127: "Rerr",
}  # fmt: skip


def _lookup(table: Mapping[int, str]) -> Callable[[FunctionContext, Any], Arg]:
    def run(_: FunctionContext, code: Any) -> Arg:
        return map_distinct(lambda c: table.get(c, ""), norm(code), pa.string())

    return run


def register(registry: Registry) -> None:
    i, s = DataType.INT64, DataType.STRING
    for name, table, what, example, semantic in (
        (
            "http_resp_message",
            _HTTP_MESSAGES,
            "HTTP reason phrase of a status code",
            "px.http_resp_message(404) gives 'Not Found'",
            SemanticType.ST_HTTP_RESP_MESSAGE,
        ),
        (
            "protocol_name",
            _PROTOCOLS,
            "Name of a conn_stats protocol number",
            "px.protocol_name(df.protocol)",
            None,
        ),
        (
            "mysql_command_name",
            _MYSQL_COMMANDS,
            "Name of a MySQL command code",
            "px.mysql_command_name(3) gives 'Query'",
            None,
        ),
        (
            "dns_rcode_name",
            _DNS_RCODES,
            "Name of a DNS response code",
            "px.dns_rcode_name(3) gives 'NXDOMAIN'",
            None,
        ),
        (
            "grpc_status_code_to_str",
            _GRPC_CODES,
            "Name of a gRPC status code",
            "px.grpc_status_code_to_str(14) gives 'UNAVAILABLE'",
            None,
        ),
        (
            "cql_opcode_name",
            _CQL_OPCODES,
            "Name of a CQL opcode",
            "px.cql_opcode_name(7) gives 'Query'",
            None,
        ),
        (
            "kafka_api_key_name",
            _KAFKA_API_KEYS,
            "Name of a Kafka API key",
            "px.kafka_api_key_name(0) gives 'Produce'",
            None,
        ),
        (
            "amqp_frame_type_name",
            _AMQP_FRAME_TYPES,
            "Name of an AMQP frame type",
            "px.amqp_frame_type_name(1) gives 'Method'",
            None,
        ),
        (
            "mux_frame_type_name",
            _MUX_TYPES,
            "Name of a Mux message type",
            "px.mux_frame_type_name(1) gives 'Treq'",
            None,
        ),
    ):
        registry.register_scalar(
            name,
            (i,),
            s,
            _lookup(table),
            f"{what} ('' if unknown). Example: {example}",
            semantic=semantic,
        )
    registry.register_scalar(
        "amqp_method_name",
        (i, i),
        s,
        _amqp_method_name,
        "Name of an AMQP method from its class id and method id ('' if unknown). "
        "Example: px.amqp_method_name(50, 10) gives 'QueueDeclare'",
    )
