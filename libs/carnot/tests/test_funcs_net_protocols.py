"""nslookup, cidrs_contain_ip and the protocol lookup tables."""

from __future__ import annotations

import socket
from typing import Any

import pyarrow as pa
from pyxie_carnot import funcs
from pyxie_carnot.context import FunctionContext
from pyxie_carnot.funcs._net import reverse_lookup
from pyxie_carnot.metadata import InMemoryMetadataState
from pyxie_carnot.registry import Registry
from pyxie_types import data_type_of_arrow

REGISTRY = Registry()
funcs.register_all(REGISTRY)
CTX = FunctionContext(REGISTRY, InMemoryMetadataState())


def call(name: str, *args: Any) -> Any:
    types = [data_type_of_arrow(a.type) for a in args]
    return REGISTRY.lookup_scalar(name, types).fn(CTX, *args)


def test_nslookup_resolves_loopback_like_getnameinfo() -> None:
    expected = socket.getnameinfo(("127.0.0.1", 0), socket.NI_NAMEREQD)[0]
    out = call("nslookup", pa.array(["127.0.0.1", "127.0.0.1"]))
    assert out.to_pylist() == [expected, expected]


def test_nslookup_returns_non_ip_input_unchanged_and_caches() -> None:
    assert call("nslookup", pa.scalar("not-an-ip")).as_py() == "not-an-ip"
    reverse_lookup("127.0.0.1")
    before = reverse_lookup.cache_info().hits
    reverse_lookup("127.0.0.1")
    assert reverse_lookup.cache_info().hits == before + 1


def test_cidrs_contain_ip() -> None:
    cidrs = pa.scalar('["10.0.0.0/8", "fd00::/8", "bogus"]')
    ips = pa.array(["10.1.2.3", "11.0.0.1", "fd00::1", "junk", ""])
    assert call("cidrs_contain_ip", cidrs, ips).to_pylist() == [True, False, True, False, False]
    assert call("cidrs_contain_ip", pa.scalar("not json"), pa.scalar("10.0.0.1")).as_py() is False


def test_protocol_lookup_tables() -> None:
    codes = pa.array([200, 404, 999], pa.int64())
    assert call("http_resp_message", codes).to_pylist() == ["OK", "Not Found", ""]
    assert call("protocol_name", pa.array([1, 5, 13], pa.int64())).to_pylist() == [
        "HTTP",
        "PGSQL",
        "TLS",
    ]
    assert call("mysql_command_name", pa.array([3, 23], pa.int64())).to_pylist() == [
        "Query",
        "StmtExecute",
    ]
    assert call("dns_rcode_name", pa.scalar(3)).as_py() == "NXDOMAIN"
    assert call("grpc_status_code_to_str", pa.scalar(14)).as_py() == "UNAVAILABLE"
    assert call("cql_opcode_name", pa.scalar(7)).as_py() == "Query"
    assert call("kafka_api_key_name", pa.scalar(1)).as_py() == "Fetch"
    assert call("amqp_frame_type_name", pa.scalar(8)).as_py() == "Heartbeat"
    assert call("mux_frame_type_name", pa.scalar(-2)).as_py() == "Rdispatch"
    assert len(call("protocol_name", pa.array([], pa.int64()))) == 0


def test_amqp_method_name_from_class_and_method() -> None:
    classes = pa.array([10, 50, 60, 60, 0, 60], pa.int64())
    methods = pa.array([10, 10, 40, 71, 0, 999], pa.int64())
    assert call("amqp_method_name", classes, methods).to_pylist() == [
        "ConnectionStart",
        "QueueDeclare",
        "BasicPublish",
        "BasicGetOk",
        "",
        "",
    ]
    assert call("amqp_method_name", pa.scalar(20), pa.scalar(41)).as_py() == "ChannelCloseOk"
    assert call("amqp_method_name", pa.array([60], pa.int64()), pa.scalar(80)).to_pylist() == [
        "BasicAck"
    ]
