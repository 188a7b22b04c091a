"""A tiny Cassandra (CQL native protocol v4) server on cassandra-driver's own codec.

No Cassandra can be installed here (not on PyPI or Debian as a runnable server), so tests and
the demo talk to this one. It reads and writes frames with the driver's protocol primitives
(``cassandra.protocol.read_*``/``write_*``, the frame header packer of ``ProtocolHandler``) and
serialises values with the driver's ``cassandra.cqltypes``, so the bytes are what the driver
itself expects. It answers:

* OPTIONS -> SUPPORTED, STARTUP -> READY (ERROR when compression is asked for), REGISTER -> READY;
* the control connection's ``system.local`` / ``system.peers`` queries (one local node, no
  peers; ``system.peers_v2`` is "unconfigured" as on Cassandra 3.11, so the driver falls back)
  and ``system_schema.*`` (empty);
* ``USE <keyspace>``; INSERT and SELECT (all rows, or by ``id``) on ``shop.orders``, as QUERY,
  PREPARE/EXECUTE and BATCH; anything else is a syntax or invalid-request ERROR.

Run it alone with ``python -m pyxie_testing.wire.cql_server [--port N]``: it prints the port.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import re
import socket
import sys
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from cassandra import cqltypes, type_codes
from cassandra.protocol import (
    ProtocolHandler,
    read_binary_string,
    read_byte,
    read_longstring,
    read_short,
    read_stringlist,
    read_stringmap,
    read_value,
    write_int,
    write_short,
    write_string,
    write_stringmultimap,
    write_value,
)

__all__ = ["CqlServer", "main"]

VERSION = 4
RESPONSE_VERSION = 0x80 | VERSION

# Opcodes.
ERROR, STARTUP, READY, OPTIONS, SUPPORTED, QUERY, RESULT, PREPARE, EXECUTE, REGISTER, BATCH = (
    0x00, 0x01, 0x02, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0D,
)  # fmt: skip

# Result kinds and error codes.
VOID, ROWS, SET_KEYSPACE, PREPARED = 1, 2, 3, 4
SERVER_ERROR, PROTOCOL_ERROR, SYNTAX_ERROR, INVALID, UNPREPARED = (
    0x0000, 0x000A, 0x2000, 0x2200, 0x2500,
)  # fmt: skip

_TEXT = cqltypes.UTF8Type
_INT = cqltypes.Int32Type
_INET = cqltypes.InetAddressType
_UUID = cqltypes.UUIDType
_TEXT_SET = cqltypes.SetType.apply_parameters((cqltypes.UTF8Type,))

_HOST_ID = uuid.UUID("5f4b6c2e-8d1a-4c3b-9e7f-0a1b2c3d4e5f")
_SCHEMA_VERSION = uuid.UUID("1d6c3f0a-2b4e-4f5a-8c7d-9e0f1a2b3c4d")


class CqlError(Exception):
    def __init__(self, code: int, message: str, extra: bytes = b"") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra


@dataclass
class Table:
    keyspace: str
    name: str
    columns: list[tuple[str, Any]]  # (name, cqltype); the first is the partition key
    rows: dict[Any, dict[str, Any]] = field(default_factory=dict)

    def column_type(self, name: str) -> Any:
        for col, ctype in self.columns:
            if col == name:
                return ctype
        raise CqlError(
            INVALID, f"Undefined column name {name} in table {self.keyspace}.{self.name}"
        )


def _local_row(host: str) -> dict[str, tuple[Any, Any]]:
    return {
        "key": (_TEXT, "local"),
        "bootstrapped": (_TEXT, "COMPLETED"),
        "broadcast_address": (_INET, host),
        "cluster_name": (_TEXT, "pyxie"),
        "cql_version": (_TEXT, "3.4.5"),
        "data_center": (_TEXT, "dc1"),
        "host_id": (_UUID, _HOST_ID),
        "listen_address": (_INET, host),
        "native_protocol_version": (_TEXT, str(VERSION)),
        "partitioner": (_TEXT, "org.apache.cassandra.dht.Murmur3Partitioner"),
        "rack": (_TEXT, "rack1"),
        "release_version": (_TEXT, "3.11.16"),
        "rpc_address": (_INET, host),
        "schema_version": (_UUID, _SCHEMA_VERSION),
        "tokens": (_TEXT_SET, {"0"}),
    }


_PEER_COLUMNS = {
    "peer": _INET, "data_center": _TEXT, "host_id": _UUID, "preferred_ip": _INET,
    "rack": _TEXT, "release_version": _TEXT, "rpc_address": _INET, "schema_version": _UUID,
    "tokens": _TEXT_SET,
}  # fmt: skip

_SELECT = re.compile(
    r"^\s*SELECT\s+(?P<cols>.+?)\s+FROM\s+(?P<table>[\w.\"]+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?(?:\s+LIMIT\s+\d+)?\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_INSERT = re.compile(
    r"^\s*INSERT\s+INTO\s+(?P<table>[\w.\"]+)\s*\((?P<cols>[^)]*)\)\s*VALUES\s*"
    r"\((?P<vals>[^)]*)\)\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_USE = re.compile(r"^\s*USE\s+\"?(?P<ks>\w+)\"?\s*;?\s*$", re.IGNORECASE)
_WHERE = re.compile(r"^\s*(?P<col>\w+)\s*=\s*(?P<val>.+?)\s*$", re.DOTALL)


def _type_option(buf: io.BytesIO, ctype: Any) -> None:
    if ctype is _TEXT_SET:
        write_short(buf, type_codes.SetType)
        write_short(buf, type_codes.VarcharType)
        return
    codes = {_TEXT: type_codes.VarcharType, _INT: type_codes.Int32Type,
             _INET: type_codes.InetAddressType, _UUID: type_codes.UUIDType}  # fmt: skip
    write_short(buf, codes[ctype])


def _literal(text: str, ctype: Any) -> Any:
    text = text.strip()
    if text.startswith("'") and text.endswith("'") and len(text) >= 2:
        if ctype is not _TEXT:
            raise CqlError(INVALID, f"Invalid STRING constant ({text}) for a non-text column")
        return text[1:-1].replace("''", "'")
    if ctype is _INT and re.fullmatch(r"-?\d+", text):
        return int(text)
    raise CqlError(SYNTAX_ERROR, f"line 1: no viable alternative at input '{text}'")


@dataclass
class Prepared:
    query: str
    bind: list[tuple[str, Any]]  # (column name, type) of each bind marker
    result: list[tuple[str, Any]]  # columns of the rows it returns (empty if none)
    table: Table


class Store:
    """The in-memory keyspace (thread-safe) and the prepared statements of the server."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.lock = threading.Lock()
        self.tables = {
            ("shop", "orders"): Table(
                "shop",
                "orders",
                [("id", _INT), ("product_id", _INT), ("quantity", _INT), ("email", _TEXT)],
            )
        }
        self.prepared: dict[bytes, Prepared] = {}

    def table(self, name: str, keyspace: str | None) -> Table:
        name = name.replace('"', "")
        ks, _, tbl = name.rpartition(".")
        ks = ks or (keyspace or "")
        found = self.tables.get((ks, tbl))
        if found is None:
            if not ks:
                raise CqlError(INVALID, "No keyspace has been specified. USE a keyspace, or "
                               "explicitly specify keyspace.tablename")  # fmt: skip
            raise CqlError(INVALID, f"unconfigured table {tbl}")
        return found

    # -- statements ----------------------------------------------------------------------------

    def prepare(self, query: str, keyspace: str | None) -> tuple[bytes, Prepared]:
        if m := _INSERT.match(query):
            table = self.table(m["table"], keyspace)
            cols = [c.strip() for c in m["cols"].split(",")]
            vals = [v.strip() for v in m["vals"].split(",")]
            if len(cols) != len(vals):
                raise CqlError(INVALID, "Unmatched column names/values")
            bind = [(c, table.column_type(c)) for c, v in zip(cols, vals, strict=True) if v == "?"]
            prepared = Prepared(query, bind, [], table)
        elif (m := _SELECT.match(query)) and not m["table"].lower().startswith("system"):
            table = self.table(m["table"], keyspace)
            bind = []
            if m["where"] and (w := _WHERE.match(m["where"])) and w["val"] == "?":
                bind = [(w["col"], table.column_type(w["col"]))]
            prepared = Prepared(query, bind, self._select_columns(table, m["cols"]), table)
        else:
            raise CqlError(SYNTAX_ERROR, f"cannot prepare: {query[:80]}")
        query_id = hashlib.md5(query.encode()).digest()  # what Cassandra uses as the id
        with self.lock:
            self.prepared[query_id] = prepared
        return query_id, prepared

    def _select_columns(self, table: Table, cols: str) -> list[tuple[str, Any]]:
        if cols.strip() == "*":
            return list(table.columns)
        return [(c.strip(), table.column_type(c.strip())) for c in cols.split(",")]

    def run(self, query: str, values: list[bytes | None], keyspace: str | None) -> tuple[int, Any]:
        """Execute one statement: (result kind, payload)."""
        if m := _USE.match(query):
            if m["ks"] not in {ks for ks, _ in self.tables} | {"system", "system_schema"}:
                raise CqlError(INVALID, f"Keyspace '{m['ks']}' does not exist")
            return SET_KEYSPACE, m["ks"]
        if (m := _SELECT.match(query)) and m["table"].lower().startswith("system"):
            return ROWS, self._system(m["table"].lower(), m["cols"])
        if m := _INSERT.match(query):
            table = self.table(m["table"], keyspace)
            cols = [c.strip() for c in m["cols"].split(",")]
            vals = [v.strip() for v in m["vals"].split(",")]
            if len(cols) != len(vals):
                raise CqlError(INVALID, "Unmatched column names/values")
            pending = list(values)
            row: dict[str, Any] = {}
            for col, val in zip(cols, vals, strict=True):
                ctype = table.column_type(col)
                if val == "?":
                    if not pending:
                        raise CqlError(INVALID, "not enough bound values")
                    raw = pending.pop(0)
                    row[col] = None if raw is None else ctype.deserialize(raw, VERSION)
                else:
                    row[col] = _literal(val, ctype)
            key = row.get(table.columns[0][0])
            if key is None:
                raise CqlError(INVALID, f"Missing PRIMARY KEY part {table.columns[0][0]}")
            with self.lock:
                table.rows.setdefault(key, {}).update(row)
            return VOID, None
        if m := _SELECT.match(query):
            table = self.table(m["table"], keyspace)
            columns = self._select_columns(table, m["cols"])
            with self.lock:
                rows = list(table.rows.values())
            if m["where"]:
                w = _WHERE.match(m["where"])
                if w is None:
                    raise CqlError(INVALID, "only WHERE <column> = <value> is supported")
                ctype = table.column_type(w["col"])
                if w["val"] == "?":
                    if not values or values[0] is None:
                        raise CqlError(INVALID, "Invalid null value for a WHERE clause")
                    want = ctype.deserialize(values[0], VERSION)
                else:
                    want = _literal(w["val"], ctype)
                rows = [r for r in rows if r.get(w["col"]) == want]
            out = [[(ctype, r.get(name)) for name, ctype in columns] for r in rows]
            return ROWS, ((table.keyspace, table.name), columns, out)
        raise CqlError(SYNTAX_ERROR, f"line 1:0 no viable alternative at input '{query[:40]}'")

    def _system(self, table: str, cols: str) -> Any:
        wanted = [c.strip() for c in cols.split(",")] if cols.strip() != "*" else None
        if table == "system.local":
            local = _local_row(self.host)
            names = wanted or list(local)
            for name in names:
                if name not in local:
                    raise CqlError(INVALID, f"Undefined column name {name} in table system.local")
            columns = [(n, local[n][0]) for n in names]
            return ("system", "local"), columns, [[local[n] for n in names]]
        if table == "system.peers":
            names = wanted or list(_PEER_COLUMNS)
            columns = [(n, _PEER_COLUMNS.get(n, _TEXT)) for n in names]
            return ("system", "peers"), columns, []
        if table.startswith("system_schema."):
            return ("system_schema", table.split(".", 1)[1]), [], []
        raise CqlError(INVALID, f"unconfigured table {table.split('.', 1)[-1]}")


