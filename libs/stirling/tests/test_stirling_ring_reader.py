"""The socket tracer's ring buffer consumer and the kernel's wake-ups: when the drain thread
wakes, and what it drains then."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from pyxie_stirling.socket_tracer._bpf import ProgramOptions, RingReader, SocketTraceProgram
from stirling_bpf_support import bpf_skip_reason

_PROGRAM = """
BPF_RINGBUF_OUTPUT(ring, 4);
BPF_ARRAY(submit_flags, u64, 1);

TRACEPOINT_PROBE(syscalls, sys_enter_getppid) {
    if ((bpf_get_current_pid_tgid() >> 32) != TARGET_TGID)
        return 0;
    int zero = 0;
    u64 *flags = submit_flags.lookup(&zero);
    u64 stamp = bpf_ktime_get_ns();
    ring.ringbuf_output(&stamp, sizeof(stamp), flags ? *flags : 0);
    return 0;
}
"""
_NO_WAKEUP, _FORCE_WAKEUP = 1, 2


pytestmark = [pytest.mark.root, pytest.mark.bpf]


@pytest.fixture
def ring() -> Iterator[tuple[Any, RingReader]]:
    reason = bpf_skip_reason()
    if reason:
        pytest.skip(reason)
    import bcc  # type: ignore[import-not-found,import-untyped,unused-ignore]

    bpf = bcc.BPF(text=_PROGRAM.encode(), cflags=[f"-DTARGET_TGID={os.getpid()}"])
    reader = RingReader(int(bpf[b"ring"].map_fd), 4 * os.sysconf("SC_PAGE_SIZE"))
    try:
        yield bpf, reader
    finally:
        reader.close()
        bpf.cleanup()


def _submit(bpf: Any, flags: int, count: int) -> None:
    table = bpf[b"submit_flags"]
    table[table.Key(0)] = table.Leaf(flags)
    for _ in range(count):
        os.getppid()


def test_records_without_wake_up_wait_for_the_timeout_and_a_forced_one_wakes_the_reader(
    ring: tuple[Any, RingReader],
) -> None:
    bpf, reader = ring
    _submit(bpf, _NO_WAKEUP, 10)
    # The ring holds data, but nothing woke it: a level-triggered watch would return at once.
    assert reader.wait(0.05) is False
    first = reader.drain()
    assert len(first) == 10
    stamps = [struct.unpack("=Q", raw)[0] for raw in first]
    assert stamps == sorted(stamps)

    _submit(bpf, _FORCE_WAKEUP, 1)
    assert reader.wait(5.0) is True
    assert len(reader.drain()) == 1
    # Data submitted after a reported wake-up does not make the ring read as ready again (a
    # level-triggered watch would: it polls a reported fd again and finds data).
    _submit(bpf, _NO_WAKEUP, 3)
    assert reader.wait(0.05) is False
    assert len(reader.drain()) == 3
    assert reader.drain() == []


# Connects to itself on loopback when told to, then sends N ~1 KiB writes per line it reads.
_WRITER = r"""
import socket, sys
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen()
sys.stdin.readline()
client = socket.create_connection(server.getsockname())
peer, _ = server.accept()
print("connected", flush=True)
for line in sys.stdin:
    for _ in range(int(line)):
        client.sendall(b"GET / HTTP/1.1\r\nX-Pad: " + b"a" * 1000 + b"\r\n\r\n")
    print("sent", flush=True)
"""


def test_the_socket_tracer_wakes_its_reader_for_opens_and_for_each_eighth_of_the_ring_of_data() -> (
    None
):
    reason = bpf_skip_reason()
    if reason:
        pytest.skip(reason)
    options = ProgramOptions(self_tgid=os.getpid(), ringbuf_pages=16, filter_tgids=True)
    assert options.wake_bytes() == 16 * os.sysconf("SC_PAGE_SIZE") // 8
    program = SocketTraceProgram(options)
    program.load()
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert writer.stdin is not None and writer.stdout is not None
    try:
        program.add_target_tgid(writer.pid)  # nothing else on the machine can wake the reader
        reader = program.open_reader()

        def tell(line: str) -> str:
            assert writer.stdin is not None and writer.stdout is not None
            writer.stdin.write(line + "\n")
            writer.stdin.flush()
            return writer.stdout.readline().strip()

        assert tell("connect") == "connected"
        assert reader.wait(5.0) is True  # connection opens force a wake-up
        assert reader.drain()
        # Two writes (~2 KiB) stay under an eighth of the 64 KiB ring: no wake-up.
        assert tell("2") == "sent"
        assert reader.wait(0.05) is False
        assert len(reader.drain()) == 2
        # Ten more (~10 KiB in all) pass it: the write that crosses it wakes the reader.
        assert tell("10") == "sent"
        assert reader.wait(5.0) is True
        assert len(reader.drain()) == 10
        assert program.counters()[0] == 0
    finally:
        writer.kill()
        writer.wait()
        writer.stdin.close()
        writer.stdout.close()
        program.close()
