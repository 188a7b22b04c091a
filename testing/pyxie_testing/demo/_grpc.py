"""The demo's gRPC: a product lookup served by orders, called by the front end (h2c).

No generated code: the messages are tiny and encoded by hand (protobuf wire format), which also
keeps the demo free of a protoc step. Requests carry a W3C ``traceparent`` in their metadata.

    GetProduct(ProductRequest{1: id}) -> Product{1: id, 2: name, 3: price_cents}
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent import futures

import grpc

__all__ = [
    "GET_PRODUCT",
    "ProductClient",
    "decode_fields",
    "encode_fields",
    "new_traceparent",
    "serve_products",
]

GET_PRODUCT = "/pyxie.demo.Orders/GetProduct"


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_fields(fields: dict[int, int | str]) -> bytes:
    """A protobuf message of varint and string fields."""
    out = bytearray()
    for number, value in fields.items():
        if isinstance(value, int):
            out += _varint(number << 3) + _varint(value)
        else:
            raw = value.encode()
            out += _varint(number << 3 | 2) + _varint(len(raw)) + raw
    return bytes(out)


def decode_fields(data: bytes) -> dict[int, int | str]:
    """The varint and string fields of a message encoded by ``encode_fields``."""
    out: dict[int, int | str] = {}
    pos = 0

    def varint() -> int:
        nonlocal pos
        value = shift = 0
        while True:
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    while pos < len(data):
        key = varint()
        if key & 7 == 0:
            out[key >> 3] = varint()
        elif key & 7 == 2:
            size = varint()
            out[key >> 3] = data[pos : pos + size].decode()
            pos += size
        else:
            raise ValueError(f"unsupported wire type {key & 7}")
    return out


def new_traceparent() -> str:
    """A fresh W3C trace context (version 00, sampled)."""
    return f"00-{os.urandom(16).hex()}-{os.urandom(8).hex()}-01"


def serve_products(
    lookup: Callable[[int], tuple[int, str, int] | None], host: str = "0.0.0.0"
) -> tuple[grpc.Server, int]:
    """Start the gRPC server on an ephemeral port (in background threads).

    Keep the returned server referenced: grpcio stops a server that is garbage collected.
    """

    def get_product(request: bytes, context: grpc.ServicerContext) -> bytes:
        product_id = decode_fields(request).get(1)
        row = lookup(product_id) if isinstance(product_id, int) else None
        if row is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no product {product_id}")
        assert row is not None
        return encode_fields({1: row[0], 2: row[1], 3: row[2]})

    handler = grpc.method_handlers_generic_handler(
        "pyxie.demo.Orders", {"GetProduct": grpc.unary_unary_rpc_method_handler(get_product)}
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port(f"{host}:0")
    server.start()
    return server, port


class ProductClient:
    """One h2c channel to the orders gRPC server, found through orders' ``/grpc`` endpoint."""

    def __init__(self, host: str, discover_port: Callable[[], int]) -> None:
        self._host = host
        self._discover = discover_port
        self._lock = threading.Lock()
        self._call: grpc.UnaryUnaryMultiCallable[bytes, bytes] | None = None

    def _stub(self) -> grpc.UnaryUnaryMultiCallable[bytes, bytes]:
        with self._lock:
            if self._call is None:
                channel = grpc.insecure_channel(f"{self._host}:{self._discover()}")
                self._call = channel.unary_unary(GET_PRODUCT, None, None)
            return self._call

    def get_product(self, product_id: int, traceparent: str) -> dict[str, object] | None:
        """The product, or None when orders says NOT_FOUND."""
        try:
            reply = self._stub()(
                encode_fields({1: product_id}),
                metadata=(("traceparent", traceparent),),
                timeout=5,
            )
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            if exc.code() == grpc.StatusCode.UNAVAILABLE:
                with self._lock:
                    self._call = None  # orders restarted on a new port: find it again
            raise
        fields = decode_fields(reply)
        return {"id": fields.get(1), "name": fields.get(2), "price": fields.get(3)}