# -- encoding ----------------------------------------------------------------------------------


def _rows_body(
    spec: tuple[str, str], columns: list[tuple[str, Any]], rows: list[Any], *, metadata: bool = True
) -> bytes:
    buf = io.BytesIO()
    write_int(buf, ROWS)
    write_int(buf, 0x0001 if metadata else 0x0004)  # global table spec / no metadata
    write_int(buf, len(columns))
    if metadata:
        write_string(buf, spec[0])
        write_string(buf, spec[1])
        for name, ctype in columns:
            write_string(buf, name)
            _type_option(buf, ctype)
    write_int(buf, len(rows))
    for row in rows:
        for ctype, value in row:
            write_value(buf, None if value is None else ctype.serialize(value, VERSION))
    return buf.getvalue()


def _prepared_body(query_id: bytes, prepared: Prepared) -> bytes:
    buf = io.BytesIO()
    write_int(buf, PREPARED)
    write_short(buf, len(query_id))
    buf.write(query_id)
    table = prepared.table
    write_int(buf, 0x0001)
    write_int(buf, len(prepared.bind))
    key = table.columns[0][0]
    pk = [i for i, (name, _) in enumerate(prepared.bind) if name == key]
    write_int(buf, len(pk))
    for index in pk:
        write_short(buf, index)
    write_string(buf, table.keyspace)
    write_string(buf, table.name)
    for name, ctype in prepared.bind:
        write_string(buf, name)
        _type_option(buf, ctype)
    if prepared.result:
        write_int(buf, 0x0001)
        write_int(buf, len(prepared.result))
        write_string(buf, table.keyspace)
        write_string(buf, table.name)
        for name, ctype in prepared.result:
            write_string(buf, name)
            _type_option(buf, ctype)
    else:
        write_int(buf, 0x0004)  # no metadata
        write_int(buf, 0)
    return buf.getvalue()


