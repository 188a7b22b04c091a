"""The tables Pixie's collectors produce, with Pixie's exact names, types and semantic types.

Collectors push into these schemas; metadata advertises them; the compiler resolves scripts
against them. Table and column names are part of the product: Pixie scripts depend on them.
"""

from __future__ import annotations

from ._relation import Column, Relation, TableSchema
from ._types import DataType as D
from ._types import SemanticType as S

__all__ = [
    "ALL_TABLES",
    "AMQP_EVENTS",
    "CONN_STATS",
    "CQL_EVENTS",
    "DNS_EVENTS",
    "HTTP_EVENTS",
    "JVM_STATS",
    "KAFKA_EVENTS",
    "MONGODB_EVENTS",
    "MUX_EVENTS",
    "MYSQL_EVENTS",
    "NATS_EVENTS",
    "NETWORK_STATS",
    "PGSQL_EVENTS",
    "PROBE_STATUS",
    "PROCESS_STATS",
    "PROC_EXIT_EVENTS",
    "REDIS_EVENTS",
    "STACK_TRACES",
    "STIRLING_ERROR",
    "TCP_STATS",
    "TRACE_ROLE_CLIENT",
    "TRACE_ROLE_SERVER",
    "TRACE_ROLE_UNKNOWN",
    "UNFILLABLE_TABLES",
    "table_by_name",
]

TRACE_ROLE_CLIENT = 1
TRACE_ROLE_SERVER = 2
TRACE_ROLE_UNKNOWN = 4


def _c(name: str, data_type: D, semantic: S = S.ST_NONE, desc: str = "") -> Column:
    return Column(name, data_type, semantic, desc)


def _table(name: str, desc: str, *columns: Column, sensitive: bool = False) -> TableSchema:
    return TableSchema(name, Relation(columns), desc, sensitive=sensitive)


_TIME = _c("time_", D.TIME64NS, S.ST_TIME_NS, "Timestamp when the data record was collected.")
_UPID = _c("upid", D.UINT128, S.ST_UPID, "An opaque numeric ID that globally identifies a process")

# The eight columns every socket-tracer table starts with.
_COMMON8 = (
    _TIME,
    _UPID,
    _c("remote_addr", D.STRING, S.ST_IP_ADDRESS, "IP address of the remote endpoint."),
    _c("remote_port", D.INT64, S.ST_PORT, "Port of the remote endpoint."),
    _c("local_addr", D.STRING, S.ST_IP_ADDRESS, "IP address of the local endpoint."),
    _c("local_port", D.INT64, S.ST_PORT, "Port of the local endpoint."),
    _c("trace_role", D.INT64, S.ST_NONE, "The role (client=1, server=2) of the traced process."),
    _c("encrypted", D.BOOLEAN, S.ST_NONE, "True if the traffic was TLS-encrypted."),
)
_LATENCY = _c("latency", D.INT64, S.ST_DURATION_NS, "Request-response latency in nanoseconds.")

HTTP_EVENTS = _table(
    "http_events",
    "HTTP request-response pair events",
    *_COMMON8,
    _c("major_version", D.INT64, desc="HTTP major version, can be 1 or 2"),
    _c("minor_version", D.INT64, desc="HTTP minor version, HTTP1 uses 1, HTTP2 sets this to 0"),
    _c("content_type", D.INT64, desc="Type of the HTTP payload, can be JSON or protobuf"),
    _c("req_headers", D.STRING, desc="Request headers in JSON format"),
    _c("req_method", D.STRING, S.ST_HTTP_REQ_METHOD, "HTTP request method (e.g. GET, POST, ...)"),
    _c("req_path", D.STRING, desc="Request path"),
    _c("req_body", D.STRING, desc="Request body in JSON format"),
    _c("req_body_size", D.INT64, S.ST_BYTES, "Request body size (before any truncation)"),
    _c("resp_headers", D.STRING, desc="Response headers in JSON format"),
    _c("resp_status", D.INT64, S.ST_HTTP_RESP_STATUS, "HTTP response status code"),
    _c("resp_message", D.STRING, S.ST_HTTP_RESP_MESSAGE, "HTTP response status text (e.g. OK)"),
    _c("resp_body", D.STRING, desc="Response body in JSON format"),
    _c("resp_body_size", D.INT64, S.ST_BYTES, "Response body size (before any truncation)"),
    _LATENCY,
    sensitive=True,
)

