"""A small MongoDB server for tests and the demo, on pymongo's own ``bson`` codec.

No MongoDB server can be installed here, so this speaks the wire protocol itself: the 16-byte
header (messageLength, requestID, responseTo, opCode), OP_MSG (flagBits, a kind 0 body section
and kind 1 document sequences) and the legacy OP_QUERY/OP_REPLY ``isMaster`` handshake. It keeps
real in-memory collections, so ``find`` returns what ``insert`` stored.

Commands: hello/isMaster, ping, buildInfo, insert, find (equality and $gt/$gte/$lt/$lte/$ne/$in
filters, sort, skip, limit, projection, batchSize), getMore, killCursors, update ($set/$inc/$unset
or a replacement, multi, upsert), delete (limit 0/1), count, drop, endSessions. Anything else is
answered ``{ok: 0, errmsg: "no such command: '...'", code: 59, codeName: "CommandNotFound"}``.

Run alone: ``python -m pyxie_testing.wire.mongo_server --port 27017`` (prints ``listening PORT``).
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import socket
import socketserver
import struct
import threading
from typing import Any

import bson
from bson.codec_options import CodecOptions

__all__ = ["MAX_WIRE_VERSION", "MongoServer", "main"]

OP_REPLY, OP_QUERY, OP_COMPRESSED, OP_MSG = 1, 2004, 2012, 2013
MORE_TO_COME = 2
CHECKSUM_PRESENT = 1
MAX_WIRE_VERSION = 21  # MongoDB 7.0: within what current pymongo accepts (8..25)
_HEADER = struct.Struct("<iiii")
_OPTIONS: CodecOptions[dict[str, Any]] = CodecOptions(tz_aware=True)

Doc = dict[str, Any]


class _Store:
    """Collections (``db.coll`` -> documents) and open cursors, shared by all connections."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.collections: dict[str, list[Doc]] = {}
        self.cursors: dict[int, tuple[str, list[Doc]]] = {}
        self._cursor_ids = itertools.count(1001)

    def new_cursor(self, ns: str, rest: list[Doc]) -> int:
        cursor_id = next(self._cursor_ids)
        self.cursors[cursor_id] = (ns, rest)
        return cursor_id


def _compare(op: str, value: Any, arg: Any, present: bool) -> bool:
    if op == "$exists":
        return present == bool(arg)
    if op == "$eq":
        return bool(value == arg)
    if op == "$ne":
        return bool(value != arg)
    if op == "$in":
        return value in arg
    if op not in ("$gt", "$gte", "$lt", "$lte"):
        raise _CommandError(f"unknown operator: {op}", 2, "BadValue")
    if value is None:
        return False
    try:
        if op == "$gt":
            return bool(value > arg)
        if op == "$gte":
            return bool(value >= arg)
        if op == "$lt":
            return bool(value < arg)
        return bool(value <= arg)
    except TypeError:
        return False


def _matches(doc: Doc, query: Doc) -> bool:
    for key, cond in query.items():
        value = doc.get(key)
        if isinstance(cond, dict) and cond and all(k.startswith("$") for k in cond):
            if not all(_compare(op, value, arg, key in doc) for op, arg in cond.items()):
                return False
        elif value != cond:
            return False
    return True


def _project(doc: Doc, projection: Doc) -> Doc:
    """Inclusion ({a: 1}) or exclusion ({a: 0}) of top-level fields; _id is kept unless 0."""
    include = {k for k, v in projection.items() if v and k != "_id"}
    if include:
        keep = include | ({"_id"} if projection.get("_id", 1) else set())
        return {k: v for k, v in doc.items() if k in keep}
    return {k: v for k, v in doc.items() if k not in projection or projection[k]}


