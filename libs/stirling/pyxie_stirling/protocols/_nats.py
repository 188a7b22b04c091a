"""NATS client protocol -> ``nats_events.beta`` rows (cmd, body, resp; the table has no latency).

Messages are text control lines ending in CRLF; PUB/HPUB (client) and MSG/HMSG (server) are
followed by a payload of the announced size and a CRLF. Each message becomes one row with the
command name in ``cmd`` and its fields as JSON in ``body``, except replies: ``+OK``/``-ERR``
answer the client's oldest waiting message when the client asked for them (``"verbose":true``
in CONNECT) and PONG answers a PING from the other side; they go into that row's ``resp``.
Replies to nothing are dropped, and a lone -ERR or PING counts only once a NATS-only message
(INFO, CONNECT, PUB, SUB, MSG, ...) was seen: Redis says ``+OK`` and ``-ERR ...`` too.
Messages that wait for a reply are emitted when it comes, or by ``flush()`` without it. A row's
``time_`` is when its message was seen (the table has no latency, so the reply's time is not
kept: ``response_timestamp_ns`` stays 0).

Body keys: PUB/HPUB ``subject``, ``reply-to`` (when given), ``payload`` (and ``headers`` for
HPUB); MSG/HMSG the same plus ``sid``; SUB ``subject``, ``queue group`` (when given), ``sid``;
UNSUB ``sid``, ``max_msgs`` (when given); CONNECT and INFO their JSON options as sent;
-ERR the error text; PING/PONG an empty body.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from typing import ClassVar

from ._common import (
    MAX_PENDING_REQUESTS,
    ByteStream,
    ConnectionParser,
    Protocol,
    Record,
    Role,
    json_compact,
    text,
    truncate,
)

__all__ = ["CLIENT_COMMANDS", "SERVER_COMMANDS", "NatsParser", "NatsRecord"]

CLIENT_COMMANDS = frozenset({"CONNECT", "PUB", "HPUB", "SUB", "UNSUB", "PING", "PONG"})
SERVER_COMMANDS = frozenset({"INFO", "MSG", "HMSG", "PING", "PONG", "+OK", "-ERR"})
# Control lines are short (nats-server's max_control_line defaults to 4 KiB).
MAX_CONTROL_LINE = 4096
# nats-server's default max_payload is 1 MiB; bigger announced sizes are not NATS.
MAX_PAYLOAD = 64 * 1024 * 1024


@dataclass(slots=True)
class NatsRecord(Record):
    request_timestamp_ns: int
    response_timestamp_ns: int
    cmd: str
    body: str
    resp: str

    def to_row(self) -> dict[str, object]:
        return {"cmd": self.cmd, "body": self.body, "resp": self.resp}


NatsRecord.table_name = "nats_events.beta"  # not in the dataclass: mypyc/mypyc#1122


@dataclass(slots=True)
class _Waiting:
    cmd: str
    body: str
    ts: int


def _obj(pairs: list[tuple[str, object]]) -> str:
    return "{" + ",".join(f"{json_compact(k)}:{json_compact(v)}" for k, v in pairs) + "}"


class NatsParser(ConnectionParser):
    protocol: ClassVar[Protocol] = Protocol.NATS
    table_name: ClassVar[str] = "nats_events.beta"

    def __init__(self, role: Role, *, max_body_bytes: int = 512) -> None:
        super().__init__(role, max_body_bytes=max_body_bytes)
        self._streams = {True: ByteStream(), False: ByteStream()}
        self._verbose = False
        # Client messages waiting for +OK/-ERR (verbose), and PINGs waiting for PONG per side.
        self._acks: deque[_Waiting] = deque()
        self._pings: dict[bool, deque[_Waiting]] = {True: deque(), False: deque()}
        self._resync = {True: False, False: False}  # skipping to the next command line
        # Seen a NATS-only message (INFO, CONNECT, PUB, SUB, MSG, ...): until then a lone
        # +OK / -ERR / PING / PONG could be another protocol's bytes and makes no row.
        self._seen_nats = False

    def _looks_like_request(self, data: bytes) -> bool:
        word = data.split(b" ", 1)[0].split(b"\r", 1)[0].upper()
        return word.decode("latin-1") in CLIENT_COMMANDS - {"PING", "PONG"}

    def _feed(self, is_request: bool, data: bytes, timestamp_ns: int, lost_bytes: int) -> None:
        stream = self._streams[is_request]
        if lost_bytes > 0:
            # Resync at the next line that starts with a command of this side.
            stream.clear()
            self.parse_errors += 1
            self._resync[is_request] = True
        stream.append(data, timestamp_ns)
        self._parse(is_request, stream)

    def _parse(self, is_request: bool, stream: ByteStream) -> None:
        buf = stream.buf
        commands = CLIENT_COMMANDS if is_request else SERVER_COMMANDS
        while buf:
            if self._resync[is_request] and not self._skip_to_command(stream, commands, True):
                return
            eol = buf.find(b"\r\n", 0, MAX_CONTROL_LINE + 2)
            if eol < 0:
                if len(buf) > MAX_CONTROL_LINE:
                    self._garbage(is_request, stream)
                    continue
                return
            line = bytes(buf[:eol])
            name, _, rest = line.partition(b" ")
            cmd = name.decode("latin-1").upper()
            if cmd not in commands:
                self._garbage(is_request, stream)
                continue
            args = rest.split()
            end = eol + 2
            payload = b""
            headers = b""
            if cmd in ("PUB", "HPUB", "MSG", "HMSG"):
                sizes = self._sizes(cmd, args)
                if sizes is None:
                    self._garbage(is_request, stream)
                    continue
                header_size, total = sizes
                if len(buf) < end + total + 2:
                    return
                if buf[end + total : end + total + 2] != b"\r\n":
                    self._garbage(is_request, stream)
                    continue
                headers = bytes(buf[end : end + header_size])
                payload = bytes(buf[end + header_size : end + total])
                end += total + 2
            first_ts = stream.ts_at(0)
            stream.consume(end)
            self._message(is_request, cmd, args, rest, headers, payload, first_ts)

    def _skip_to_command(
        self, stream: ByteStream, commands: frozenset[str], here: bool = False
    ) -> bool:
        """Drop bytes up to a line starting with a command (this one too when ``here``)."""
        buf = stream.buf
        pos = 0
        while True:
            if here:
                eol, here = -2, False
            else:
                eol = buf.find(b"\r\n", pos)
            if eol == -1:
                stream.consume(pos)
                return False
            start = eol + 2
            word = bytes(buf[start : start + 8]).split(b" ", 1)[0].split(b"\r", 1)[0]
            if word.decode("latin-1").upper() in commands:
                stream.consume(start)
                self._resync[commands is CLIENT_COMMANDS] = False
                return True
            pos = start

    def _garbage(self, is_request: bool, stream: ByteStream) -> None:
        self.parse_errors += 1
        self._resync[is_request] = True
        self._skip_to_command(stream, CLIENT_COMMANDS if is_request else SERVER_COMMANDS)

    @staticmethod
    def _sizes(cmd: str, args: list[bytes]) -> tuple[int, int] | None:
        """(header bytes, header + payload bytes) announced by a PUB/HPUB/MSG/HMSG line."""
        try:
            if cmd in ("HPUB", "HMSG"):
                header_size, total = int(args[-2]), int(args[-1])
            else:
                header_size, total = 0, int(args[-1])
        except (IndexError, ValueError):
            return None
        if not 0 <= header_size <= total <= MAX_PAYLOAD:
            return None
        return header_size, total

    def _message(
        self,
        is_request: bool,
        cmd: str,
        args: list[bytes],
        rest: bytes,
        headers: bytes,
        payload: bytes,
        first_ts: int,
    ) -> None:
        if cmd in ("+OK", "-ERR") and self._acks:
            waiting = self._acks.popleft()
            resp = "+OK" if cmd == "+OK" else truncate(("-ERR " + text(rest)).strip(), 1024)
            self._emit(NatsRecord(waiting.ts, 0, waiting.cmd, waiting.body, resp))
            return
        if cmd == "PONG" and self._pings[not is_request]:
            waiting = self._pings[not is_request].popleft()
            self._emit(NatsRecord(waiting.ts, 0, waiting.cmd, waiting.body, "PONG"))
            return
        if cmd in ("+OK", "PONG"):
            self.unmatched_responses += 1  # a reply to nothing we saw: no row
            return
        body = self._body(cmd, args, rest, headers, payload)
        if body is None:
            self.parse_errors += 1
            return
        if cmd not in ("-ERR", "PING"):
            self._seen_nats = True
        elif not self._seen_nats:
            return
        if cmd == "CONNECT":
            try:
                options = json.loads(rest)
                self._verbose = isinstance(options, dict) and options.get("verbose") is True
            except ValueError:
                self._verbose = False
        waiting = _Waiting(cmd, body, first_ts)
        if cmd == "PING":
            self._queue(self._pings[is_request], waiting)
        elif is_request and self._verbose and cmd != "PONG":
            self._queue(self._acks, waiting)
        else:
            self._emit(NatsRecord(first_ts, 0, cmd, body, ""))

    def _queue(self, queue: deque[_Waiting], waiting: _Waiting) -> None:
        if len(queue) >= MAX_PENDING_REQUESTS:
            old = queue.popleft()
            self._emit(NatsRecord(old.ts, 0, old.cmd, old.body, ""))
        queue.append(waiting)

    def _payload(self, payload: bytes) -> str:
        return truncate(text(payload[: self.max_body_bytes + 1]), self.max_body_bytes)

    def _body(
        self, cmd: str, args: list[bytes], rest: bytes, headers: bytes, payload: bytes
    ) -> str | None:
        a = [x.decode("utf-8", "replace") for x in args]
        if cmd in ("CONNECT", "INFO"):
            try:
                return json_compact(json.loads(rest))
            except ValueError:
                return None
        if cmd in ("PUB", "HPUB"):
            # PUB <subject> [reply-to] <#bytes>; HPUB <subject> [reply-to] <#hdr> <#total>
            fixed = 3 if cmd == "HPUB" else 2
            if len(a) not in (fixed, fixed + 1):
                return None
            pairs: list[tuple[str, object]] = [("subject", a[0])]
            if len(a) == fixed + 1:
                pairs.append(("reply-to", a[1]))
            if cmd == "HPUB":
                pairs.append(("headers", text(headers).strip()))
            pairs.append(("payload", self._payload(payload)))
            return _obj(pairs)
        if cmd in ("MSG", "HMSG"):
            # MSG <subject> <sid> [reply-to] <#bytes>; HMSG ... <#hdr> <#total>
            fixed = 4 if cmd == "HMSG" else 3
            if len(a) not in (fixed, fixed + 1):
                return None
            pairs = [("subject", a[0]), ("sid", a[1])]
            if len(a) == fixed + 1:
                pairs.append(("reply-to", a[2]))
            if cmd == "HMSG":
                pairs.append(("headers", text(headers).strip()))
            pairs.append(("payload", self._payload(payload)))
            return _obj(pairs)
        if cmd == "SUB":
            # SUB <subject> [queue group] <sid>
            if len(a) not in (2, 3):
                return None
            pairs = [("subject", a[0])]
            if len(a) == 3:
                pairs.append(("queue group", a[1]))
            pairs.append(("sid", a[-1]))
            return _obj(pairs)
        if cmd == "UNSUB":
            if len(a) not in (1, 2):
                return None
            pairs = [("sid", a[0])]
            if len(a) == 2:
                pairs.append(("max_msgs", a[1]))
            return _obj(pairs)
        if cmd == "-ERR":
            return truncate(text(rest).strip().strip("'"), 1024)
        return ""  # PING, PONG, +OK

    # -- housekeeping ---------------------------------------------------------------------------

    def _expire(self, cutoff_ns: int) -> None:
        for queue in (self._acks, self._pings[True], self._pings[False]):
            while queue and queue[0].ts < cutoff_ns:
                old = queue.popleft()
                self._emit(NatsRecord(old.ts, 0, old.cmd, old.body, ""))

    def _on_close(self) -> None:
        for queue in (self._acks, self._pings[True], self._pings[False]):
            while queue:
                old = queue.popleft()
                self._emit(NatsRecord(old.ts, 0, old.cmd, old.body, ""))

    def _reset(self) -> None:
        for stream in self._streams.values():
            stream.clear()
        self._acks.clear()
        for queue in self._pings.values():
            queue.clear()