DNS_EVENTS = _table(
    "dns_events",
    "DNS request-response pair events",
    *_COMMON8,
    _c("req_header", D.STRING, desc="Request header (JSON)"),
    _c("req_body", D.STRING, desc="Request body (JSON)"),
    _c("resp_header", D.STRING, desc="Response header (JSON)"),
    _c("resp_body", D.STRING, desc="Response body (JSON)"),
    _LATENCY,
    sensitive=True,
)

MYSQL_EVENTS = _table(
    "mysql_events",
    "MySQL request-response pair events",
    *_COMMON8,
    _c("req_cmd", D.INT64, desc="MySQL request command (3 COM_QUERY, 23 COM_STMT_EXECUTE, ...)"),
    _c("req_body", D.STRING, desc="MySQL request body"),
    _c("resp_status", D.INT64, desc="MySQL response status code (0 unknown, 1 none, 2 OK, 3 Err)"),
    _c("resp_body", D.STRING, desc="MySQL response body"),
    _LATENCY,
    sensitive=True,
)

PGSQL_EVENTS = _table(
    "pgsql_events",
    "Postgres (pgsql) request-response pair events",
    *_COMMON8,
    _c("req_cmd", D.STRING, desc="PostgreSQL request command code (e.g. Query, Execute)"),
    _c("req", D.STRING, desc="PostgreSQL request body"),
    _c("resp", D.STRING, desc="PostgreSQL response body"),
    _LATENCY,
    sensitive=True,
)

REDIS_EVENTS = _table(
    "redis_events",
    "Redis request-response pair events",
    *_COMMON8,
    _c("req_cmd", D.STRING, desc="Request command (e.g. GET, SET)"),
    _c("req_args", D.STRING, desc="Request command arguments (JSON array)"),
    _c("resp", D.STRING, desc="Response message"),
    _LATENCY,
    sensitive=True,
)

CQL_EVENTS = _table(
    "cql_events",
    "Cassandra (CQL) request-response pair events",
    *_COMMON8,
    _c("req_op", D.INT64, desc="Cassandra request opcode"),
    _c("req_body", D.STRING, desc="Cassandra request body"),
    _c("resp_op", D.INT64, desc="Cassandra response opcode (0 = Error)"),
    _c("resp_body", D.STRING, desc="Cassandra response body"),
    _LATENCY,
    sensitive=True,
)

NATS_EVENTS = _table(
    "nats_events.beta",
    "NATS messages",
    *_COMMON8,
    _c("cmd", D.STRING, desc="The name of the command"),
    _c("body", D.STRING, desc="Option name and value pairs formatted as JSON"),
    _c("resp", D.STRING, desc="The response to the command"),
    sensitive=True,
)

AMQP_EVENTS = _table(
    "amqp_events",
    "AMQP request-response pair events",
    *_COMMON8,
    _c(
        "frame_type", D.INT64, desc="AMQP request command (1 method, 2 header, 3 body, 8 heartbeat)"
    ),
    _c("channel", D.INT64, desc="AMQP channel"),
    _c("req_class_id", D.INT64, desc="AMQP request class id"),
    _c("req_method_id", D.INT64, desc="AMQP request method id"),
    _c("resp_class_id", D.INT64, desc="AMQP response class id"),
    _c("resp_method_id", D.INT64, desc="AMQP response method id"),
    _c("req_msg", D.STRING, desc="AMQP request message (JSON)"),
    _c("resp_msg", D.STRING, desc="AMQP response message (JSON)"),
    _LATENCY,
    sensitive=True,
)

MONGODB_EVENTS = _table(
    "mongodb_events",
    "MongoDB request-response pair events",
    *_COMMON8,
    _c("req_cmd", D.STRING, desc="MongoDB request command (e.g. insert, find)"),
    _c("req_body", D.STRING, desc="MongoDB request body (relaxed extended JSON)"),
    _c("resp_status", D.STRING, desc="MongoDB response status (ok, or the error message)"),
    _c("resp_body", D.STRING, desc="MongoDB response body (relaxed extended JSON)"),
    _LATENCY,
    sensitive=True,
)