class _CommandError(Exception):
    def __init__(self, errmsg: str, code: int, code_name: str) -> None:
        super().__init__(errmsg)
        self.errmsg, self.code, self.code_name = errmsg, code, code_name


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        sock: socket.socket = self.request
        try:
            while True:
                header = _recv_exact(sock, 16)
                if header is None:
                    return
                length, request_id, _, opcode = _HEADER.unpack(header)
                if not 16 < length <= 48_000_000:
                    return
                body = _recv_exact(sock, length - 16)
                if body is None:
                    return
                reply = self.server.dispatch(request_id, opcode, body)
                if reply is not None:
                    sock.sendall(reply)
        except (ConnectionError, OSError):
            return


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _Handler)
        self.store = _Store()
        self._ids = itertools.count(1)
        self._ids_lock = threading.Lock()
        self.commands_seen: list[str] = []

    def _next_id(self) -> int:
        with self._ids_lock:
            return next(self._ids)

    # -- framing ------------------------------------------------------------------------------

    def dispatch(self, request_id: int, opcode: int, body: bytes) -> bytes | None:
        if opcode == OP_MSG:
            flags = int.from_bytes(body[:4], "little")
            try:
                command = self._op_msg_command(body, flags)
            except (bson.errors.InvalidBSON, ValueError, IndexError) as exc:
                # A malformed message is the client's error: say so, keep the connection.
                reply = {"ok": 0.0, "errmsg": f"invalid message: {exc}", "code": 22,
                         "codeName": "InvalidBSON"}  # fmt: skip
            else:
                reply = self.run_command(command)
            if flags & MORE_TO_COME:
                return None
            payload = struct.pack("<I", 0) + b"\x00" + bson.encode(reply)
            return self._frame(request_id, OP_MSG, payload)
        if opcode == OP_QUERY:
            try:
                name_end = body.index(b"\0", 4)
                query = bson.decode(body[name_end + 9 :], _OPTIONS)  # after skip/return counts
            except (bson.errors.InvalidBSON, ValueError, IndexError) as exc:
                reply = {"ok": 0.0, "errmsg": f"invalid message: {exc}", "code": 22}
            else:
                reply = self.run_command(query)
            docs = bson.encode(reply)
            payload = struct.pack("<iqii", 8, 0, 0, 1) + docs  # AwaitCapable, one document
            return self._frame(request_id, OP_REPLY, payload)
        if opcode == OP_COMPRESSED:
            err = {"ok": 0.0, "errmsg": "compression is not supported", "code": 2}
            payload = struct.pack("<I", 0) + b"\x00" + bson.encode(err)
            return self._frame(request_id, OP_MSG, payload)
        return None

    def _frame(self, response_to: int, opcode: int, payload: bytes) -> bytes:
        header = _HEADER.pack(16 + len(payload), self._next_id(), response_to, opcode)
        return header + payload

    @staticmethod
    def _op_msg_command(body: bytes, flags: int) -> Doc:
        end = len(body) - (4 if flags & CHECKSUM_PRESENT else 0)
        pos = 4
        command: Doc = {}
        sequences: dict[str, list[Doc]] = {}
        while pos < end:
            kind = body[pos]
            if kind == 0:
                size = int.from_bytes(body[pos + 1 : pos + 5], "little")
                command = bson.decode(body[pos + 1 : pos + 1 + size], _OPTIONS)
                pos += 1 + size
            else:
                size = int.from_bytes(body[pos + 1 : pos + 5], "little")
                name_end = body.index(b"\0", pos + 5)
                name = body[pos + 5 : name_end].decode()
                docs = bson.decode_all(body[name_end + 1 : pos + 1 + size], _OPTIONS)
                sequences[name] = docs
                pos += 1 + size
        command.update(sequences)
        return command

    # -- commands -----------------------------------------------------------------------------

    def run_command(self, command: Doc) -> Doc:
        name = next(iter(command), "")
        self.commands_seen.append(name)
        handler = getattr(self, "_cmd_" + name.lower(), None)
        if handler is None:
            return {
                "ok": 0.0,
                "errmsg": f"no such command: '{name}'",
                "code": 59,
                "codeName": "CommandNotFound",
            }
        try:
            with self.store.lock:
                reply: Doc = handler(command)
        except _CommandError as exc:
            return {"ok": 0.0, "errmsg": exc.errmsg, "code": exc.code, "codeName": exc.code_name}
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # Arguments of the wrong shape: a client error, never a dropped connection.
            return {"ok": 0.0, "errmsg": f"bad {name} command: {exc!r}", "code": 2,
                    "codeName": "BadValue"}  # fmt: skip
        reply["ok"] = 1.0
        return reply

    def _ns(self, command: Doc, key: str) -> str:
        coll = command.get(key)
        if not isinstance(coll, str) or not coll:
            raise _CommandError(f"collection name has invalid type {type(coll).__name__}", 73,
                                "InvalidNamespace")  # fmt: skip
        return f"{command.get('$db', 'test')}.{coll}"

    def _cmd_hello(self, command: Doc) -> Doc:
        return {
            "helloOk": True,
            "isWritablePrimary": True,
            "ismaster": True,
            "maxBsonObjectSize": 16 * 1024 * 1024,
            "maxMessageSizeBytes": 48_000_000,
            "maxWriteBatchSize": 100_000,
            "localTime": datetime.datetime.now(datetime.UTC),
            "logicalSessionTimeoutMinutes": 30,
            "connectionId": 1,
            "minWireVersion": 0,
            "maxWireVersion": MAX_WIRE_VERSION,
            "readOnly": False,
        }

    _cmd_ismaster = _cmd_hello

    def _cmd_ping(self, command: Doc) -> Doc:
        return {}

    def _cmd_buildinfo(self, command: Doc) -> Doc:
        return {"version": "7.0.0", "versionArray": [7, 0, 0, 0], "bits": 64, "maxBsonObjectSize":
                16 * 1024 * 1024}  # fmt: skip

    def _cmd_endsessions(self, command: Doc) -> Doc:
        return {}

    def _cmd_insert(self, command: Doc) -> Doc:
        docs = self.store.collections.setdefault(self._ns(command, "insert"), [])
        new = list(command.get("documents", []))
        for doc in new:
            doc.setdefault("_id", bson.ObjectId())
        docs.extend(new)
        return {"n": len(new)}

    def _sorted(self, docs: list[Doc], sort: Doc | None) -> list[Doc]:
        for key, direction in reversed(list((sort or {}).items())):
            docs = sorted(
                docs,
                key=lambda d, k=key: (d.get(k) is not None, d.get(k)),  # type: ignore[misc]
                reverse=direction < 0,
            )
        return docs

    def _cmd_find(self, command: Doc) -> Doc:
        ns = self._ns(command, "find")
        docs = [d for d in self.store.collections.get(ns, []) if _matches(d, command.get("filter")
                or {})]  # fmt: skip
        docs = self._sorted(docs, command.get("sort"))
        docs = docs[int(command.get("skip", 0)) :]
        limit = abs(int(command.get("limit", 0)))
        if limit:
            docs = docs[:limit]
        projection = command.get("projection")
        if projection:
            docs = [_project(d, projection) for d in docs]
        return {"cursor": self._batch(ns, docs, command.get("batchSize"), "firstBatch")}

    def _batch(self, ns: str, docs: list[Doc], batch_size: object, key: str) -> Doc:
        size = int(batch_size) if isinstance(batch_size, int) and batch_size > 0 else 101
        cursor_id = 0
        if len(docs) > size:
            cursor_id = self.store.new_cursor(ns, docs[size:])
            docs = docs[:size]
        return {key: docs, "id": bson.Int64(cursor_id), "ns": ns}

    def _cmd_getmore(self, command: Doc) -> Doc:
        cursor_id = int(command["getMore"])
        found = self.store.cursors.pop(cursor_id, None)
        if found is None:
            raise _CommandError(f"cursor id {cursor_id} not found", 43, "CursorNotFound")
        ns, rest = found
        return {"cursor": self._batch(ns, rest, command.get("batchSize"), "nextBatch")}

    def _cmd_killcursors(self, command: Doc) -> Doc:
        killed = [c for c in command.get("cursors", []) if self.store.cursors.pop(int(c), None)]
        return {"cursorsKilled": killed, "cursorsNotFound": [], "cursorsAlive": [],
                "cursorsUnknown": []}  # fmt: skip

    def _cmd_update(self, command: Doc) -> Doc:
        docs = self.store.collections.setdefault(self._ns(command, "update"), [])
        matched = modified = 0
        upserted: list[Doc] = []
        for index, spec in enumerate(command.get("updates", [])):
            query, change = spec.get("q", {}), spec.get("u", {})
            hits = [d for d in docs if _matches(d, query)]
            if not spec.get("multi"):
                hits = hits[:1]
            if not hits and spec.get("upsert"):
                doc = {k: v for k, v in query.items() if not isinstance(v, dict)}
                self._apply(doc, change)
                doc.setdefault("_id", bson.ObjectId())
                docs.append(doc)
                upserted.append({"index": index, "_id": doc["_id"]})
                continue
            for doc in hits:
                before = dict(doc)
                self._apply(doc, change)
                matched += 1
                modified += doc != before
        reply: Doc = {"n": matched + len(upserted), "nModified": modified}
        if upserted:
            reply["upserted"] = upserted
        return reply

    @staticmethod
    def _apply(doc: Doc, change: Doc) -> None:
        if not any(k.startswith("$") for k in change):
            keep = doc.get("_id")
            doc.clear()
            doc.update(change)
            if keep is not None:
                doc.setdefault("_id", keep)
            return
        for op, fields in change.items():
            for key, value in fields.items():
                if op == "$set":
                    doc[key] = value
                elif op == "$inc":
                    doc[key] = doc.get(key, 0) + value
                elif op == "$unset":
                    doc.pop(key, None)
                else:
                    raise _CommandError(f"Unknown modifier: {op}", 9, "FailedToParse")

    def _cmd_delete(self, command: Doc) -> Doc:
        ns = self._ns(command, "delete")
        docs = self.store.collections.setdefault(ns, [])
        removed = 0
        for spec in command.get("deletes", []):
            hits = [d for d in docs if _matches(d, spec.get("q", {}))]
            if spec.get("limit") == 1:
                hits = hits[:1]
            for doc in hits:
                docs.remove(doc)
            removed += len(hits)
        return {"n": removed}

    def _cmd_count(self, command: Doc) -> Doc:
        docs = self.store.collections.get(self._ns(command, "count"), [])
        return {"n": sum(1 for d in docs if _matches(d, command.get("query") or {}))}

    def _cmd_drop(self, command: Doc) -> Doc:
        ns = self._ns(command, "drop")
        if self.store.collections.pop(ns, None) is None:
            raise _CommandError("ns not found", 26, "NamespaceNotFound")
        return {"ns": ns}


class MongoServer:
    """The server on a background thread: ``with MongoServer() as server: server.port``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _Server((host, port))
        self.host = host
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="mongo-server", daemon=True
        )

    @property
    def commands_seen(self) -> list[str]:
        return self._server.commands_seen

    def collection(self, ns: str) -> list[Doc]:
        with self._server.store.lock:
            return list(self._server.store.collections.get(ns, []))

    def start(self) -> MongoServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> MongoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = _Server((args.host, args.port))
    print(f"listening {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
