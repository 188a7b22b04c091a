"""sendmmsg/recvmmsg: several DNS queries and answers per call (as glibc's resolver sends them).

A client sends two DNS queries with one sendmmsg() on a connected UDP socket and reads both
answers with one recvmmsg(); the socket tracer must give two dns_events rows. Needs root and
bcc; skipped otherwise.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from stirling_bpf_support import Row, TracedTables, bpf_skip_reason

pytestmark = [pytest.mark.root, pytest.mark.bpf, pytest.mark.slow]

_reason = bpf_skip_reason()
if _reason:
    pytest.skip(_reason, allow_module_level=True)

# A UDP DNS responder: every A question gets 10.0.0.<txid % 250>.
SERVER = r"""
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
while True:
    q, addr = s.recvfrom(512)
    txid = struct.unpack(">H", q[:2])[0]
    question = q[12:]
    answer = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + bytes([10, 0, 0, txid % 250])
    s.sendto(q[:2] + b"\x81\x80" + struct.pack(">HHHH", 1, 1, 0, 0) + question + answer, addr)
"""

CLIENT = r"""
import ctypes, socket, struct, sys
libc = ctypes.CDLL(None, use_errno=True)

class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]

class msghdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32),
                ("iov", ctypes.POINTER(iovec)), ("iovlen", ctypes.c_size_t),
                ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]

class mmsghdr(ctypes.Structure):
    _fields_ = [("hdr", msghdr), ("len", ctypes.c_uint)]

def query(txid, name):
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack(">HHHHHH", txid, 0x0100, 1, 0, 0, 0) + labels + struct.pack(">HH", 1, 1)

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("127.0.0.1", int(sys.argv[1])))
def vec(buffers):
    msgs = (mmsghdr * len(buffers))()
    keep = []
    for i, buf in enumerate(buffers):
        iov = iovec(ctypes.addressof(buf), len(buf))
        keep.append(iov)
        msgs[i].hdr.iov = ctypes.pointer(iov)
        msgs[i].hdr.iovlen = 1
    return msgs, keep
out = [ctypes.create_string_buffer(query(0x1201, "shop.example.com"), 34),
       ctypes.create_string_buffer(query(0x1202, "cart.example.com"), 34)]
msgs, keep = vec(out)
assert libc.sendmmsg(s.fileno(), msgs, 2, 0) == 2, ctypes.get_errno()
replies = [ctypes.create_string_buffer(512) for _ in range(2)]
msgs, keep2 = vec(replies)
got = 0
while got < 2:
    rest = ctypes.byref(msgs, got * ctypes.sizeof(mmsghdr))
    n = libc.recvmmsg(s.fileno(), rest, 2 - got, 0, None)
    assert n > 0, ctypes.get_errno()
    got += n
s.close()
"""


def test_sendmmsg_and_recvmmsg_dns_give_one_row_per_query() -> None:
    tables = TracedTables()
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        subprocess.run([sys.executable, "-c", CLIENT, str(port)], check=True, timeout=30)

        def ours(row: Row) -> bool:
            return row["remote_port"] == port and row["trace_role"] == 1

        rows = tables.wait_for("dns_events", ours, 2)
    finally:
        server.kill()
        server.wait()
        if server.stdout is not None:
            server.stdout.close()
        tables.stirling.stop()
    names = sorted(json.loads(str(r["req_body"]))["queries"][0]["name"] for r in rows)
    assert names == ["cart.example.com", "shop.example.com"]
    answers = sorted(json.loads(str(r["resp_body"]))["answers"][0]["addr"] for r in rows)
    assert answers == ["10.0.0.109", "10.0.0.110"]  # 0x1201 % 250, 0x1202 % 250