MUX_EVENTS = _table(
    "mux_events",
    "Mux request-response pair events",
    *_COMMON8,
    _c("req_type", D.INT64, desc="Mux request type"),
    _LATENCY,
    sensitive=True,
)

KAFKA_EVENTS = _table(
    "kafka_events.beta",
    "Kafka request-response pair events",
    *_COMMON8,
    _c("req_cmd", D.INT64, desc="Kafka request API key (0 Produce, 1 Fetch, ...)"),
    _c("client_id", D.STRING, desc="The client id of the request"),
    _c("req_body", D.STRING, desc="Kafka request body (JSON)"),
    _c("resp", D.STRING, desc="Kafka response body (JSON)"),
    _LATENCY,
    sensitive=True,
)

CONN_STATS = _table(
    "conn_stats",
    "Connection-level stats: opens, closes and bytes per remote endpoint (cumulative counters)",
    _TIME,
    _UPID,
    _c("remote_addr", D.STRING, S.ST_IP_ADDRESS, "IP address of the remote endpoint."),
    _c("remote_port", D.INT64, S.ST_PORT, "Port of the remote endpoint."),
    _c("trace_role", D.INT64, desc="The role (client=1, server=2) of the traced process."),
    _c("addr_family", D.INT64, desc="The socket address family of the connection."),
    _c("protocol", D.INT64, desc="The protocol of the traffic on the connections."),
    _c("ssl", D.BOOLEAN, desc="Was SSL traffic detected on this connection."),
    _c("conn_open", D.INT64, desc="The number of connections opened since tracing started."),
    _c("conn_close", D.INT64, desc="The number of connections closed since tracing started."),
    _c("conn_active", D.INT64, desc="The number of active connections."),
    _c("bytes_sent", D.INT64, S.ST_BYTES, "The number of bytes sent to the remote endpoint(s)."),
    _c("bytes_recv", D.INT64, S.ST_BYTES, "The number of bytes received from the endpoint(s)."),
)

_B = S.ST_BYTES
PROCESS_STATS = _table(
    "process_stats",
    "CPU, memory and IO stats for all K8s processes on your cluster (cumulative counters)",
    _TIME,
    _UPID,
    _c("major_faults", D.INT64, desc="Number of major page faults"),
    _c("minor_faults", D.INT64, desc="Number of minor page faults"),
    _c("cpu_utime_ns", D.INT64, S.ST_DURATION_NS, "Time spent on user space by the process"),
    _c("cpu_ktime_ns", D.INT64, S.ST_DURATION_NS, "Time spent on kernel by the process"),
    _c("num_threads", D.INT64, desc="Number of threads of the process"),
    _c("vsize_bytes", D.INT64, _B, "Virtual memory size in bytes of the process"),
    _c("rss_bytes", D.INT64, _B, "Resident set size in bytes of the process"),
    _c("rchar_bytes", D.INT64, _B, "IO reads in bytes of the process"),
    _c("wchar_bytes", D.INT64, _B, "IO writes in bytes of the process"),
    _c("read_bytes", D.INT64, _B, "IO reads actually go to storage in bytes of the process"),
    _c("write_bytes", D.INT64, _B, "IO writes actually go to storage in bytes of the process"),
)

NETWORK_STATS = _table(
    "network_stats",
    "Network stats per pod (cumulative counters)",
    _TIME,
    _c("pod_id", D.STRING, desc="The ID of the pod"),
    _c("rx_bytes", D.INT64, _B, "Received network traffic in bytes of the pod"),
    _c("rx_packets", D.INT64, desc="Number of received network packets of the pod"),
    _c("rx_errors", D.INT64, desc="Number of network receive errors of the pod"),
    _c("rx_drops", D.INT64, desc="Number of dropped network packets being received of the pod"),
    _c("tx_bytes", D.INT64, _B, "Transmitted network traffic of the pod"),
    _c("tx_packets", D.INT64, desc="Number of transmitted network packets of the pod"),
    _c("tx_errors", D.INT64, desc="Number of network transmit errors of the pod"),
    _c("tx_drops", D.INT64, desc="Number of dropped network packets being transmitted of the pod"),
)

STACK_TRACES = _table(
    "stack_traces.beta",
    "Sampled stack traces of applications that identify hot-spots in application code",
    _TIME,
    _UPID,
    _c("stack_trace_id", D.INT64, desc="A unique identifier of the stack trace, for convenience"),
    _c("stack_trace", D.STRING, desc="A stack trace within the sampled process, in folded format"),
    _c("count", D.INT64, desc="Number of times the stack trace has been sampled"),
)