def _error_body(err: CqlError) -> bytes:
    buf = io.BytesIO()
    write_int(buf, err.code)
    write_string(buf, err.message)
    buf.write(err.extra)
    return buf.getvalue()


def _frame(stream_id: int, opcode: int, body: bytes) -> bytes:
    buf = io.BytesIO()
    ProtocolHandler._write_header(buf, VERSION, 0, stream_id, opcode, len(body))
    # _write_header packs the request version; responses carry the direction bit.
    out = bytearray(buf.getvalue())
    out[0] = RESPONSE_VERSION
    return bytes(out) + body


# -- the connection loop -----------------------------------------------------------------------


class _Connection:
    def __init__(self, sock: socket.socket, store: Store) -> None:
        self.sock = sock
        self.store = store
        self.keyspace: str | None = None

    def _read_exact(self, n: int) -> bytes | None:
        chunks = []
        while n:
            data = self.sock.recv(n)
            if not data:
                return None
            chunks.append(data)
            n -= len(data)
        return b"".join(chunks)

    def serve(self) -> None:
        with contextlib.suppress(OSError), self.sock:
            while True:
                header = self._read_exact(9)
                if header is None:
                    return
                version, flags = header[0], header[1]
                stream_id = int.from_bytes(header[2:4], "big", signed=True)
                opcode = header[4]
                length = int.from_bytes(header[5:9], "big")
                body = self._read_exact(length) if length else b""
                if body is None:
                    return
                if version != VERSION:
                    err = CqlError(
                        PROTOCOL_ERROR,
                        f"Invalid or unsupported protocol version ({version & 0x7F}); "
                        f"supported versions are ({VERSION}/v{VERSION})",
                    )
                    self.sock.sendall(_frame(stream_id, ERROR, _error_body(err)))
                    continue
                try:
                    if flags & 0x01:
                        raise CqlError(PROTOCOL_ERROR, "compression was not negotiated")
                    opcode_out, out = self.handle(opcode, io.BytesIO(body))
                except CqlError as err:
                    opcode_out, out = ERROR, _error_body(err)
                except Exception as exc:  # a bad frame: answer like Cassandra, keep serving
                    opcode_out, out = ERROR, _error_body(CqlError(SERVER_ERROR, repr(exc)))
                self.sock.sendall(_frame(stream_id, opcode_out, out))

    def handle(self, opcode: int, f: io.BytesIO) -> tuple[int, bytes]:
        if opcode == OPTIONS:
            buf = io.BytesIO()
            write_stringmultimap(buf, {"CQL_VERSION": ["3.4.5"], "COMPRESSION": [],
                                       "PROTOCOL_VERSIONS": ["3/v3", "4/v4"]})  # fmt: skip
            return SUPPORTED, buf.getvalue()
        if opcode == STARTUP:
            options = read_stringmap(f)
            if "COMPRESSION" in options:
                raise CqlError(PROTOCOL_ERROR, f"Unknown compression {options['COMPRESSION']}")
            return READY, b""
        if opcode == REGISTER:
            read_stringlist(f)
            return READY, b""
        if opcode == QUERY:
            query = read_longstring(f)
            values, _ = self._params(f)
            return RESULT, self._result(*self.store.run(query, values, self.keyspace))
        if opcode == PREPARE:
            query = read_longstring(f)
            query_id, prepared = self.store.prepare(query, self.keyspace)
            return RESULT, _prepared_body(query_id, prepared)
        if opcode == EXECUTE:
            query_id = read_binary_string(f)
            values, skip_metadata = self._params(f)
            statement = self.store.prepared.get(query_id)
            if statement is None:
                extra = io.BytesIO()
                write_short(extra, len(query_id))
                extra.write(query_id)
                raise CqlError(
                    UNPREPARED,
                    f"Prepared query with ID {query_id.hex()} not found",
                    extra.getvalue(),
                )
            kind, payload = self.store.run(statement.query, values, self.keyspace)
            if kind == ROWS and skip_metadata:  # the client has the columns from PREPARE
                return RESULT, _rows_body(*payload, metadata=False)
            return RESULT, self._result(kind, payload)
        if opcode == BATCH:
            read_byte(f)  # batch type
            statements = []
            for _ in range(read_short(f)):
                if read_byte(f) == 0:
                    query = read_longstring(f)
                else:
                    query_id = read_binary_string(f)
                    found = self.store.prepared.get(query_id)
                    if found is None:
                        raise CqlError(
                            UNPREPARED, f"Prepared query with ID {query_id.hex()} not found"
                        )
                    query = found.query
                statements.append((query, [read_value(f) for _ in range(read_short(f))]))
            for query, values in statements:
                self.store.run(query, values, self.keyspace)
            return RESULT, self._result(VOID, None)
        raise CqlError(PROTOCOL_ERROR, f"unexpected opcode {opcode:#04x} from a client")

    @staticmethod
    def _params(f: io.BytesIO) -> tuple[list[bytes | None], bool]:
        """The bound values of a QUERY/EXECUTE and whether result metadata may be skipped."""
        read_short(f)  # consistency
        flags = read_byte(f)
        skip_metadata = bool(flags & 0x02)
        if flags & 0x01:
            return [read_value(f) for _ in range(read_short(f))], skip_metadata
        return [], skip_metadata

    def _result(self, kind: int, payload: Any) -> bytes:
        if kind == ROWS:
            return _rows_body(*payload)
        buf = io.BytesIO()
        write_int(buf, kind)
        if kind == SET_KEYSPACE:
            self.keyspace = payload
            write_string(buf, payload)
        return buf.getvalue()


class CqlServer:
    """Listens on ``host:port`` (0 = any free port), one thread per connection."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.store = Store(host)
        self._listener = socket.create_server((host, port))
        self.port: int = self._listener.getsockname()[1]
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="cql-server", daemon=True)

    def start(self) -> CqlServer:
        self._thread.start()
        return self

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            conn = _Connection(sock, self.store)
            threading.Thread(target=conn.serve, name="cql-conn", daemon=True).start()

    def stop(self) -> None:
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(5)

    def __enter__(self) -> CqlServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = CqlServer(args.host, args.port).start()
    print(server.port, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        sys.stdin.read()  # until the parent closes our stdin
    server.stop()


if __name__ == "__main__":
    main()
