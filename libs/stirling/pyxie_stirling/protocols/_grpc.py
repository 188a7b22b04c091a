"""gRPC message framing and schema-less protobuf rendering for ``http_events`` bodies.

A gRPC body is a sequence of length-prefixed messages (1 byte compressed flag, 4 bytes big-endian
length, the message). Without the .proto schema the best readable form is protobuf's text format
of the raw wire fields, the way ``protoc --decode_raw`` shows them, on one line:
``1: "alice" 2: 3 4 { 1: 0x3ff0000000000000 }``. Length-delimited fields print as a string when
they are printable UTF-8, as a nested message when they parse as one, else as escaped bytes.
"""

from __future__ import annotations

__all__ = ["render_grpc_body", "render_protobuf"]

_MAX_DEPTH = 16
# Pixie's kMaxPBStringLen-like cap on a single string field inside a rendered message.
_MAX_FIELD_CHARS = 256


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("bad varint")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _escape(data: bytes) -> str:
    out = []
    for b in data:
        if b == 0x22:
            out.append('\\"')
        elif b == 0x5C:
            out.append("\\\\")
        elif b == 0x0A:
            out.append("\\n")
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append(f"\\{b:03o}")
    return "".join(out)


def _string(data: bytes) -> str | None:
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not all(c.isprintable() or c in "\t\n" for c in decoded):
        return None
    if len(decoded) > _MAX_FIELD_CHARS:
        decoded = decoded[:_MAX_FIELD_CHARS] + "..."
    return '"' + decoded.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _fields(data: bytes, depth: int) -> list[str]:
    """The rendered fields of one message; raises ValueError if ``data`` is not one."""
    if depth > _MAX_DEPTH:
        raise ValueError("too deep")
    out: list[str] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ValueError("field 0")
        if wire == 0:
            value, pos = _varint(data, pos)
            out.append(f"{number}: {value}")
        elif wire == 1:
            if pos + 8 > len(data):
                raise ValueError("short fixed64")
            out.append(f"{number}: 0x{int.from_bytes(data[pos : pos + 8], 'little'):016x}")
            pos += 8
        elif wire == 5:
            if pos + 4 > len(data):
                raise ValueError("short fixed32")
            out.append(f"{number}: 0x{int.from_bytes(data[pos : pos + 4], 'little'):08x}")
            pos += 4
        elif wire == 2:
            size, pos = _varint(data, pos)
            if pos + size > len(data):
                raise ValueError("short bytes")
            chunk = data[pos : pos + size]
            pos += size
            as_text = _string(chunk)
            if as_text is not None:
                out.append(f"{number}: {as_text}")
                continue
            try:
                nested = _fields(chunk, depth + 1)
            except ValueError:
                out.append(f'{number}: "{_escape(chunk[:_MAX_FIELD_CHARS])}"')
            else:
                out.append(f"{number} {{ {' '.join(nested)} }}" if nested else f"{number} {{}}")
        else:
            raise ValueError(f"wire type {wire}")
    return out


def render_protobuf(message: bytes) -> str:
    """One protobuf message in single-line text format; ``<not protobuf: N bytes>`` if not one."""
    try:
        return " ".join(_fields(message, 0))
    except ValueError:
        return f"<not protobuf: {len(message)} bytes>"


def render_grpc_body(body: bytes, complete: bool) -> str:
    """The messages of a gRPC body, one rendered message per line.

    ``complete`` is False when ``body`` holds only the first bytes of the stream's data (the rest
    was beyond the kept prefix or not captured): a cut last message is shown as such.
    """
    parts: list[str] = []
    pos = 0
    while pos < len(body):
        if pos + 5 > len(body):
            parts.append("<truncated gRPC message>")
            break
        compressed = body[pos]
        length = int.from_bytes(body[pos + 1 : pos + 5], "big")
        message = body[pos + 5 : pos + 5 + length]
        pos += 5 + length
        if compressed:
            parts.append(f"<compressed gRPC message: {length} bytes>")
        elif len(message) < length:
            parts.append("<truncated gRPC message>")
        else:
            parts.append(render_protobuf(message))
    if not complete and (not parts or parts[-1] != "<truncated gRPC message>"):
        parts.append("<truncated gRPC message>")
    return "\n".join(parts)