PROC_EXIT_EVENTS = _table(
    "proc_exit_events",
    "Traces all abnormal process exits",
    _TIME,
    _UPID,
    _c("exit_code", D.INT64, desc="The exit code of the process"),
    _c("signal", D.INT64, desc="The signal received by the process"),
    _c("comm", D.STRING, desc="The process name"),
)

TCP_STATS = _table(
    "tcp_stats_events",
    "TCP stats: bytes and retransmissions per process and connection over each period",
    _TIME,
    _UPID,
    _c("local_addr", D.STRING, S.ST_IP_ADDRESS, "IP address of the local endpoint."),
    _c("local_port", D.INT64, S.ST_PORT, "Port of the local endpoint."),
    _c("remote_addr", D.STRING, S.ST_IP_ADDRESS, "IP address of the remote endpoint."),
    _c("remote_port", D.INT64, S.ST_PORT, "Port of the remote endpoint."),
    _c("tx", D.INT64, _B, "The number of bytes written to the socket."),
    _c("rx", D.INT64, _B, "The number of bytes read from the socket."),
    _c("retransmits", D.INT64, desc="The number of retransmissions."),
)

STIRLING_ERROR = _table(
    "stirling_error",
    "Errors and status of the data collectors",
    _TIME,
    _UPID,
    _c("source_connector", D.STRING, desc="The source connector whose status is reported"),
    _c("status", D.INT64, desc="The status code of the event (0 = OK)"),
    _c("error", D.STRING, desc="The error message, empty when status is OK"),
    _c("context", D.STRING, desc="Context in JSON format"),
)

PROBE_STATUS = _table(
    "probe_status",
    "Deployment status of the eBPF probes of each source connector",
    _TIME,
    _UPID,
    _c("source_connector", D.STRING, desc="The source connector whose status is reported"),
    _c("tracepoint", D.STRING, desc="The probe (tracepoint, uprobe, ...) deployed"),
    _c("status", D.INT64, desc="The status code of the deployment (0 = OK)"),
    _c("error", D.STRING, desc="The error message, empty when status is OK"),
    _c("info", D.STRING, desc="Extra information in JSON format"),
)

# Pixie's JVM statistics. Declared for reference only: Pixie fills it from a JVM agent attached
# to Java processes, and Pyxie has no JVM agent, so no collector stores it (see UNFILLABLE_TABLES).
JVM_STATS = _table(
    "jvm_stats",
    "JVM garbage collection and heap statistics of Java processes",
    _TIME,
    _UPID,
    _c("young_gc_time", D.INT64, S.ST_DURATION_NS, desc="Time spent in young generation GC"),
    _c("full_gc_time", D.INT64, S.ST_DURATION_NS, desc="Time spent in full GC"),
    _c("used_heap_size", D.INT64, S.ST_BYTES, desc="Used heap"),
    _c("total_heap_size", D.INT64, S.ST_BYTES, desc="Total heap"),
    _c("max_heap_size", D.INT64, S.ST_BYTES, desc="Maximum heap"),
)

# Tables Pixie has that this build cannot fill, with the reason a query naming them is told.
UNFILLABLE_TABLES: dict[str, str] = {
    JVM_STATS.name: "it needs a JVM agent inside each Java process, which Pyxie does not have",
}

ALL_TABLES: tuple[TableSchema, ...] = (
    HTTP_EVENTS,
    DNS_EVENTS,
    MYSQL_EVENTS,
    PGSQL_EVENTS,
    REDIS_EVENTS,
    CQL_EVENTS,
    NATS_EVENTS,
    AMQP_EVENTS,
    MONGODB_EVENTS,
    MUX_EVENTS,
    KAFKA_EVENTS,
    CONN_STATS,
    PROCESS_STATS,
    NETWORK_STATS,
    STACK_TRACES,
    PROC_EXIT_EVENTS,
    TCP_STATS,
    STIRLING_ERROR,
    PROBE_STATUS,
)

_BY_NAME = {t.name: t for t in ALL_TABLES}


def table_by_name(name: str) -> TableSchema:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no table named {name!r}; known tables: {', '.join(_BY_NAME)}") from None
